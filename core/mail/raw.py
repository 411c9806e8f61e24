"""A message given as its bytes and its envelope, sent by any Django backend as those very bytes.

``RawMessage`` is a Django ``EmailMessage`` whose ``message()`` is the bytes it was made
from: every backend that sends ``message()`` to ``recipients()`` (SMTP, the outbox, the
file and console backends, locmem) sends them unchanged. The queue sends what it stored
through it (``delivery.stored``), and DKIM signing hands a signed message on through it
(``core.mail.dkim``).
"""

from __future__ import annotations

import email
import email.policy

from django.core.mail import EmailMessage


class RawMessage(EmailMessage):
    """A message made from its bytes and envelope; ``message()`` parses those bytes, unchanged."""

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
        """The message, to be written out as it was given: read with the ``compat32`` policy, which keeps
        every header as it is (no re-folding, and a quarter of the default policy's cost), with the line
        ends ``policy`` asks for (CRLF for SMTP)."""
        return email.message_from_bytes(self.data, policy=email.policy.compat32.clone(linesep=policy.linesep))


def envelope_of(email_message) -> tuple[str, list[str]]:
    """The envelope sender and recipients of a Django message (To, Cc and Bcc), as text."""
    return str(email_message.from_email), [str(address) for address in email_message.recipients()]
