"""Reading, filtering and deleting the messages saved in an outbox folder.

Two formats are read, side by side in one folder:

* the project's backend (``core.mail.backends``): one message per
  ``YYYYMMDD-HHMMSS-ffffff-<8 hex>.eml`` file, written atomically;
* Django's file backend: ``YYYYMMDD-HHMMSS-<id>.log`` files holding every
  message of a connection, each followed by a line of 79 dashes.

Only regular files directly in the folder with those names are messages:
dotfiles (the backend's ``.tmp-*.part`` files among them), other files,
subfolders and symbolic links, whatever they point to, are never read or
removed. Names sort by time, so the newest messages are found from the names
alone; ``list`` of the 20 newest reads about 20 files whatever the folder holds.
Past the first hundred, summaries come from the backend's index
(``core.mail.index``) wherever it has a line for the very file. While a folder
is unchanged, ``list`` takes its newest names from the snapshot the previous
``list`` kept (``core.mail.snapshot``) instead of reading every name.

An ID is a short hash of the file name (and, inside a ``.log``, of the
message's bytes), so it does not change when other messages come or go. Any
unique prefix of it names a message; ``latest`` names the newest.

Nothing here prints: the ``outbox`` command and any web view render the same
dataclasses. Problems a person can act on are ``MailProblem``.
"""

from __future__ import annotations

import binascii
import contextlib
import email
import email.policy
import functools
import hashlib
import heapq
import itertools
import operator
import os
import re
import stat
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from datetime import timezone as dt_timezone
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from core.mail import index as index_file
from core.mail import snapshot
from core.mail.errors import ExitCode, MailProblem

EML_SUFFIX = ".eml"
TEMP_PREFIX = ".tmp-"  # a write in progress: a dotfile, so never a message
LOG_SUFFIX = ".log"
SUFFIXES = (EML_SUFFIX, LOG_SUFFIX)
LOG_SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # what Django's file backend writes after each message
LOG_NAME = re.compile(r"\d{8}-\d{6}-\d+\.log\Z")
STAMPED_NAME = re.compile(r"\d{8}-\d{6}")  # the sortable time prefix both backends write
# Names, each followed by a / (which no name holds), that are all named as the backends name them:
# the time first, then an .eml name or Django's .log name. Anything else takes a closer look.
PLAIN_NAMES = re.compile(r"(?:[0-9]{8}-[0-9]{6}(?:[^/]*\.eml|-[0-9]+\.log)/)*")
SCAN_BATCH = 4096  # directory entries checked at a time
SORTED_FIRST = 100  # names found with a heap before the rest is sorted
UNLINK_IN_THREADS = 1000  # from this many files, clear unlinks in two threads
ID_LENGTH = 10  # hex digits: 40 bits, so 100,000 messages very rarely share one
LATEST = "latest"
READ_SIZE = 1 << 16
DEFAULT_LIMIT = 20
INDEX_AFTER = 100  # files read directly before the index is loaded (the 20 newest never need it)

# Headers the list reads, found with one regular expression over the header block.
HEADER_LINE = re.compile(rb"^(subject|from|to|cc|bcc|date|content-type)[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)", re.I | re.M)
ANY_HEADER = re.compile(rb"[!-9;-~]+[ \t]*:")
# A line starting `Content-Disposition: attachment`, any case: searched in the lower-cased bytes
# behind a newline, so that the regular expression starts with a literal (fast) rather than `^`.
ATTACHMENT = re.compile(rb"\ncontent-disposition:[ \t]*attachment")
BOUNDARY = re.compile(rb'boundary[ \t]*=[ \t]*"?([^";\r\n]+)', re.I)
FOLD = re.compile(r"\r?\n(?=[ \t])")
URL = re.compile(r"""https?://[^\s<>"'`]+""", re.I)
AGE = re.compile(r"(\d+)\s*(s|sec|m|min|h|d|w)\Z", re.I)
AGE_UNITS = {
    "s": "seconds",
    "sec": "seconds",
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
}


# ---------------------------------------------------------------- results


@dataclass(slots=True)
class Summary:
    """One message as the list shows it (headers decoded; dates aware)."""

    id: str
    file: str
    index: int  # position inside a .log file; 0 for an .eml file
    date: datetime | None
    sender: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    attachments: int
    size: int
    addresses: frozenset[str] = frozenset()  # every recipient's address, case-folded

    def matches(self, *, to: str | None = None, search: str | None = None, since=None, before=None) -> bool:
        if to is not None and to.casefold() not in self.addresses:
            return False
        if search is not None:
            haystack = "\n".join([self.subject, self.sender, *self.to, *self.cc, *self.bcc]).casefold()
            if search.casefold() not in haystack:
                return False
        if since is not None and (self.date is None or self.date < since):
            return False
        return before is None or (self.date is not None and self.date < before)

    def row(self, inode: int) -> list:
        """The index's JSON array for this summary of an .eml file (``core.mail.index``).

        Inode and size come first: ``index.sizes`` reads them with a regular expression.
        """
        date = self.date.isoformat() if self.date else None
        addresses = sorted(self.addresses)
        return [
            inode,
            self.size,
            date,
            self.sender,
            self.to,
            self.cc,
            self.bcc,
            self.subject,
            self.attachments,
            addresses,
        ]

    @classmethod
    def from_row(cls, name: str, row: list) -> Summary:
        """The summary an index row describes; TypeError or ValueError when the row is not one."""
        _, size, date, sender, to, cc, bcc, subject, attachments, addresses = row
        when = datetime.fromisoformat(date) if date is not None else None
        return cls(
            message_id(name), name, 0, when, sender, to, cc, bcc, subject, attachments, size, frozenset(addresses)
        )


@dataclass(slots=True)
class Unreadable:
    """A message file that cannot be read as mail, and why."""

    id: str
    file: str
    index: int
    reason: str
    size: int = 0


@dataclass(slots=True)
class Attachment:
    name: str
    content_type: str
    size: int
    data: bytes = field(repr=False, default=b"")


@dataclass(slots=True)
class Message:
    """One message in full, for ``show``."""

    summary: Summary
    headers: list[tuple[str, str]]
    text: str  # the text part, or the HTML part rendered as text
    text_from_html: bool
    html: str | None
    attachments: list[Attachment]
    links: list[str]
    raw: bytes = field(repr=False)


@dataclass(slots=True)
class ClearPlan:
    """What ``clear`` would remove: whole files, and messages cut out of ``.log`` files."""

    folder: Path
    files: dict[str, tuple[int, int]] = field(default_factory=dict)  # removed whole: name → (messages, bytes)
    rewrites: dict[str, list[int]] = field(default_factory=dict)  # .log name → indexes to remove
    messages: list[Summary | Unreadable] = field(default_factory=list)
    count: int = 0
    size: int = 0
    kept_unreadable: list[Unreadable] = field(default_factory=list)  # a filter cannot tell about them
    everything: bool = False  # no filter: every message file


@dataclass(slots=True)
class ClearResult:
    count: int = 0
    size: int = 0
    skipped: list[str] = field(default_factory=list)  # files gone or written to since the plan


# ---------------------------------------------------------------- the folder


def folder_for(*, path: str | os.PathLike | None = None, using: str | None = None) -> Path:
    """The folder to read: ``path``, else the ``file_path`` of mailer ``using`` (default alias)."""
    if path:
        return Path(path)
    alias = using or "default"
    mailers = getattr(settings, "MAILERS", {})
    if alias not in mailers:
        known = ", ".join(mailers) or "none"
        raise MailProblem(
            ExitCode.CONFIG,
            _("There is no mailer named %(alias)r in MAILERS.") % {"alias": alias},
            _("known aliases: %(known)s") % {"known": known},
        )
    config = mailers[alias]
    file_path = (config.get("OPTIONS") or {}).get("file_path")
    if not file_path:
        raise MailProblem(
            ExitCode.CONFIG,
            _("The mailer %(alias)r (%(backend)s) does not save messages to a folder.")
            % {"alias": alias, "backend": config.get("BACKEND", "-")},
            _("pass --path DIR to read a folder, or set EMAIL_URL=outbox://sent_emails to save messages there"),
        )
    return Path(file_path)


def message_id(file: str, key: bytes = b"") -> str:
    return hashlib.blake2b(file.encode() + key, digest_size=8).hexdigest()[:ID_LENGTH]


def encode_name(name: str) -> bytes:
    """A file name's bytes (as ``os.fsencode``, and as the index holds it)."""
    return name.encode("utf-8", "surrogateescape")


def plain_names(names: list[str]) -> bool:
    """Whether every name is one the backends write (a time first), so that names sort by time."""
    return not names or PLAIN_NAMES.fullmatch("/".join(names) + "/") is not None  # no name holds a /


def is_message_name(name: str) -> bool:
    """A message file's name: an .eml or a Django .log; not a dotfile (nor ``..``), no path, no NUL."""
    if name.startswith(".") or os.sep in name or "\0" in name:
        return False
    return name.endswith(EML_SUFFIX) or (name.endswith(LOG_SUFFIX) and LOG_NAME.match(name) is not None)


class Outbox:
    """The messages in one folder. Cheap to create; every method looks at the folder afresh."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self._entries: list[os.DirEntry] = []  # the message files the last scan found
        self._odd_names = False  # whether it found names the backends do not write
        self._stamp: list[int] | None = None  # the folder as it found it, if settled (see core.mail.snapshot)

    # -- files

    def scan(self) -> list[str]:
        """Message file names in the folder's own order ([] when the folder does not exist).

        This runs on every ``list``, so it is kept to readdir alone (no stat): name tests and
        ``is_file`` come from the directory entries, and the rare names that need a closer
        look (dotfiles and other names without a time, ``.log`` files Django did not name)
        are found by one regular expression over a batch of names at once: usually every name
        is one the backends write, and only a batch holding another (the index, ``.gitkeep``)
        is filtered name by name. (One string of all 100,000 names would cost more.)
        """
        try:
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            return []
        except OSError as error:
            raise self._folder_problem(error) from None
        found: list[os.DirEntry] = []
        names: list[str] = []
        self._odd_names = False
        try:
            before = os.fstat(fd)
            # By descriptor: no path is joined to each name; is_file(follow_symlinks=False) is False for links.
            with os.scandir(fd) as entries:
                while batch := list(itertools.islice(entries, SCAN_BATCH)):
                    batch = [entry for entry in batch if entry.is_file(follow_symlinks=False)]
                    batch_names = [entry.name for entry in batch]
                    if not plain_names(batch_names):
                        batch = [entry for entry in batch if is_message_name(entry.name)]
                        batch_names = [entry.name for entry in batch]
                        self._odd_names = self._odd_names or not plain_names(batch_names)
                    found += batch
                    names += batch_names
            # Names sorted by modification time could change order unseen: keep no snapshot of them.
            self._stamp = None if self._odd_names else snapshot.stamp(before, os.fstat(fd))
        finally:
            os.close(fd)
        self._entries = found
        return names

    def files(self) -> list[str]:
        """Message file names, newest first ([] when the folder does not exist)."""
        return list(self.newest_first(self.scan()))

    def newest_first(self, names: list[str]) -> Iterator[str]:
        """The names of the last scan, newest first: by name, which starts with the time the
        message was saved; a file named otherwise (dropped in by hand) by its modification time.
        The newest few come before the rest is sorted, so that ``list`` of 20 sorts nothing."""
        if self._odd_names:
            yield from self._merge_by_mtime(names)
            return
        top = heapq.nlargest(SORTED_FIRST, names)
        yield from top
        if len(names) > len(top):
            yield from sorted(names, reverse=True)[len(top) :]

    def recent(self) -> snapshot.Snapshot | None:
        """The newest names as the last full read of the folder found them, if it has not changed since."""
        try:
            fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return None
        try:
            found = snapshot.read(fd)
        finally:
            os.close(fd)
        if found is None or not all(map(is_message_name, [*found.newest, *found.logs])):
            return None
        return found

    def remember(self, names: list[str]) -> None:
        """Keep the newest of the names the last scan found, for ``recent``, if the folder had settled."""
        if self._stamp is not None:
            logs = [name for name in names if name.endswith(LOG_SUFFIX)]
            found = snapshot.Snapshot(heapq.nlargest(snapshot.NEWEST, names), len(names), logs)
            snapshot.write(self.folder, self._stamp, found)

    def _folder_problem(self, error: OSError) -> MailProblem | OSError:
        if isinstance(error, NotADirectoryError):
            hint = _("pass the outbox folder with --path")
            return MailProblem(ExitCode.BAD_INPUT, _("%(folder)s is not a folder.") % {"folder": self.folder}, hint)
        if isinstance(error, PermissionError):
            return MailProblem(
                ExitCode.BAD_INPUT,
                _("Cannot read the folder %(folder)s: permission denied.") % {"folder": self.folder},
                "",
            )
        return error

    def _merge_by_mtime(self, names: list[str]) -> list[str]:
        def key(name: str) -> str:
            if STAMPED_NAME.match(name):
                return name
            try:
                mtime = os.lstat(self.folder / name).st_mtime
            except OSError:
                return ""
            return datetime.fromtimestamp(mtime).strftime("%Y%m%d-%H%M%S-%f")  # local time, as the names

        return sorted(names, key=key, reverse=True)

    @property
    def exists(self) -> bool:
        return self.folder.is_dir()

    def read_file(self, name: str) -> bytes:
        """The bytes of message file ``name``, which must be a regular file directly in the folder."""
        if not is_message_name(name):
            raise ValueError(f"not a message file name: {name!r}")
        fd = os.open(os.path.join(self.folder, name), os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            chunks = [os.read(fd, READ_SIZE)]
            while len(chunks[-1]) == READ_SIZE:  # a short read is the end of a regular file
                chunks.append(os.read(fd, READ_SIZE))
        finally:
            os.close(fd)
        return b"".join(chunks) if len(chunks) > 1 else chunks[0]

    # -- messages

    def entries(self, names: list[str] | None = None) -> Iterator[tuple[str, int, str, bytes | str]]:
        """``(file, index, id, bytes or a reason)`` for every message, newest first."""
        for name in self.files() if names is None else names:
            try:
                data = self.read_file(name)
            except OSError as error:
                yield name, 0, message_id(name), os_reason(error)
                continue
            if name.endswith(LOG_SUFFIX):
                yield from reversed(list(split_log(name, data)))
            else:
                yield name, 0, message_id(name), data

    def summaries(self, names: list[str] | None = None) -> Iterator[Summary | Unreadable]:
        """The summary of every message, newest first: read from the files, or past the first
        ``INDEX_AFTER`` from the index where it has a line for the same file (name and inode)."""
        names = iter(self.files() if names is None else names)
        for name in itertools.islice(names, INDEX_AFTER):
            yield from self._read_summaries(name)
        lines = inodes = None
        for chunk in itertools.batched(names, 500):  # lines are decoded many at a time
            if lines is None:  # there are more than INDEX_AFTER
                inodes = {entry.name: entry.inode() for entry in self._entries}  # from readdir: no stat
                lines = self._index_lines(inodes)
            rows = index_file.rows([lines.get(encode_name(name)) for name in chunk])
            for name, row in zip(chunk, rows, strict=True):
                summary = self._indexed(name, row, inodes)
                if summary is None:
                    yield from self._read_summaries(name)
                else:
                    yield summary

    def _read_summaries(self, name: str) -> Iterator[Summary | Unreadable]:
        for entry in self.entries([name]):
            yield summarize(*entry)

    def _index_lines(self, inodes: dict[str, int]) -> dict[bytes, bytes]:
        lines = index_file.load(self.folder)
        if len(lines) > 2 * len(inodes) + 1000:  # mostly files gone (removed by hand): keep the rest
            index_file.rewrite(self.folder, drop=lines.keys() - set(map(encode_name, inodes)))
        return lines

    def _indexed(self, name: str, row: list | None, inodes: dict[str, int]) -> Summary | None:
        """The summary a row gives, if it is for this very file (name and inode)."""
        if not row or row[0] != inodes.get(name):
            return None
        try:
            return Summary.from_row(name, row)
        except (TypeError, ValueError):
            return None

    def messages(self, **filters) -> Iterator[Summary | Unreadable]:
        """Summaries newest first, filtered (``to``, ``search``, ``since``, ``before``).

        Unreadable messages are yielded whatever the filters: nobody can tell whether they match.
        """
        active = {key: value for key, value in filters.items() if value is not None}
        for item in self.summaries():
            if isinstance(item, Unreadable) or not active or item.matches(**active):
                yield item

    def listing(self, *, limit: int | None = DEFAULT_LIMIT, **filters) -> Listing:
        return Listing(self, limit, filters)

    def count(self, names: list[str] | None = None) -> int:
        """How many messages the folder holds (a .log file is read to count its messages)."""
        names = self.scan() if names is None else names
        logs = [name for name in names if name.endswith(LOG_SUFFIX)]
        return len(names) - len(logs) + self.log_messages(logs)

    def log_messages(self, logs: list[str]) -> int:
        """How many messages the .log files hold (an empty or unreadable file is one unreadable message)."""
        total = 0
        for name in logs:
            try:
                total += len(log_chunks(self.read_file(name))) or 1
            except OSError:
                total += 1
        return total

    def resolve(self, ref: str) -> tuple[str, int, str, bytes | str]:
        """The entry named by an ID, a unique prefix of one, an .eml file name, or ``latest``."""
        ref = ref.strip()
        if ref.lower() == LATEST:
            for entry in self.entries():
                return entry
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("There are no messages in %(folder)s.") % {"folder": self.folder},
                _("send one first"),
            )
        names = self.files()
        if ref.endswith(EML_SUFFIX) and ref in names:
            return next(self.entries([ref]))
        wanted = ref.lower()
        if not re.fullmatch(rf"[0-9a-f]{{1,{ID_LENGTH}}}", wanted):
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("%(ref)r is not a message ID.") % {"ref": ref},
                _("an ID is the first column of `outbox list` (or a unique start of it), or `latest`"),
            )
        # .eml IDs come from the names alone; only .log files are read.
        found = []
        for name in names:
            if name.endswith(LOG_SUFFIX):
                found.extend(entry for entry in self.entries([name]) if entry[2].startswith(wanted))
            elif (ident := message_id(name)).startswith(wanted):
                found.append((name, 0, ident, None))
        if not found:
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("No message has the ID %(ref)r in %(folder)s.") % {"ref": ref, "folder": self.folder},
                _("`outbox list` shows the IDs; the newest message is also `latest`"),
            )
        if len(found) > 1:
            shown = ", ".join(f"{entry[2]} ({entry[0]})" for entry in found[:10])
            more = f" and {len(found) - 10} more" if len(found) > 10 else ""
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("The ID %(ref)r matches %(count)d messages: %(shown)s.")
                % {"ref": ref, "count": len(found), "shown": shown + more},
                _("type more characters of the ID (an .eml file name works too)"),
            )
        entry = found[0]
        return next(self.entries([entry[0]])) if entry[3] is None else entry

    def get(self, ref: str) -> Message | Unreadable:
        name, index, ident, data = self.resolve(ref)
        if isinstance(data, str):
            return Unreadable(ident, name, index, data)
        return parse_message(name, index, ident, data)

    # -- clearing

    def plan_clear(self, *, before: datetime | None = None, to: str | None = None) -> ClearPlan:
        """What ``clear`` would remove; with no filter, every message file (readable or not)."""
        plan = ClearPlan(self.folder)
        if before is None and to is None:
            return self._plan_clear_all(plan)
        names = self.files()
        per_log: dict[str, tuple[int, list[int]]] = {}  # .log name → (messages in it, indexes to remove)
        for item in self.summaries(names):
            name, index = item.file, item.index
            is_log = name.endswith(LOG_SUFFIX)
            if is_log:
                count, doomed = per_log.get(name, (0, []))
                per_log[name] = (count + 1, doomed)
            if isinstance(item, Unreadable):
                plan.kept_unreadable.append(item)
            elif item.matches(to=to, before=before):
                plan.messages.append(item)
                plan.count += 1
                plan.size += item.size
                if is_log:
                    per_log[name][1].append(index)
                else:
                    plan.files[name] = (1, item.size)
        for name, (count, doomed) in per_log.items():
            if doomed and len(doomed) == count:
                plan.files[name] = (count, sum(item.size for item in plan.messages if item.file == name))
            elif doomed:
                plan.rewrites[name] = sorted(doomed)
        return plan

    def _plan_clear_all(self, plan: ClearPlan) -> ClearPlan:
        """Every message file, in folder order (the cheapest to unlink in); no .eml file is read.

        Sizes are those the index recorded, so that 100,000 files need no stat each; a file it
        has no line for is stat-ed. A .log file is read, to count its messages.
        """
        names = self.scan()
        plan.everything = True
        recorded = index_file.sizes(self.folder)
        keys = encode_name("\n".join(names)).split(b"\n") if names else []
        if len(keys) != len(names):  # a name with a newline in it
            keys = list(map(encode_name, names))
        sizes = list(map(recorded.get, keys))
        for position in [position for position, size in enumerate(sizes) if size is None]:
            try:
                sizes[position] = os.lstat(self.folder / names[position]).st_size
            except FileNotFoundError:
                sizes[position] = 0
        sizes = list(map(int, sizes))
        plan.files = dict(zip(names, zip(itertools.repeat(1), sizes, strict=False), strict=True))
        plan.count, plan.size = len(names), sum(sizes)
        for name in [name for name in names if name.endswith(LOG_SUFFIX)]:
            messages = self.count([name])
            plan.files[name] = (messages, plan.files[name][1])
            plan.count += messages - 1
        return plan

    def clear(self, plan: ClearPlan) -> ClearResult:
        """Carry out a plan: unlink whole files, rewrite ``.log`` files atomically without the removed messages,
        and drop the index's lines of the removed files.

        Files are removed by name relative to the folder (``dir_fd``), so nothing outside it can be.
        """
        result = ClearResult()
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            result.skipped = unlink_names(fd, list(plan.files))
        finally:
            os.close(fd)
        result.count = sum(map(operator.itemgetter(0), plan.files.values()))
        result.size = sum(map(operator.itemgetter(1), plan.files.values()))
        for name in result.skipped:
            result.count -= plan.files[name][0]
            result.size -= plan.files[name][1]
        for name, indexes in plan.rewrites.items():
            freed = self._rewrite_log(name, set(indexes))
            if freed is None:
                result.skipped.append(name)
            else:
                result.count += len(indexes)
                result.size += freed
        if plan.everything:  # every line was for a removed file (or one saved meanwhile: it is read instead)
            index_file.remove(self.folder)
        elif plan.files:
            index_file.rewrite(self.folder, drop=set(map(encode_name, plan.files)))
        return result

    def _rewrite_log(self, name: str, remove: set[int]) -> int | None:
        """Rewrite a .log file without the messages at ``remove``; None if it changed since the plan."""
        try:
            data = self.read_file(name)
        except FileNotFoundError:
            return None
        keep = [chunk for index, chunk in enumerate(log_chunks(data)) if index not in remove]
        fd, temp = tempfile.mkstemp(dir=self.folder, prefix=TEMP_PREFIX, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as stream:
                stream.write(b"".join(chunk + LOG_SEPARATOR for chunk in keep))
            info = os.lstat(self.folder / name)
            if info.st_size != len(data) or not stat.S_ISREG(info.st_mode):  # written to meanwhile: leave it
                os.unlink(temp)
                return None
            os.replace(temp, self.folder / name)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temp)
            raise
        return len(data) - sum(len(chunk) + len(LOG_SEPARATOR) for chunk in keep)


def unlink_names(folder_fd: int, names: list[str]) -> list[str]:
    """Unlink ``names`` relative to the folder open as ``folder_fd``; the names already gone.

    Many names are split between two threads: unlinks in one folder overlap well (``os.unlink``
    lets go of the GIL), and 100,000 files go in about 300 ms instead of 550 on this machine's
    ext4; more threads gain nothing (measured with ``bench/outbox_bench.py``).
    """

    def unlink(part: list[str]) -> list[str]:
        gone = []
        for name in part:
            try:
                os.unlink(name, dir_fd=folder_fd)
            except FileNotFoundError:
                gone.append(name)
        return gone

    if len(names) < UNLINK_IN_THREADS:
        return unlink(names)
    with ThreadPoolExecutor(2) as pool:
        return [name for gone in pool.map(unlink, [names[0::2], names[1::2]]) for name in gone]


class Listing:
    """The messages ``list`` shows, produced while iterated (so 100,000 of them need little memory).

    After iteration, ``shown``, ``size`` and ``unreadable`` describe what was yielded; ``total``
    is every message in the folder, ``missing`` tells that the folder does not exist.

    The newest few, unfiltered, come from the folder's snapshot while it is valid
    (``core.mail.snapshot``); otherwise every name is read, and the snapshot renewed.
    """

    def __init__(self, outbox: Outbox, limit: int | None, filters: dict):
        self.outbox = outbox
        self.folder = outbox.folder
        self.limit = limit
        self.filters = {key: value for key, value in filters.items() if value is not None}
        few = not self.filters and limit is not None and limit < snapshot.NEWEST
        self._recent = outbox.recent() if few else None
        if self._recent is None:
            self._names = outbox.scan()
            outbox.remember(self._names)
            self.missing = not self._names and not outbox.exists
            self.total = outbox.count(self._names)
        else:
            self.missing = False
            logs = self._recent.logs
            self.total = self._recent.files - len(logs) + outbox.log_messages(logs)
        self.shown = 0
        self.size = 0
        self.unreadable: list[Unreadable] = []
        self.complete = True  # False when the limit stopped the listing early

    def _newest_first(self) -> Iterator[str]:
        if self._recent is None:
            yield from self.outbox.newest_first(self._names)
            return
        yield from self._recent.newest
        if self._recent.files > len(self._recent.newest):  # unreadable files took the room: read every name
            seen = set(self._recent.newest)
            names = self.outbox.scan()
            yield from (name for name in self.outbox.newest_first(names) if name not in seen)

    def __iter__(self) -> Iterator[Summary | Unreadable]:
        if self.limit is not None and self.limit <= 0:
            return
        for item in self.outbox.summaries(self._newest_first()):
            if isinstance(item, Unreadable):
                self.unreadable.append(item)
                yield item
                continue
            if self.filters and not item.matches(**self.filters):
                continue
            if self.limit is not None and self.shown >= self.limit:
                self.complete = False
                return
            self.shown += 1
            self.size += item.size
            yield item


# ---------------------------------------------------------------- one message


def os_reason(error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return "removed while reading"
    if isinstance(error, PermissionError):
        return "permission denied"
    if error.errno == getattr(os, "ELOOP", None):
        return "a symbolic link"
    return error.strerror or str(error)


def log_chunks(data: bytes) -> list[bytes]:
    """The messages of a Django ``.log`` file, oldest first, each without its line of dashes.

    A line of 79 dashes inside a message body is not a separator: a separator is
    followed by the next message's headers or by the end of the file.
    """
    parts = data.split(LOG_SEPARATOR)
    chunks: list[bytes] = []
    for part in parts:
        if chunks and part and not ANY_HEADER.match(part):
            chunks[-1] += LOG_SEPARATOR + part  # dashes inside a message
        else:
            chunks.append(part)
    if chunks and chunks[-1] == b"":
        chunks.pop()
    return chunks


def split_log(name: str, data: bytes) -> Iterator[tuple[str, int, str, bytes | str]]:
    """``(file, index, id, bytes or reason)`` for each message of a ``.log`` file, oldest first."""
    if not data:
        yield name, 0, message_id(name), "empty file"
        return
    seen: dict[bytes, int] = {}
    chunks = log_chunks(data)
    complete = data.endswith(LOG_SEPARATOR)
    for index, chunk in enumerate(chunks):
        digest = hashlib.blake2b(chunk, digest_size=8).digest()
        seen[digest] = seen.get(digest, 0) + 1
        ident = message_id(name, b"#" + digest + bytes([seen[digest] - 1 & 0xFF]))
        if index == len(chunks) - 1 and not complete:
            yield name, index, ident, "incomplete: the last message has no closing line of dashes"
        else:
            yield name, index, ident, chunk


def header_block(data: bytes) -> bytes | None:
    end = data.find(b"\n\n")
    # Only a CRLF blank line that starts before `end` can come first: do not scan the body for one.
    end_crlf = data.find(b"\r\n\r\n", 0, len(data) if end == -1 else end + 3)
    if end_crlf != -1 and (end == -1 or end_crlf < end):
        end = end_crlf
    return None if end == -1 else data[:end]


def problem_with(data: bytes, headers: bytes | None) -> str:
    """Why ``data`` is not a message, or ''."""
    if not data:
        return "empty file"
    if data.find(b"\0", 0, 8192) != -1:
        return "binary data, not a mail message"
    if not ANY_HEADER.match(data):
        return "not a mail message (it does not start with headers)"
    if headers is None:
        return "truncated: the headers do not end"
    return ""


ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
BETWEEN_WORDS = re.compile(r"(\?=)[ \t\r\n]+(?==\?)")
NAME_ADDR = re.compile(r"\s*(.*?)\s*<([^<>]*)>\s*\Z", re.S)


def _decoded_word(match: re.Match) -> str:
    charset, encoding, text = match.groups()
    if encoding in "bB":
        data = binascii.a2b_base64(text + "=" * (-len(text) % 4))
    else:
        data = binascii.a2b_qp(text.encode("ascii"), header=True)
    return data.decode(charset.partition("*")[0], "replace")


def decode_words(text: str) -> str:
    """RFC 2047 encoded words (``=?utf-8?b?...?=``) decoded; the standard library's parser when in doubt."""
    try:
        return ENCODED_WORD.sub(_decoded_word, BETWEEN_WORDS.sub(r"\1", text))
    except (LookupError, ValueError, binascii.Error):
        with contextlib.suppress(Exception):
            return str(make_header(decode_header(text)))
    return text


def decode(value: bytes) -> str:
    text = value.decode("utf-8", "replace")
    if "\n" in text:
        text = FOLD.sub("", text)
    if "=?" in text:
        text = decode_words(text)
    return text.strip()


def addresses(value: bytes) -> list[tuple[str, str]]:
    """``(display name, address)`` pairs of an address header, names decoded."""
    return list(_addresses(value))


@functools.lru_cache(maxsize=1024)  # the same sender (and often recipients) on most messages of an outbox
def _addresses(value: bytes) -> tuple[tuple[str, str], ...]:
    text = value.decode("utf-8", "replace")
    if "\n" in text:
        text = FOLD.sub("", text)
    if '"' in text or "(" in text or "\\" in text:  # quoted names, comments: the standard library's parser
        pairs = getaddresses([text])
        return tuple((decode_words(name) if "=?" in name else name, addr) for name, addr in pairs if name or addr)
    pairs = []  # `a@x, Name <b@y>, =?utf-8?b?...?= <c@z>`: no comma can hide inside a name, fast
    for part in text.split(","):
        if "<" in part and (match := NAME_ADDR.match(part)):
            name = match.group(1)
            pairs.append((decode_words(name) if "=?" in name else name, match.group(2).strip()))
        elif part := part.strip():
            pairs.append(("", part))
    return tuple(pairs)


def show_address(name: str, address: str) -> str:
    return f"{name} <{address}>" if name else address


DATE = re.compile(rb"\s*(?:\w{3},\s*)?(\d{1,2}) (\w{3}) (\d{4}) (\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)\s*\Z")
MONTHS = {m: n for n, m in enumerate(b"Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(), 1)}
OFFSETS: dict[bytes, tzinfo] = {}


def parse_date(value: bytes | None, name: str) -> datetime | None:
    """The Date header as an aware datetime; the file name's time (local) when there is none."""
    if value:
        if (match := DATE.match(value)) and match.group(2) in MONTHS:  # the usual form, fast
            day, month, year, hour, minute, second, sign, tz_hours, tz_minutes = match.groups()
            offset = sign + tz_hours + tz_minutes
            if offset not in OFFSETS:
                minutes = int(tz_hours) * 60 + int(tz_minutes)
                OFFSETS[offset] = dt_timezone(timedelta(minutes=-minutes if sign == b"-" else minutes))
            with contextlib.suppress(ValueError):
                return datetime(
                    int(year), MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=OFFSETS[offset]
                )
        with contextlib.suppress(TypeError, ValueError, IndexError):
            parsed = parsedate_to_datetime(value.decode("ascii", "replace").strip())
            return parsed if parsed.tzinfo else timezone.make_aware(parsed)
    if STAMPED_NAME.match(name):
        with contextlib.suppress(ValueError):
            return timezone.make_aware(datetime.strptime(name[:15], "%Y%m%d-%H%M%S"))
    return None


def count_attachments(data: bytes) -> int:
    """How many parts say ``Content-Disposition: attachment`` at the start of a line."""
    lowered = data.lower()
    if b"attachment" not in lowered:
        return 0
    return len(ATTACHMENT.findall(b"\n" + lowered))


def summarize(name: str, index: int, ident: str, data: bytes | str) -> Summary | Unreadable:
    """The list's view of one message, from its bytes (headers only, plus a scan for attachments)."""
    if isinstance(data, str):
        return Unreadable(ident, name, index, data)
    headers = header_block(data)
    if reason := problem_with(data, headers):
        return Unreadable(ident, name, index, reason, len(data))
    found: dict[bytes, bytes] = {}
    for key, value in HEADER_LINE.findall(headers):
        found.setdefault(key.lower(), value)
    content_type = found.get(b"content-type", b"")
    if b"multipart" in content_type.lower():
        boundary = BOUNDARY.search(content_type)
        if boundary and b"--" + boundary.group(1).strip() + b"--" not in data:
            return Unreadable(ident, name, index, "truncated: the closing MIME boundary is missing", len(data))
    to = addresses(found[b"to"]) if b"to" in found else []
    cc = addresses(found[b"cc"]) if b"cc" in found else []
    bcc = addresses(found[b"bcc"]) if b"bcc" in found else []
    sender = addresses(found[b"from"]) if b"from" in found else []
    return Summary(
        id=ident,
        file=name,
        index=index,
        date=parse_date(found.get(b"date"), name),
        sender=", ".join(show_address(*pair) for pair in sender),
        to=[show_address(*pair) for pair in to],
        cc=[show_address(*pair) for pair in cc],
        bcc=[show_address(*pair) for pair in bcc],
        subject=decode(found[b"subject"]) if b"subject" in found else "",
        attachments=count_attachments(data),
        size=len(data),
        addresses=frozenset(address.casefold() for _, address in to + cc + bcc),
    )


def parse_message(name: str, index: int, ident: str, data: bytes) -> Message | Unreadable:
    summary = summarize(name, index, ident, data)
    if isinstance(summary, Unreadable):
        return summary
    message = email.message_from_bytes(data, policy=email.policy.default)
    headers = []
    for header in ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID"):
        for value in message.get_all(header, []):
            headers.append((header, str(value)))
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    html = part_text(html_part) if html_part is not None else None
    text = part_text(text_part) if text_part is not None else ""
    text_from_html = text_part is None and html is not None
    if text_from_html:
        text = html_to_text(html)
    attachments = [
        Attachment(
            name=part.get_filename() or "",
            content_type=part.get_content_type(),
            size=len(payload := part.get_payload(decode=True) or b""),
            data=payload,
        )
        for part in message.walk()
        if part.get_content_disposition() == "attachment"
    ]
    links = unique(URL.findall(text if not text_from_html else "") + (html_links(html) if html else []))
    return Message(summary, headers, text, text_from_html, html, attachments, [clean_url(u) for u in links], data)


def part_text(part) -> str:
    try:
        return part.get_content()
    except (LookupError, ValueError):  # unknown charset, bad encoding
        return (part.get_payload(decode=True) or b"").decode("utf-8", "replace")


def clean_url(url: str) -> str:
    return url.rstrip(".,;:!?)]}»")


def unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(clean_url(item) for item in items if item))


class _HtmlText(HTMLParser):
    BLOCKS = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "hr", "blockquote"}
    HIDDEN = {"script", "style", "head", "title"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.links: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            self.links.extend(value for key, value in attrs if key == "href" and value)

    def handle_endtag(self, tag):
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.hidden:
            self.parts.append(re.sub(r"\s+", " ", data))


def _parse_html(html: str) -> _HtmlText:
    parser = _HtmlText()
    parser.feed(html)
    parser.close()
    return parser


def html_to_text(html: str) -> str:
    """Readable text of an HTML body: tags dropped, blocks on their own lines, entities decoded."""
    lines = (line.strip() for line in "".join(_parse_html(html).parts).splitlines())
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def html_links(html: str) -> list[str]:
    """The ``href`` of every link of an HTML body that goes to the web or mail."""
    return [link.strip() for link in _parse_html(html).links if re.match(r"(https?|mailto):", link.strip(), re.I)]


# ---------------------------------------------------------------- attachments


def safe_filename(name: str, fallback: str) -> str:
    """A plain base name: no folders, no leading dots, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable()).strip().lstrip(".").strip()
    return base[:200] or fallback


def save_attachments(message: Message, folder: str | os.PathLike) -> list[Path]:
    """Write the attachments as files directly in ``folder``; an existing file is never replaced."""
    target = Path(folder)
    try:
        target.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("Cannot write attachments to %(folder)s: %(reason)s.") % {"folder": target, "reason": os_reason(error)},
            _("choose another folder"),
        ) from None
    saved = []
    try:
        for number, attachment in enumerate(message.attachments, 1):
            base = safe_filename(attachment.name, f"attachment-{number}")
            stem, dot, ext = base.rpartition(".") if "." in base else (base, "", "")
            for attempt in range(1000):
                name = base if attempt == 0 else f"{stem}-{attempt}{dot}{ext}"
                try:  # O_EXCL: an existing file, or a link planted there, is never opened
                    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
                except FileExistsError:
                    continue
                with open(fd, "wb") as stream:
                    stream.write(attachment.data)
                saved.append(target / name)
                break
    finally:
        os.close(dir_fd)
    return saved


# ---------------------------------------------------------------- times


def parse_when(text: str, *, option: str = "--since", now: datetime | None = None) -> datetime:
    """An aware datetime from ``2h``/``7d`` (ago), ``2026-05-01`` or ``2026-05-01T14:30`` (local time)."""
    value = text.strip()
    now = now or timezone.now()
    if match := AGE.match(value):
        return now - timedelta(**{AGE_UNITS[match.group(2).lower()]: int(match.group(1))})
    try:
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time())
        else:
            moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    except ValueError:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("%(option)s %(text)r is not a date, a date-time or an age.") % {"option": option, "text": text},
            _("for example 2h, 30min, 7d, 2w, 2026-05-01 or 2026-05-01T14:30 (local time)"),
        ) from None
    return moment if moment.tzinfo else timezone.make_aware(moment)
