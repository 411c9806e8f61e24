"""The newest names of an outbox folder, kept on the folder so that ``list`` need not read them all.

Reading a folder's names is most of what ``outbox list`` costs on a big outbox: about
40 ms to read and check 100,000 names, a third of the whole command. After ``list`` has read every
name of a folder that had settled, it keeps the newest names, the number of message
files and the names of the ``.log`` files in an extended attribute of the folder
(``user.outbox-listing-v1``). Setting it changes the folder's ctime, not its
modification time.

The next ``list`` trusts it only while the folder is the same one (device and inode)
with the same modification time. Creating, removing or renaming anything in the folder
changes that time: a message saved, a file deleted by hand, ``clear``. Files are still
read afresh: the newest for their summaries, and every ``.log`` file for its count,
since Django's backend appends to one in place.

"Settled" means that the folder's modification time was the same before and after the
names were read, and is at least ``QUIET_NS`` old. A file system stamps times with a
coarse clock (a few milliseconds on ext4, 2 s on FAT), so a change made within the
same tick as the one before it leaves the time as it was; a time that old cannot be
shared with a change the read did not see.

Where extended attributes are not available (not Linux, a file system without user
attributes, a folder the user may not write), nothing is kept and ``list`` reads every
name, as it would anyway. A malformed value is as good as none.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass

ATTRIBUTE = "user.outbox-listing-v1"
NEWEST = 30  # names kept: ``list`` of up to 29 (its default is 20) needs no others
QUIET_NS = 2_000_000_000
MAX_SIZE = 3_500  # ext4 keeps all the attributes of a folder in one 4 KiB block


@dataclass(frozen=True)
class Snapshot:
    newest: list[str]  # newest first
    files: int  # message files in the folder
    logs: list[str]  # the .log files among them


def stamp(before: os.stat_result, after: os.stat_result) -> list[int] | None:
    """The folder's identity and time, if the names were read (between the two stats) from a settled folder."""
    if before.st_mtime_ns != after.st_mtime_ns or time.time_ns() - after.st_mtime_ns < QUIET_NS:
        return None
    return identity(after)


def identity(found: os.stat_result) -> list[int]:
    return [found.st_dev, found.st_ino, found.st_mtime_ns]


def read(fd: int) -> Snapshot | None:
    """The snapshot kept on the folder open as ``fd``, if the folder has not changed since."""
    try:
        value = json.loads(os.getxattr(fd, ATTRIBUTE))
        if value["stamp"] != identity(os.fstat(fd)):
            return None
        newest, files, logs = value["newest"], value["files"], value["logs"]
    except (OSError, AttributeError, ValueError, KeyError, TypeError):  # AttributeError: no xattr on this OS
        return None
    names_ok = all(isinstance(name, str) for name in [*newest, *logs])
    if not (isinstance(files, int) and names_ok and len(newest) <= files and len(logs) <= files):
        return None
    return Snapshot(newest, files, logs)


def write(folder: str | os.PathLike, stamp: list[int], snapshot: Snapshot) -> None:
    """Keep ``snapshot`` for the folder as ``stamp`` found it (quietly nothing where that is not possible)."""
    value = json.dumps(
        {"stamp": stamp, "newest": snapshot.newest, "files": snapshot.files, "logs": snapshot.logs},
        separators=(",", ":"),
    ).encode()
    if len(value) > MAX_SIZE:  # many .log files
        return
    with contextlib.suppress(OSError, AttributeError):  # AttributeError: no xattr on this OS
        os.setxattr(folder, ATTRIBUTE, value)
