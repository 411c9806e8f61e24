"""`list` and `show` agree on every header of every test message, and `show`'s way round big
attachments (outbox.mime) gives what the email package gives when it parses every byte."""

import base64
import email
import email.policy
import os
import random

import pytest
from django.core.mail import EmailMessage
from django.utils import timezone

import outbox as ob
from outbox import headers as hd
from outbox import mime
from outbox.files import Span
from outbox.messages import parse_message
from tests.outbox_samples import cyrillic_reset, log_file, plain, send, use_folders

BIG = os.urandom(3 * mime.CUT)


def corpus() -> list[EmailMessage]:
    """Every kind of message the tests write, and some no backend writes."""
    messages = [cyrillic_reset(), plain("plain ascii")]
    quoted = plain("quoted", to='"Doe, John" <john@example.com>', cc=["Анна <anna@example.com>", "b@example.com"])
    quoted.extra_headers["Reply-To"] = "Ответ <reply@example.com>"
    messages.append(quoted)
    messages.append(plain("bcc", bcc=["hidden@example.com"]))
    dated = plain("dated")
    dated.extra_headers["Date"] = "Mon, 01 Jan 2024 10:00:00 +0300"
    messages.append(dated)
    attached = cyrillic_reset()
    attached.attach("отчёт.pdf", b"%PDF-1.4 small", "application/pdf")
    attached.attach("big.bin", BIG, "application/octet-stream")
    attached.attach("big.txt", "строка\n" * 40_000, "text/plain")
    messages.append(attached)
    html_only = EmailMessage("html only", "<p>Hi <a href='https://x.example/'>x</a></p>", "a@x.com", ["b@x.com"])
    html_only.content_subtype = "html"
    messages.append(html_only)
    inner = plain("inner message")
    inner.attach("inner.bin", BIG, "application/octet-stream")
    forwarded = plain("forwarded")
    forwarded.attach(inner.message())  # message/rfc822: the parser reads every byte
    messages.append(forwarded)
    long_subject = plain("Очень длинная тема " * 20)
    messages.append(long_subject)
    return messages


HAND_WRITTEN = [
    b"Subject: =?iso-8859-1?q?caf=E9?= =?utf-8?b?0JA=?=\nFrom: (comment) a@example.com\n"
    b"To: undisclosed-recipients:;\n\nx\n",
    b"Subject: raw \xd0\xaf UTF-8\nFrom: \xd0\x90\xd0\xbd\xd0\xbd\xd0\xb0 <anna@example.com>\n\nbody\n",
    b"Subject: folded\n  over\n\tlines\nTO: Upper@Example.COM\nDate: not a date\n\nbody\n",
    b"Subject: =?unknown-charset?q?x?=\nFrom: <>\nCc: ,,,\n\nbody\n",
    b"subject: crlf\r\nfrom: a@example.com\r\n\r\nbody\r\n",
    b'Content-Type: multipart/mixed; boundary="B"\nSubject: qp\n\n--B\nContent-Type: text/plain\n\nhi\n--B\n'
    b"Content-Type: application/octet-stream\nContent-Disposition: attachment; filename=x.bin\n"
    b"Content-Transfer-Encoding: quoted-printable\n\n" + b"=00=01abc=\n" * 20_000 + b"\n--B--\n",
    b'Content-Type: multipart/mixed; boundary="B"\nSubject: 8bit\n\npreamble\n--B\n\nno headers\n--B \n'
    b"Content-Type: application/octet-stream\nContent-Disposition: attachment\n\n"
    + bytes(range(1, 256)) * 1000
    + b"\n--B--  \nepilogue\n",
    b'Content-Type: multipart/mixed; boundary="B"\nSubject: b64 padding\n\n--B\n'
    b"Content-Type: application/octet-stream\nContent-Disposition: attachment\nContent-Transfer-Encoding: base64\n\n"
    + base64.encodebytes(BIG[:-1])
    + b"\n--B--\n",
]
HAND_WRITTEN.append(HAND_WRITTEN[-2].replace(b"\n", b"\r\n"))  # the 8-bit one with CRLF line breaks


@pytest.fixture
def folder(settings, tmp_path):
    path = tmp_path / "sent_emails"
    use_folders(settings, path)
    send(*corpus())
    log_file(path, *corpus()[:3])
    for number, data in enumerate(HAND_WRITTEN):
        (path / f"20200101-000000-{number:06}-handmade.eml").write_bytes(data)
    return path


def test_list_and_show_agree_on_every_header_of_every_message(folder):
    outbox = ob.Outbox(folder)
    listed = list(outbox.listing(limit=None))
    assert len(listed) == len(corpus()) + 3 + len(HAND_WRITTEN)
    for summary in listed:
        message = outbox.get(summary.id)
        assert message.summary == summary
        shown = dict(message.headers)
        assert shown.get("From", "") == summary.sender
        assert shown.get("Subject", "") == summary.subject
        for name, values in (("To", summary.to), ("Cc", summary.cc), ("Bcc", summary.bcc)):
            assert shown.get(name, "") == ", ".join(values), (summary.file, name)
        attachments = [part for part in message.attachments]
        assert summary.attachments == len(attachments), summary.file


def full_parse(data: bytes):
    """What the email package alone gives: every byte through its parser."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    return (
        [
            (part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
            for part in parsed.walk()
            if part.get_content_disposition() == "attachment"
        ],
        parsed.get_body(("plain",)),
        parsed.get_body(("html",)),
    )


def test_show_gives_what_a_full_parse_gives_with_big_attachments_left_out_of_the_parse(folder):
    checked = 0
    for path in sorted(folder.iterdir()):
        if path.suffix != ".eml":
            continue
        data = path.read_bytes()
        message = parse_message(path.name, 0, "id", Span.of(data))
        attachments, text_part, html_part = full_parse(data)
        assert [(item.name, item.content_type, item.size, item.data) for item in message.attachments] == [
            (name or "", content_type, len(payload or b""), payload or b"")
            for name, content_type, payload in attachments
        ], path.name
        if text_part is not None:  # line breaks as \n, whatever the file holds
            assert message.text == text_part.get_content().replace("\r\n", "\n")
        assert message.html == (html_part.get_content().replace("\r\n", "\n") if html_part is not None else None)
        checked += mime.skeleton(data) is not None and any(mime.skeleton(data)[1])
    assert checked >= 4, "the big attachments were left out of the parse"


# ---------------------------------------------------------------- odd values are read, never raised on

FRAGMENTS = [
    "a@example.com",
    "Anna <anna@example.com>",
    "Анна <a@x.ru>",
    "=?utf-8?b?0JDQvdC90LA=?=",
    "=?UTF-8?B?0JA?=",
    "=?utf-8?q?caf=C3=A9?=",
    "=?utf-8?b?/w==?=",
    "=?utf-8?b?0J?=",
    " ",
    "  ",
    "\t",
    "\n ",
    ",",
    "(",
    ")",
    '"',
    "<",
    ">",
    "@",
    ".",
    "..",
    "x",
    "John",
    "J. Doe",
    "é",
    "\udcd0\udcaf",
    "Wed, 02 Dec 2026 15:42:09 +0300",
    "02 Dec 2026 15:42:09",
    "+0000",
    "-0000",
    "30 Feb 2026 10:00:00 +0000",
    "1 jan 2024 00:00:00 -1200",
    "Mon,",
    ":",
    ";",
    "=?",
    "?=",
    "undisclosed-recipients:;",
    "K",
    "ſ",
    "١٢",
]
LINES = [
    "Subject: x",
    "To: a@example.com",
    " continued",
    "\tcontinued",
    "X-Empty:",
    ":no name",
    "From a@b",
    "bad line",
    "Date: Wed, 02 Dec 2026 15:42:09 +0300",
    "Subject: \xd0\xaf",
    "Subject:\r",
    "A\x0bB: v",
    "Subject: a\rb",
]


def generated(count: int, seed: int = 6):
    """Fragments run together, and values of the shapes the backends write, with small changes."""
    chance = random.Random(seed)
    spaces = [" ", "  ", "\t", "\n ", ""]
    words = ["John", "Doe", "J.", "Анна", "x1", "=?utf-8?b?0JDQvdC90LA=?=", "=?utf-8?b?0J?=", '"Doe, J"', "(c)"]
    emails = ["a@example.com", "a.b@x.co", "a..b@x", "a@b", "@x", "a@", "a b@x"]
    zones = ["+0300", "-0000", "+0000", "-1200", "+2400", "GMT", "+03"]
    for _ in range(count):
        shape = chance.randrange(4)
        if shape == 0:
            yield "".join(chance.choice(FRAGMENTS) for _ in range(chance.randint(1, 6)))
        elif shape == 1:  # an address list
            items = []
            for _ in range(chance.randint(1, 3)):
                name = chance.choice(spaces).join(chance.choice(words) for _ in range(chance.randint(0, 3)))
                address = chance.choice(emails)
                items.append(f"{chance.choice(spaces)}{name}{chance.choice(spaces)}<{address}>" if name else address)
            yield ",".join(items)
        elif shape == 2:  # a date
            day = chance.choice(["Mon, ", "Wed, ", "", "Xyz, "])
            when = f"{chance.randint(0, 32)} {chance.choice(['Jan', 'dec', 'Foo'])} {chance.choice([2026, 99, 10000])}"
            time = f"{chance.randint(0, 24):02}:{chance.randint(0, 60):02}:{chance.randint(0, 61):02}"
            yield f"{day}{when} {time} {chance.choice(zones)}"
        else:  # a subject of encoded words
            yield chance.choice(spaces).join(chance.choice([*words[5:7], "=?UTF-8?B?0K8=?=", "x"]) for _ in range(3))


def blocks(count: int, seed: int = 7):
    chance = random.Random(seed)
    for _ in range(count):
        lines = [chance.choice(LINES) for _ in range(chance.randint(1, 5))]
        yield (chance.choice(["\n", "\r\n"]) if chance.random() < 0.3 else "\n").join(lines).encode("latin-1")


def corpus_values(folder):
    for path in folder.iterdir():
        if path.suffix == ".eml":
            block = hd.header_block(path.read_bytes()[: hd.HEAD_LIMIT])
            yield from (value for _, value in hd.fields(block))


def test_every_odd_header_value_is_read_without_an_error(folder):
    """A summary must come out of any bytes: each reader answers every value (None for an unreadable date)."""
    values = [*generated(4000), *corpus_values(folder)]
    for block in blocks(2000):
        crlf = block.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")  # as mailserver saves them
        values += [value for _, value in hd.fields(block) + hd.fields(crlf)]
    for value in values:
        with timezone.override("Europe/Moscow"):  # a date without a zone is local time: not UTC
            when = hd.date(value)
        assert when is None or hd.in_range(when) is when, value
        assert isinstance(hd.text(value), str), value
        assert all(isinstance(part, str) for pair in hd.addresses(value) for part in pair), value
