"""Building and sending the password-reset message, in a request or outside one.

The web form's task (``core.mail.tasks``) and ``manage.py resetuser`` both
call these functions, so the message (templates, token, link) cannot drift
between them. The context is the one Django's ``PasswordResetForm`` gives its
templates, so Django's own templates and the project's both work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMultiAlternatives
from django.template import loader
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.mail.config import ConfigError, parse_site_url
from core.mail.errors import ExitCode, MailProblem
from core.mail.explain import explain
from core.mail.mailers import describe, files_written, get_backend


@dataclass(frozen=True)
class MessageOptions:
    """How the reset message is made: what Django's ``PasswordResetView`` passes its form, same names, same meaning.

    ``email_template_name`` is the text body and ``html_email_template_name`` the
    HTML alternative, as in Django (whose default text template is
    ``registration/password_reset_email.html``); ``token_generator`` is the dotted
    path of a token generator class, "" for Django's default. ``language`` is the
    language of the page that asked ("" is ``LANGUAGE_CODE``). ``kind`` says which
    account message it is: ``reset`` here, the sign-up messages in ``core.mail.signup``,
    the security notices in ``core.mail.notices``. ``to`` is the address it goes to, ""
    for the account's own (the confirmation of a change of address goes to the new one).
    It travels with a queued message as a dict (``as_dict``), so every field is JSON.
    """

    subject_template_name: str = "registration/password_reset_subject.txt"
    email_template_name: str = "registration/password_reset_email.html"
    html_email_template_name: str | None = "registration/password_reset_html_email.html"
    from_email: str | None = None
    extra_email_context: dict | None = None
    token_generator: str = ""
    language: str = ""
    kind: str = "reset"
    to: str = ""

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> MessageOptions:
        known = {name: value for name, value in data.items() if name in cls.__dataclass_fields__}
        return cls(**known)

    def generator(self):
        return import_string(self.token_generator)() if self.token_generator else default_token_generator


def generator_path(token_generator) -> str:
    """The ``token_generator`` field for a generator instance: "" for Django's default."""
    if token_generator is default_token_generator:
        return ""
    cls = type(token_generator)
    return f"{cls.__module__}.{cls.__qualname__}"


DEFAULTS = MessageOptions()  # the project's own templates, Django's token generator, LANGUAGE_CODE


def site_link(site_url: str, path: str) -> str:
    """``path`` (a ``reverse()``) under the site's scheme and host: every link a message carries."""
    parts = urlsplit(site_url)
    return f"{parts.scheme}://{parts.netloc}{path}"


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


def build_reset_message(context: dict, options: MessageOptions = DEFAULTS) -> EmailMultiAlternatives:
    """A message of the site (one-line subject, text, HTML alternative if any) as Django's reset form builds it.

    The reset message, and every other kind built the same way from ``options``' templates:
    sign-up confirmations and security notices (``core.mail.tasks.send_account_message``).
    """
    with translation.override(options.language or settings.LANGUAGE_CODE):
        subject = "".join(loader.render_to_string(options.subject_template_name, context).splitlines())
        body = loader.render_to_string(options.email_template_name, context)
        html = (
            loader.render_to_string(options.html_email_template_name, context)
            if options.html_email_template_name
            else None
        )
    message = EmailMultiAlternatives(subject, body, options.from_email, [options.to or context["email"]])
    if html is not None:
        message.attach_alternative(html, "text/html")
    return message


def send_reset_message(
    user, *, site_url: str, options: MessageOptions = MessageOptions(), using: str | None = None
) -> dict:
    """Send ``user`` the reset message (errors are raised, not swallowed); return its context."""
    context = reset_context(user, site_url=site_url, options=options)
    build_reset_message(context, options).send(using=using)
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
    users = list(manager.using_address(argument))
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
    message = build_reset_message(context, options)
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
