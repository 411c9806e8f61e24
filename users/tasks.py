"""The account messages through the delivery queue: what each page queues, and what the worker then decides.

For a password reset, the web form enqueues ``request_password_reset(email, site_url)``
for every accepted request, whether or not an account uses the address, so the page
does the same work either way. A worker (``manage.py db_worker``) runs it: it finds the
accounts as Django's form does and hands one message per account to the queue
(``delivery.attempts.deliver``: recorded, attempted at once, retried, never sent twice,
reported to ADMINS when lost). Sign-up, its confirmation, the security notices and the
change of address go the same way; each decision (a new address or a taken one) is made
here, in the worker, so that the page answers alike either way.

Each kind of account message is registered with the queue (``register_kinds``, from
``users.apps``): the queue stores the account's id, the site's URL and the message's
options, and this module makes the message again at each attempt.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.tasks import TaskContext
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from core.mail.config import sending_alias
from core.mail.errors import ExitCode, MailProblem
from delivery import kinds
from delivery.attempts import Message, begun, deliver, request_task
from users import notices
from users.messages import DEFAULTS, MessageOptions, build_message
from users.reset import send_reset_message
from users.signup import CONFIRM, CONFIRM_OPTIONS, EXISTS, EXISTS_OPTIONS, RESET, confirm_context, exists_context

logger = logging.getLogger(__name__)

# What each kind of account message is called in the log (translated) and in the mail to ADMINS (English).
TITLES = {
    RESET: gettext_noop("Password reset message"),
    CONFIRM: gettext_noop("Sign-up confirmation"),
    EXISTS: gettext_noop("'Address already registered' notice"),
    notices.PASSWORD_CHANGED: gettext_noop("'Password changed' notice"),
    notices.EMAIL_CHANGE_CONFIRM: gettext_noop("New-address confirmation"),
    notices.EMAIL_CHANGE_REQUESTED: gettext_noop("'Address change requested' notice"),
    notices.EMAIL_CHANGED: gettext_noop("'Address changed' notice"),
    notices.EMAIL_TAKEN: gettext_noop("'Address taken' notice"),
}
CONTEXTS = {CONFIRM: confirm_context, EXISTS: exists_context, **notices.CONTEXTS}  # the rest: the reset's


def send_account_message(user, *, site_url: str, options: MessageOptions, using: str | None = None) -> dict:
    """Send ``user`` the message ``options.kind`` names through ``MAILERS[using]`` (errors are raised);
    return its context."""
    context_for = CONTEXTS.get(options.kind)
    if context_for is None:  # the reset message
        return send_reset_message(user, site_url=site_url, options=options, using=using)
    context = context_for(user, site_url=site_url, options=options)
    build_message(context, options).send(using=using)
    return context


def message_for(user, site_url: str, options: dict, *, part: str = "") -> Message:
    """The queue's record of one account message: to ``options["to"]``, else the account's address.

    ``part`` names a second message of the same request to the same account (a change
    of address tells the old address too).
    """
    email = options.get("to") or getattr(user, user.get_email_field_name())
    key = f"user:{user.pk}" + (f":{part}" if part else "")
    kind = options.get("kind", RESET)
    return Message(key, kind, email, {"user": user.pk, "site_url": site_url, "options": options})


def account_of(delivery):
    """The account a queued message is for; a MailProblem (not retried) when it was deleted meanwhile."""
    user = get_user_model()._default_manager.filter(pk=delivery.payload["user"]).first()
    if user is None:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("The account (id %(id)s) was deleted before its message was sent.") % {"id": delivery.payload["user"]},
        )
    return user


def send_queued(delivery) -> None:
    """An attempt at a queued account message: made again from its account, site URL and options."""
    payload = delivery.payload
    options = MessageOptions.from_dict(payload["options"])
    # Through the mailer that sends for the default one: a queued message is not queued again.
    send_account_message(account_of(delivery), site_url=payload["site_url"], options=options, using=sending_alias())


def recipient(delivery) -> str:
    """ "user anna <anna@example.com> (id 5)", for the mail to ADMINS."""
    pk = delivery.payload["user"]
    user = get_user_model()._default_manager.filter(pk=pk).first()
    name = user.get_username() if user else "(deleted)"
    return f"user {name} <{delivery.email}> (id {pk})"


def register_kinds() -> None:
    """Tell the delivery queue how each account message is sent and what it is called."""
    for name, title in TITLES.items():
        kinds.register(kinds.Kind(name, send_queued, title, recipient, advice="The user can ask for a new link"))


def accounts_for(email: str) -> list:
    """The accounts Django's reset form would pick for ``email``: active, with a usable password, and an address
    that reaches the same mailbox (``User.objects.with_address``, one indexed lookup)."""
    users = get_user_model()._default_manager.with_address(email).filter(is_active=True)
    return [user for user in users if user.has_usable_password()]


def has_account(email: str) -> bool:
    """Whether any account, whatever its state, uses the mailbox ``email`` reaches."""
    return get_user_model()._default_manager.with_address(email).exists()


def deliver_each(context: TaskContext, users: list, site_url: str, options: dict, *, part: str = "") -> int:
    """One message of ``options`` to each of ``users``, through the queue; how many."""
    return deliver(context, [message_for(user, site_url, options, part=part) for user in users])


# ---------------------------------------------------------------- password reset


def enqueue_password_reset(email: str, site_url: str, options: MessageOptions = DEFAULTS):
    """Queue the reset for ``email`` (the web form calls this for every accepted request).

    ``options``: the view's templates, sender, extra context and token generator, and
    the request's language, kept with each delivery so that retries make the same message.
    """
    return request_password_reset.enqueue(email=email, site_url=site_url, options=options.as_dict())


@request_task
def request_password_reset(context: TaskContext, *, email: str, site_url: str, options: dict | None = None) -> int:
    """Record one delivery per account using ``email`` and attempt each; return how many."""
    users = accounts_for(email)
    if not users and settings.DEBUG:  # for the developer at the terminal; the page said nothing
        logger.warning(
            _("Password reset for %(email)s: no active account with a usable password has this address; nothing sent")
            % {"email": email}
        )
    return deliver_each(context, users, site_url, options or {})


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


@request_task
def request_signup(
    context: TaskContext, *, username: str, email: str, password: str, site_url: str, options: dict
) -> int:
    """Make the unconfirmed account and send it the confirmation, or tell the address's owner it has one.

    The decision is here, not in the request, so the page answers alike for a new
    and a known address. Run again after its worker died, it finishes the message it began.
    """
    language = {"language": options.get("language", "")}
    if made := begun(context):  # run again after its worker died
        return deliver(context, made)
    if has_account(email):
        return tell_owner(context, email, site_url, language)
    model = get_user_model()
    user = model(username=username, email=email, password=password, email_confirmed=False)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:  # the address, or the username, was taken after the form was checked
        if has_account(email):
            return tell_owner(context, email, site_url, language)
        logger.warning(
            _("Sign-up for %(email)s dropped: the username %(username)r was taken after the form was checked")
            % {"email": email, "username": username}
        )
        return 0
    return deliver_each(context, [user], site_url, {**CONFIRM_OPTIONS.as_dict(), **language})


def tell_owner(context: TaskContext, email: str, site_url: str, language: dict) -> int:
    """The "someone tried to register with your address" message, with a reset link (active, usable password)."""
    users = accounts_for(email)
    if not users and settings.DEBUG:
        logger.warning(
            _("Sign-up for %(email)s: its account is inactive or has no usable password; nothing sent")
            % {"email": email}
        )
    return deliver_each(context, users, site_url, {**EXISTS_OPTIONS.as_dict(), **language})


@request_task
def request_signup_confirmation(context: TaskContext, *, email: str, site_url: str, options: dict) -> int:
    """A new confirmation to the unconfirmed, active account using ``email``; nothing for any other address."""
    users = [user for user in accounts_for(email) if not user.email_confirmed]
    if not users and settings.DEBUG:  # for the developer at the terminal; the page said nothing
        logger.warning(
            _("Confirmation for %(email)s: no active account with this unconfirmed address; nothing sent")
            % {"email": email}
        )
    options = {**CONFIRM_OPTIONS.as_dict(), "language": options.get("language", "")}
    return deliver_each(context, users, site_url, options)


# ---------------------------------------------------------------- security notices, change of address


def enqueue_notice(user, site_url: str, options: MessageOptions):
    """Queue a security notice (``users.notices``) to ``user``: to its address, or ``options.to``."""
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


@request_task
def request_notice(context: TaskContext, *, user_id: int, site_url: str, options: dict) -> int:
    """One notice to the active account ``user_id`` (nothing when it has no address to send it to)."""
    users = [
        user
        for user in get_user_model()._default_manager.filter(pk=user_id, is_active=True)
        if options.get("to") or getattr(user, user.get_email_field_name())
    ]
    return deliver_each(context, users, site_url, options)


@request_task
def request_email_change(context: TaskContext, *, user_id: int, new_email: str, site_url: str, options: dict) -> int:
    """The link to the new address, or a word to its owner when another account uses it; and the notice to the old.

    The decision is here, not in the request, so the page answers alike for a
    free and a taken address. The notice to the current address goes either way
    (``part`` "old": a second message to the same account). Run again after its
    worker died, it finishes the messages it began, with their own options.
    """
    user = get_user_model()._default_manager.filter(pk=user_id, is_active=True).first()
    if user is None:
        return 0
    language = {"language": options.get("language", "")}
    extra = {**(options.get("extra_email_context") or {}), "new_email": new_email}
    plan = begun(context)  # run again after its worker died: the messages it made, with their own options
    if not plan:
        if notices.taken_by_another(user, new_email):
            taken = {**notices.EMAIL_TAKEN_OPTIONS.as_dict(), **language}
            plan += [message_for(owner, site_url, taken) for owner in accounts_for(new_email)]
        else:
            state = {
                "new_email": new_email,
                "state": notices.change_state(user),
            }  # the link dies if the account changes
            confirm = replace(notices.EMAIL_CHANGE_CONFIRM_OPTIONS, to=new_email, extra_email_context=state, **language)
            plan.append(message_for(user, site_url, confirm.as_dict()))
    # The notice to the current address, unless made before the worker died.
    old_email = getattr(user, user.get_email_field_name())
    told = replace(notices.EMAIL_CHANGE_REQUESTED_OPTIONS, to=old_email, extra_email_context=extra, **language)
    old = message_for(user, site_url, told.as_dict(), part="old")
    if old_email and old.key not in {message.key for message in plan}:
        plan.append(old)
    return deliver(context, plan)
