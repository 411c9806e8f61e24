"""The outbox's summary index: what ``list`` shows of each ``.eml`` file, kept so it need not parse it again.

One line per file, appended with one ``write`` per batch (``O_APPEND``, so the lines
of concurrent writers do not mix), the last line of a name winning:

    <file name> TAB <JSON array: inode, size, mtime_ns, then the summary's fields> NEWLINE

The file is ``.outbox-index-v3.jsonl`` in the outbox folder: a dotfile, so never taken
for a message. It is a cache, never the truth:

* a line is used only while the file of that name has the same inode, size and
  modification time, so a file replaced, rewritten in place or touched is read again;
* a line that is malformed or holds a value of the wrong type (or a date out of range) is ignored;
* ``list`` appends lines for the files it had to parse, so a deleted index heals itself.

Every open is ``O_NOFOLLOW | O_NONBLOCK`` and checks that it opened a regular file: a link,
a FIFO or a device put in the index's place is never read or written. An index far larger
than its folder's messages could need is ignored.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import tempfile
from collections.abc import Collection, Iterable
from datetime import datetime
from pathlib import Path

from outbox.files import regular
from outbox.headers import in_range
from outbox.messages import Summary

INDEX_NAME = ".outbox-index-v3.jsonl"
OLD_NAMES = (".outbox-index-v1.jsonl", ".outbox-index-v2.jsonl")  # earlier formats: removed by clear
BYTES_PER_FILE = 16 * 1024  # an index larger than this per message file (plus 1 MiB) is ignored
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_decode = json.JSONDecoder().decode


def row(summary: Summary, info: os.stat_result) -> list:
    """The index's JSON array for the summary of the file ``info`` describes."""
    return [
        info.st_ino,
        info.st_size,
        info.st_mtime_ns,
        summary.date.isoformat() if summary.date else None,
        summary.sender,
        summary.to,
        summary.cc,
        summary.bcc,
        summary.subject,
        summary.attachments,
        sorted(summary.addresses),
        summary.date_from_file,
    ]


def summary(name: str, ident: str, line: bytes, info: os.stat_result) -> Summary | None:
    """The summary a line gives, if it is well formed and for this very file (inode, size, mtime)."""
    try:
        value = _decode(line.decode("utf-8"))
        inode, size, mtime, date, sender, to, cc, bcc, subject, attachments, addresses, from_file = value
        if (inode, size, mtime) != (info.st_ino, info.st_size, info.st_mtime_ns) or type(size) is not int:
            return None
        if not (type(sender) is type(subject) is str and type(attachments) is int and attachments >= 0):
            return None
        if type(from_file) is not bool or (from_file and date is None):
            return None
        if not (type(to) is type(cc) is type(bcc) is type(addresses) is list):
            return None
        if not all(type(item) is str for item in itertools.chain(to, cc, bcc, addresses)):
            return None
        when = datetime.fromisoformat(date) if date is not None else None
        if when is not None and (when.tzinfo is None or in_range(when) is None):
            return None
    except (ValueError, TypeError, UnicodeDecodeError):  # not JSON, not 12 values, not a date
        return None
    addresses = frozenset(addresses)
    return Summary(ident, name, 0, when, sender, to, cc, bcc, subject, attachments, size, addresses, from_file)


def load(folder: Path, names: Collection[str]) -> dict[str, bytes]:
    """``file name → its last line's JSON`` (decoded when used) for the message files ``names``;
    ``{}`` without a usable index. An index mostly of lines for files that are gone (removed
    by hand, or rewritten many times) is rewritten with the lines that still count."""
    try:
        with regular(folder / INDEX_NAME) as (fd, info):
            if info.st_size > (1 << 20) + BYTES_PER_FILE * len(names):
                return {}
            data = os.pread(fd, info.st_size, 0)
    except OSError:
        return {}
    lines, count = {}, 0
    for line in data.split(b"\n")[:-1]:  # a half-written last line has no newline yet
        name, tab, value = line.partition(b"\t")
        if tab:
            count += 1
            with contextlib.suppress(UnicodeDecodeError):
                lines[name.decode("utf-8")] = value
    if count > 2 * len(names) + 1000:
        lines = {name: line for name, line in lines.items() if name in names}
        _replace(folder, lines)
    return lines


def append(folder: Path, rows: Iterable[tuple[str, list]]) -> None:
    """Add a line per ``(file name, row)``; a failure only costs speed, so it is ignored."""
    data = b"".join(_line(name, value) for name, value in rows)
    if not data:
        return
    with contextlib.suppress(OSError), regular(folder / INDEX_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT) as (fd, _):
        os.write(fd, data)


def _line(name: str, value: list) -> bytes:
    if "\t" in name or "\n" in name:
        return b""
    try:
        return f"{name}\t{_encode(value)}\n".encode()
    except UnicodeEncodeError:  # a name that is not UTF-8 (kept as surrogates): no line
        return b""


def rewrite(folder: Path, keep: Collection[str]) -> None:
    """Replace the index, atomically, with the last line of each name in ``keep`` (none: no index)."""
    _replace(folder, {name: line for name, line in load(folder, keep).items() if name in keep})


def _replace(folder: Path, lines: dict[str, bytes]) -> None:
    if not lines:
        remove(folder)
        return
    with contextlib.suppress(OSError):
        fd, temp = tempfile.mkstemp(dir=folder, prefix=INDEX_NAME + ".", suffix=".part")
        try:
            with open(fd, "wb") as stream:
                stream.write(b"".join(name.encode() + b"\t" + line + b"\n" for name, line in lines.items()))
            os.replace(temp, folder / INDEX_NAME)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise


def remove(folder: Path) -> None:
    for name in (INDEX_NAME, *OLD_NAMES):
        with contextlib.suppress(OSError):
            os.unlink(folder / name)
