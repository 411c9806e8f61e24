"""Proving a mailer works: send test messages through it, or ``--check`` its server without sending, and report.

Django's backends open the connection (TLS, login) and close it; this module
reuses them for that and adds only what Django's backend hides:

* ``send_test_messages`` sends over one opened connection and keeps what
  ``smtplib.sendmail`` returns, so a partial refusal names who was refused and who
  was accepted (Django's backend ignores it);
* ``check_mailer`` opens the connection, reads the server's capabilities and asks
  whether it would take the sender (and recipients), then resets and quits:
  nothing is sent.

Every failure is raised as the ``MailProblem`` that ``core.mail.explain`` makes of it.
"""

from __future__ import annotations

import contextlib
import email.policy
import smtplib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.mail import DNS_NAME, EmailMessage
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _

from core.mail import compose, senderdomain
from core.mail.config import is_loopback
from core.mail.django_internals import take_half_open_connection
from core.mail.dkim import read_key, signed
from core.mail.errors import ExitCode, MailProblem
from core.mail.explain import explain, refused_problem, server_replies
from core.mail.mailers import describe, files_written, get_backend, kind
from core.mail.roundtrip import (
    ROUNDTRIP_HEADER,
    ImapTarget,
    RoundtripReport,
    UrlProblem,
    default_imap_target,
    imap_target_from_url,
    roundtrip,
)
from core.mail.senderdomain import DomainReport

# ---------------------------------------------------------------- reports


class _PartialRefusal:
    """Shared by the reports: a partial refusal (some recipients refused, not all) as a problem."""

    def problem(self) -> MailProblem | None:
        if not self.refused:
            return None
        # Only an SMTP server refuses recipients, so the mailer has a host.
        where = f"{self.mailer['host']}:{self.mailer['port']}"
        return refused_problem(where, self.refused, partial=True)


@dataclass
class SendReport(_PartialRefusal):
    """What a send did: who took the messages, who refused them, how fast."""

    mailer: dict
    delivery: str  # "sent", "saved", "printed", "kept in memory", "discarded"
    sender: str
    accepted: list[str]
    refused: dict[str, str]  # address → the server's reply
    message_ids: list[str]
    seconds: float
    files: list[str] = field(default_factory=list)

    @property
    def left_the_process(self) -> bool:
        return self.delivery in ("sent", "saved", "printed")

    @property
    def per_second(self) -> float:
        return len(self.message_ids) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "action": "send",
            "mailer": self.mailer,
            "delivery": self.delivery,
            "left_the_process": self.left_the_process,
            "from": self.sender,
            "accepted": self.accepted,
            "refused": self.refused,
            "message_ids": self.message_ids,
            "count": len(self.message_ids),
            "seconds": round(self.seconds, 6),
            "per_second": round(self.per_second, 1),
            "files": self.files,
        }


@dataclass
class CheckReport(_PartialRefusal):
    """What ``--check`` learnt from the server, without sending anything."""

    mailer: dict
    seconds: float
    logged_in: bool = False
    capabilities: dict = field(default_factory=dict)
    sender: str = ""
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)
    sender_domain: list[DomainReport] | None = None  # None: not checked (see ``sender_domains``)

    def problem(self) -> MailProblem | None:
        if problem := super().problem():
            return problem
        failed = [report.domain for report in self.sender_domain or () if report.failed]
        if not failed:
            return None
        return MailProblem(
            ExitCode.UNHEALTHY,
            _("The server is fine, but receivers would refuse mail from %(domains)s or put it in spam.")
            % {"domains": ", ".join(failed)},
            _("Fix what is marked fail above in the domain's DNS records, then run sendtestmail --check again."),
        )

    def as_dict(self) -> dict:
        return {
            "action": "check",
            "mailer": self.mailer,
            "logged_in": self.logged_in,
            "capabilities": self.capabilities,
            "from": self.sender,
            "accepted": self.accepted,
            "refused": self.refused,
            "seconds": round(self.seconds, 6),
            "sender_domain": None if self.sender_domain is None else [r.as_dict() for r in self.sender_domain],
        }


IMAP_TIMEOUT = 30.0  # seconds for each IMAP operation when the mailer has no timeout of its own
DELIVERY = {"smtp": "sent", "file": "saved", "console": "printed", "memory": "kept in memory", "dummy": "discarded"}


# ---------------------------------------------------------------- send and check
def send_test_messages(
    messages: Iterable[EmailMessage],
    alias: str = "default",
    *,
    timeout: float | None = None,
    console_stream=None,
) -> SendReport:
    """Send ``messages`` through ``MAILERS[alias]`` over one connection, one message at a time.

    ``messages`` may be a generator (``compose.compose_messages``): each is made, sent and let
    go before the next, so memory stays flat whatever their number. ``timeout`` overrides the
    mailer's; ``console_stream`` is where a console backend prints (a command with ``--json``
    keeps stdout for the document). Raises MailProblem for every failure; a partial refusal
    is in the report.
    """
    backend = _prepared_backend(alias, timeout)
    if console_stream is not None and kind(backend) == "console":
        backend.stream = console_stream
    smtp = isinstance(backend, SmtpBackend)
    mailer = describe(backend)
    refused: dict[str, str] = {}
    sender, addresses, message_ids, files = "", {}, [], {}
    stage = "connect"
    start = time.perf_counter()
    try:
        backend.open()  # a file backend's stream, or the SMTP connection: one for every message
        stage = "send"
        for message in messages:
            if smtp:
                refused.update(_smtp_send(backend, message))
            else:
                backend.send_messages([message])
                files.update(dict.fromkeys(files_written(backend)))
            sender = sender or message.from_email
            addresses.update(dict.fromkeys(message.recipients()))
            message_ids.append(message.extra_headers.get("Message-ID", ""))
        stage = "quit"
        backend.close()
    except Exception as error:
        _abandon(backend)
        raise explain(error, backend, stage) from error
    seconds = time.perf_counter() - start
    recipients = _unique(_envelope(backend, address) for address in addresses)
    return SendReport(
        mailer=mailer,
        delivery=DELIVERY.get(kind(backend), "sent"),
        sender=sender,
        accepted=[address for address in recipients if address not in refused],
        refused=refused,
        message_ids=message_ids,
        seconds=seconds,
        files=list(files),
    )


def check_mailer(
    alias: str = "default",
    *,
    sender: str | None = None,
    recipients: list[str] = (),
    timeout: float | None = None,
) -> CheckReport:
    """Connect, start TLS, log in, read the capabilities; ask the server whether it
    would take ``sender`` (default ``DEFAULT_FROM_EMAIL``) and ``recipients``
    (MAIL FROM, RCPT TO), then RSET and quit.

    Sends nothing. A backend that is not SMTP has nothing to connect to: its
    report only describes it (a file backend's folder was checked when it was made).
    """
    backend = _prepared_backend(alias, timeout)
    report = CheckReport(mailer=describe(backend), seconds=0.0)
    if not isinstance(backend, SmtpBackend):
        return report
    sender = report.sender = sender or settings.DEFAULT_FROM_EMAIL
    start = time.perf_counter()
    stage = "connect"
    try:
        backend.open()
        stage = "check"
        connection = backend.connection
        connection.ehlo_or_helo_if_needed()
        report.logged_in = bool(backend.username and backend.password)
        report.capabilities = _capabilities(connection, backend)
        code, reply = connection.mail(backend.prep_address(sender))
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for address in _unique(backend.prep_address(address) for address in recipients):
            code, reply = connection.rcpt(address)
            if code in (250, 251):
                report.accepted.append(address)
            else:
                refused[address] = (code, reply)
        connection.rset()
        if refused and not report.accepted:
            raise smtplib.SMTPRecipientsRefused(refused)
        report.refused = server_replies(refused, backend)
        stage = "quit"
        backend.close()
    except Exception as error:
        _abandon(backend)
        raise explain(error, backend, stage) from error
    report.seconds = time.perf_counter() - start
    report.sender_domain = sender_domains(backend, sender)
    return report


def sender_domains(backend: SmtpBackend, sender: str) -> list[DomainReport] | None:
    """The sender's domain, and ``SERVER_EMAIL``'s when it is another, as receivers see them in DNS
    (``core.mail.senderdomain``); None when not checked: a server on this machine (a rehearsal, which no
    receiver sees) is checked only when ``DNS_NAMESERVERS`` names the DNS to ask."""
    if is_loopback(backend.host) and not settings.DNS_NAMESERVERS:
        return None
    resolver = senderdomain.resolver_from(settings.DNS_NAMESERVERS)
    signing = settings.DKIM or {}
    try:
        key = read_key(Path(signing["KEY_FILE"])) if signing else None
    except (OSError, ValueError):  # gone or changed since the settings were read (signing says so): not signing
        key = None
    addresses = {}
    for address in (sender, settings.SERVER_EMAIL):
        with contextlib.suppress(ValueError):  # no domain (root@localhost is one): nothing to look up
            addresses.setdefault(senderdomain.domain_of(address), address)
    return [
        senderdomain.check_sender_domain(
            address,
            mailer_host=backend.host,
            login=backend.username or None,
            resolver=resolver,
            dkim_selector=signing.get("SELECTOR"),
            dkim_private_key=key,
            dkim_domain=signing.get("DOMAIN") or None,
        )
        for address in addresses.values()
    ]


def _prepared_backend(alias: str, timeout: float | None):
    backend = get_backend(alias)
    if timeout is not None and isinstance(backend, SmtpBackend):
        backend.timeout = timeout
    return backend


def _smtp_send(backend: SmtpBackend, message: EmailMessage) -> dict[str, str]:
    """What Django's ``backend._send`` does, keeping the refused recipients ``sendmail`` returns; signed as the
    project's SMTP backend signs (``core.mail.dkim``)."""
    message = signed(message)
    sender = backend.prep_address(message.from_email)
    recipients = [backend.prep_address(address) for address in message.recipients()]
    data = message.message(policy=email.policy.SMTP).as_bytes()
    return server_replies(backend.connection.sendmail(sender, recipients, data), backend)


def _capabilities(connection: smtplib.SMTP, backend: SmtpBackend) -> dict:
    features = connection.esmtp_features
    size = features.get("size", "").strip()
    return {
        "size_limit": int(size) if size.isdigit() and int(size) else None,
        "auth": features.get("auth", "").split(),
        # After STARTTLS the server no longer lists it: it was offered, and used.
        "starttls": backend.use_tls or "starttls" in features,
        "smtputf8": "smtputf8" in features,
        "8bitmime": "8bitmime" in features,
    }


def _abandon(backend) -> None:
    """After a failure, drop the connection without waiting for a server that may not answer."""
    connection = getattr(backend, "connection", None)
    if isinstance(connection, smtplib.SMTP):
        connection.close()
        backend.connection = None
    half_open = take_half_open_connection(backend)
    if half_open is not None:
        half_open.close()
    if not isinstance(backend, SmtpBackend):
        backend.close()


def _envelope(backend, address: str) -> str:
    return backend.prep_address(address) if isinstance(backend, SmtpBackend) else address


def _unique(items) -> list:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------- the round trip


def roundtrip_check(
    alias: str = "default",
    *,
    imap_url: str = "",
    recipients: list[str] = (),
    sender: str | None = None,
    wait: float = 120,
    keep: bool = False,
    timeout: float | None = None,
) -> RoundtripReport:
    """Send a test message to a mailbox this can read over IMAP and say where it landed (``core.mail.roundtrip``).

    The mailbox is ``imap_url`` (``--imap``), else ``IMAP_URL``, else the SMTP login's own mailbox at a known
    provider (Yandex, Gmail, Mail.ru: same login and app password). The message goes to ``recipients``, else
    to that mailbox's login. Raises MailProblem when there is no mailbox to read or the sending fails.
    """
    backend = _prepared_backend(alias, timeout)
    if not isinstance(backend, SmtpBackend):
        mailer = describe(backend)
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The mailer %(alias)r sends nothing out (%(backend)s): no message can reach a mailbox.")
            % {"alias": mailer["alias"], "backend": mailer["backend"]},
            _("Set EMAIL_URL to your provider's SMTP server first (sendtestmail --check proves it), then try again."),
        )
    target = _imap_target(imap_url or settings.IMAP_URL, backend)
    recipients = list(recipients) or [target.user]
    if "@" not in recipients[0]:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The IMAP login %(login)s is not an address to send the test message to.") % {"login": target.user},
            _("Give the mailbox's address: sendtestmail --roundtrip you@example.com"),
        )

    def send(token: str) -> str:
        subject = _("Round trip test %(token)s from %(host)s") % {"token": token, "host": DNS_NAME.get_fqdn()}
        [message] = compose.compose_messages(recipients, subject=subject, from_email=sender)
        message.extra_headers[ROUNDTRIP_HEADER] = token
        send_test_messages([message], alias, timeout=timeout)
        return message.extra_headers["Message-ID"]

    # Each IMAP operation waits as long as the mailer's SMTP ones (--timeout, else EMAIL_TIMEOUT).
    return roundtrip(target, send, wait=wait, keep=keep, timeout=backend.timeout or IMAP_TIMEOUT)


def _imap_target(url: str, backend) -> ImapTarget:
    if url:
        try:
            return imap_target_from_url(url)
        except UrlProblem as error:
            problem, hint = error.translated()
            words = _("The IMAP URL cannot be used: %(problem)s.") % {"problem": problem}
            raise MailProblem(ExitCode.BAD_INPUT, words, hint) from None
    target = None
    if isinstance(backend, SmtpBackend):
        target = default_imap_target(backend.host, backend.username, backend.password)
    if target is None:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("No mailbox to read the test message back from."),
            _("Set IMAP_URL or give --imap, like imaps://you%40example.com:app-password@imap.example.com:993."),
        )
    return target
