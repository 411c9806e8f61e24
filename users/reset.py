"""Building and sending the password-reset message, in a request or outside one.

The web form's task (``users.tasks``) and ``manage.py resetuser`` both
call these functions, so the message (templates, token, link) cannot drift
between them. The context is the one Django's ``PasswordResetForm`` gives its
templates, so Django's own templates and the project's both work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.mail.config import ConfigError, parse_site_url
from core.mail.errors import ExitCode, MailProblem
from core.mail.explain import explain
from core.mail.mailers import describe, files_written, get_backend
from users.messages import DEFAULTS, MessageOptions, build_message, site_link


def reset_context(user, *, site_url: str, options: MessageOptions = DEFAULTS) -> dict:
    """The template context Django's reset form gives its templates, links under ``site_url``."""
    parts = urlsplit(site_url)
    email = getattr(user, user.get_email_field_name())
    uid = urlsafe_base64_encode(force_bytes(user._meta.pk.value_to_string(user)))
    token = options.generator().make_token(user)
    return {
        "email": email,
        "domain": parts.netloc,
        "site_name": parts.netloc,
        "uid": uid,
        "user": user,
        "token": token,
        "protocol": parts.scheme,
        "reset_url": site_link(site_url, reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})),
        **(options.extra_email_context or {}),
    }


def send_reset_message(user, *, site_url: str, options: MessageOptions = DEFAULTS, using: str | None = None) -> dict:
    """Send ``user`` the reset message (errors are raised, not swallowed); return its context."""
    context = reset_context(user, site_url=site_url, options=options)
    build_message(context, options).send(using=using)
    return context


# ---------------------------------------------------------------- outside a request


@dataclass
class ResetResult:
    """What happened for one argument of ``resetuser`` or ``confirmuser``; the command renders it."""

    argument: str
    username: str = ""
    email: str = ""
    link: str = ""
    sent: bool = False
    mailer: dict = field(default_factory=dict)  # mailers.describe() of the mailer used
    files: list[str] = field(default_factory=list)
    expires: datetime | None = None
    problem: MailProblem | None = None

    @property
    def code(self) -> ExitCode:
        return self.problem.code if self.problem else ExitCode.DONE


ADDRESS_LENGTH = 254  # the longest address Django's EmailField and validator take (RFC 3696 errata)


def site_url_for_links(override: str | None = None) -> str:
    """``--site-url`` or ``SITE_URL``; never a guess like example.com or localhost."""
    if override:
        try:
            return parse_site_url("--site-url", override)
        except ConfigError as error:
            raise MailProblem(ExitCode.BAD_INPUT, f"{error}.", error.hint) from None  # names --site-url
    if settings.SITE_URL:
        return settings.SITE_URL
    raise MailProblem(
        ExitCode.CONFIG,
        _("No site address to build the reset link with: SITE_URL is not set."),
        _(
            "set SITE_URL in .env (http://127.0.0.1:8000 for the local server, https://your-site.example on a "
            "server), or pass --site-url http://127.0.0.1:8000"
        ),
    )


def find_user(argument: str, *, needs_address: bool = True):
    """The one user whose address reaches the mailbox ``argument`` names or, failing that, whose username it is.

    Raises MailProblem(BAD_INPUT) when the argument is longer than any address
    or username, when nobody matches, or when the user cannot reset a password
    (inactive, no usable password, or no address when the link is to be mailed:
    ``needs_address``).
    """
    user_model = get_user_model()
    manager = user_model._default_manager
    username_length = user_model._meta.get_field(user_model.USERNAME_FIELD).max_length or 0
    if len(argument) > max(ADDRESS_LENGTH, username_length):
        raise MailProblem(
            ExitCode.BAD_INPUT,
            ngettext(
                "The argument is %(length)d character long: an address has at most %(address)d, "
                "a username at most %(username)d.",
                "The argument is %(length)d characters long: an address has at most %(address)d, "
                "a username at most %(username)d.",
                len(argument),
            )
            % {"length": len(argument), "address": ADDRESS_LENGTH, "username": username_length},
            _("give the account's email address or username"),
        )
    users = list(manager.with_address(argument))
    if not users:
        users = list(manager.filter(**{user_model.USERNAME_FIELD: argument}))
    if not users:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("No active user with address or username %(argument)r.") % {"argument": argument},
            _("check the spelling; users are listed at /admin/users/user/"),
        )
    if len(users) > 1:  # only where the database lacks the project's unique mailbox
        names = ", ".join(user.get_username() for user in users)
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("%(argument)r matches several users (%(names)s).") % {"argument": argument, "names": names},
            _("give the username instead"),
        )
    user = users[0]
    who = {"user": user.get_username(), "pk": user.pk}
    if not user.is_active:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("User %(user)r is inactive, so the reset link would not work.") % who,
            _("activate the account first (Active in /admin/users/user/)"),
        )
    if not user.has_usable_password():
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("User %(user)r has no usable password (it signs in another way), so Django's reset does not apply.")
            % who,
            _("set a password with: python manage.py changepassword %(user)s") % who,
        )
    if needs_address and not getattr(user, user_model.get_email_field_name()):
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("User %(user)r has no email address to send the link to.") % who,
            _("add one in /admin/users/user/%(pk)s/change/, or use --dry-run to get the link") % who,
        )
    return user


def reset_user(
    argument: str, *, site_url: str, using: str = "default", dry_run: bool = False, language: str = ""
) -> ResetResult:
    """Find the user ``argument`` names and send the web form's reset message.

    Mail failures come back as the result's ``problem``, diagnosed as
    sendtestmail diagnoses them; nothing is swallowed.
    """
    options = MessageOptions(language=language)
    return mail_user(
        argument,
        lambda user: reset_context(user, site_url=site_url, options=options),
        options,
        link="reset_url",
        valid_for=settings.PASSWORD_RESET_TIMEOUT,
        using=using,
        dry_run=dry_run,
    )


def mail_user(
    argument: str,
    context_for: Callable[[object], dict],
    options: MessageOptions,
    *,
    link: str,
    valid_for: int,
    using: str = "default",
    dry_run: bool = False,
    check: Callable[[object], None] | None = None,
) -> ResetResult:
    """Find the user ``argument`` names (``check`` may refuse them with a MailProblem) and send the
    message ``context_for(user)`` and ``options`` make; ``context[link]`` is its link, valid ``valid_for`` s.

    The commands of account mail (``resetuser``, ``confirmuser``) are this with their message.
    """
    result = ResetResult(argument)
    try:
        user = find_user(argument, needs_address=not dry_run)  # --dry-run only shows the link
        if check is not None:
            check(user)
    except MailProblem as problem:
        result.problem = problem
        return result
    context = context_for(user)
    result.username, result.email, result.link = user.get_username(), context["email"], context[link]
    result.expires = timezone.localtime() + timedelta(seconds=valid_for)
    if dry_run:
        return result
    message = build_message(context, options)
    try:
        backend = get_backend(using)
    except MailProblem as problem:
        result.problem = problem
        return result
    result.mailer = describe(backend)
    try:
        backend.send_messages([message])
    except Exception as error:
        result.problem = explain(error, backend)
        return result
    result.sent = True
    result.files = files_written(backend)
    return result
