"""A round trip: send a test message, then read the mailbox over IMAP and say where it landed.

An SMTP server's "250 accepted" says nothing of what the receiving provider does
next: file the message in the Inbox, in the spam folder, bounce it, or lose it.
``roundtrip`` logs in to the mailbox over IMAP (the standard library's
``imaplib``), finds the Inbox and the spam folder (by the ``\\Junk`` special use,
else by a name like Spam, Junk, Bulk or Спам), has the caller send the message
(``send(token)`` returns its Message-ID), and then looks in both folders until the
message, or a bounce naming it, is there, or ``wait`` seconds have passed. The
found message's ``Authentication-Results`` (what the receiver thought of SPF, DKIM
and DMARC) goes into the report, and the message and its bounce are deleted
unless ``keep``.

The IMAP login happens before anything is sent: a mailbox that cannot be read
gets no test message. Every failure of IMAP is a report, never an exception
(``imap_unreachable``, ``imap_login_failed``), and never shows the password.
A hostile or broken server cannot hang it or fill memory: every socket operation
has a timeout, the whole session a deadline (a watchdog shuts the socket), and
what is read is capped (a message's header only, at most ``MAX_FETCH`` bytes of a
bounce, ``MAX_READ`` bytes in all).
"""

from __future__ import annotations

import base64
import contextlib
import email
import email.message
import email.utils
import imaplib
import re
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from django.utils.translation import gettext as _

from core.env import ENCODE_HINT, gettext_noop
from core.mail.config import is_loopback
from core.mail.errors import ExitCode
from core.mail.explain import provider_login_hint, provider_of
from core.security import mask_text

SECURITIES = ("ssl", "starttls", "plain")
DEFAULT_PORTS = {"ssl": 993, "starttls": 143, "plain": 143}
SCHEMES = {"imaps": "ssl", "imap": "starttls", "imap+plain": "plain"}
ROUNDTRIP_HEADER = "X-Mailproof-Roundtrip"  # the header the caller may put the token in, besides the Subject

MAX_FETCH = 64 * 1024  # bytes of a bounce read, and of a message's header
MAX_LITERAL = 1024 * 1024  # no single answer of the server larger than this is read
MAX_READ = 16 * 1024 * 1024  # nor more than this in one session
SPAM_NAMES = ("spam", "junk", "junk e-mail", "junk email", "bulk", "bulk mail", "спам", "нежелательная почта")

# The IMAP server of each provider whose SMTP server is known: same login, same app password.
PROVIDER_IMAP = {
    "smtp.yandex.ru": "imap.yandex.ru",
    "smtp.yandex.com": "imap.yandex.ru",
    "smtp.gmail.com": "imap.gmail.com",
    "smtp.mail.ru": "imap.mail.ru",
}

OUTCOMES = ("inbox", "spam", "bounced", "not_arrived", "imap_login_failed", "imap_unreachable")
EXIT_CODES = {
    "inbox": ExitCode.DONE,
    "bounced": ExitCode.MESSAGE_REFUSED,
    "spam": ExitCode.UNHEALTHY,
    "not_arrived": ExitCode.UNHEALTHY,
    "imap_unreachable": ExitCode.UNREACHABLE,
    "imap_login_failed": ExitCode.LOGIN_REFUSED,
}


# ---------------------------------------------------------------- where the mailbox is


@dataclass(frozen=True)
class ImapTarget:
    """An IMAP mailbox: where, who, and how the connection is protected. Its repr never shows the password."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    security: str = "ssl"  # "ssl" (IMAPS, 993), "starttls" (143), "plain" (loopback only)
    cafile: str | None = None  # a CA trusted besides the system's (a test server's)

    def __post_init__(self):
        if self.security not in SECURITIES:
            raise ValueError(f"security must be one of {', '.join(SECURITIES)}, not {self.security!r}")

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.security} {self.user}@{self.where}"


URL_HINT = gettext_noop("write it as imaps://you%40yandex.ru:app-password@imap.yandex.ru:993")


class UrlProblem(ValueError):
    """What is wrong with an IMAP URL: English in its ``args`` (``IMAP_URL`` is read with the settings, before
    any language), in the command's language from ``translated()`` (``--imap``)."""

    def __init__(self, problem: str, hint: str, **values):
        self.problem, self.hint, self.values = problem, hint, values
        super().__init__(problem % values, hint)

    def translated(self) -> tuple[str, str]:
        return _(self.problem) % self.values, _(self.hint)


def imap_target_from_url(url: str) -> ImapTarget:
    """``imaps://user:password@host[:993]`` (TLS from the first byte), ``imap://...[:143]`` (STARTTLS), or
    ``imap+plain://...`` (no TLS: a loopback host only). Login and password are percent-decoded;
    ``?ssl_cafile=PATH`` trusts one more CA. Anything else: ``UrlProblem``, never quoting the password."""
    url = (url or "").strip()
    scheme, found, rest = url.partition("://")
    if not found or scheme.lower() not in SCHEMES:
        if found:
            raise UrlProblem(gettext_noop("unknown IMAP URL scheme %(scheme)r"), URL_HINT, scheme=scheme.lower())
        raise UrlProblem(gettext_noop("not an IMAP URL"), URL_HINT)
    security = SCHEMES[scheme.lower()]
    if any(char.isspace() or ord(char) < 32 for char in url):
        raise UrlProblem(gettext_noop("the URL holds white space or a control character"), ENCODE_HINT)
    end = next((index for index, char in enumerate(rest) if char in "/?#"), len(rest))
    authority, after = rest[:end], rest[end:]
    if "@" not in authority:
        if "@" in after:
            raise UrlProblem(gettext_noop("the login or password holds an unencoded /, # or ?"), ENCODE_HINT)
        raise UrlProblem(gettext_noop("no login and password in the URL"), URL_HINT)
    userinfo, _at, hostport = authority.rpartition("@")
    login, colon, password = userinfo.partition(":")
    if any(char in password for char in "@[]") or any(char in login for char in "[]"):
        raise UrlProblem(gettext_noop("the login or password holds an unencoded @, [ or ]"), ENCODE_HINT)
    login, password = unquote(login), unquote(password)
    if not login or not colon or not password:
        raise UrlProblem(gettext_noop("the URL needs both a login and a password"), URL_HINT)
    try:
        parts = urlsplit(f"{scheme}://{hostport}{after}")
        host, port = parts.hostname, parts.port
    except ValueError:
        problem = gettext_noop("the host or port cannot be read (a port must be a number from 1 to 65535)")
        raise UrlProblem(problem, URL_HINT) from None
    if not host:
        raise UrlProblem(gettext_noop("no host in the URL"), URL_HINT)
    if parts.path not in ("", "/") or parts.fragment:
        raise UrlProblem(gettext_noop("an IMAP URL names the server only, not a folder"), URL_HINT)
    cafile = None
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() != "ssl_cafile" or not value:
            raise UrlProblem(
                gettext_noop("unknown option %(option)r"),
                gettext_noop("the one option is ?ssl_cafile=PATH"),
                option=key,
            )
        cafile = value
    if security == "plain" and not is_loopback(host):
        raise UrlProblem(
            gettext_noop("IMAP without TLS to %(host)s would send the password in clear text"),
            gettext_noop(
                "use imaps:// (port 993) or imap:// (STARTTLS, port 143); imap+plain:// is for 127.0.0.1 only"
            ),
            host=host,
        )
    return ImapTarget(host, port or DEFAULT_PORTS[security], login, password, security, cafile)


def url_text(url: str) -> str:
    """The ``IMAP_URL`` setting: the URL, once it is known to be usable (an ``Env`` cast)."""
    imap_target_from_url(url)
    return url.strip()


def default_imap_target(smtp_host: str, login: str, password: str) -> ImapTarget | None:
    """The IMAP mailbox of a known provider's SMTP server (Yandex, Gmail, Mail.ru), same login and password;
    None for any other host."""
    imap_host = PROVIDER_IMAP.get((smtp_host or "").strip().lower().rstrip("."))
    if imap_host is None or not login or not password:
        return None
    return ImapTarget(imap_host, 993, login, password, "ssl")


# ---------------------------------------------------------------- the report


@dataclass
class RoundtripReport:
    """Where the test message landed, and after how long; ``words`` and ``hint`` in the active language."""

    outcome: str  # one of OUTCOMES
    words: str
    hint: str = ""
    folder: str = ""  # the folder it was found in (decoded)
    seconds: float | None = None  # from the send to finding it (or the bounce)
    authentication_results: dict = field(default_factory=dict)
    bounce: dict | None = None  # status, diagnostic, recipient
    message_id: str = ""
    token: str = ""
    removed: bool = False  # the test message (and its bounce) deleted from the mailbox

    @property
    def exit_code(self) -> ExitCode:
        return EXIT_CODES[self.outcome]

    def as_dict(self) -> dict:
        return {
            "outcome": self.outcome,
            "folder": self.folder or None,
            "seconds": None if self.seconds is None else round(self.seconds, 3),
            "authentication_results": self.authentication_results,
            "bounce": self.bounce,
        }


# ---------------------------------------------------------------- Authentication-Results (RFC 8601)


def _split_top(text: str, separator: str) -> list[str]:
    """``text`` cut at ``separator`` outside comments (nested parentheses) and quoted strings."""
    parts, current, depth, quoted, escaped = [], [], 0, False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif quoted:
            quoted = char != '"'
        elif char == '"':
            quoted = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth = max(depth - 1, 0)
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _comments(text: str) -> tuple[str, list[str]]:
    """``text`` without its comments (outer parentheses), and the comments."""
    outside, comments, current, depth = [], [], [], 0
    for char in text:
        if char == "(":
            depth += 1
            if depth == 1:
                continue
        elif char == ")" and depth:
            depth -= 1
            if depth == 0:
                comments.append("".join(current).strip())
                current = []
                continue
        (current if depth else outside).append(char)
    return "".join(outside), comments


def parse_authentication_results(value: str) -> dict:
    """``mx.test; spf=pass smtp.mailfrom=a@b; dkim=none; dmarc=fail (p=reject) header.from=b`` →
    ``{"spf": {"result": "pass", "reason": "", "properties": {...}}, "dkim": {...}, "dmarc": {...}}``.

    Methods named twice (two DKIM signatures): a ``pass`` wins, else the first. Tolerant: what cannot
    be read is left out."""
    found: dict[str, dict] = {}
    text = re.sub(r"\r?\n[ \t]+", " ", value or "")[:MAX_FETCH]
    for part in _split_top(text, ";")[1:]:  # the first is the authserv-id
        bare, comments = _comments(part)
        words = bare.split()
        if not words or "=" not in words[0]:
            continue
        method, _, result = words[0].partition("=")
        method = method.split("/")[0].strip().lower()
        properties = {}
        for word in words[1:]:
            key, equals, item = word.partition("=")
            if equals:
                properties[key.lower()] = item.strip('"')
        reason = properties.pop("reason", "") or "; ".join(comments)
        entry = {"result": result.strip().lower(), "reason": reason, "properties": properties}
        if method and (method not in found or (entry["result"] == "pass" and found[method]["result"] != "pass")):
            found[method] = entry
    return found


def authentication_hint(results: dict) -> str:
    """A sentence for each of SPF, DKIM and DMARC the receiver did not pass; "" when all passed or none is known."""
    sentences = []
    spf, dkim, dmarc = (results.get(name, {}).get("result", "") for name in ("spf", "dkim", "dmarc"))
    if spf and spf != "pass":
        sentences.append(
            _(
                "SPF %(result)s: the sender domain's SPF record (a TXT record in its DNS) does not name the server "
                "that sent the message; add the provider's include: to it, or send From: the provider's own address."
            )
            % {"result": spf}
        )
    if dkim and dkim != "pass":
        sentences.append(
            _(
                "DKIM %(result)s: the message carries no valid signature of the sender's domain; turn DKIM signing "
                "on for the domain at the provider and publish its key in the domain's DNS."
            )
            % {"result": dkim}
        )
    if dmarc and dmarc != "pass":
        policy = re.search(r"\bp=(\w+)", results["dmarc"].get("reason", ""))
        sentences.append(
            _(
                "DMARC %(result)s (the domain's policy: %(policy)s): neither SPF nor DKIM passed for the domain "
                "in From:; send From: the address you log in with, or set up SPF and DKIM for that domain."
            )
            % {"result": dmarc, "policy": policy.group(1).lower() if policy else "?"}
        )
    return " ".join(sentences)


# ---------------------------------------------------------------- bounces (RFC 3464)


def parse_bounce(raw: bytes, message_id: str) -> dict | None:
    """A delivery status notification for ``message_id`` → ``{"status", "diagnostic", "recipient"}``;
    None when ``raw`` is not one, or says only that delivery is delayed."""
    if message_id and message_id.encode(errors="replace") not in raw:
        return None
    message = email.message_from_bytes(raw[:MAX_FETCH])
    if message.get_content_type() == "multipart/report" and message.get_param("report-type") == "delivery-status":
        for part in message.walk():
            if part.get_content_type() != "message/delivery-status":
                continue
            blocks = part.get_payload()
            blocks = blocks if isinstance(blocks, list) else []
            for block in blocks[1:] or blocks:  # the first block is about the message, the others per recipient
                action, status = _one_line(block.get("Action", "")).lower(), _one_line(block.get("Status", ""))
                if action == "failed" or (not action and status.startswith("5")):
                    diagnostic = _one_line(block.get("Diagnostic-Code", ""))
                    recipient = _one_line(block.get("Final-Recipient", ""))
                    return {
                        "status": status,
                        "diagnostic": diagnostic.partition(";")[2].strip() or diagnostic,
                        "recipient": recipient.partition(";")[2].strip() or recipient,
                    }
            return None  # delayed, or delivered after all
    sender = email.utils.parseaddr(str(message.get("From", "")))[1].lower()
    if sender.partition("@")[0] in ("mailer-daemon", "postmaster"):  # a bounce in words only (older Exim)
        text = raw.decode("utf-8", "replace")
        status = re.search(r"\b([45]\.\d{1,3}\.\d{1,3})\b", text)
        reply = re.search(r"^.*\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b.*$", text, re.M)
        return {
            "status": status.group(1) if status else "",
            "diagnostic": _one_line(reply.group(0)) if reply else "",
            "recipient": "",
        }
    return None


def bounce_hint(status: str) -> str:
    if status.startswith("5.1."):
        return _("The receiving server does not know the recipient's address: check it for a typo.")
    if status.startswith("5.7."):
        return _(
            "The receiving server refused the message by its policy (often SPF, DKIM or DMARC of the sender's "
            "domain, or the sender's reputation): the diagnostic names the reason."
        )
    if status.startswith("5.2."):
        return _("The recipient's mailbox is full or disabled: the recipient must make room or turn it on.")
    return _("The bounce's diagnostic names the reason; the receiving provider's help pages explain its codes.")


# ---------------------------------------------------------------- IMAP, bounded


class _Bounded:
    """imaplib's client with limits: no answer over MAX_LITERAL, no more than MAX_READ bytes in all.

    ``read`` and ``readline`` are imaplib's documented points to override."""

    received = 0

    def _count(self, size: int) -> None:
        self.received += size
        if self.received > MAX_READ:
            raise imaplib.IMAP4.abort(_("it sent more than a round trip needs to read"))

    def read(self, size):
        if size > MAX_LITERAL:
            raise imaplib.IMAP4.abort(_("it announced an answer too large to read"))
        data = super().read(size)
        self._count(len(data))
        return data

    def readline(self):
        line = super().readline()
        self._count(len(line))
        return line


class _Imap(_Bounded, imaplib.IMAP4):
    pass


class _ImapSSL(_Bounded, imaplib.IMAP4_SSL):
    pass


class _Failed(Exception):
    """An IMAP failure, already in words: the outcome, the sentence and its hint."""

    def __init__(self, outcome: str, words: str, hint: str = ""):
        super().__init__(words)
        self.outcome, self.words, self.hint = outcome, words, hint


def _one_line(text, limit: int = 300) -> str:
    """Text from outside on one line, without control characters, at most ``limit`` characters."""
    text = " ".join("".join(char if char.isprintable() else " " for char in str(text)).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _quoted(text: str) -> str:
    """An IMAP quoted string (imaplib sends arguments as they are)."""
    if any(char in text for char in "\r\n\0"):
        raise ValueError("a line break in an IMAP argument")
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def decode_mutf7(name: str) -> str:
    """A folder name as IMAP says it (modified UTF-7, RFC 3501 5.1.3) → the name people read: ``&BCEEPwQwBDw-`` →
    ``Спам``. A name that is not valid modified UTF-7 is left as it is."""

    def decode(match: re.Match) -> str:
        encoded = match.group(1)
        if not encoded:
            return "&"
        try:
            data = base64.b64decode(encoded.replace(",", "/") + "=" * (-len(encoded) % 4))
            return data.decode("utf-16-be")
        except (ValueError, UnicodeDecodeError):
            return match.group(0)

    return re.sub(r"&([A-Za-z0-9+,]*)-", decode, name)


LIST_LINE = re.compile(r'\((?P<flags>[^)]*)\)\s+(?P<delimiter>"(?:[^"\\]|\\.)*"|NIL)\s+(?P<name>.*)', re.I | re.S)


@dataclass(frozen=True)
class Folder:
    raw: str  # as the server names it (modified UTF-7), for SELECT
    name: str  # decoded, for people
    flags: frozenset[str]


def parse_list(lines: list) -> list[Folder]:
    """imaplib's LIST answer → the folders (a name sent as a literal arrives as a tuple)."""
    folders = []
    for line in lines or []:
        if isinstance(line, tuple):
            head, literal = _text(line[0]), _text(line[1])
            line = re.sub(r"\{\d+\}$", "", head.rstrip()) + '"' + literal.replace("\\", "\\\\").replace('"', '\\"')
            line += '"'
        match = LIST_LINE.match(_text(line or b"").strip())
        if not match:
            continue
        raw = match["name"].strip()
        if raw.startswith('"') and raw.endswith('"') and len(raw) >= 2:
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
        flags = frozenset(flag.lower() for flag in match["flags"].split())
        if "\\noselect" in flags or "\\nonexistent" in flags:
            continue
        folders.append(Folder(raw, decode_mutf7(raw), flags))
    return folders


def spam_folder(folders: list[Folder]) -> Folder | None:
    """The folder with the ``\\Junk`` special use; else one named like Spam, Junk, Bulk or Спам (the last part)."""
    for folder in folders:
        if "\\junk" in folder.flags or "\\spam" in folder.flags:
            return folder
    for folder in folders:
        last = re.split(r"[/.]", folder.name)[-1].strip().casefold()
        if last in SPAM_NAMES:
            return folder
    return None


# ---------------------------------------------------------------- the round trip


def roundtrip(
    target: ImapTarget,
    send: Callable[[str], str],
    *,
    wait: float = 120,
    keep: bool = False,
    poll: float = 2.0,
    timeout: float = 30.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> RoundtripReport:
    """Log in to ``target``, have ``send(token)`` send the test message (it returns the Message-ID), then look
    for it in the Inbox and the spam folder, and for a bounce naming it in the Inbox, every ``poll`` seconds
    for up to ``wait`` seconds. ``timeout``: each socket operation's. Exceptions of ``send`` go to the caller."""
    token = secrets.token_hex(8)
    session = _Session(target, timeout=timeout, deadline=wait + 6 * timeout)
    try:
        try:
            session.open()
            inbox, spam = session.folders()
            inbox_next = session.uidnext(inbox)
        except _Failed as failed:
            return RoundtripReport(failed.outcome, failed.words, failed.hint, token=token)
        message_id = (send(token) or "").strip()
        if not message_id.isascii() or not message_id.isprintable():
            message_id = ""  # not searchable as it is: the token in the Subject is looked for instead
        sent = clock()
        try:
            return _look(session, inbox, spam, inbox_next, message_id, token, sent, wait, poll, keep, clock, sleep)
        except _Failed as failed:
            return RoundtripReport(failed.outcome, failed.words, failed.hint, message_id=message_id, token=token)
    finally:
        session.close()


def _look(session, inbox, spam, inbox_next, message_id, token, sent, wait, poll, keep, clock, sleep):
    folders = [inbox, *([spam] if spam else [])]
    while True:
        for folder in folders:
            found = session.find(folder, message_id, token)
            if found is not None:
                uid, header = found
                seconds = clock() - sent
                removed = False if keep else session.delete(folder, uid)
                return _arrived(folder, spam, header, seconds, message_id, token, removed)
        bounced = session.find_bounce(inbox, inbox_next, message_id)
        if bounced is not None:
            uid, bounce = bounced
            seconds = clock() - sent
            removed = False if keep else session.delete(inbox, uid)
            return _bounced(bounce, seconds, message_id, token, removed)
        left = sent + wait - clock()
        if left <= 0:
            return _not_arrived(inbox, spam, wait, message_id, token)
        sleep(min(poll, left))


def _arrived(folder, spam, header, seconds, message_id, token, removed) -> RoundtripReport:
    message = email.message_from_bytes(header)
    found = message.get_all("Authentication-Results") or []
    results = parse_authentication_results(str(found[0])) if found else {}
    values = {"folder": folder.name, "seconds": f"{seconds:.1f}"}
    hint = authentication_hint(results)
    if spam is not None and folder == spam:
        outcome = "spam"
        words = _("The test message arrived in the spam folder %(folder)s after %(seconds)s s.") % values
        hint = hint or _(
            "Receivers also file mail as spam for its content or the sender's reputation: mark it as not spam, "
            "and check SPF, DKIM and DMARC of the sender's domain."
        )
    else:
        outcome = "inbox"
        words = _("The test message arrived in %(folder)s after %(seconds)s s.") % values
    return RoundtripReport(
        outcome,
        words,
        hint,
        folder=folder.name,
        seconds=seconds,
        authentication_results=results,
        message_id=message_id,
        token=token,
        removed=removed,
    )


def _bounced(bounce, seconds, message_id, token, removed) -> RoundtripReport:
    values = {
        "recipient": bounce["recipient"] or "?",
        "status": bounce["status"] or "?",
        "diagnostic": bounce["diagnostic"] or "?",
        "seconds": f"{seconds:.1f}",
    }
    words = (
        _("The test message bounced after %(seconds)s s: %(recipient)s, status %(status)s (%(diagnostic)s).") % values
    )
    return RoundtripReport(
        "bounced",
        words,
        bounce_hint(bounce["status"]),
        folder="INBOX",
        seconds=seconds,
        bounce=bounce,
        message_id=message_id,
        token=token,
        removed=removed,
    )


def _not_arrived(inbox, spam, wait, message_id, token) -> RoundtripReport:
    values = {"inbox": inbox.name, "spam": spam.name if spam else "", "seconds": f"{wait:g}"}
    if spam:
        words = _("The test message did not arrive in %(inbox)s or %(spam)s within %(seconds)s s.") % values
        hint = _(
            "It may still come: look again later, or wait longer. Otherwise the receiver accepted it and dropped "
            "it, or a filter of the mailbox moved it to another folder."
        )
    else:
        words = _("The test message did not arrive in %(inbox)s within %(seconds)s s.") % values
        hint = _(
            "No spam folder was found in the mailbox (none has the \\Junk flag or a name like Spam): look for the "
            "message there yourself. It may also still come, or a filter moved it to another folder."
        )
    return RoundtripReport("not_arrived", words, hint, message_id=message_id, token=token)


class _Session:
    """One IMAP connection with its limits; every failure raised as ``_Failed`` in words."""

    def __init__(self, target: ImapTarget, *, timeout: float, deadline: float):
        self.target = target
        self.timeout = timeout
        self.deadline = deadline
        self.client: imaplib.IMAP4 | None = None
        self.watchdog: threading.Timer | None = None
        self.stage = "connect"
        self.expired = False

    # ---------------------------------------------------------------- words

    def scrub(self, text) -> str:
        return _one_line(mask_text(str(text), self.target.password))

    def reason(self, error: BaseException) -> str:
        if isinstance(error, TimeoutError | socket.timeout):
            return _("no answer within %(timeout)s s") % {"timeout": f"{self.timeout:g}"}
        for name in ("verify_message", "reason", "strerror"):
            if said := getattr(error, name, None):
                return self.scrub(said).rstrip(".")
        said = error.args[0] if len(error.args) == 1 else error  # imaplib's errors hold the server's bytes
        return self.scrub(_text(said)).rstrip(".") or type(error).__name__

    def unreachable(self, error: BaseException) -> _Failed:
        values = {"where": self.target.where, "reason": self.reason(error)}
        if self.expired:
            values["reason"] = _("the session did not end within %(seconds)s s") % {"seconds": f"{self.deadline:g}"}
        if self.stage == "connect":
            words = _("Cannot reach the IMAP server %(where)s: %(reason)s.") % values
            hint = _(
                "Check the IMAP host and port: IMAPS is port 993 (imaps://), STARTTLS port 143 (imap://); "
                "the provider may need IMAP access turned on in the mailbox's settings."
            )
            if isinstance(error, ssl.SSLCertVerificationError):
                hint = _(
                    "The server's certificate is not trusted: check the host name, or give its CA with ?ssl_cafile=."
                )
            elif isinstance(error, ssl.SSLError):
                hint = _("Port 993 is IMAPS (imaps://), TLS from the first byte; port 143 is STARTTLS (imap://).")
        else:
            words = _("The IMAP server %(where)s failed while it was being read: %(reason)s.") % values
            hint = _("Run the check again; if it fails the same way, the IMAP server's answers cannot be read.")
        return _Failed("imap_unreachable", words, hint)

    # ---------------------------------------------------------------- the connection

    def open(self) -> None:
        target = self.target
        context = None
        if target.security != "plain":
            context = ssl.create_default_context()
            if target.cafile:
                try:
                    context.load_verify_locations(target.cafile)
                except (OSError, ssl.SSLError) as error:
                    values = {"file": target.cafile, "reason": self.reason(error)}
                    raise _Failed(
                        "imap_unreachable",
                        _("The CA file %(file)s cannot be read: %(reason)s.") % values,
                        _("Give the CA certificate's file (PEM) with ?ssl_cafile=."),
                    ) from None
        try:
            if target.security == "ssl":
                self.client = _ImapSSL(target.host, target.port, ssl_context=context, timeout=self.timeout)
            else:
                self.client = _Imap(target.host, target.port, timeout=self.timeout)
            self.watchdog = threading.Timer(self.deadline, self._expire)
            self.watchdog.daemon = True
            self.watchdog.start()
            if target.security == "starttls":
                if "STARTTLS" not in self.client.capabilities:
                    raise _Failed(
                        "imap_unreachable",
                        _("The IMAP server %(where)s does not offer STARTTLS.") % {"where": target.where},
                        _("Use imaps:// (port 993): TLS from the first byte."),
                    )
                self.client.starttls(ssl_context=context)
        except _Failed:
            raise
        except (imaplib.IMAP4.error, OSError, ValueError, UnicodeError, EOFError) as error:
            raise self.unreachable(error) from None
        self.stage = "login"
        try:
            if (target.user + target.password).isascii() or "AUTH=PLAIN" not in self.client.capabilities:
                self.client.login(target.user, target.password)  # LOGIN: ASCII only
            else:  # SASL PLAIN carries UTF-8
                self.client.authenticate("PLAIN", lambda _: f"\0{target.user}\0{target.password}".encode())
        except imaplib.IMAP4.abort as error:
            raise self.unreachable(error) from None
        except (imaplib.IMAP4.error, UnicodeEncodeError) as error:
            reason = self.reason(error)
            if isinstance(error, UnicodeEncodeError):
                reason = _("the login or password holds a character that is not ASCII")
            values = {"where": target.where, "login": target.user, "reason": reason}
            hint = _(
                "Give IMAP the same login and app password as SMTP; Yandex and Mail.ru also need IMAP access "
                "turned on in the mailbox's settings."
            )
            raise _Failed(
                "imap_login_failed",
                _("The IMAP server %(where)s refused the login %(login)s: %(reason)s.") % values,
                f"{hint} {provider_login_hint(provider_of(target.host))}",
            ) from None
        except (OSError, ValueError, EOFError) as error:
            raise self.unreachable(error) from None
        self.stage = "read"

    def _expire(self) -> None:
        """The session's deadline passed: shut the socket, so that a read the server holds up returns at once."""
        self.expired = True
        with contextlib.suppress(OSError, AttributeError):
            self.client.socket().shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.client is None:
            return
        with contextlib.suppress(Exception):
            if not self.expired and self.client.state in ("AUTH", "SELECTED"):
                self.client.logout()
        with contextlib.suppress(Exception):
            self.client.shutdown()
        self.client = None

    def command(self, name: str, *args):
        """One imaplib call; NO/BAD/a broken answer/a timeout → ``_Failed``; the data of an OK."""
        try:
            status, data = getattr(self.client, name)(*args)
        except (imaplib.IMAP4.error, OSError, ValueError, UnicodeError, EOFError) as error:
            raise self.unreachable(error) from None
        if status != "OK":
            said = self.scrub(b" ".join(item for item in data if isinstance(item, bytes)).decode(errors="replace"))
            raise self.unreachable(imaplib.IMAP4.error(f"{name.upper()} {status} {said}".strip()))
        return data

    # ---------------------------------------------------------------- the mailbox

    def folders(self) -> tuple[Folder, Folder | None]:
        found = parse_list(self.command("list", '""', '"*"'))
        if not found:  # every server lists at least INBOX
            raise self.unreachable(imaplib.IMAP4.error(_("its list of folders cannot be read")))
        inbox = next(
            (folder for folder in found if folder.raw.upper() == "INBOX"), Folder("INBOX", "INBOX", frozenset())
        )
        return inbox, spam_folder([folder for folder in found if folder.raw.upper() != "INBOX"])

    def select(self, folder: Folder, *, readonly: bool = True) -> None:
        self.command("select", _quoted(folder.raw), readonly)

    def uidnext(self, folder: Folder) -> int:
        """The UID the next message of ``folder`` will get (what arrives after now has at least this one)."""
        data = self.command("status", _quoted(folder.raw), "(UIDNEXT)")
        match = re.search(rb"UIDNEXT\s+(\d+)", b" ".join(item for item in data if isinstance(item, bytes)))
        return int(match.group(1)) if match else 1

    def search(self, *criteria: str) -> list[int]:
        data = self.command("uid", "SEARCH", *criteria)
        return [
            int(word)
            for word in b" ".join(item for item in data if isinstance(item, bytes)).split()[:1000]
            if word.isdigit()
        ]

    def fetch(self, uid: int, part: str) -> bytes:
        data = self.command("uid", "FETCH", str(uid), f"({part})")
        return next((item[1] for item in data if isinstance(item, tuple) and len(item) > 1), b"")[:MAX_FETCH]

    def find(self, folder: Folder, message_id: str, token: str) -> tuple[int, bytes] | None:
        """The test message in ``folder``: its UID and header (at most MAX_FETCH bytes of it)."""
        self.select(folder)
        if message_id:
            uids = self.search("HEADER", "Message-ID", _quoted(message_id))
        else:
            uids = self.search("SUBJECT", _quoted(token))
        for uid in uids[:10]:
            header = self.fetch(uid, f"BODY.PEEK[HEADER]<0.{MAX_FETCH}>")
            message = email.message_from_bytes(header)
            if message.get_content_type() == "multipart/report":
                continue  # a bounce quoting the Subject
            if (message_id and message_id in str(message.get("Message-ID", ""))) or token in header.decode(
                "utf-8", "replace"
            ):
                return uid, header
        return None

    def find_bounce(self, inbox: Folder, since: int, message_id: str) -> tuple[int, dict] | None:
        """A bounce in the Inbox that came after ``since`` (a UID) and names ``message_id``."""
        if not message_id:
            return None
        self.select(inbox)
        uids = [uid for uid in self.search("UID", f"{since}:*", "BODY", _quoted(message_id)) if uid >= since]
        for uid in uids[:10]:
            bounce = parse_bounce(self.fetch(uid, f"BODY.PEEK[]<0.{MAX_FETCH}>"), message_id)
            if bounce is not None:
                return uid, bounce
        return None

    def delete(self, folder: Folder, uid: int) -> bool:
        """Delete one message (``\\Deleted``, then UID EXPUNGE where the server has it: nothing else goes)."""
        try:
            self.select(folder, readonly=False)
            self.command("uid", "STORE", str(uid), "+FLAGS.SILENT", "(\\Deleted)")
            if "UIDPLUS" in self.client.capabilities:
                self.command("uid", "EXPUNGE", str(uid))
            else:
                self.command("expunge")
        except _Failed:
            return False
        return True
