"""The receiving provider of a round trip: an SMTP server on 127.0.0.1 filing what it accepts into a Dovecot mailbox.

``sendtestmail --roundtrip`` sends a message and then reads the mailbox over IMAP
to say where it landed. Between the two stands, in life, the recipient's
provider: it checks the sender (SPF, DKIM, DMARC), writes what it found in an
``Authentication-Results`` header, and puts the message in the Inbox or in the
spam folder, or bounces it, or loses it. ``Receiver`` is that provider for the
tests: aiosmtpd's server in a thread, filing into a ``testsupport.dovecot.Dovecot``
Maildir by a rule::

    with Dovecot() as imap, Receiver(imap, rule="Junk", results=FAILING_DMARC) as smtp:
        smtplib.SMTP(*smtp).sendmail(...)          # lands in Junk, as a provider files it

``rule``: a folder name (``"INBOX"``, ``"Junk"``), ``BOUNCE`` (the message is not
filed; a delivery status notification naming it goes into the Inbox, as the
sender's provider writes one), ``DROP`` (accepted, then never seen again), or a
function of the parsed message returning one of those. ``delay``: seconds between
accepting and filing (the SMTP reply is not held up: the filing happens in a timer
thread). ``results``: the ``Authentication-Results`` methods, each ``result`` or
``result (comment)``; ``{mailfrom}`` and ``{header_from}`` in them are filled in.
"""

from __future__ import annotations

import email
import email.policy
import email.utils
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from testsupport.dovecot import Dovecot
from testsupport.smtp_servers import HOST, free_port

AUTHSERV = "mx.test"
BOUNCE = "bounce"
DROP = "drop"

PASSING = {
    "spf": "pass smtp.mailfrom={mailfrom}",
    "dkim": "pass header.d={domain}",
    "dmarc": "pass header.from={domain}",
}
FAILING_DMARC = {
    "spf": "pass smtp.mailfrom={mailfrom}",
    "dkim": "none",
    "dmarc": "fail (p=reject) header.from={domain}",
}

Rule = str | Callable[[EmailMessage], str]


@dataclass
class Filed:
    """What the receiver did with one accepted message."""

    message_id: str
    action: str  # a folder's name, BOUNCE or DROP
    path: str = ""  # the Maildir file written (the message, or its bounce)


@dataclass
class Receiver:
    """An SMTP server on 127.0.0.1 that accepts every message and files it into ``mailbox``. Unpacks as host, port."""

    mailbox: Dovecot
    rule: Rule = "INBOX"
    results: dict[str, str] | None = field(default_factory=lambda: dict(FAILING_DMARC))
    delay: float = 0.0
    host: str = HOST
    port: int = 0
    filed: list[Filed] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False)
    _timers: list[threading.Timer] = field(default_factory=list, repr=False)
    _controller: Controller | None = field(default=None, repr=False)

    def __iter__(self):
        return iter((self.host, self.port))

    # ---------------------------------------------------------------- running

    def __enter__(self) -> Receiver:
        logging.getLogger("mail.log").setLevel(logging.ERROR)  # aiosmtpd logs every connection at INFO
        self.port = self.port or free_port()
        self._controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
        self._controller.start()
        return self

    def __exit__(self, *exc) -> None:
        for timer in self._timers:
            timer.cancel()
        if self._controller is not None:
            self._controller.stop()

    def wait_filed(self, count: int = 1, timeout: float = 10) -> bool:
        """Wait until ``count`` messages have been filed (or dropped, or bounced)."""
        with self._changed:
            return self._changed.wait_for(lambda: len(self.filed) >= count, timeout)

    # ---------------------------------------------------------------- what a provider does with a message

    def accept(self, mailfrom: str, data: bytes) -> None:
        """Called for each accepted message (in the server's thread): file it now, or after ``delay``."""
        if self.delay:
            timer = threading.Timer(self.delay, self._file, (mailfrom, data))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
        else:
            self._file(mailfrom, data)

    def _file(self, mailfrom: str, data: bytes) -> None:
        message = email.message_from_bytes(data, policy=email.policy.default)
        action = self.rule(message) if callable(self.rule) else self.rule
        record = Filed(str(message.get("Message-ID", "")), action)
        if action == BOUNCE:
            record.path = str(self.mailbox.deliver("INBOX", bounce(data, mailfrom)))
        elif action != DROP:
            record.path = str(self.mailbox.deliver(action, self.stamped(mailfrom, data, message)))
        with self._changed:
            self.filed.append(record)
            self._changed.notify_all()

    def stamped(self, mailfrom: str, data: bytes, message: EmailMessage) -> bytes:
        """The message with the provider's ``Authentication-Results`` on top, as a receiving server adds it."""
        if not self.results:
            return data
        header_from = email.utils.parseaddr(str(message.get("From", "")))[1]
        values = {"mailfrom": mailfrom, "header_from": header_from, "domain": header_from.rpartition("@")[2]}
        methods = "; ".join(f"{method}={result.format(**values)}" for method, result in self.results.items())
        return f"Authentication-Results: {AUTHSERV}; {methods}\r\n".encode() + data


class _Handler:
    def __init__(self, receiver: Receiver):
        self.receiver = receiver

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's hook name
        self.receiver.accept(envelope.mail_from, envelope.original_content or envelope.content)
        return "250 2.0.0 Ok: queued"


def bounce(data: bytes, mailfrom: str, *, status: str = "5.1.1") -> bytes:
    """A delivery status notification (RFC 3464) for the message ``data``: its recipient is unknown.

    multipart/report; report-type=delivery-status: a sentence, a message/delivery-status
    part (``Final-Recipient``, ``Action: failed``, ``Status``, ``Diagnostic-Code``) and the
    original's headers as they came (text/rfc822-headers), Message-ID included.
    """
    data = data.replace(b"\r\n", b"\n")
    original = email.message_from_bytes(data, policy=email.policy.default)
    recipient = email.utils.parseaddr(str(original.get("To", "")))[1] or "nobody@example.test"
    boundary = f"bounce-{secrets.token_hex(8)}"
    report = f"""From: Mail Delivery System <MAILER-DAEMON@{AUTHSERV}>
To: {mailfrom}
Subject: Undelivered Mail Returned to Sender
Date: {email.utils.formatdate(localtime=True)}
Message-ID: {email.utils.make_msgid(domain=AUTHSERV)}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"

--{boundary}
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {AUTHSERV}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: user unknown

--{boundary}
Content-Type: message/delivery-status

Reporting-MTA: dns; {AUTHSERV}

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822; {recipient}
Action: failed
Status: {status}
Remote-MTA: dns; {AUTHSERV}
Diagnostic-Code: smtp; 550 {status} user unknown

--{boundary}
Content-Type: text/rfc822-headers

"""
    headers = data.partition(b"\n\n")[0] + b"\n"
    return report.encode() + headers + f"\n--{boundary}--\n".encode()
