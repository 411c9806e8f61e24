"""core.mail.index: the backend's summary index, a cache that must never change what `outbox` shows."""

import os

import pytest

from core.mail import index
from core.mail import outbox as ob
from tests.outbox_samples import cyrillic_reset, log_file, plain, send, use_folders

MANY = ob.INDEX_AFTER + 30  # enough that the listing goes past the files it reads directly


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    return path


@pytest.fixture
def reads(monkeypatch):
    """The names of the message files the outbox reads (the real reads happen)."""
    names = []
    real = ob.Outbox.read_file

    def read_file(self, name):
        names.append(name)
        return real(self, name)

    monkeypatch.setattr(ob.Outbox, "read_file", read_file)
    return names


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


def from_files(folder):
    """The summaries as the files alone give them."""
    (folder / index.INDEX_NAME).rename(folder / "index-aside")
    try:
        return list(ob.Outbox(folder).summaries())
    finally:
        (folder / "index-aside").rename(folder / index.INDEX_NAME)


def test_summaries_from_the_index_equal_those_parsed_from_the_files(folder, reads):
    send(*varied(MANY))
    log = log_file(folder, plain("in a log"), cyrillic_reset()).name
    expected = from_files(folder)
    assert len(reads) == MANY + 1
    reads.clear()
    assert list(ob.Outbox(folder).summaries()) == expected
    first = ob.Outbox(folder).files()[: ob.INDEX_AFTER]
    assert reads == first + ([log] if log not in first else []), "past the first hundred, only the .log is read"


def test_a_file_replaced_under_the_same_name_is_read_again(folder):
    names = send(*[plain(f"#{n}") for n in range(MANY)])
    oldest = folder / names[0]
    replacement = folder / "replacement"
    replacement.write_bytes(oldest.read_bytes().replace(b"Subject: #0", b"Subject: replaced"))
    os.replace(replacement, oldest)  # a new file (inode) under the old name
    assert [item.subject for item in ob.Outbox(folder).summaries()][-1] == "replaced"


def test_lines_of_removed_files_and_malformed_lines_change_nothing(folder):
    names = send(*varied(MANY))
    for name in names[:10]:
        (folder / name).unlink()
    first_kept = names[10].encode()
    with open(folder / index.INDEX_NAME, "ab") as stream:
        stream.write(b"no tab on this line\n")
        stream.write(first_kept + b"\t[1, 2\n")  # broken JSON
        stream.write(first_kept + b'\t{"subject": "forged"}\n')  # not an array
        stream.write(first_kept + b"\t[]\n")
        stream.write(first_kept + b'\t[1,"too few fields"]\n')
        stream.write(names[11].encode() + b"\t[1,2,null,")  # half written: no newline yet
    assert list(ob.Outbox(folder).summaries()) == from_files(folder)
    assert len(list(ob.Outbox(folder).summaries())) == MANY - 10


def test_a_symbolic_link_in_place_of_the_index_is_never_followed(folder, tmp_path):
    send(*[plain(f"#{n}") for n in range(MANY)])
    lines = (folder / index.INDEX_NAME).read_bytes()
    outside = tmp_path / "outside.jsonl"
    outside.write_bytes(lines.replace(b'"#', b'"forged #'))  # right names and inodes, forged subjects
    (folder / index.INDEX_NAME).unlink()
    (folder / index.INDEX_NAME).symlink_to(outside)
    send(plain("after the link"))
    assert outside.read_bytes() == lines.replace(b'"#', b'"forged #'), "the backend did not append through it"
    subjects = [item.subject for item in ob.Outbox(folder).summaries()]
    assert subjects[0] == "after the link"
    assert not any(subject.startswith("forged") for subject in subjects)


def test_a_message_is_saved_even_when_the_index_cannot_be_written(folder):
    folder.mkdir()
    (folder / index.INDEX_NAME).mkdir()  # not a file: every append fails
    [name] = send(cyrillic_reset())
    assert (folder / name).is_file()
    [item] = ob.Outbox(folder).summaries()
    assert item.file == name


def test_list_drops_the_lines_of_files_removed_by_hand_once_they_are_most(folder):
    names = send(*[plain(f"#{n}") for n in range(MANY)])
    real_line = (folder / index.INDEX_NAME).read_bytes().splitlines()[0].split(b"\t", 1)[1]
    with open(folder / index.INDEX_NAME, "ab") as stream:  # as if 2,000 messages had been deleted with rm
        stream.writelines(f"20000101-000000-{n:06}-00000000.eml\t".encode() + real_line + b"\n" for n in range(2000))
    assert len(list(ob.Outbox(folder).listing(limit=None))) == MANY
    assert sorted(index.load(folder)) == sorted(name.encode() for name in names)


def test_clear_drops_the_lines_of_the_messages_it_removes(folder):
    send(*[plain(f"#{n}", to="a@example.com" if n % 2 else "b@example.com") for n in range(MANY)])
    outbox = ob.Outbox(folder)
    outbox.clear(outbox.plan_clear(to="a@example.com"))
    kept = {path.name.encode() for path in folder.glob("*.eml")}
    assert len(kept) == MANY - MANY // 2
    assert set(index.load(folder)) == kept
    outbox.clear(outbox.plan_clear())
    assert sorted(os.listdir(folder)) == []
