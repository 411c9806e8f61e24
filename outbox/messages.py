"""One saved message: its summary for ``list``, all of it for ``show``, or why it cannot be read.

Both read the headers with ``outbox.headers``. A summary needs only the
header block (from a bounded prefix) and a scan of the bytes for attachments; ``show``
parses the whole message with the standard library, up to ``SHOW_LIMIT`` bytes and
``MAX_MULTIPARTS`` nested parts, so that no file can make it crash or take minutes.
"""

from __future__ import annotations

import email
import email.policy
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser

from django.utils import timezone
from django.utils.translation import gettext_lazy

from outbox import headers as hd
from outbox import mime
from outbox.files import STAMPED, Span

SHOW_LIMIT = 64 << 20  # bytes: a 25 MB attachment is about 34 MB once encoded
MAX_MULTIPARTS = 100
ATTACHMENT = re.compile(rb"\ncontent-disposition:[ \t]*attachment", re.I)
ATTACHMENT_OVERLAP = 64  # longer than any match of ATTACHMENT, but for absurd runs of spaces
MULTIPART = re.compile(rb"boundary[ \t]*=", re.I)
URL = re.compile(r"""https?://[^\s<>"'`]+""", re.I)
SHOWN_HEADERS = ("From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID")
ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to"}


# The names of the headers people read, in their language (the message page, ``outbox show``);
# the others (Message-ID) as they are.
HEADER_LABELS = {
    "From": gettext_lazy("From"),
    "To": gettext_lazy("To"),
    "Cc": gettext_lazy("Cc"),
    "Bcc": gettext_lazy("Bcc"),
    "Reply-To": gettext_lazy("Reply to"),
    "Subject": gettext_lazy("Subject"),
    "Date": gettext_lazy("Date"),
}


def header_label(name: str) -> str:
    return str(HEADER_LABELS.get(name, name))


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
    date_from_file: bool = False  # no readable Date header: ``date`` is the time in the file's name

    def matches(
        self,
        *,
        to: str | None = None,
        sender: str | None = None,
        subject: str | None = None,
        words: tuple[str, ...] = (),
        since=None,
        before=None,
    ) -> bool:
        """Every filter holds (``outbox.search`` says what each means); letter case never counts."""
        if to is not None and to.casefold() not in self.addresses:
            return False
        if sender is not None and sender.casefold() not in self.sender.casefold():
            return False
        if subject is not None and subject.casefold() not in self.subject.casefold():
            return False
        if words:
            haystack = "\n".join([self.subject, self.sender, *self.to, *self.cc, *self.bcc]).casefold()
            if not all(word.casefold() in haystack for word in words):
                return False
        if since is not None and (self.date is None or self.date < since):
            return False
        return before is None or (self.date is not None and self.date < before)


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
    size: int  # decoded
    load: Callable[[], bytes] = field(repr=False, compare=False)

    @property
    def data(self) -> bytes:
        """The decoded bytes (decoded now: ``show`` needs only the size)."""
        return self.load()


@dataclass(slots=True)
class Message:
    """One message in full, for ``show``."""

    summary: Summary
    headers: list[tuple[str, str]]
    text: str  # the text part, or the HTML part rendered as text
    text_from_html: bool
    html: str | None
    attachments: list[Attachment]  # the parts marked ``Content-Disposition: attachment``
    links: list[str]
    raw: bytes = field(repr=False)
    inline: list[Attachment] = field(default_factory=list)  # other parts with a file name (an inline image)

    @property
    def files(self) -> list[Attachment]:
        """Every part with a file of its own: the attachments, then the inline ones."""
        return self.attachments + self.inline


def _problem(prefix: bytes, block: bytes | None, size: int) -> str:
    """Why the bytes are not a message, or ''."""
    if not size:
        return "empty file"
    if prefix.find(b"\0", 0, 8192) != -1:
        return "binary data, not a mail message"
    if not hd.HEADER_START.match(prefix):
        return "not a mail message (it does not start with headers)"
    if block is None:
        if size > hd.HEAD_LIMIT:
            return f"the headers do not end within {hd.HEAD_LIMIT // 1024} KiB"
        return "truncated: the headers do not end"
    return ""


def summarize(name: str, index: int, ident: str, span: Span) -> Summary | Unreadable:
    """The list's view of one message: its header block, and a scan of its bytes for attachments."""
    return _summary(name, index, ident, span)[0]


def _summary(name: str, index: int, ident: str, span: Span) -> tuple[Summary | Unreadable, hd.Headers | None]:
    """The summary, and the header fields it was read from (None when unreadable)."""
    prefix = span.read(hd.HEAD_LIMIT)
    block = hd.header_block(prefix)
    if reason := _problem(prefix, block, span.size):
        return Unreadable(ident, name, index, reason, span.size), None
    fields = hd.Headers(block)
    content_type = fields.get("content-type") or ""
    separator = hd.boundary(content_type) if "multipart" in content_type.lower() else None
    if separator and not span.contains(b"--" + separator + b"--"):
        reason = "truncated: the closing MIME boundary is missing"
        return Unreadable(ident, name, index, reason, span.size), None
    to, cc, bcc = (hd.addresses(fields.get(key) or "") for key in ("to", "cc", "bcc"))
    date = hd.date(fields.get("date"))
    file_date = name_time(name) if date is None else None
    return Summary(
        id=ident,
        file=name,
        index=index,
        date=date or file_date,
        sender=", ".join(hd.address_texts(fields.get("from"))),
        to=[hd.show_address(*pair) for pair in to],
        cc=[hd.show_address(*pair) for pair in cc],
        bcc=[hd.show_address(*pair) for pair in bcc],
        subject=hd.text(fields.get("subject") or ""),
        attachments=span.count(ATTACHMENT, ATTACHMENT_OVERLAP, first=b"\n"),
        size=span.size,
        addresses=frozenset(address.casefold() for _, address in to + cc + bcc),
        date_from_file=file_date is not None,
    ), fields


def name_time(name: str) -> datetime | None:
    """The local time a backend put at the start of the file name."""
    if STAMPED.match(name):
        try:
            return hd.in_range(timezone.make_aware(datetime.strptime(name[:15], "%Y%m%d-%H%M%S")))
        except ValueError:
            return None
    return None


def shown_headers(fields: hd.Headers) -> list[tuple[str, str]]:
    """The headers ``show`` prints, read as ``summarize`` reads them."""
    shown = []
    for name in SHOWN_HEADERS:
        for value in fields.all(name):
            shown.append(
                (name, ", ".join(hd.address_texts(value)) if name.lower() in ADDRESS_HEADERS else hd.text(value))
            )
    return shown


def parse_message(name: str, index: int, ident: str, span: Span) -> Message | Unreadable:
    """All of one message, or why it cannot be shown (``--raw`` prints it anyway)."""
    summary, fields = _summary(name, index, ident, span)
    if isinstance(summary, Unreadable):
        return summary
    if span.size > SHOW_LIMIT:
        reason = f"too large to show ({span.size:,} bytes; the limit is {SHOW_LIMIT:,} bytes)"  # exact: they differ
        return Unreadable(ident, name, index, reason, span.size)
    try:
        return _parsed(summary, shown_headers(fields), span.read())
    except TooManyParts:
        return Unreadable(ident, name, index, f"more than {MAX_MULTIPARTS} nested MIME parts", span.size)
    except RecursionError:
        return Unreadable(ident, name, index, "its MIME parts are nested too deeply to read", span.size)


class TooManyParts(Exception):
    """The bytes the parser is to read hold more than ``MAX_MULTIPARTS`` ``boundary=``."""


def too_many_multiparts(data: bytes) -> bool:
    """More than ``MAX_MULTIPARTS`` ``boundary=`` in the bytes. Each contains "boundary", and counting that
    in the lower-cased bytes is six times faster than the case-blind pattern: the pattern runs only past it."""
    if data.lower().count(b"boundary") <= MAX_MULTIPARTS:
        return False
    return len(MULTIPART.findall(data)) > MAX_MULTIPARTS


def _parsed(summary: Summary, headers: list[tuple[str, str]], data: bytes) -> Message:
    """The message parsed by the email package, its big attachments left out of the parse (``mime``)."""
    shape = mime.skeleton(data) if len(data) > mime.CUT else None
    parsed = shape[0] if shape else data  # what the parser reads: the big bodies need no counting
    if too_many_multiparts(parsed):
        raise TooManyParts
    message = email.message_from_bytes(parsed, policy=email.policy.default)
    leaves = [part for part in message.walk() if not part.is_multipart()]
    bodies = shape[1] if shape else [None] * len(leaves)
    if len(bodies) != len(leaves):  # the parser saw other parts: let it read every byte
        if too_many_multiparts(data):
            raise TooManyParts
        message = email.message_from_bytes(data, policy=email.policy.default)
        leaves = [part for part in message.walk() if not part.is_multipart()]
        bodies = [None] * len(leaves)
    text_part = message.get_body(("plain",))
    html_part = message.get_body(("html",))
    html = part_text(html_part) if html_part is not None else None
    text = part_text(text_part) if text_part is not None else ""
    text_from_html = text_part is None and html is not None
    if text_from_html:
        text = html_to_text(html)
    attachments, inline = [], []
    for part, body in zip(leaves, bodies, strict=True):
        if part.get_content_disposition() == "attachment":
            found = attachments
        elif _filename(part) and part is not text_part and part is not html_part:
            found = inline  # an image the HTML shows, an SVG or HTML file sent inline: a file all the same
        else:
            continue
        if body is None:
            payload = part.get_payload(decode=True) or b""
            size, load = len(payload), functools.partial(bytes, payload)
        else:
            size, load = body.size(), body.decoded
        found.append(Attachment(_filename(part), part.get_content_type(), size, load))
    links = unique(URL.findall(text if not text_from_html else "") + (html_links(html) if html else []))
    return Message(summary, headers, text, text_from_html, html, attachments, links, data, inline)


def _filename(part) -> str:
    try:
        return part.get_filename() or ""
    except (LookupError, ValueError, IndexError):  # a malformed parameter
        return ""


def part_text(part) -> str:
    """A text part's text, its line breaks ``\\n`` (SMTP carries CRLF: ``mailserver`` saves it as it came)."""
    try:
        content = part.get_content()
    except (LookupError, ValueError):  # unknown charset, bad encoding
        content = (part.get_payload(decode=True) or b"").decode("utf-8", "replace")
    return content.replace("\r\n", "\n")


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
