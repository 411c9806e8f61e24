"""A message queued whole by the queueing mailer (``delivery.backend``), and how the worker sends it again.

The delivery holds the message's bytes (``Delivery.message``) and its envelope (in the
payload: sender, recipients, the Bcc among them, the mailer to send through). At each
attempt ``core.mail.raw.RawMessage`` gives those bytes to that mailer as a Django ``EmailMessage``
would: any backend that sends ``message()`` and ``recipients()`` (SMTP, the outbox, the
file and console backends, locmem) sends the very bytes that were stored.
"""

from __future__ import annotations

from django.core.mail import mailers
from django.utils.translation import gettext_noop

from core.mail.raw import RawMessage

KIND = "message"  # Delivery.kind of a message stored whole
TITLE = gettext_noop("Message")


def stored_message(delivery) -> RawMessage:
    payload = delivery.payload
    return RawMessage(bytes(delivery.message), payload["from"], payload["recipients"], payload["bcc"], delivery.subject)


def send(delivery) -> None:
    """An attempt at a stored message, through the mailer it was queued for (errors are raised)."""
    with mailers[delivery.payload["mailer"]] as backend:
        backend.send_messages([stored_message(delivery)])


def recipient(delivery) -> str:
    """Who it was for, in the mail to ADMINS: "anna@example.com, boris@example.com ('Weekly report')"."""
    return f"{', '.join(delivery.payload['recipients'])} ({delivery.subject!r})"
