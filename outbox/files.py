"""The outbox folder's files: which names are messages, in what order, and how each is opened safely.

Only regular files directly in the folder, named as the two backends name them, are
messages: ``<time>...eml`` files of the project's backend and Django's
``<time>-<id>.log`` files. Dotfiles (a write in progress, the index), other names,
subfolders, symbolic links, FIFOs, sockets and devices are never opened for reading:
the directory entry's type rules them out, and every open is ``O_NOFOLLOW |
O_NONBLOCK`` followed by a check that what was opened is a regular file, so a file
swapped for a FIFO meanwhile cannot block a reader either.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import os
import re
import stat
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem

EML_SUFFIX = ".eml"
LOG_SUFFIX = ".log"
TEMP_PREFIX = ".tmp-"  # a write in progress: a dotfile, so never a message
LOG_NAME = re.compile(r"\d{8}-\d{6}-\d+\.log\Z")  # Django's file backend: <time>-<id(self)>.log
STAMPED = re.compile(r"\d{8}-\d{6}")  # the sortable local time both backends start a name with
ID_LENGTH = 10  # hex digits: 40 bits, so 100,000 messages very rarely share one
READ_WHOLE = 1 << 20  # files up to this size are read into memory; bigger ones are mapped


class NotRegularFile(OSError):
    """A name that was a regular file when the folder was read is something else now."""


def is_message_name(name: str) -> bool:
    """An .eml, or a .log named as Django names it; never a dotfile, a path or a name with a NUL."""
    if name.startswith(".") or "/" in name or "\0" in name:
        return False
    return name.endswith(EML_SUFFIX) or (name.endswith(LOG_SUFFIX) and LOG_NAME.match(name) is not None)


def message_id(name: str, key: bytes = b"") -> str:
    """A message's ID: a short hash of its file name (and, inside a .log, of its bytes)."""
    return hashlib.blake2b(name.encode("utf-8", "surrogateescape") + key, digest_size=8).hexdigest()[:ID_LENGTH]


def folder_problem(folder: Path, error: OSError) -> MailProblem | OSError:
    """A folder that cannot be read, in words; other errors as they are."""
    if isinstance(error, NotADirectoryError):
        hint = _("pass the outbox folder with --path")
        return MailProblem(ExitCode.BAD_INPUT, _("%(folder)s is not a folder.") % {"folder": folder}, hint)
    if isinstance(error, PermissionError):
        return MailProblem(
            ExitCode.BAD_INPUT, _("Cannot read the folder %(folder)s: permission denied.") % {"folder": folder}, ""
        )
    return error


def scan(folder: Path) -> list[str]:
    """The names of the message files in the folder, in the folder's own order; [] when there is no folder.

    The directory entries' types come from readdir itself: no file is stat-ed here.
    """
    try:
        with os.scandir(folder) as entries:
            return [
                entry.name for entry in entries if is_message_name(entry.name) and entry.is_file(follow_symlinks=False)
            ]
    except FileNotFoundError:
        return []
    except OSError as error:
        raise folder_problem(folder, error) from None


class Reading:
    """One reading of a folder: its message file names, the .log files among them, and their order.

    A name starts with the local time the message was saved, so names sort newest last; a file
    named otherwise (dropped in by hand) sorts by its modification time, in the same form, and so
    does Django's ``.log``: its name has the second only, then ``id()`` of the backend, so two
    written in one second (the queue's worker writes one per message) would sort by chance. The
    newest few are picked from the names with a heap, so listing the 20 newest sorts nothing and
    makes no object per file; the whole order is sorted (once) only when it is read further.
    """

    def __init__(self, folder: Path, names: list[str]):
        self.names = names
        self.logs = [name for name in names if name.endswith(LOG_SUFFIX)]
        timed = (name for name in names if name.endswith(LOG_SUFFIX) or not STAMPED.match(name))
        self._times = {name: _file_time(folder, name) for name in timed}
        self._order: list[str] | None = None

    def _key(self, name: str) -> tuple[str, str]:
        return self._times.get(name, name), name

    def newest_first(self, first: int | None = None) -> Iterator[str]:
        """The names newest first; the ``first`` of them from a heap, before the rest is sorted."""
        key = self._key if self._times else None
        top = []
        if self._order is None and first is not None and first < len(self.names):
            top = heapq.nlargest(first, self.names, key=key)
            yield from top
        if self._order is None:
            self._order = sorted(self.names, key=key, reverse=True)
        yield from self._order[len(top) :]


def _file_time(folder: Path, name: str) -> str:
    """A file's modification time in the form the backends start a name with ('' when it is gone)."""
    try:
        mtime = os.lstat(folder / name).st_mtime
    except OSError:
        return ""
    return datetime.fromtimestamp(mtime).strftime("%Y%m%d-%H%M%S-%f")


def read_folder(folder: Path) -> Reading:
    return Reading(folder, scan(folder))


class _Listed:
    """The readings of the last folders read, for a process that reads them again and again
    (the web outbox, whose live list asks every two seconds).

    A folder's reading is reused only while its inode and modification time are unchanged, and only
    once that time is ``SETTLED`` seconds old: a file added in the same tick of the clock as the reading
    (a directory's time is that coarse) is then never missed. With 100,000 messages a reading and its
    newest names cost ~130 ms; the check is one ``stat`` (bench/web_outbox_bench.py).
    """

    SETTLED = 2.0  # seconds
    FOLDERS = 4  # folders kept; ~15 MB for one of 100,000 messages

    def __init__(self):
        self.lock = threading.Lock()
        self.kept: dict[str, tuple[tuple, Reading]] = {}

    def __call__(self, folder: Path) -> Reading:
        try:
            info = os.stat(folder)
        except OSError:
            return read_folder(folder)  # missing: nothing; unreadable: its MailProblem
        identity = (info.st_dev, info.st_ino, info.st_mtime_ns)
        key = os.fspath(folder)
        with self.lock:
            kept = self.kept.get(key)
        if kept is not None and kept[0] == identity:
            return kept[1]
        reading = read_folder(folder)
        if time.time() - info.st_mtime > self.SETTLED:
            with self.lock:
                self.kept.pop(key, None)
                self.kept[key] = (identity, reading)
                while len(self.kept) > self.FOLDERS:
                    del self.kept[next(iter(self.kept))]
        return reading


listed = _Listed()


@contextlib.contextmanager
def regular(path: str | os.PathLike, flags: int = os.O_RDONLY) -> Iterator[tuple[int, os.stat_result]]:
    """A regular file open (a new one made ``0o600`` with ``O_CREAT``), and its stat; ``NotRegularFile``
    when it is anything else. ``O_NONBLOCK``: opening a FIFO waits for no writer; ``O_NOFOLLOW``: a
    link is refused."""
    fd = os.open(path, flags | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, 0o600)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotRegularFile(0, "not a regular file")
        yield fd, info
    finally:
        os.close(fd)


def opened(folder: Path, name: str) -> contextlib.AbstractContextManager[tuple[int, os.stat_result]]:
    """A message file open for reading, and its stat (see ``regular``)."""
    if not is_message_name(name):
        raise ValueError(f"not a message file name: {name!r}")
    return regular(os.path.join(folder, name))


class Span:
    """The bytes of one message: all of a small file read into memory, or a stretch of an open
    file read on demand, a chunk at a time, so that a file of any size costs bounded memory."""

    CHUNK = 1 << 20

    def __init__(self, fd: int | None, start: int, end: int, data: bytes | None = None):
        self.fd, self.start, self.end = fd, start, end
        self.size = end - start
        if data is None and self.size <= READ_WHOLE:
            data = os.pread(fd, self.size, start)
        self.data = data

    @classmethod
    def of(cls, data: bytes) -> Span:
        """Bytes already in memory."""
        return cls(None, 0, len(data), data)

    def read(self, length: int | None = None) -> bytes:
        """The first ``length`` bytes (all of them when None)."""
        length = self.size if length is None else min(length, self.size)
        if self.data is not None:
            return self.data[:length]
        return os.pread(self.fd, length, self.start)

    def chunks(self, overlap: int, first: bytes = b"") -> Iterator[tuple[bytes, bool]]:
        """``(chunk, last)``: the bytes (after ``first``) a chunk at a time, each chunk starting with
        the last ``overlap`` bytes of the one before."""
        if self.data is not None:
            yield first + self.data, True
            return
        position, tail = self.start, first
        while position < self.end:
            block = os.pread(self.fd, min(self.CHUNK, self.end - position), position)
            position += len(block)
            last = not block or position >= self.end
            yield tail + block, last
            if last:
                return
            tail = (tail + block)[-overlap:] if overlap else b""

    def count(self, pattern: re.Pattern, overlap: int, first: bytes = b"") -> int:
        """How many matches of ``pattern`` (each shorter than ``overlap``) there are in ``first`` + the bytes.

        A chunk counts the matches that start before its last ``overlap`` bytes; the next chunk,
        which starts with those bytes, counts the rest.
        """
        total = 0
        for chunk, last in self.chunks(overlap, first):
            cut = len(chunk) if last else len(chunk) - overlap
            total += sum(1 for match in pattern.finditer(chunk) if match.start() < cut)
        return total

    def contains(self, needle: bytes) -> bool:
        return any(needle in chunk for chunk, _ in self.chunks(len(needle)))


def os_reason(error: OSError) -> str:
    """Why a file could not be read, in a few words."""
    if isinstance(error, NotRegularFile):
        return "not a regular file"
    if isinstance(error, FileNotFoundError):
        return "removed while reading"
    if isinstance(error, PermissionError):
        return "permission denied"
    if error.errno == getattr(os, "ELOOP", None):
        return "a symbolic link"
    return error.strerror or str(error)
