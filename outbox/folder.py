"""``Outbox``: the messages of one folder, listed newest first, filtered, and found by ID.

An ``Outbox`` holds nothing but its folder: every call reads the folder afresh, or takes
the names of an unchanged folder from the last reading (``files.listed``). A ``Listing``
is one reading of it (the names it found then), consumed as it is iterated, so that
100,000 messages need little memory.

A summary comes from the file itself for the newest ``INDEX_AFTER`` files, and past them
from the index (``outbox.index``) wherever it holds a line for the very file;
every file it had to parse then gets a line, for the next time.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from core.mail.config import DEFAULT_OUTBOX_DIR, sending_alias
from core.mail.errors import ExitCode, MailProblem
from outbox import index, logfile
from outbox.files import (
    EML_SUFFIX,
    ID_LENGTH,
    LOG_SUFFIX,
    Reading,
    Span,
    listed,
    message_id,
    opened,
    os_reason,
)
from outbox.messages import Message, Summary, Unreadable, parse_message, summarize
from outbox.search import active

DEFAULT_LIMIT = 20
LATEST = "latest"
INDEX_AFTER = 100  # files read directly before the index is loaded (the 20 newest never need it)
APPEND_EVERY = 1000  # index lines written at a time while listing


def project_outbox() -> Path:
    """The project's own outbox folder, ``sent_emails/``: where ``mailserver`` saves unless told otherwise."""
    return Path(settings.BASE_DIR) / DEFAULT_OUTBOX_DIR


def folder_for(*, path: str | os.PathLike | None = None, using: str | None = None) -> Path:
    """The folder to read: ``path``, else the ``file_path`` of mailer ``using``.

    Without ``using``: the default mailer's folder, and when the default mailer does
    not save to a folder (it sends by SMTP, to ``mailserver`` perhaps), the project's
    ``sent_emails/``, where ``mailserver`` saves what it receives.
    """
    if path:
        return Path(path)
    file_path = mailer_folder(using or "default")
    if file_path:
        return file_path
    if using is None:
        return project_outbox()
    config = settings.MAILERS[using]
    raise MailProblem(
        ExitCode.CONFIG,
        _("The mailer %(alias)r (%(backend)s) does not save messages to a folder.")
        % {"alias": using, "backend": config.get("BACKEND", "-")},
        _("pass --path DIR to read a folder, or set EMAIL_URL=outbox://sent_emails to save messages there"),
    )


def mailer_folder(alias: str) -> Path | None:
    """The folder mailer ``alias`` saves to, or None when it sends instead (an unknown alias is an error)."""
    mailers = getattr(settings, "MAILERS", {})
    if alias not in mailers:
        known = ", ".join(mailers) or "none"
        raise MailProblem(
            ExitCode.CONFIG,
            _("There is no mailer named %(alias)r in MAILERS.") % {"alias": alias},
            _("known aliases: %(known)s") % {"known": known},
        )
    file_path = (mailers[sending_alias(alias)].get("OPTIONS") or {}).get("file_path")  # a queue's: its mailer's
    return Path(file_path) if file_path else None


Item = Summary | Unreadable


class Outbox:
    """The messages in one folder. Cheap to create; every method reads the folder afresh."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def files(self) -> list[str]:
        """Message file names, newest first ([] when the folder does not exist)."""
        return list(listed(self.folder).newest_first())

    def listing(self, *, limit: int | None = DEFAULT_LIMIT, **filters) -> Listing:
        """The messages newest first, up to ``limit``, filtered as ``Summary.matches`` says (``parse_search``)."""
        return Listing(self, limit, filters)

    # -- reading messages

    def summaries(self, names: Iterable[str], every: list[str]) -> Iterator[Item]:
        """The summary of every message of the files ``names`` (in that order; a .log's newest first).

        ``every`` is all the folder's message files, whose lines of the index count.
        """
        lines: dict[str, bytes] | None = None
        new_rows: list[tuple[str, list]] = []
        try:
            for position, name in enumerate(names):
                if position == INDEX_AFTER:
                    lines = index.load(self.folder, set(every))
                if name.endswith(LOG_SUFFIX):
                    for number, ident, span, reason in self._log_messages(name):
                        yield (
                            Unreadable(ident, name, number, reason) if reason else summarize(name, number, ident, span)
                        )
                    continue
                if lines is not None and name in lines:
                    found = self._indexed(name, lines[name])
                    if found is not None:
                        yield found
                        continue
                item, row = self._eml_summary(name)
                if lines is not None and row is not None:
                    new_rows.append((name, row))
                    if len(new_rows) >= APPEND_EVERY:
                        index.append(self.folder, new_rows)
                        new_rows = []
                yield item
        finally:
            index.append(self.folder, new_rows)

    def _indexed(self, name: str, line: bytes) -> Summary | None:
        try:
            info = os.stat(os.path.join(self.folder, name), follow_symlinks=False)
        except OSError:
            return None
        return index.summary(name, message_id(name), line, info)

    def _eml_summary(self, name: str) -> tuple[Item, list | None]:
        """The summary of an .eml file, and its index row."""
        try:
            with opened(self.folder, name) as (fd, info):
                item = summarize(name, 0, message_id(name), Span(fd, 0, info.st_size))
        except OSError as error:
            return Unreadable(message_id(name), name, 0, os_reason(error)), None
        return item, index.row(item, info) if isinstance(item, Summary) else None

    def _log_messages(self, name: str) -> Iterator[tuple[int, str, Span | None, str]]:
        """``(index, id, bytes, reason)`` of each message of a .log file, newest first.

        ``reason`` says why a message is unreadable ('' when it is not); the file's own
        problems (empty, unreadable) are one message without bytes, named after the file.
        """
        try:
            with opened(self.folder, name) as (fd, info):
                if not info.st_size:
                    yield 0, message_id(name), None, "empty file"
                    return
                messages = logfile.read(fd, info.st_size, name)
                incomplete = len(messages) - 1 if not messages.complete else -1
                for number in range(len(messages) - 1, -1, -1):
                    span = Span(fd, messages.starts[number], messages.ends[number])
                    reason = (
                        "incomplete: the last message has no closing line of dashes" if number == incomplete else ""
                    )
                    yield number, messages.ident(number), span, reason
        except OSError as error:
            yield 0, message_id(name), None, os_reason(error)

    def log_count(self, name: str) -> int:
        """How many messages a .log file holds (an empty or unreadable one counts as one, unreadable)."""
        try:
            with opened(self.folder, name) as (fd, info):
                return logfile.count(fd, info.st_size) or 1
        except OSError:
            return 1

    def count(self, reading: Reading) -> int:
        """Every message of a reading: a file each, but for the .log files, read now (they grow)."""
        return len(reading.names) - len(reading.logs) + sum(self.log_count(name) for name in reading.logs)

    def _ids(self, name: str) -> Iterator[str]:
        """The IDs of a file's messages, newest first: an .eml's from its name alone."""
        if name.endswith(LOG_SUFFIX):
            yield from (ident for _, ident, _, _ in self._log_messages(name))
        else:
            yield message_id(name)

    # -- one message

    def resolve(self, ref: str) -> tuple[str, str]:
        """``(file name, ID)`` of the message named by an ID, a unique start of one, an .eml name, or ``latest``."""
        ref = ref.strip()
        reading = listed(self.folder)
        if ref.lower() == LATEST:
            for name in reading.newest_first(1):
                for ident in self._ids(name):
                    return name, ident
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("There are no messages in %(folder)s.") % {"folder": self.folder},
                _("send one first"),
            )
        if ref.endswith(EML_SUFFIX) and ref in reading.names:
            return ref, message_id(ref)
        wanted = ref.lower()
        if not re.fullmatch(rf"[0-9a-f]{{1,{ID_LENGTH}}}", wanted):
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("%(ref)r is not a message ID.") % {"ref": ref},
                _("an ID is the first column of `outbox list` (or a unique start of it), or `latest`"),
            )
        found = [
            (ident, name) for name in reading.newest_first() for ident in self._ids(name) if ident.startswith(wanted)
        ]
        if not found:
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("No message has the ID %(ref)r in %(folder)s.") % {"ref": ref, "folder": self.folder},
                _("`outbox list` shows the IDs; the newest message is also `latest`"),
            )
        if len(found) > 1:
            shown = ", ".join(f"{ident} ({name})" for ident, name in found[:10])
            more = f" and {len(found) - 10} more" if len(found) > 10 else ""
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("The ID %(ref)r matches %(count)d messages: %(shown)s.")
                % {"ref": ref, "count": len(found), "shown": shown + more},
                _("type more characters of the ID (an .eml file name works too)"),
            )
        ident, name = found[0]
        return name, ident

    def _one(self, ref: str, read: Callable[[str, int, str, Span], object], *, readable: bool):
        """``read(name, index, id, bytes)`` of the message ``ref`` names; or an ``Unreadable`` saying why not.

        ``readable``: an incomplete .log message is unreadable too (``--raw`` prints it anyway).
        """
        name, wanted = self.resolve(ref)
        if name.endswith(EML_SUFFIX):
            try:
                with opened(self.folder, name) as (fd, info):
                    return read(name, 0, wanted, Span(fd, 0, info.st_size))
            except OSError as error:
                return Unreadable(wanted, name, 0, os_reason(error))
        for number, ident, span, reason in self._log_messages(name):
            if ident == wanted:
                if span is None or (reason and readable):
                    return Unreadable(ident, name, number, reason)
                return read(name, number, ident, span)
        return Unreadable(wanted, name, 0, "removed while reading")

    def get(self, ref: str) -> Message | Unreadable:
        """One message in full, or why it cannot be shown."""
        return self._one(ref, parse_message, readable=True)

    def raw(self, ref: str, write: Callable[[bytes], object]) -> Unreadable | None:
        """Pass the bytes of one message, as saved, to ``write`` a chunk at a time; or say why they cannot be read."""

        def copy(name, number, ident, span):
            for chunk, _last in span.chunks(0):
                write(chunk)

        return self._one(ref, copy, readable=False)


class Listing:
    """The messages ``list`` shows, produced while iterated.

    After iteration, ``shown``, ``size`` and ``unreadable`` describe what was yielded; ``total``
    is every message in the folder, ``missing`` tells that the folder does not exist.
    """

    def __init__(self, outbox: Outbox, limit: int | None, filters: dict):
        self.outbox = outbox
        self.folder = outbox.folder
        self.limit = limit
        self.filters = active(filters)
        self._reading = reading = listed(self.folder)
        self.missing = not reading.names and not self.folder.is_dir()
        self.total = outbox.count(reading)
        self.shown = 0
        self.size = 0
        self.unreadable: list[Unreadable] = []
        self.complete = True  # False when the limit stopped the listing early

    def __iter__(self) -> Iterator[Item]:
        if self.limit is not None and self.limit <= 0:
            return
        for item in self.outbox.summaries(self._reading.newest_first(self.limit), self._reading.names):
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
