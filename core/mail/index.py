"""The outbox's summary index: what ``outbox list`` shows of each message, kept by the backend.

Listing 20,000 messages by parsing each file's headers costs about 20 µs a message;
taking its summary from a line of this index costs about 3. The outbox backend appends a
line for every ``.eml`` file it writes, in one ``write`` per batch (``O_APPEND``, so
lines of concurrent writers do not mix):

    <file name> TAB <JSON array: inode, then the summary's fields> NEWLINE

The file is ``.outbox-index-v1.jsonl`` in the outbox folder: a dotfile, so it is
never taken for a message. It is a cache, never the truth:

* a line is used only while a file of that name and inode exists in the folder, so
  a message removed by hand, or replaced under the same name, is read from its file;
* a file without a line (Django's ``.log`` files, an ``.eml`` dropped in by hand, a
  line lost to a crash or to a rewrite racing an append) is read from its file;
* an unreadable or malformed index, or a malformed line, is as good as none.

``rewrite`` keeps the lines of the files that remain, atomically; ``clear`` calls it,
and so does ``list`` when most lines describe files that are gone. Every open is
``O_NOFOLLOW``: a symbolic link planted under the index's name is never followed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Set

INDEX_NAME = ".outbox-index-v1.jsonl"
LINE = re.compile(rb"([^\t\n]+)\t([^\n]+)\n")  # a complete line: a half-written last one has no newline yet
SIZE = re.compile(rb"([^\t\n]+)\t\[[0-9]+,([0-9]+),[^\n]*\n")  # name and size: rows start [inode,size,
_decode = json.JSONDecoder().raw_decode
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def append(folder: str | os.PathLike, rows: Iterable[tuple[str, list]]) -> None:
    """Add a line per ``(file name, row)``; a failure only costs speed, so it is ignored."""
    data = "".join(f"{name}\t{_encode(row)}\n" for name, row in rows).encode()
    if not data:
        return
    with contextlib.suppress(OSError):
        fd = os.open(os.path.join(folder, INDEX_NAME), os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def _read(folder: str | os.PathLike) -> bytes:
    try:
        fd = os.open(os.path.join(folder, INDEX_NAME), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return b""
    try:
        with open(fd, "rb") as stream:
            return stream.read()
    except OSError:
        return b""


def load(folder: str | os.PathLike) -> dict[bytes, bytes]:
    """``file name → the line's JSON`` (bytes both, decoded when used); ``{}`` without a usable index."""
    return dict(LINE.findall(_read(folder)))


def sizes(folder: str | os.PathLike) -> dict[bytes, bytes]:
    """``file name → size`` as recorded (digits), for ``clear``'s report without a stat per file."""
    return dict(SIZE.findall(_read(folder)))


def row(line: bytes | None) -> list | None:
    """The JSON array of a line, or None when it is not one."""
    with contextlib.suppress(ValueError):
        value = _decode(line.decode("utf-8"))[0] if line else None
        if isinstance(value, list):
            return value
    return None


def rows(lines: list[bytes | None]) -> list[list | None]:
    """``row`` of each line (None for None), decoded in one go (a third of the cost) unless one is bad."""
    present = [line for line in lines if line is not None]
    with contextlib.suppress(ValueError):
        values = json.loads(b"[" + b",".join(present) + b"]")
        if len(values) == len(present) and all(type(value) is list for value in values):
            found = iter(values)
            return [None if line is None else next(found) for line in lines]
    return [row(line) for line in lines]


def remove(folder: str | os.PathLike) -> None:
    with contextlib.suppress(OSError):
        os.unlink(os.path.join(folder, INDEX_NAME))


def rewrite(folder: str | os.PathLike, drop: Set[bytes]) -> None:
    """Replace the index, atomically, without the lines of the files named in ``drop`` (none left: no index)."""
    path = os.path.join(folder, INDEX_NAME)
    lines = load(folder)
    if lines.keys().isdisjoint(drop):
        return
    kept = b"".join(name + b"\t" + lines[name] + b"\n" for name in lines.keys() - drop)
    if not kept:
        remove(folder)
        return
    with contextlib.suppress(OSError):
        fd, temp = tempfile.mkstemp(dir=folder, prefix=INDEX_NAME + ".", suffix=".part")
        try:
            with open(fd, "wb") as stream:
                stream.write(kept)
            os.replace(temp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
