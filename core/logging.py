"""Logging pieces of the project."""

import logging

from django.core import mail
from django.db import DatabaseError
from django.utils import log

from core.mail.config import sending_alias
from core.security import mask_text


class AdminEmailHandler(log.AdminEmailHandler):
    """Django's error mail to ADMINS, which never lets a mail failure escape.

    With MAILERS configured, Django 6.1's handler raises whatever sending raised,
    out of the logging call: with the mail server down, logging an error would
    itself fail (a request, the task worker). Here a failure to send is reported
    as every other logging handler reports its own errors, on stderr.

    The report is queued like all mail (``delivery.backend``) and, when the database
    cannot take it, sent at once through the mailer behind the queue.

    The report is made by ``DEFAULT_EXCEPTION_REPORTER`` (core.security); the
    subject, which holds the logged message, is masked as the log is.
    """

    def emit(self, record):
        try:
            super().emit(record)
        except Exception:
            self.handleError(record)

    def send_mail(self, subject, message, *args, **kwargs):
        """Queued as all mail is; when it cannot be (the database is what failed, often), sent at once."""
        try:
            super().send_mail(subject, message, *args, **kwargs)
        except DatabaseError:
            mail.mail_admins(subject, message, *args, using=sending_alias(self.using or "default"), **kwargs)

    def format_subject(self, subject):
        return super().format_subject(mask_text(subject))


class ExplainedTaskFailures(logging.Filter):
    """No traceback for a delivery that failed: delivery.attempts has already said why, in one line.

    Django logs every failed task with its traceback; for ``DeliveryFailed`` that
    is forty lines around a sentence the log already holds (with sendtestmail's
    hint). The traceback stays with ``db_worker -v2`` or more, which sets the
    tasks logger to DEBUG.
    """

    def filter(self, record):
        error = record.exc_info[1] if record.exc_info else None
        # By name: importing delivery.attempts here would load models while logging is configured.
        explained = error is not None and type(error).__name__ == "DeliveryFailed"
        if explained and not logging.getLogger(record.name).isEnabledFor(logging.DEBUG):
            record.exc_info = None
            record.exc_text = None
        return True


class RefusalsLoggedOnce(logging.Filter):
    """Drops Django's "Too Many Requests" line, which it writes for every 429 answer.

    A 429 is a refusal by ``users.limits``, which logs the first refusal of each window
    itself ("Client ... over its ... budget"): a flood is one line, not one per request.
    """

    def filter(self, record):
        return getattr(record, "status_code", None) != 429
