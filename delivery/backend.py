"""The queueing mailer: ``send_mail()`` and every ``EmailMessage.send()`` store the message, a worker sends it.

``MAILERS["default"]`` is this backend unless ``MAIL_QUEUE=false``: the lessons'
``send_mail(...)``, Django's reset form, ``mail_admins()``... return as soon as the
message is stored, in the caller's transaction when there is one (a request rolled back
sends nothing; the worker sees the message once the transaction commits). The worker
(``manage.py db_worker``) sends it through the mailer named by ``sends_through``
(``"direct"``: the one ``EMAIL_URL`` configures), with the queue's retries, recovery
and report to ``ADMINS``.

What is stored is the message itself, as the mailer would send it: its bytes (every
header, part and attachment, byte for byte; Bcc only in the envelope) and its envelope
(sender, recipients). Nothing is pickled: a stored message is data, never code.
"""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import transaction
from django.utils.translation import gettext as _

from core.mail.raw import envelope_of
from delivery.attempts import queue_sending
from delivery.models import Delivery
from delivery.stored import KIND

logger = logging.getLogger(__name__)


class MessageTooLarge(ValueError):
    """A message over ``MAIL_MAX_SIZE_MB``: refused when it is sent, never queued."""


class QueueBackend(BaseEmailBackend):
    """Store each message as a ``Delivery`` and queue its first attempt (``OPTIONS``: ``sends_through``)."""

    def __init__(self, fail_silently=False, *, sends_through: str = "direct", **kwargs):
        super().__init__(**kwargs)
        self.fail_silently = fail_silently
        self.sends_through = sends_through  # the alias of the mailer the worker sends through

    def send_messages(self, email_messages) -> int:
        """Queue every message (all or none); how many. Errors are raised, or logged with ``fail_silently``."""
        try:
            return self.queue(list(email_messages))
        except Exception:
            if not self.fail_silently:
                raise
            logger.exception(_("Messages could not be queued (fail_silently=True: nothing was raised)"))
            return 0

    def queue(self, email_messages: list) -> int:
        limit = settings.MAIL_MAX_SIZE_MB << 20
        rows = []
        for email_message in email_messages:
            if not email_message.recipients():
                continue
            data = email_message.message().as_bytes()
            if len(data) > limit:
                raise MessageTooLarge(
                    _("The message %(subject)r is %(size).1f MB; MAIL_MAX_SIZE_MB allows %(limit)d MB.")
                    % {"subject": email_message.subject, "size": len(data) / 2**20, "limit": settings.MAIL_MAX_SIZE_MB}
                )
            sender, recipients = envelope_of(email_message)
            rows.append(
                Delivery(
                    request_id=uuid.uuid4().hex,
                    key=KIND,
                    kind=KIND,
                    email=", ".join(recipients)[:254],
                    subject=str(email_message.subject)[:255],
                    message=data,
                    payload={
                        "from": sender,
                        "recipients": recipients,
                        "bcc": [str(address) for address in email_message.bcc],
                        "mailer": self.sends_through,
                    },
                )
            )
        with transaction.atomic():
            Delivery.objects.bulk_create(rows)
            if rows:
                queue_sending()  # one waiting send_due task sends them all, in batches
        return len(rows)
