"""Password-reset mail off the request path, through Django's tasks framework.

The web form enqueues ``request_password_reset(email, site_url)`` for every
accepted request, whether or not an account uses the address, so the page does
the same work either way. A worker (``manage.py db_worker``) then runs:

1. ``request_password_reset`` finds the accounts as Django's form does and
   queues one ``send_password_reset`` per account, each with a delivery id;
2. ``send_password_reset`` builds the message with ``core.mail.reset`` (the
   functions ``resetuser`` uses) and sends it through the default mailer.

A temporary failure (server unreachable, disconnected, a 4xx reply) queues the
next attempt of the same delivery after a doubling delay; the queue is a
database table, so a worker restart between attempts loses nothing. After
``RESET_SEND_ATTEMPTS`` attempts, or at once on a permanent (5xx) refusal, the
delivery is recorded as failed and ``ADMINS`` are told through the ``admins``
mailer (never the failing one), or in the log when there is none. A delivery
that has succeeded is never sent again, whoever runs it again.

Every argument is plain JSON (address, URL, primary key, counters).
"""

from __future__ import annotations

import logging
import smtplib
import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import get_user_model
from django.core.mail import mail_admins
from django.tasks import TaskResultStatus, task
from django.utils import timezone

from core.mail.reset import send_reset_message

logger = logging.getLogger(__name__)

ADMINS_MAILER = "admins"  # the MAILERS alias for telling ADMINS (ADMINS_EMAIL_URL)


class DeliveryFailed(Exception):
    """The reset message could not be delivered and will not be tried again."""


def is_temporary(error: BaseException) -> bool:
    """Whether trying again later may work: no connection, a dropped one, or a 4xx reply."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 400 <= error.smtp_code < 500
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    if isinstance(error, smtplib.SMTPException):  # e.g. STARTTLS not supported: the settings are wrong
        return False
    return isinstance(error, OSError)  # refused, timed out, DNS, TLS


def retry_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: RESET_RETRY_DELAY, doubled after each attempt."""
    return settings.RESET_RETRY_DELAY * 2 ** (attempt - 1)


def enqueue_password_reset(email: str, site_url: str):
    """Queue the reset for ``email`` (the web form calls this for every accepted request)."""
    return request_password_reset.enqueue(email=email, site_url=site_url)


@task
def request_password_reset(*, email: str, site_url: str) -> int:
    """Queue one message per account using ``email``; return how many."""
    users = list(auth_forms.PasswordResetForm().get_users(email))  # active, usable password, same address
    for user in users:
        send_password_reset.enqueue(user_pk=user.pk, site_url=site_url, delivery=uuid.uuid4().hex, attempt=1)
    return len(users)


@task
def send_password_reset(*, user_pk, site_url: str, delivery: str, attempt: int = 1) -> str:
    """Send the reset message for one account (one attempt of one delivery)."""
    if already_delivered(delivery):
        return "already sent"
    user = get_user_model()._default_manager.filter(pk=user_pk).first()
    if user is None:
        return "no such user"
    try:
        send_reset_message(user, site_url=site_url)
    except Exception as error:
        attempts = settings.RESET_SEND_ATTEMPTS
        if is_temporary(error) and attempt < attempts:
            delay = retry_delay(attempt)
            send_password_reset.using(run_after=timezone.now() + timedelta(seconds=delay)).enqueue(
                user_pk=user_pk, site_url=site_url, delivery=delivery, attempt=attempt + 1
            )
            logger.warning(
                "Password reset for user %s not sent (attempt %d of %d: %s); trying again in %g s",
                user_pk,
                attempt,
                attempts,
                error,
                delay,
            )
            raise
        what = f"gave up after {attempt} attempts" if is_temporary(error) else "refused, not retried"
        tell_admins(user, what, error)
        raise DeliveryFailed(f"Password reset for user {user_pk} not delivered ({what}): {error}") from error
    return "sent"


def already_delivered(delivery: str) -> bool:
    """Whether an attempt of this delivery has already finished successfully."""
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.filter(
        task_path=send_password_reset.module_path,
        status=TaskResultStatus.SUCCESSFUL,
        args_kwargs__kwargs__delivery=delivery,
    ).exists()


def tell_admins(user, what: str, error: BaseException) -> None:
    """Report a lost reset message: to ADMINS through the ``admins`` mailer, else to the log."""
    email = getattr(user, user.get_email_field_name())
    subject = f"Password reset message not delivered to {email}"
    body = (
        f"The password reset message for user {user.get_username()} <{email}> (id {user.pk}) "
        f"was not delivered: {what}.\nLast error: {type(error).__name__}: {error}\n\n"
        "Check the mail server and the MAILERS settings; the user can ask for a new link."
    )
    logger.error("%s (%s): %s", subject, what, error)
    if not settings.ADMINS or ADMINS_MAILER not in settings.MAILERS:
        return
    try:
        mail_admins(subject, body, using=ADMINS_MAILER)
    except Exception:
        logger.exception("Could not tell ADMINS through the %r mailer either", ADMINS_MAILER)
