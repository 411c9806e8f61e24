"""A message's headers as people read them, by the standard library's email package.

One reader serves ``list`` and ``show``, so the two cannot disagree: the header block
is split by ``email.parser.BytesHeaderParser`` (``compat32``: raw values, nothing
interpreted), each value unfolded (RFC 5322), its encoded words decoded by
``email.header`` (RFC 2047), its addresses split by ``email.utils.getaddresses`` and its
date read by ``email.utils.parsedate_to_datetime``. Bytes that are not ASCII (a sender
writing raw UTF-8) are read as UTF-8.

Only a bounded prefix of a file is ever parsed: ``HEAD_LIMIT`` bytes, within which the
header block must end.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.parser
import email.policy
import functools
import re
from datetime import datetime
from email.errors import HeaderParseError
from email.header import decode_header, make_header
from email.utils import getaddresses, parsedate_to_datetime

from django.utils import timezone

HEAD_LIMIT = 64 * 1024  # RFC 5322 lines are at most 998 bytes; real header blocks are a few KiB
HEADER_START = re.compile(rb"[!-9;-~]+[ \t]*:")  # a header field's name and colon, at the start of a line
BOUNDARY = re.compile(r'boundary[ \t]*=[ \t]*(?:"([^"\r\n]+)"|([^;\s]+))', re.I)
FOLD = re.compile(r"(?:\r\n|\r|\n)(?=[ \t])")
# C0 and C1 controls, ESC among them (not tab or newline), and the bidirectional controls, whose
# right-to-left override makes "invoice\u202egnp.exe" read "invoiceexe.png".
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)


def header_block(prefix: bytes) -> bytes | None:
    """The header block at the start of ``prefix``, without the blank line; None when it does not end there."""
    end = prefix.find(b"\n\n")
    # Only a CRLF blank line that starts before `end` can come first: do not scan the body for one.
    end_crlf = prefix.find(b"\r\n\r\n", 0, len(prefix) if end == -1 else end + 3)
    if end_crlf != -1 and (end == -1 or end_crlf < end):
        end = end_crlf
    return None if end == -1 else prefix[:end]


def fields(block: bytes) -> list[tuple[str, str]]:
    """``(name, raw value)`` of each field, as ``email.parser`` with ``compat32`` gives them."""
    return list(_parser.parsebytes(block + b"\n\n").raw_items())


def boundary(content_type: str) -> bytes | None:
    """The MIME boundary a multipart Content-Type names; None when it names none."""
    match = BOUNDARY.search(content_type)
    return (match.group(1) or match.group(2)).strip().encode("utf-8", "surrogateescape") if match else None


class Headers:
    """The header fields of a block, raw; looked up by name in any case (the first of a name wins)."""

    def __init__(self, block: bytes):
        self.fields: list[tuple[str, str]] = fields(block)
        self._first: dict[str, str] = {}
        for name, value in self.fields:
            self._first.setdefault(name.lower(), value)

    def get(self, name: str) -> str | None:
        return self._first.get(name.lower())

    def all(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for field, value in self.fields if field.lower() == wanted]


def as_utf8(value: str) -> str:
    """Raw 8-bit bytes (kept by the parser as surrogates) read as UTF-8."""
    if value.isascii():
        return value
    return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def text(value: str) -> str:
    """An unstructured value (Subject) as people read it: unfolded, encoded words decoded."""
    value = FOLD.sub("", value)
    if "=?" in value:
        with contextlib.suppress(HeaderParseError, LookupError, UnicodeError, ValueError):  # a charset unknown
            value = str(make_header(decode_header(value)))
    return as_utf8(value).strip()


@functools.lru_cache(maxsize=4096)  # the same sender, and often the same recipients, on most messages
def addresses(value: str) -> tuple[tuple[str, str], ...]:
    """``(display name, address)`` of each address of an address header, names decoded.

    A value the parser cannot read at all is kept whole, as the address, so that it is still shown.
    """
    value = FOLD.sub("", value)
    pairs = [(text(name), as_utf8(address)) for name, address in getaddresses([value]) if name or address]
    if not pairs and value.strip():
        return (("", text(value)),)
    return tuple(pairs)


def show_address(name: str, address: str) -> str:
    return f"{name} <{address}>" if name else address


def address_texts(value: str | None) -> list[str]:
    """Each address of a header as ``Name <address>``; [] for no header."""
    return [show_address(*pair) for pair in addresses(value)] if value is not None else []


# A moment within a day of the ends of datetime's range has no UTC or local time in some zone
# (9999-12-31 23:59 -2359 is in the year 10000 in UTC): showing or comparing it would overflow.
EARLIEST = datetime.min.replace(tzinfo=dt.UTC) + dt.timedelta(days=1)
LATEST = datetime.max.replace(tzinfo=dt.UTC) - dt.timedelta(days=1)


def in_range(moment: datetime | None) -> datetime | None:
    """An aware ``moment`` that every time zone can show; None for none or one too close to year 1 or 9999's end."""
    return moment if moment is not None and EARLIEST <= moment <= LATEST else None


# A year of four digits below 1000 (``0001``): the standard library reads it as a two-digit year
# (2001), so it is refused here, as out of range. A zone (-0000) is no year.
EARLY_YEAR = re.compile(r"(?<![+\-\d])0\d{3}\b")


def date(value: str | None) -> datetime | None:
    """The Date header as an aware datetime (a date without a zone is local time); None when unreadable
    or out of range (``in_range``, ``EARLY_YEAR``)."""
    if not value or EARLY_YEAR.search(value):
        return None
    try:
        moment = parsedate_to_datetime(FOLD.sub("", value).strip())
        return in_range(moment if moment.tzinfo else timezone.make_aware(moment))
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def escaped(value: str, keep: str = "") -> str:
    """Control characters (a terminal's escape sequences among them) as visible ``\\x1b`` and ``\\u202e`` escapes."""
    return CONTROL.sub(lambda match: match[0] if match[0] in keep else _escape(match[0]), value)


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
