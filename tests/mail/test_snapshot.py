"""core.mail.snapshot: the newest names kept on the folder; ``list`` must show what the folder holds."""

import json
import os
import time
from pathlib import Path

import pytest

from core.mail import outbox as ob
from core.mail import snapshot
from tests.conftest import manage
from tests.outbox_samples import DASHES, log_file, plain, send, use_folders

pytestmark = pytest.mark.skipif(not hasattr(os, "setxattr"), reason="extended attributes are Linux only")


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    send(*(plain(f"message {n}") for n in range(5)))
    try:
        os.setxattr(path, "user.probe", b"")
    except OSError as error:  # e.g. tmpfs before Linux 6.6: nothing is kept, every list reads every name
        pytest.skip(f"this file system keeps no user attributes ({error.strerror})")
    os.removexattr(path, "user.probe")
    return path


@pytest.fixture
def scans(monkeypatch):
    """How many times an outbox reads every name of its folder (the real reads happen)."""
    calls = []
    real = ob.Outbox.scan

    def scan(self):
        calls.append(self.folder)
        return real(self)

    monkeypatch.setattr(ob.Outbox, "scan", scan)
    return calls


def settle(folder: Path) -> None:
    """Make the folder's last change look a minute old, as if nothing had written to it since."""
    minute_ago = time.time_ns() - 60 * 10**9
    os.utime(folder, ns=(minute_ago, minute_ago))


def shown(folder: Path, limit: int = ob.DEFAULT_LIMIT) -> tuple[list[str], int]:
    listing = ob.Outbox(folder).listing(limit=limit)
    items = [item.subject if isinstance(item, ob.Summary) else f"unreadable {item.file}" for item in listing]
    return items, listing.total


def kept(folder: Path) -> dict | None:
    try:
        return json.loads(os.getxattr(folder, snapshot.ATTRIBUTE))
    except OSError:
        return None


def test_a_settled_folder_is_listed_from_its_snapshot_without_reading_every_name(folder, scans):
    settle(folder)
    first = shown(folder)
    assert len(scans) == 1
    assert kept(folder)["files"] == 5
    assert shown(folder) == first == ([f"message {n}" for n in reversed(range(5))], 5)
    assert len(scans) == 1


def test_a_folder_changed_within_the_quiet_time_keeps_no_snapshot(folder, scans):
    shown(folder)  # the messages were just written
    assert kept(folder) is None
    shown(folder)
    assert len(scans) == 2


def remove_newest(folder):
    max(folder.glob("*.eml")).unlink()


def drop_in(folder):
    (folder / "29991231-235959-hand.eml").write_bytes(b"Subject: by hand\n\nBody\n")


def rename_newest(folder):
    newest = max(folder.glob("*.eml"))
    newest.rename(folder / "00000000-000000-renamed.eml")


def clear_to(folder):
    outbox = ob.Outbox(folder)
    outbox.clear(outbox.plan_clear(to="to@example.com"))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda folder: send(plain("new")), (["new", *(f"message {n}" for n in reversed(range(5)))], 6)),
        (remove_newest, ([f"message {n}" for n in reversed(range(4))], 4)),
        (drop_in, (["by hand", *(f"message {n}" for n in reversed(range(5)))], 6)),
        (rename_newest, ([*(f"message {n}" for n in reversed(range(4))), "message 4"], 5)),
        (clear_to, ([], 0)),
    ],
    ids=["saved", "removed", "dropped-in", "renamed", "cleared"],
)
def test_any_change_in_the_folder_is_seen_by_the_next_list(folder, change, expected):
    settle(folder)
    shown(folder)
    assert kept(folder) is not None
    change(folder)
    assert shown(folder) == expected


def test_the_snapshot_holds_only_while_the_folder_time_is_unchanged(folder):
    settle(folder)
    shown(folder)
    before = os.stat(folder)
    drop_in(folder)
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # a change within the same clock tick
    assert "by hand" not in shown(folder)[0]  # which is why a snapshot is kept only of a settled folder
    os.utime(folder)  # any later change
    assert shown(folder)[0][0] == "by hand"


def test_no_snapshot_is_kept_of_names_placed_by_modification_time(folder):
    (folder / "hand-made.eml").write_bytes(b"Subject: by hand\n\nBody\n")
    os.utime(folder / "hand-made.eml", (0, 0))
    settle(folder)
    assert shown(folder)[0][-1] == "by hand"
    os.utime(folder / "hand-made.eml")  # newer now, and the folder's time is unchanged
    assert kept(folder) is None
    assert shown(folder)[0][0] == "by hand"


def test_a_log_file_that_grows_in_place_is_counted_and_read_afresh(folder):
    log = log_file(folder, plain("log 1"), plain("log 2"))
    settle(folder)
    assert shown(folder)[1] == 7
    with open(log, "ab") as stream:  # as Django's backend appends, on the same connection
        stream.write(
            b"Subject: log 3\nFrom: from@example.com\nTo: to@example.com\n\nBody\n\n" + DASHES.encode() + b"\n"
        )
    items, total = shown(folder)
    assert total == 8
    assert "log 3" in items


def test_unreadable_files_that_fill_the_snapshot_are_followed_by_every_other_name(folder, scans):
    for n in range(snapshot.NEWEST):
        (folder / f"29991231-235959-{n:06d}-junk.eml").write_bytes(b"")
    settle(folder)
    first = shown(folder)
    assert shown(folder) == first
    assert first[0][-5:] == [f"message {n}" for n in reversed(range(5))]
    assert first[1] == snapshot.NEWEST + 5
    assert len(scans) == 2  # the second listing read every name only once the kept ones ran out


def current_stamp(folder: Path) -> list[int]:
    found = os.stat(folder)
    return [found.st_dev, found.st_ino, found.st_mtime_ns]


@pytest.mark.parametrize("value", [b"not json", b'{"stamp": "x"}', b"[]", b'{"stamp": null, "newest": 1}'])
def test_a_malformed_snapshot_is_ignored(folder, value):
    settle(folder)
    expected = shown(folder)
    os.setxattr(folder, snapshot.ATTRIBUTE, value)
    assert shown(folder) == expected


@pytest.mark.parametrize(
    ("newest", "files", "logs"),
    [
        (["../../etc/passwd.eml"], 5, []),
        (["/etc/x.eml"], 5, []),
        (["a\0.eml"], 5, []),
        ([".outbox-index-v1.jsonl"], 5, []),
        ([], 5, ["app.log"]),
        ([1], 5, []),
        ([], "5", []),
        (["20260101-120000-000000-a.eml", "20260101-120000-000000-b.eml"], 1, []),
    ],
)
def test_a_forged_snapshot_of_the_current_folder_is_ignored(folder, newest, files, logs):
    settle(folder)
    expected = shown(folder)
    value = {"stamp": current_stamp(folder), "newest": newest, "files": files, "logs": logs}
    os.setxattr(folder, snapshot.ATTRIBUTE, json.dumps(value).encode())
    assert shown(folder) == expected


def test_only_a_folder_settled_before_and_after_the_read_is_stamped(folder):
    settle(folder)
    settled = os.stat(folder)
    assert snapshot.stamp(settled, settled) == current_stamp(folder)
    half_minute_ago = time.time_ns() - 30 * 10**9
    os.utime(folder, ns=(half_minute_ago, half_minute_ago))  # changed during the read, long ago
    assert snapshot.stamp(settled, os.stat(folder)) is None
    os.utime(folder)  # changed just now
    assert snapshot.stamp(os.stat(folder), os.stat(folder)) is None


def test_outbox_list_prints_the_same_from_a_snapshot(folder):
    settle(folder)
    first = manage("outbox", "list", "--path", str(folder))
    assert kept(folder) is not None
    second = manage("outbox", "list", "--path", str(folder))
    assert first.returncode == second.returncode == 0
    assert second.stdout == first.stdout
    assert "5 shown of 5 messages" in second.stdout
