"""Hostile files in the outbox: none may hang, crash or exhaust the memory of `list`, `show` or `clear`.

Each test here is a case that once hung, crashed or read a whole file into memory.
"""

import json
import os
import resource
import socket
import stat
import subprocess
import sys
import threading

import pytest

import outbox as ob
from core.mail.errors import MailProblem
from outbox.logfile import SEPARATOR
from outbox.messages import SHOW_LIMIT
from tests.conftest import ROOT, manage
from tests.outbox_samples import plain, send, use_folders
from tests.outbox_samples import run_outbox as run

NAME = "20260101-120000-000000-0000000{}.eml"


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    path.mkdir()
    use_folders(settings, path)
    return path


def within(seconds, work):
    """``work()``'s result, run in a thread; fails (instead of hanging the suite) when it blocks."""
    result = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"blocked for more than {seconds} s"
    return result[0]


# ---------------------------------------------------------------- not regular files


def test_fifos_sockets_and_links_named_as_messages_are_never_opened(folder, tmp_path, monkeypatch):
    [good] = send(plain("good"))
    os.mkfifo(folder / NAME.format(1))
    monkeypatch.chdir(folder)  # a socket's path must be short
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(NAME.format(2))
        (folder / NAME.format(3)).symlink_to("/dev/zero")
        os.mkfifo(tmp_path / "elsewhere")
        (folder / NAME.format(4)).symlink_to(tmp_path / "elsewhere")
        outbox = ob.Outbox(folder)
        assert within(10, lambda: [item.subject for item in outbox.listing(limit=None)]) == ["good"]
        assert within(10, lambda: ob.plan_clear(outbox).files.keys()) == {good}


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can make a device")
def test_a_device_named_as_a_message_is_never_opened(folder):
    send(plain("good"))
    os.mknod(folder / NAME.format(1), stat.S_IFCHR | 0o600, os.makedev(1, 5))  # /dev/zero
    assert within(10, lambda: [item.subject for item in ob.Outbox(folder).listing()]) == ["good"]


def test_a_message_swapped_for_a_fifo_after_the_names_were_read_does_not_block(folder):
    [name] = send(plain("swapped"))
    listing = ob.Outbox(folder).listing(limit=None)
    (folder / name).unlink()
    os.mkfifo(folder / name)
    [item] = within(10, lambda: list(listing))
    assert item.reason == "not a regular file"


# ---------------------------------------------------------------- pathological messages


def nested(depth: int) -> bytes:
    body = b"innermost\n"
    for level in range(depth):
        body = b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n%s\n--b%d--\n' % (level, level, body, level)
    return b"Subject: deep\nFrom: a@example.com\n" + body


def test_mime_nested_a_thousand_deep_is_unreadable_with_the_reason_and_raw_still_works(folder):
    data = nested(1000)
    (folder / NAME.format(1)).write_bytes(data)
    out, _ = run("show", "latest")
    assert "cannot be read: more than 100 nested MIME parts" in out and "--raw" in out
    out, _ = run("show", "latest", "--raw")
    assert out.encode() == data
    assert [item.subject for item in ob.Outbox(folder).listing()] == ["deep"]


def test_a_from_header_of_500_parentheses_is_shown(folder):
    (folder / NAME.format(1)).write_bytes(b"From: " + b"(" * 500 + b"\nTo: b@example.com\nSubject: parens\n\nbody\n")
    out, _ = run("show", "latest")
    assert "Subject: parens" in out and "body" in out
    [item] = ob.Outbox(folder).listing()
    assert item.subject == "parens"


def test_an_attachment_name_of_800_bytes_is_saved_under_a_shorter_name_and_the_next_one_too(folder, tmp_path):
    message = plain("long name")
    message.attach("я" * 400 + ".txt", b"first", "application/octet-stream")  # 800 bytes of UTF-8
    message.attach("next.txt", b"second", "application/octet-stream")
    send(message)
    target = tmp_path / "saved"
    paths = ob.save_attachments(ob.Outbox(folder).get("latest"), target)
    assert [path.read_bytes() for path in paths] == [b"first", b"second"]
    assert len(os.fsencode(paths[0].name)) <= 255 and paths[0].name.endswith("яяя.txt")


def test_a_subject_of_40000_encoded_words_is_unreadable_and_5000_are_decoded(folder):
    word = b"=?utf-8?b?0K8=?="  # Я
    (folder / NAME.format(1)).write_bytes(b"Subject: " + b"\n ".join([word] * 40_000) + b"\n\nbody\n")
    (folder / NAME.format(2)).write_bytes(b"Subject: " + b"\n ".join([word] * 3_000) + b"\n\nbody\n")
    few, many = ob.Outbox(folder).listing()
    assert few.subject == "Я" * 3_000
    assert many.reason == "the headers do not end within 64 KiB"
    out, _ = run("show", many.id)
    assert "cannot be read: the headers do not end within 64 KiB" in out


def test_terminal_escape_sequences_in_headers_are_shown_escaped(folder):
    (folder / NAME.format(1)).write_bytes(
        b"From: =?utf-8?q?evil=1B]0;owned=07?= <a@example.com>\nSubject: \x1b[2J\x1b[31mred\xc2\x9b\n\nbody \x1b[5m\n"
    )
    listed, _ = run("list")
    shown, _ = run("show", "latest")
    for out in (listed, shown):
        assert "\x1b" not in out and "\x07" not in out
        assert "\\x1b[31mred" in out
    assert "evil\\x1b]0;owned\\x07" in shown
    document = json.loads(run("list", "--json")[0])
    assert document["messages"][0]["subject"] == "\x1b[2J\x1b[31mred\x9b"  # JSON keeps the value as it is


# ---------------------------------------------------------------- big files, bounded memory


# The outbox command's address space is capped: reading a big file whole fails with MemoryError. (Its
# peak RSS is no measure: at exec, Linux keeps the forking test process's high-water mark as the child's.)
MEMORY_MB = 256


def listed_in_bounded_memory(folder) -> dict:
    result = manage("outbox", "list", "--json", "--path", str(folder), memory_mb=MEMORY_MB)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def sparse(path, head: bytes, size: int, tail: bytes = b"") -> None:
    """A file of ``size`` bytes that takes no disk: ``head``, a hole of zeros, ``tail``."""
    with open(path, "wb") as stream:
        stream.write(head)
        stream.truncate(size - len(tail))
        stream.seek(size - len(tail))
        stream.write(tail)


def test_a_file_of_half_a_gigabyte_is_listed_in_bounded_memory(folder):
    head = b'Subject: big\nContent-Type: multipart/mixed; boundary="B"\n\n--B\nContent-Type: text/plain\n\n'
    head += b"text\n" * 4000  # then a hole of zeros
    sparse(folder / NAME.format(1), head, 512 << 20, b"\n--B--\n")
    [message] = listed_in_bounded_memory(folder)["messages"]
    assert (message["subject"], message["size"]) == ("big", 512 << 20)


def test_a_message_one_byte_over_the_show_limit_is_told_in_sizes_that_differ(folder):
    sparse(folder / NAME.format(1), b"Subject: big\n\n" + b"text\n" * 4000, SHOW_LIMIT + 1)  # then a hole
    out, _ = run("show", "latest", "--json")
    assert json.loads(out)["reason"] == "too large to show (67,108,865 bytes; the limit is 67,108,864 bytes)"


def test_a_log_file_is_read_as_a_stream(folder):
    first = b"Subject: first\n\nbody\n"
    big = b"Subject: big\n\n" + b"x" * 1000  # then a hole of zeros
    last = b"Subject: last\n\nbody\n"
    path = folder / "20260101-120000-1.log"
    sparse(path, first + SEPARATOR + big, 400 << 20, SEPARATOR + last + SEPARATOR)
    document = listed_in_bounded_memory(folder)
    assert [item["subject"] for item in document["messages"]] == ["last", "first"]
    assert document["total"] == 3 and "binary data" in document["unreadable"][0]["reason"]


def test_a_log_file_of_many_messages_is_counted_and_listed(folder):
    path = folder / "20260101-120000-1.log"
    path.write_bytes(b"".join(b"Subject: #%d\n\nbody\n%s" % (n, SEPARATOR) for n in range(20_000)))
    listing = ob.Outbox(folder).listing(limit=3)
    assert [item.subject for item in listing] == ["#19999", "#19998", "#19997"]
    assert listing.total == 20_000


# ---------------------------------------------------------------- the disk refuses


def test_clear_on_a_disk_that_refuses_the_rewrite_is_one_line_and_loses_nothing(folder):
    log = folder / "20260101-120000-1.log"
    kept = b"Subject: keep\nTo: b@example.com\n\n" + b"k" * 200_000 + b"\n"
    log.write_bytes(kept + SEPARATOR + b"Subject: go\nTo: a@example.com\n\nbody\n" + SEPARATOR)
    before = log.read_bytes()
    # A file size limit makes the rewrite's temporary file fail as a full disk would (EFBIG, not ENOSPC).
    result = subprocess.run(
        [sys.executable, "manage.py", "outbox", "clear", "--to", "a@example.com", "--noinput", "--path", str(folder)],
        cwd=ROOT,
        env={"PATH": os.environ["PATH"], "DJANGO_ENV_FILE": "", "DEBUG": "true", "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000)),
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    error = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert error == [f"Error: 1 file could not be deleted or rewritten and is as it was: {log.name} (File too large)."]
    assert "Hint: Make room on the disk" in result.stderr
    assert log.read_bytes() == before
    assert [path.name for path in folder.iterdir()] == [log.name], "no temporary file left behind"


def test_attachments_to_a_folder_that_cannot_be_made_say_why_in_words(folder):
    message = plain("att")
    message.attach("a.bin", b"x", "application/octet-stream")
    send(message)
    with pytest.raises(MailProblem) as caught:
        ob.save_attachments(ob.Outbox(folder).get("latest"), "/proc/no-such-folder")
    assert caught.value.code == 2
    assert caught.value.message.endswith(": no such file or directory.")
