"""The test message: recipients, sender, text, HTML and attachments, checked before any connection.

Every input a person types is checked here, so a bad one is named (exit 2)
before a mailer is opened: an invalid address, a header with a line break, a
file that cannot be read.
"""

from __future__ import annotations

import mimetypes
import socket
import unicodedata
from collections.abc import Iterator
from email.header import Header
from email.utils import formataddr, getaddresses, make_msgid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import DNS_NAME, EmailMultiAlternatives
from django.core.validators import validate_email
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.mail.errors import ExitCode, MailProblem

# What a checked value is, in the sentences below: the callers pass one of these
# (marked for translation here, translated when a sentence is made).
NOUNS = (
    gettext_noop("address"),
    gettext_noop("recipient"),
    gettext_noop("sender (--from)"),
    gettext_noop("subject (--subject)"),
    gettext_noop("ADMINS address"),
    gettext_noop("MANAGERS address"),
    gettext_noop("body file"),
    gettext_noop("HTML file"),
    gettext_noop("attachment"),
)


def address_hint() -> str:
    return _("Write one address per argument, as name@example.com or 'Name <name@example.com>'.")


def default_body() -> str:
    return _(
        "This is a test message from %(host)s, sent by `manage.py sendtestmail`.\n"
        "If you can read it, the site's mail works.\n"
    ) % {"host": socket.gethostname()}


# The most messages one sendtestmail sends (--count), and the largest file it reads (--body-file,
# --html-file, --attach): as large as mailserver's default size limit, more than Gmail takes.
MAX_COUNT = 10_000
FILE_LIMIT = 32 * 1024 * 1024

# The email package folds a header between words only: a word longer than this in a
# display name would stay one line past RFC 5322's 998 characters.
LONGEST_WORD = 75


def check_controls(value: str, what: str) -> str:
    """``value``, or MailProblem(BAD_INPUT) if it holds a control character or a line/paragraph separator.

    Any C0 or C1 control (line breaks, tab, VT, FF, NEL ...) and U+2028/U+2029
    would end or corrupt a header line; they are refused before anything connects.
    """
    for char in value:
        if unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("The %(what)s contains the control character U+%(code)s; a mail header is one line of text.")
                % {"what": _(what), "code": f"{ord(char):04X}"},
                _("Remove it: write the %(what)s on one line, with plain spaces.") % {"what": _(what)},
            )
    return value


def check_address(value: str, what: str = "address") -> str:
    """``value`` if it is one valid address (with or without a display name), else MailProblem(BAD_INPUT).

    A display name with a word too long to fold is returned as RFC 2047 encoded
    words, which the email package folds at any point.
    """
    text = check_controls(str(value).strip(), what)
    parsed = getaddresses([text])
    if "\n" in text or "\r" in text or len(parsed) != 1:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The %(what)s %(text)r is not one valid email address.") % {"what": _(what), "text": text},
            address_hint(),
        )
    try:
        validate_email(parsed[0][1])
    except ValidationError:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The %(what)s %(text)r is not a valid email address.") % {"what": _(what), "text": text},
            address_hint(),
        ) from None
    name, address = parsed[0]
    if any(len(word) > LONGEST_WORD for word in name.split()):
        return formataddr((Header(name, "utf-8", maxlinelen=LONGEST_WORD).encode(linesep=" "), address))
    return text


def recipients_from(addresses: list[str], *, admins: bool = False, managers: bool = False) -> list[str]:
    """The addresses given, then ``ADMINS`` and/or ``MANAGERS``; each checked, duplicates dropped."""
    result = [check_address(address, "recipient") for address in addresses]
    for wanted, name in ((admins, "ADMINS"), (managers, "MANAGERS")):
        if not wanted:
            continue
        configured = [_setting_address(entry) for entry in getattr(settings, name)]
        if not configured:
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("--%(option)s was given, but %(name)s is empty.") % {"option": name.lower(), "name": name},
                _("Set %(name)s in .env (like 'Anna <anna@example.com>, ops@example.com'), or name the recipients.")
                % {"name": name},
            )
        result.extend(check_address(entry, f"{name} address") for entry in configured)
    if not result:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("No recipients: name at least one address, or pass --admins or --managers."),
            _("For example: python manage.py sendtestmail you@example.com"),
        )
    return list(dict.fromkeys(result))


def _setting_address(entry) -> str:
    if isinstance(entry, list | tuple):  # the older (name, address) form
        name, address = entry
        return f"{name} <{address}>" if name else address
    return entry


def read_file(path: str, what: str, stdin=None) -> bytes:
    """The bytes of ``path`` (``-`` reads ``stdin``), at most ``FILE_LIMIT``, or MailProblem(BAD_INPUT).

    Only one byte more than the limit is ever read, so ``/dev/zero`` or an endless pipe is
    refused as soon as it has said too much.
    """
    try:
        if path == "-":
            data = stdin.buffer.read(FILE_LIMIT + 1)
        else:
            with open(path, "rb") as stream:
                data = stream.read(FILE_LIMIT + 1)
    except OSError as error:
        raise _unreadable(path, what, error) from None
    if len(data) > FILE_LIMIT:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The %(what)s %(path)s is larger than %(limit)s, the most a test message takes.")
            % {"what": _(what), "path": path, "limit": filesizeformat(FILE_LIMIT)},
            _("Use a smaller file: providers refuse whole messages of 25 to 50 MB."),
        )
    return data


def read_text(path: str, what: str, stdin=None) -> str:
    """The UTF-8 text of ``path`` (``-`` reads ``stdin``), or MailProblem(BAD_INPUT) naming the file."""
    try:
        return read_file(path, what, stdin).decode("utf-8")
    except UnicodeDecodeError:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The %(what)s %(path)s is not UTF-8 text.") % {"what": _(what), "path": path},
            _("Save it as UTF-8."),
        ) from None


def read_attachment(path: str) -> tuple[str, bytes, str]:
    """(file name, content, content type guessed from the name) or MailProblem(BAD_INPUT)."""
    content = read_file(path, "attachment")
    mimetype = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return Path(path).name, content, mimetype


def _unreadable(path: str, what: str, error: OSError) -> MailProblem:
    return MailProblem(
        ExitCode.BAD_INPUT,
        _("Cannot read the %(what)s %(path)s: %(reason)s.")
        % {"what": _(what), "path": path, "reason": error.strerror or error},
        _("Check the path and that this user may read the file."),
    )


def default_subject() -> str:
    return _("Test message from %(host)s at %(time)s") % {
        "host": socket.gethostname(),
        "time": f"{timezone.localtime():%Y-%m-%d %H:%M:%S %Z}",
    }


def compose_messages(
    recipients: list[str],
    *,
    subject: str | None = None,
    body: str | None = None,
    html: str | None = None,
    from_email: str | None = None,
    attachments: list[tuple[str, bytes, str]] = (),
    count: int = 1,
) -> Iterator[EmailMultiAlternatives]:
    """``count`` messages to ``recipients`` (numbered when more than one), each with its own Message-ID.

    The subject and sender are checked now; each message is made only when it is asked for,
    so a series is sent one message at a time and never held whole in memory.
    """
    subject = check_controls(subject, "subject (--subject)") if subject is not None else default_subject()
    sender = check_address(from_email, "sender (--from)") if from_email else settings.DEFAULT_FROM_EMAIL
    body = body if body is not None else default_body()

    def message(number: int) -> EmailMultiAlternatives:
        made = EmailMultiAlternatives(
            f"{subject} ({number}/{count})" if count > 1 else subject,
            body,
            sender,
            recipients,
            headers={"Message-ID": make_msgid(domain=DNS_NAME.get_fqdn())},
        )
        if html is not None:
            made.attach_alternative(html, "text/html")
        for name, content, mimetype in attachments:
            made.attach(name, content, mimetype)
        return made

    return (message(number) for number in range(1, count + 1))
