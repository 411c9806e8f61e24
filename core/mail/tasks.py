"""The site's mail off the request path, through Django's tasks framework.

Every kind of message travels this one queue: password resets, sign-up
confirmations, security notices, changes of address. For a password reset,
the web form enqueues ``request_password_reset(email, site_url)`` for every
accepted request, whether or not an account uses the address, so the page does
the same work either way. A worker (``manage.py db_worker``) runs it: it finds
the accounts as Django's form does, records one ``Delivery`` per account and
makes the first attempt at once, in the same task (one task per reset).

A failure is judged by the failure table (``core.mail.explain.RULES``), as
``sendtestmail`` judges it. A temporary one (server unreachable, disconnected, a
4xx reply) puts the delivery back in the queue and enqueues
``send_delivery(delivery_id)`` for the next attempt after a doubling delay; the
task itself ends normally, so an outage leaves one delivery with its attempts,
not a failed task row per attempt. After ``MAIL_SEND_ATTEMPTS`` attempts, or at
once on a permanent failure (a 5xx reply, settings that cannot work), the
delivery is failed and ``ADMINS`` are told through the ``admins`` mailer (never
the failing one), or in the log when there is none. The delivery's last error is
the table's sentence, the server's reply in it.

An attempt first claims its delivery with one conditional UPDATE, so a delivery
that was sent is never sent again, whoever runs it again. A worker killed during
an attempt leaves the delivery ``sending`` and its task ``RUNNING``; the other
workers notice the silence (core.mail.worker) and run the task again.

Every task argument is plain JSON (address, URL, primary key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.tasks import TaskContext, task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop, ngettext

from core.mail import notices
from core.mail.errors import MailProblem
from core.mail.explain import explain
from core.mail.mailers import get_backend
from core.mail.reset import DEFAULTS, MessageOptions, build_reset_message, send_reset_message
from core.mail.signup import CONFIRM, CONFIRM_OPTIONS, EXISTS, EXISTS_OPTIONS, RESET, confirm_context, exists_context
from core.models import Delivery
from core.security import mask_text

logger = logging.getLogger(__name__)

ADMINS_MAILER = "admins"  # the MAILERS alias for telling ADMINS (ADMINS_EMAIL_URL)
# What each kind of delivery is called in the log (translated) and in the mail to ADMINS (English).
MESSAGE_NAMES = {
    RESET: gettext_noop("Password reset message"),
    CONFIRM: gettext_noop("Sign-up confirmation"),
    EXISTS: gettext_noop("'Address already registered' notice"),
    notices.PASSWORD_CHANGED: gettext_noop("'Password changed' notice"),
    notices.EMAIL_CHANGE_CONFIRM: gettext_noop("New-address confirmation"),
    notices.EMAIL_CHANGE_REQUESTED: gettext_noop("'Address change requested' notice"),
    notices.EMAIL_CHANGED: gettext_noop("'Address changed' notice"),
    notices.EMAIL_TAKEN: gettext_noop("'Address taken' notice"),
}


def send_account_message(user, *, site_url: str, options: MessageOptions) -> dict:
    """Send ``user`` the message ``options.kind`` names (errors are raised); return its context."""
    context_for = {CONFIRM: confirm_context, EXISTS: exists_context, **notices.CONTEXTS}.get(options.kind)
    if context_for is None:  # the reset message
        return send_reset_message(user, site_url=site_url, options=options)
    context = context_for(user, site_url=site_url, options=options)
    build_reset_message(context, options).send()
    return context


LAST_ERROR_LENGTH = 1000


class DeliveryFailed(Exception):
    """A message could not be delivered and will not be tried again."""


def retry_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: MAIL_RETRY_DELAY, doubled after each attempt."""
    return settings.MAIL_RETRY_DELAY * 2 ** (attempt - 1)


def judge(error: BaseException) -> MailProblem:
    """The failure table's row for what sending through the default mailer raised: what ``sendtestmail`` would
    say of it and whether another attempt may work (``retry``)."""
    try:
        return explain(error, get_backend())
    except MailProblem as unusable:  # the mailer cannot even be made: that is the problem then, not retried
        return unusable


def last_error(problem: MailProblem) -> str:
    """The table's sentence for the record, server's reply included, every secret masked: ``mailqueue``,
    the admin and the mail to ADMINS all show what is stored."""
    return mask_text(problem.message)[:LAST_ERROR_LENGTH]


def in_words(problem: MailProblem) -> str:
    """The sentence and the hint on one line, for the log (never the password)."""
    return problem.message + (f" Hint: {problem.hint}" if problem.hint else "")


def enqueue_password_reset(email: str, site_url: str, options: MessageOptions = DEFAULTS):
    """Queue the reset for ``email`` (the web form calls this for every accepted request).

    ``options``: the view's templates, sender, extra context and token generator, and
    the request's language, kept with each delivery so that retries make the same message.
    """
    return request_password_reset.enqueue(email=email, site_url=site_url, options=options.as_dict())


def _worker_id(context: TaskContext) -> str:
    ids = context.task_result.worker_ids
    return ids[-1] if ids else ""


@task(takes_context=True)
def request_password_reset(context: TaskContext, *, email: str, site_url: str, options: dict | None = None) -> int:
    """Record one delivery per account using ``email`` and attempt each; return how many."""
    users = accounts_for(email)
    if not users and settings.DEBUG:  # for the developer at the terminal; the page said nothing
        logger.warning(
            _("Password reset for %(email)s: no active account with a usable password has this address; nothing sent")
            % {"email": email}
        )
    return deliver(context, users, site_url, options or {})


def deliver(context: TaskContext, users: list, site_url: str, options: dict, *, part: str = "") -> int:
    """One delivery per user, made and attempted at once in this task; how many (DeliveryFailed if one failed).

    ``part`` names a second message of the same task to the same user (a delivery is once per request
    and user): its deliveries are recorded under the request id and ``:part``.
    """
    request_id = str(context.task_result.id) + (f":{part}" if part else "")
    worker = _worker_id(context)
    failed = []
    for user in users:
        delivery, claimed = _delivery_for(request_id, user, site_url, options, worker)
        outcome = attempt_delivery(delivery.pk, worker, claimed=delivery if claimed else None)
        if outcome.failed:
            failed.append(outcome)
    if failed:
        raise DeliveryFailed("; ".join(outcome.text for outcome in failed))
    return len(users)


def accounts_for(email: str) -> list:
    """The accounts Django's reset form would pick for ``email``: active, with a usable password, and an address
    that reaches the same mailbox (``User.objects.using_address``, one indexed lookup)."""
    users = get_user_model()._default_manager.using_address(email).filter(is_active=True)
    return [user for user in users if user.has_usable_password()]


def accounts_using(email: str) -> list:
    """Every account whose address reaches the mailbox ``email`` does, whatever its state."""
    return list(get_user_model()._default_manager.using_address(email))


# ---------------------------------------------------------------- sign-up


def enqueue_signup(*, username: str, email: str, password: str, site_url: str, language: str):
    """Queue a sign-up (the page calls this for every accepted form, whether or not the address has an account).

    ``password`` is the password's hash (``make_password``), never the password.
    """
    options = MessageOptions(language=language).as_dict()
    return request_signup.enqueue(username=username, email=email, password=password, site_url=site_url, options=options)


def enqueue_signup_confirmation(email: str, site_url: str, language: str):
    """Queue a new confirmation for ``email`` (the resend page calls this for every accepted request)."""
    return request_signup_confirmation.enqueue(
        email=email, site_url=site_url, options=MessageOptions(language=language).as_dict()
    )


@task(takes_context=True)
def request_signup(
    context: TaskContext, *, username: str, email: str, password: str, site_url: str, options: dict
) -> int:
    """Make the unconfirmed account and send it the confirmation, or tell the address's owner it has one.

    The decision is here, not in the request, so the page answers alike for a new
    and a known address. Run again after its worker died, it finishes the message it began.
    """
    language = {"language": options.get("language", "")}
    begun = Delivery.objects.filter(request_id=str(context.task_result.id)).select_related("user").first()
    if begun is not None:
        return deliver(context, [begun.user], site_url, begun.options)
    if accounts_using(email):
        return tell_owner(context, email, site_url, language)
    model = get_user_model()
    user = model(username=username, email=email, password=password, email_confirmed=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the address, or the username, was taken after the form was checked
        if accounts_using(email):
            return tell_owner(context, email, site_url, language)
        logger.warning(
            _("Sign-up for %(email)s dropped: the username %(username)r was taken after the form was checked")
            % {"email": email, "username": username}
        )
        return 0
    return deliver(context, [user], site_url, {**CONFIRM_OPTIONS.as_dict(), **language})


def tell_owner(context: TaskContext, email: str, site_url: str, language: dict) -> int:
    """The "someone tried to register with your address" message, with a reset link (active, usable password)."""
    users = accounts_for(email)
    if not users and settings.DEBUG:
        logger.warning(
            _("Sign-up for %(email)s: its account is inactive or has no usable password; nothing sent")
            % {"email": email}
        )
    return deliver(context, users, site_url, {**EXISTS_OPTIONS.as_dict(), **language})


@task(takes_context=True)
def request_signup_confirmation(context: TaskContext, *, email: str, site_url: str, options: dict) -> int:
    """A new confirmation to the unconfirmed, active account using ``email``; nothing for any other address."""
    users = [user for user in accounts_for(email) if not user.email_confirmed]
    if not users and settings.DEBUG:  # for the developer at the terminal; the page said nothing
        logger.warning(
            _("Confirmation for %(email)s: no active account with this unconfirmed address; nothing sent")
            % {"email": email}
        )
    return deliver(context, users, site_url, {**CONFIRM_OPTIONS.as_dict(), "language": options.get("language", "")})


# ---------------------------------------------------------------- security notices, change of address


def enqueue_notice(user, site_url: str, options: MessageOptions):
    """Queue a security notice (``core.mail.notices``) to ``user``: to its address, or ``options.to``."""
    return request_notice.enqueue(user_id=user.pk, site_url=site_url, options=options.as_dict())


def enqueue_password_changed(user, *, site_url: str, language: str, when: datetime, ip: str):
    """Queue "your password was changed" (the change page and a completed reset call this)."""
    extra = {"when": when.isoformat(), "ip": ip}
    options = replace(notices.PASSWORD_CHANGED_OPTIONS, language=language, extra_email_context=extra)
    return enqueue_notice(user, site_url, options)


def enqueue_email_change(user, new_email: str, *, site_url: str, language: str, when: datetime, ip: str):
    """Queue a change of ``user``'s address to ``new_email`` (the page calls this for every accepted form)."""
    options = MessageOptions(language=language, extra_email_context={"when": when.isoformat(), "ip": ip})
    return request_email_change.enqueue(
        user_id=user.pk, new_email=new_email, site_url=site_url, options=options.as_dict()
    )


@task(takes_context=True)
def request_notice(context: TaskContext, *, user_id: int, site_url: str, options: dict) -> int:
    """One notice to the active account ``user_id`` (nothing when it has no address to send it to)."""
    users = [
        user
        for user in get_user_model()._default_manager.filter(pk=user_id, is_active=True)
        if options.get("to") or getattr(user, user.get_email_field_name())
    ]
    return deliver(context, users, site_url, options)


@task(takes_context=True)
def request_email_change(context: TaskContext, *, user_id: int, new_email: str, site_url: str, options: dict) -> int:
    """The link to the new address, or a word to its owner when another account uses it; and the notice to the old.

    The decision is here, not in the request, so the page answers alike for a
    free and a taken address. The notice to the current address goes either way
    (``part`` "old": a second delivery to the same user). Run again after its
    worker died, it finishes the messages it began, with their own options.
    """
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    language = {"language": options.get("language", "")}
    extra = {**(options.get("extra_email_context") or {}), "new_email": new_email}
    request_id = str(context.task_result.id)
    begun = list(Delivery.objects.filter(request_id=request_id).select_related("user"))
    plan = [([delivery.user], delivery.options, "") for delivery in begun]
    if not begun and any(other.pk != user.pk for other in accounts_using(new_email)):
        plan.append((accounts_for(new_email), {**notices.EMAIL_TAKEN_OPTIONS.as_dict(), **language}, ""))
    elif not begun:
        state = {"new_email": new_email, "state": notices.change_state(user)}  # the link dies if the account changes
        confirm = replace(notices.EMAIL_CHANGE_CONFIRM_OPTIONS, to=new_email, extra_email_context=state, **language)
        plan.append(([user], confirm.as_dict(), ""))
    # The notice to the current address; run again, ``deliver`` finds the one it made (and its options).
    if old_email := getattr(user, user.get_email_field_name()):
        told = replace(notices.EMAIL_CHANGE_REQUESTED_OPTIONS, to=old_email, extra_email_context=extra, **language)
        plan.append(([user], told.as_dict(), "old"))
    count, failed = 0, []
    for users, message, part in plan:  # each is attempted, whether or not another failed
        try:
            count += deliver(context, users, site_url, message, part=part)
        except DeliveryFailed as error:
            failed.append(str(error))
    if failed:
        raise DeliveryFailed("; ".join(failed))
    return count


def _delivery_for(request_id: str, user, site_url: str, options: dict, worker_id: str) -> tuple[Delivery, bool]:
    """This request's delivery to ``user`` and whether its first attempt is ours.

    Made now with its first attempt claimed (one INSERT), or found, unclaimed,
    when the request runs a second time after its worker died.
    """
    email = options.get("to") or getattr(user, user.get_email_field_name())
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                request_id=request_id,
                user=user,
                email=email,
                site_url=site_url,
                options=options,
                status=Delivery.Status.SENDING,
                attempts=1,
                worker_id=worker_id,
            )
            return delivery, True
    except IntegrityError:
        return Delivery.objects.get(request_id=request_id, user=user), False


@task(takes_context=True)
def send_delivery(context: TaskContext, *, delivery_id: int) -> str:
    """The next attempt at one delivery (a retry, or ``mailqueue retry``)."""
    outcome = attempt_delivery(delivery_id, _worker_id(context))
    if outcome.failed:
        raise DeliveryFailed(outcome.text)
    return outcome.text


@dataclass(frozen=True)
class Outcome:
    """What one call of ``attempt_delivery`` did."""

    status: str  # a Delivery.Status, or "skipped" when there was nothing to do
    text: str

    @property
    def failed(self) -> bool:
        return self.status == Delivery.Status.FAILED


def claim(delivery_id: int, worker_id: str) -> bool:
    """Take the next attempt of a delivery that is queued (or whose worker died); False if none is due.

    One conditional UPDATE, so two workers never both attempt it and a sent or
    failed delivery is never attempted again.
    """
    now = timezone.now()
    return bool(
        Delivery.objects.filter(pk=delivery_id)
        .filter(Q(status=Delivery.Status.QUEUED) | Q(status=Delivery.Status.SENDING))
        .update(
            status=Delivery.Status.SENDING,
            attempts=F("attempts") + 1,
            worker_id=worker_id,
            updated_at=now,
        )
    )


def attempt_delivery(delivery_id: int, worker_id: str = "", *, claimed: Delivery | None = None) -> Outcome:
    """Make one attempt at a delivery and record the outcome on it.

    ``claimed``: the delivery, when the caller has just made it with its attempt taken.
    """
    if claimed is None and not claim(delivery_id, worker_id):
        status = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return Outcome("skipped", f"already {status}" if status else "no such delivery")
    delivery = claimed or Delivery.objects.select_related("user").get(pk=delivery_id)
    user = delivery.user
    attempts = settings.MAIL_SEND_ATTEMPTS
    if delivery.attempts > attempts:  # the last attempt's worker died during it
        stopped = "the worker of the last attempt stopped during it"
        stopped += f"; before that: {delivery.last_error}" if delivery.last_error else ""
        return give_up(delivery, gave_up(attempts), stopped)
    try:
        send_account_message(user, site_url=delivery.site_url, options=MessageOptions.from_dict(delivery.options))
    except Exception as error:
        problem = judge(error)
        if problem.retry and delivery.attempts < attempts:
            return schedule_retry(delivery, problem)
        what = gave_up(delivery.attempts) if problem.retry else _("refused, not retried")
        return give_up(delivery, what, last_error(problem), said=in_words(problem))
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=now, updated_at=now, last_error=""
    )
    return Outcome(Delivery.Status.SENT, "sent")


def gave_up(attempts: int) -> str:
    return ngettext("gave up after %(count)d attempt", "gave up after %(count)d attempts", attempts) % {
        "count": attempts
    }


def schedule_retry(delivery: Delivery, problem: MailProblem) -> Outcome:
    """Back to the queue, and a task for the next attempt when its time comes."""
    delay = retry_delay(delivery.attempts)
    when = timezone.now() + timedelta(seconds=delay)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.QUEUED, next_attempt_at=when, updated_at=timezone.now(), last_error=last_error(problem)
    )
    send_delivery.using(run_after=when).enqueue(delivery_id=delivery.pk)
    logger.warning(
        _("%(message)s to %(email)s not sent (attempt %(attempt)d of %(attempts)d; trying again in %(delay)s s): ")
        % {
            "message": _(message_name(delivery.options)),
            "email": delivery.email,
            "attempt": delivery.attempts,
            "attempts": settings.MAIL_SEND_ATTEMPTS,
            "delay": f"{delay:g}",
        }
        + in_words(problem)
    )
    return Outcome(Delivery.Status.QUEUED, f"attempt {delivery.attempts} failed; next in {delay:g} s")


def give_up(delivery: Delivery, what: str, error: str, *, said: str = "") -> Outcome:
    """Record the delivery as failed and tell ADMINS (``said``: the error in sendtestmail's words, for the log)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED, updated_at=timezone.now(), last_error=error
    )
    name = message_name(delivery.options)
    tell_admins(delivery.user, what, error, said=said, email=delivery.options.get("to", ""), message=name)
    return Outcome(Delivery.Status.FAILED, f"{name} for user {delivery.user_id} not delivered ({what})")


def message_name(options: dict) -> str:
    """What a delivery's message is called (English; ``_()`` of it for the log): "Password reset message", ..."""
    return MESSAGE_NAMES.get(options.get("kind", RESET), MESSAGE_NAMES[RESET])


def tell_admins(
    user, what: str, error: str, *, said: str = "", email: str = "", message: str = MESSAGE_NAMES[RESET]
) -> None:
    """Report a lost account message: in the log (one line), and to ADMINS through the ``admins`` mailer.

    ``email``: where it was going, "" for the account's address (a change-of-address confirmation goes elsewhere);
    ``message``: what it was (``MESSAGE_NAMES``).
    """
    email = email or getattr(user, user.get_email_field_name())
    subject = f"{message} not delivered to {email}"
    body = (
        f"The {message[0].lower()}{message[1:]} for user {user.get_username()} <{email}> (id {user.pk}) "
        f"was not delivered: {what}.\nLast error: {error}\n\n"
        "Check the mail server and the MAILERS settings; the user can ask for a new link, "
        "or queue it again with: python manage.py mailqueue retry --failed"
    )
    logger.error(
        _("%(message)s not delivered to %(email)s (%(what)s): %(error)s")
        % {"message": _(message), "email": email, "what": what, "error": said or error}
    )
    if not settings.ADMINS or ADMINS_MAILER not in settings.MAILERS:
        return
    try:
        mail_admins(subject, body, using=ADMINS_MAILER)
    except Exception:
        logger.exception("Could not tell ADMINS through the %r mailer either", ADMINS_MAILER)
