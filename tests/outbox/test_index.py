"""outbox.index: the summary index, a cache that must never change what `outbox` shows."""

import os
import stat
import threading

import pytest

import outbox as ob
from outbox import index
from outbox.folder import INDEX_AFTER
from tests.outbox_samples import cyrillic_reset, log_file, plain, send, use_folders

MANY = INDEX_AFTER + 30  # enough that the listing goes past the files it reads directly


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    return path


def varied(count):
    """Messages with every field a summary holds: Cyrillic, Cc, Bcc, attachments, an old Date."""
    messages = []
    for n in range(count):
        if n % 4 == 0:
            message = cyrillic_reset()
        elif n % 4 == 1:
            message = plain(f"cc {n}", to=f"u{n}@example.com", cc=["Copy <CC@Example.com>"], bcc=["hidden@example.com"])
        elif n % 4 == 2:
            message = plain(f"attached {n}")
            message.attach("отчёт.txt", "данные\n", "text/plain")
        else:
            message = plain(f"old {n}")
            message.extra_headers["Date"] = "Mon, 01 Jan 2024 10:00:00 +0300"
        messages.append(message)
    return messages


def everything(folder):
    return list(ob.Outbox(folder).listing(limit=None))


def from_files(folder):
    """What the files alone give, with no index at all."""
    index_path = folder / index.INDEX_NAME
    aside = folder / "index-aside"
    if index_path.exists():
        index_path.rename(aside)
    try:
        return everything(folder)
    finally:
        (folder / index.INDEX_NAME).unlink(missing_ok=True)  # the one the listing just wrote
        if aside.exists():
            aside.rename(index_path)


def subject_of_oldest(folder):
    return everything(folder)[-1].subject


def test_summaries_from_the_index_equal_those_parsed_from_the_files(folder):
    send(*varied(MANY))
    log_file(folder, plain("in a log"), cyrillic_reset())
    assert everything(folder) == from_files(folder)


def test_a_line_is_trusted_only_while_inode_size_and_time_are_those_of_the_file(folder):
    names = send(*[plain(f"#{n:03}") for n in range(MANY)])
    oldest = folder / names[0]
    before = oldest.stat()
    data = oldest.read_bytes()

    with open(oldest, "r+b") as stream:  # rewritten in place, as `cp` onto it or an editor does
        stream.write(data.replace(b"Subject: #000", b"Subject: #999"))
    assert subject_of_oldest(folder) == "#999", "a new modification time: read again"
    listed = oldest.stat()  # as `list` found it, and wrote a line for

    with open(oldest, "r+b") as stream:  # the same size and inode, and that time put back
        stream.write(data.replace(b"Subject: #000", b"Subject: #777"))
    os.utime(oldest, ns=(listed.st_atime_ns, listed.st_mtime_ns))
    assert subject_of_oldest(folder) == "#999", "the file matches the line `list` wrote: the index is used"

    oldest.write_bytes(data + b"more\n")  # another size
    os.utime(oldest, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert subject_of_oldest(folder) == "#000"

    replacement = folder / "replacement"
    replacement.write_bytes(data.replace(b"Subject: #000", b"Subject: new"))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, oldest)  # another inode, the same size and time
    assert subject_of_oldest(folder) == "new"


@pytest.mark.parametrize(
    "line",
    [
        b"no tab on this line",
        b"{name}\t[1, 2",  # broken JSON
        b'{name}\t{{"subject": "forged"}}',  # not an array
        b"{name}\t[]",
        b"{name}\t[{inode},{size},{mtime}]",  # too few fields
        b'{name}\t[{inode},{size},{mtime},null,"a@x",[],[],[],12345,0,[],false]',  # subject a number
        b'{name}\t[{inode},{size},{mtime},null,"a@x",[1],[],[],"forged",0,[],false]',  # a recipient a number
        b'{name}\t[{inode},{size},{mtime},null,"a@x",[],[],[],"forged",true,[],false]',  # attachments a boolean
        b'{name}\t[{inode},{size},{mtime},"yesterday","a@x",[],[],[],"forged",0,[],false]',  # not a date
        b'{name}\t[{inode},{size},{mtime},"2026-01-01T10:00","a@x",[],[],[],"forged",0,[],false]',  # no time zone
        # in range, but not in UTC or every time zone (UTC: 10000)
        b'{name}\t[{inode},{size},{mtime},"9999-12-31T23:59:59-23:59","a@x",[],[],[],"forged",0,[],false]',
        # in range, but not in UTC or every time zone (UTC: year 0)
        b'{name}\t[{inode},{size},{mtime},"0001-01-01T00:00:00+23:59","a@x",[],[],[],"forged",0,[],false]',
        b'{name}\t[{inode},{size},{mtime},"2026-01-01T10:00+00:00","a@x",[],[],[],"forged",0,[],1]',  # flag a number
        b'{name}\t[{inode},{size},{mtime},null,"a@x",[],[],[],"forged",0,[],true]',  # the file's time, but no time
        b"\xff\xfe\t[1]",  # not UTF-8
    ],
)
def test_malformed_lines_and_lines_of_the_wrong_types_change_nothing(folder, line):
    names = send(*varied(MANY))
    (folder / names[3]).unlink()
    expected = from_files(folder)
    oldest = folder / names[0]
    info = oldest.stat()
    values = {"name": names[0], "inode": info.st_ino, "size": info.st_size, "mtime": info.st_mtime_ns}
    text = line.decode("utf-8", "surrogateescape").format(**values)
    with open(folder / index.INDEX_NAME, "ab") as stream:
        stream.write(text.encode("utf-8", "surrogateescape") + b"\n")
        stream.write(names[1].encode() + b"\t[1,2,null,")  # half written: no newline yet
    assert everything(folder) == expected


def test_a_deleted_index_heals_itself(folder):
    send(*varied(MANY))
    (folder / index.INDEX_NAME).unlink()
    expected = everything(folder)  # parses every file, and writes the lines it lacked
    lines = index.load(folder, set(os.listdir(folder)))
    assert len(lines) == MANY - INDEX_AFTER, "a line for each file past those read directly"
    assert everything(folder) == expected
    assert len(index.load(folder, set(os.listdir(folder)))) == MANY - INDEX_AFTER, "no line written twice"


def test_a_symbolic_link_in_place_of_the_index_is_never_followed(folder, tmp_path):
    send(*[plain(f"#{n}") for n in range(MANY)])
    lines = (folder / index.INDEX_NAME).read_bytes()
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(lines.replace(b'"#', b'"forged #'))  # right names and files, forged subjects
    (folder / index.INDEX_NAME).unlink()
    (folder / index.INDEX_NAME).symlink_to(outside)
    send(plain("after the link"))
    subjects = [item.subject for item in everything(folder)]
    assert outside.read_bytes() == lines.replace(b'"#', b'"forged #'), "nothing was appended through it"
    assert subjects[0] == "after the link"
    assert not any(subject.startswith("forged") for subject in subjects)


def test_a_fifo_in_place_of_the_index_blocks_neither_the_backend_nor_list(folder):
    send(*[plain(f"#{n}") for n in range(MANY)])
    (folder / index.INDEX_NAME).unlink()
    os.mkfifo(folder / index.INDEX_NAME)
    done = []

    def work():
        send(plain("after the fifo"))
        done.append(len(everything(folder)))

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(timeout=20)
    assert done == [MANY + 1], "the backend and list went on without the index"
    assert stat.S_ISFIFO(os.lstat(folder / index.INDEX_NAME).st_mode)


def test_a_message_is_saved_even_when_the_index_cannot_be_written(folder):
    folder.mkdir()
    (folder / index.INDEX_NAME).mkdir()  # not a file: every append fails
    [name] = send(cyrillic_reset())
    assert (folder / name).is_file()
    [item] = everything(folder)
    assert item.file == name


def test_an_index_far_larger_than_the_folder_needs_is_ignored(folder):
    send(*[plain(f"#{n}") for n in range(MANY)])
    info = os.stat(folder / index.INDEX_NAME)
    with open(folder / index.INDEX_NAME, "ab") as stream:
        stream.truncate(info.st_size + index.BYTES_PER_FILE * (MANY + 1) + (1 << 20))  # a hole: no disk used
    assert [item.subject for item in everything(folder)] == [f"#{n}" for n in reversed(range(MANY))]


def test_list_drops_the_lines_of_files_removed_by_hand_once_they_are_most(folder):
    names = send(*[plain(f"#{n}") for n in range(MANY)])
    real_line = (folder / index.INDEX_NAME).read_bytes().splitlines()[0].split(b"\t", 1)[1]
    with open(folder / index.INDEX_NAME, "ab") as stream:  # as if 2,000 messages had been deleted with rm
        stream.writelines(f"20000101-000000-{n:06}-00000000.eml\t".encode() + real_line + b"\n" for n in range(2000))
    assert len(everything(folder)) == MANY
    assert sorted(index.load(folder, set(names))) == sorted(names)
    assert len((folder / index.INDEX_NAME).read_bytes().splitlines()) == MANY


def test_clear_drops_the_lines_of_the_messages_it_removes(folder):
    send(*[plain(f"#{n}", to="a@example.com" if n % 2 else "b@example.com") for n in range(MANY)])
    outbox = ob.Outbox(folder)
    ob.clear(outbox, ob.plan_clear(outbox, to="a@example.com"))
    kept = {path.name for path in folder.glob("*.eml")}
    assert len(kept) == MANY - MANY // 2
    assert set(index.load(folder, kept)) == kept
    ob.clear(outbox, ob.plan_clear(outbox))
    assert sorted(os.listdir(folder)) == []
