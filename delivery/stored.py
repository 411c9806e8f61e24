"""A message queued whole by the queueing mailer (``delivery.backend``), and how the worker sends it again.

The delivery holds the message's bytes (``Delivery.message``) and its envelope (in the
payload: sender, recipients, the Bcc among them, the mailer to send through). At each
attempt ``StoredMessage`` gives those bytes to that mailer as a Django ``EmailMessage``
would: any backend that sends ``message()`` and ``recipients()`` (SMTP, the outbox, the
file and console backends, locmem) sends the very bytes that were stored.
"""

from __future__ import annotations

import email
import email.policy

from django.core.mail import EmailMessage, mailers
from django.utils.translation import gettext_noop

KIND = "message"  # Delivery.kind of a message stored whole
TITLE = gettext_noop("Message")


def envelope_of(email_message) -> tuple[str, list[str]]:
    """The envelope sender and recipients of a Django message (To, Cc and Bcc), as text."""
    return str(email_message.from_email), [str(address) for address in email_message.recipients()]


class StoredMessage(EmailMessage):
    """A message made from its stored bytes and envelope; ``message()`` parses those bytes, unchanged."""

    def __init__(self, data: bytes, sender: str, recipients: list[str], bcc: list[str], subject: str = ""):
        super().__init__(
            subject=subject,  # for whoever looks (locmem's outbox); what is sent is ``data``
            from_email=sender,
            to=[address for address in recipients if address not in bcc],
            bcc=bcc,
        )
        self.data = data
        self.envelope = recipients

    def recipients(self) -> list[str]:
        return list(self.envelope)

    def message(self, *, policy=email.policy.default):
        """The stored message, to be written out as it was stored: read with the ``compat32`` policy, which
        keeps every header as it is (no re-folding, and a quarter of the default policy's cost), with the
        line ends ``policy`` asks for (CRLF for SMTP)."""
        return email.message_from_bytes(self.data, policy=email.policy.compat32.clone(linesep=policy.linesep))


def stored_message(delivery) -> StoredMessage:
    payload = delivery.payload
    return StoredMessage(
        bytes(delivery.message), payload["from"], payload["recipients"], payload["bcc"], delivery.subject
    )


def send(delivery) -> None:
    """An attempt at a stored message, through the mailer it was queued for (errors are raised)."""
    with mailers[delivery.payload["mailer"]] as backend:
        backend.send_messages([stored_message(delivery)])


def recipient(delivery) -> str:
    """Who it was for, in the mail to ADMINS: "anna@example.com, boris@example.com ('Weekly report')"."""
    return f"{', '.join(delivery.payload['recipients'])} ({delivery.subject!r})"
