"""Security notices, and the change of address with a link sent to the new address.

Built as the sign-up messages are (``users.signup``: the reset message's
context and rendering, in the language of the page that asked) and sent by the
same queued deliveries with retries (``users.tasks``). The kinds:

* ``password_changed``: to the account's address after its password was
  changed (the change page, or a completed reset): when, from which client
  address, and a link to the reset page if it was not them;
* ``email_change_confirm``: to the NEW address (``options.to``), the link that
  makes it the account's address;
* ``email_change_requested``: to the current address, that a change to the new
  one (masked, see ``masked``) was asked for, and what to do if it was not them;
* ``email_changed``: to the old address once the link was followed;
* ``email_taken``: to the owner of an address another account asked to move
  to; no link that changes anything.

What the request knew (the time as an ISO string, the client's address, the new
address, the state the link is bound to) travels in ``extra_email_context``, so
a retry makes the same message; times are shown in ``TIME_ZONE``, formatted in the
message's language.

The change key is ``django.core.signing`` of the user's id, the new address and
a hash of the account's state (address, confirmation, password hash) taken when
the change was asked for: it expires after ``EMAIL_CHANGE_TIMEOUT`` seconds and
stops working once the address changes (it works once) or the password changes
(what the notice to the old address advises if it was not them).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from users import keys
from users.addresses import mailbox
from users.messages import MessageOptions, site_link
from users.reset import reset_context
from users.signup import exists_context

PASSWORD_CHANGED = "password_changed"  # noqa: S105 (a message kind)
EMAIL_CHANGE_CONFIRM = "email_change_confirm"
EMAIL_CHANGE_REQUESTED = "email_change_requested"
EMAIL_CHANGED = "email_changed"
EMAIL_TAKEN = "email_taken"
SALT = "core.mail.notices.email_change"  # the module's old path, kept: links already sent still work


def _options(name: str, kind: str) -> MessageOptions:
    return MessageOptions(
        subject_template_name=f"account/{name}_subject.txt",
        email_template_name=f"account/{name}_email.txt",
        html_email_template_name=f"account/{name}_email.html",
        kind=kind,
    )


PASSWORD_CHANGED_OPTIONS = _options("password_changed", PASSWORD_CHANGED)
EMAIL_CHANGE_CONFIRM_OPTIONS = _options("email_change_confirm", EMAIL_CHANGE_CONFIRM)
EMAIL_CHANGE_REQUESTED_OPTIONS = _options("email_change_requested", EMAIL_CHANGE_REQUESTED)
EMAIL_CHANGED_OPTIONS = _options("email_changed", EMAIL_CHANGED)
EMAIL_TAKEN_OPTIONS = _options("email_taken", EMAIL_TAKEN)


def masked(address: str) -> str:
    """``boris.new@mail.example.org`` → ``b***@m***.org``: enough for the owner to recognise, not to learn.

    The old address may no longer be read by the account's owner (a former job's
    mailbox is a common reason to change it), so it is not told the new one in full.
    """
    local, _, domain = address.rpartition("@")
    labels = domain.split(".")
    tail = f".{labels[-1]}" if len(labels) > 1 else ""
    return f"{local[:1]}***@{labels[0][:1]}***{tail}"


# ---------------------------------------------------------------- the change key


FIELDS = ("email_confirmed", "password")  # with the address: a key made before any of them changes dies


def change_state(user) -> str:
    """Changes when the address, its confirmation or the password changes: a key made before stops working."""
    return keys.account_state(user, SALT, FIELDS)


def change_key(user, new_email: str, state: str | None = None) -> str:
    return keys.make_key(user, SALT, [new_email], change_state(user) if state is None else state)


def taken_by_another(user, email: str) -> bool:
    """Whether an account other than ``user`` uses the mailbox ``email`` reaches."""
    return type(user)._default_manager.with_address(email).exclude(pk=user.pk).exists()


def change_for_key(key: str):
    """``(user, new address)`` for a key, or None: forged, expired, used, the account changed, the address taken."""
    active = get_user_model()._default_manager.filter(is_active=True)
    found = keys.read_key(key, SALT, max_age=settings.EMAIL_CHANGE_TIMEOUT, fields=FIELDS, users=active)
    if found is None or len(found[1]) != 1 or not isinstance(found[1][0], str):
        return None
    user, [new_email] = found
    return None if taken_by_another(user, new_email) else (user, new_email)


def apply_change(user, new_email: str) -> bool:
    """Make ``new_email`` the account's confirmed address; False if the key's account changed or it is taken.

    One conditional UPDATE on the address and password the key was checked
    against, so two presses of the button change it once.
    """
    if taken_by_another(user, new_email):
        return False
    field = user.get_email_field_name()
    rows = type(user)._default_manager.filter(pk=user.pk, password=user.password, **{field: getattr(user, field)})
    try:
        with transaction.atomic():
            changed = rows.update(**{field: new_email}, mailbox=mailbox(new_email), email_confirmed=True)
    except IntegrityError:  # taken between the check and the UPDATE (the unique mailbox)
        return False
    if changed:
        setattr(user, field, new_email)
        user.email_confirmed = True
    return bool(changed)


# ---------------------------------------------------------------- the messages


def _when(extra: dict, name: str) -> datetime | None:
    """An ISO time of the extra context as an aware datetime (templates show it in TIME_ZONE)."""
    return datetime.fromisoformat(extra[name]) if extra.get(name) else None


def notice_context(user, *, site_url: str, options: MessageOptions) -> dict:
    """The reset message's context without its link, the reset page's address, and what the request knew."""
    extra = options.extra_email_context or {}
    context = reset_context(user, site_url=site_url, options=replace(options, extra_email_context=None))
    for name in ("uid", "token", "reset_url"):  # a notice carries no working reset link
        del context[name]
    new_email = extra.get("new_email", "")
    context.update(
        {
            **extra,
            "email": options.to or context["email"],
            "password_reset_url": site_link(site_url, reverse("password_reset")),
            "login_url": site_link(site_url, reverse("login")),
            "when": _when(extra, "when"),
            "new_email_masked": masked(new_email) if new_email else "",
        }
    )
    if options.kind == EMAIL_CHANGE_CONFIRM:
        key = change_key(user, new_email, extra.get("state"))
        context.pop("state", None)
        context.update(
            {
                "key": key,
                "confirm_url": site_link(site_url, reverse("email_change_confirm", kwargs={"key": key})),
                "timeout_days": max(1, round(settings.EMAIL_CHANGE_TIMEOUT / 86400)),
            }
        )
    return context


CONTEXTS = {
    PASSWORD_CHANGED: notice_context,
    EMAIL_CHANGE_CONFIRM: notice_context,
    EMAIL_CHANGE_REQUESTED: notice_context,
    EMAIL_CHANGED: notice_context,
    EMAIL_TAKEN: exists_context,  # "an account already uses your address": login and reset links, as sign-up's
}
