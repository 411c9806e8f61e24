"""The sign-up messages: the confirmation link, and "someone tried to register with your address".

Built as the reset message is (``users.reset``: the same context, the same
subject/text/HTML rendering in the language of the page that asked), and sent
by the same queued deliveries with retries (``users.tasks``); a delivery's
``options["kind"]`` says which message it is.

The confirmation key is ``django.core.signing`` of the user's id and a hash of
the address and its state: it expires after ``SIGNUP_CONFIRM_TIMEOUT`` seconds
(the signature's timestamp), and it works once, since confirming the address
(or changing it) changes the hash.
"""

from __future__ import annotations

from dataclasses import replace

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem
from users import keys
from users.messages import MessageOptions, site_link
from users.reset import ResetResult, mail_user, reset_context

RESET = "reset"
CONFIRM = "signup_confirm"
EXISTS = "signup_exists"

CONFIRM_OPTIONS = MessageOptions(
    subject_template_name="account/signup_confirm_subject.txt",
    email_template_name="account/signup_confirm_email.txt",
    html_email_template_name="account/signup_confirm_email.html",
    kind=CONFIRM,
)
EXISTS_OPTIONS = MessageOptions(
    subject_template_name="account/account_exists_subject.txt",
    email_template_name="account/account_exists_email.txt",
    html_email_template_name="account/account_exists_email.html",
    kind=EXISTS,
)
SALT = "core.mail.signup.confirm"  # the module's old path, kept: links already sent still work


# ---------------------------------------------------------------- the confirmation key


FIELDS = ("email_confirmed",)  # a key dies when the address is confirmed or replaced


def confirm_key(user) -> str:
    return keys.make_key(user, SALT, [], keys.account_state(user, SALT, FIELDS))


def user_for_key(key: str):
    """The unconfirmed user a key was made for, or None: forged, expired, already used, address changed."""
    unconfirmed = get_user_model()._default_manager.filter(is_active=True, email_confirmed=False)
    found = keys.read_key(key, SALT, max_age=settings.SIGNUP_CONFIRM_TIMEOUT, fields=FIELDS, users=unconfirmed)
    return found[0] if found and not found[1] else None


def confirm(user) -> bool:
    """Mark the address confirmed; False if it already was (one conditional UPDATE: the key works once)."""
    return bool(type(user)._default_manager.filter(pk=user.pk, email_confirmed=False).update(email_confirmed=True))


# ---------------------------------------------------------------- the messages


def confirm_context(user, *, site_url: str, options: MessageOptions = CONFIRM_OPTIONS) -> dict:
    """The reset message's context (user, site_name, domain...) and ``confirm_url``, ``timeout_days``."""
    context = reset_context(user, site_url=site_url, options=replace(options, extra_email_context=None))
    for name in ("uid", "token", "reset_url"):  # a confirmation carries no reset link
        del context[name]
    key = confirm_key(user)
    return {
        **context,
        "key": key,
        "confirm_url": site_link(site_url, reverse("signup_confirm", kwargs={"key": key})),
        "timeout_days": max(1, round(settings.SIGNUP_CONFIRM_TIMEOUT / 86400)),
        **(options.extra_email_context or {}),
    }


def exists_context(user, *, site_url: str, options: MessageOptions = EXISTS_OPTIONS) -> dict:
    """The reset message's context (its ``reset_url`` works as the reset page's) and ``login_url``."""
    return {
        **reset_context(user, site_url=site_url, options=options),
        "login_url": site_link(site_url, reverse("login")),
    }


# ---------------------------------------------------------------- from the terminal (manage.py confirmuser)


def confirm_user(
    argument: str, *, site_url: str, using: str = "default", dry_run: bool = False, language: str = ""
) -> ResetResult:
    """A new confirmation message for the unconfirmed account ``argument`` names, as the resend page sends it."""
    options = replace(CONFIRM_OPTIONS, language=language)

    def unconfirmed(user) -> None:
        if user.email_confirmed:
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("The address of %(user)r is already confirmed: there is nothing to confirm.")
                % {"user": user.get_username()},
                _("to send a password reset instead: python manage.py resetuser %(user)s")
                % {"user": user.get_username()},
            )

    return mail_user(
        argument,
        lambda user: confirm_context(user, site_url=site_url, options=options),
        options,
        link="confirm_url",
        valid_for=settings.SIGNUP_CONFIRM_TIMEOUT,
        using=using,
        dry_run=dry_run,
        check=unconfirmed,
    )
