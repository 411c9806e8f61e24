"""Where a message's big attachments are, so that ``show`` need not feed them through the email parser.

The standard library's parser reads a message a line at a time: a 25 MB attachment is
about 440,000 lines of base64 and a second of work, for bytes ``show`` only measures.
``skeleton`` finds each part by its MIME boundary (``bytes.find``) and leaves out the body
of every part over ``CUT`` bytes that is neither text nor a message; the parser then reads
the rest, and each body left out is measured, and decoded only when asked, from its bytes.

Each part's headers are still read by the parser. A structure this cannot follow (a
boundary that does not close, more parts than the parser would find) gives None, and
the whole message is parsed as it is.
"""

from __future__ import annotations

import binascii
import re
from dataclasses import dataclass

from outbox import headers as hd

CUT = 64 * 1024
MAX_PARTS = 1000


@dataclass(frozen=True, slots=True)
class Body:
    """A part's body left out of the skeleton: where it is, and how it is encoded."""

    data: bytes  # the whole message
    start: int
    end: int
    encoding: str  # Content-Transfer-Encoding, lower case

    def size(self) -> int:
        """The decoded size, without decoding: base64 is 3 bytes for each 4 characters, less the padding."""
        if self.encoding != "base64":
            return len(self.decoded()) if self.encoding == "quoted-printable" else self.end - self.start
        spaces = sum(
            self.data.count(space, self.start, self.end)
            for space in (b"\n", b"\r", b" ", b"\t")
            if self.data.find(space, self.start, self.end) != -1  # a find is much faster than a count of nothing
        )
        tail = self.data[max(self.start, self.end - 8) : self.end].rstrip()
        padding = min(2, len(tail) - len(tail.rstrip(b"=")))
        return max(0, (self.end - self.start - spaces) * 3 // 4 - padding)

    def decoded(self) -> bytes:
        raw = self.data[self.start : self.end]
        try:
            if self.encoding == "base64":
                return binascii.a2b_base64(raw)
            if self.encoding == "quoted-printable":
                return binascii.a2b_qp(raw)
        except (binascii.Error, ValueError):  # as the email package does: the bytes as they are
            pass
        return raw


def skeleton(data: bytes) -> tuple[bytes, list[Body | None]] | None:
    """The message without its big bodies, and for each leaf part in order the body left out (or None)."""
    leaves: list[Body | None] = []
    cuts: list[tuple[int, int]] = []
    stack = [(0, len(data))]  # entities to look at, in document order (last first)
    while stack:
        start, end = stack.pop()
        if len(leaves) + len(stack) > MAX_PARTS:
            return None
        if data.startswith((b"\n", b"\r\n"), start, end):  # no headers: text/plain, as the parser reads it
            leaves.append(None)
            continue
        block = hd.header_block(data[start : min(end, start + hd.HEAD_LIMIT)])
        if block is None:  # headers that do not end: the parser reads the part as it is
            leaves.append(None)
            continue
        fields = hd.Headers(block)
        body_start = start + len(block) + (4 if data.startswith(b"\r\n\r\n", start + len(block)) else 2)
        content_type = (fields.get("content-type") or "text/plain").strip().lower()
        if content_type.startswith("multipart/"):
            separator = hd.boundary(fields.get("content-type") or "")
            if separator is None:
                return None
            parts = _parts(data, body_start, end, separator)
            if parts is None:
                return None
            stack.extend(reversed(parts))
        elif end - body_start > CUT and not content_type.startswith(("text/", "message/")):
            encoding = (fields.get("content-transfer-encoding") or "7bit").strip().lower()
            leaves.append(Body(data, body_start, end, encoding))
            cuts.append((body_start, end))
        else:
            leaves.append(None)
    if not cuts:
        return data, leaves
    pieces, position = [], 0
    for cut_start, cut_end in sorted(cuts):
        pieces.append(data[position:cut_start])
        position = cut_end
    pieces.append(data[position:])
    return b"".join(pieces), leaves


def _parts(data: bytes, start: int, end: int, boundary: bytes) -> list[tuple[int, int]] | None:
    """The parts between the delimiter lines ``--boundary`` of a multipart body; None unless it closes.

    As RFC 2046 says, the line break before a delimiter belongs to the delimiter.
    """
    needle = b"\n--" + boundary
    rest = re.compile(rb"(--)?[ \t]*(?:\r\n|\n|\Z)")
    parts, part_start, at = [], None, start - 1  # the body starts right after a line break
    while (at := data.find(needle, at, end)) != -1:
        line = rest.match(data, at + len(needle), end)
        if line is None:  # the boundary followed by more: not a delimiter line
            at += 1
            continue
        if part_start is not None:
            part_end = at - 1 if data[at - 1 : at] == b"\r" else at
            parts.append((part_start, max(part_start, part_end)))
        if line.group(1):
            return parts
        part_start = at = line.end()
        at -= 1  # the next delimiter's line break may be this line's own
    return None
