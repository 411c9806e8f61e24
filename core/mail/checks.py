"""System checks of the mail settings: mistakes found without connecting to anything.

Registered from ``core.apps.CoreConfig.ready`` under the ``mail`` tag, so
``manage.py check`` and ``runserver`` show them. Ids are ``core.mail.E00x`` (errors)
and ``core.mail.W00x`` (warnings); Django's own mail checks use ``mail.*``.
These read ``settings.MAILERS`` only: no backend is made, no folder created.
"""

from __future__ import annotations

import os
from email.utils import parseaddr
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.dummy import EmailBackend as DummyBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.handler import DEFAULT_MAILER_BACKEND
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from core.mail.config import sending_alias
from core.mail.explain import port_hint

PLACEHOLDER_FROM = "webmaster@localhost"  # Django's default DEFAULT_FROM_EMAIL


@register(Tags.mail)
def check_mailers(app_configs=None, **kwargs) -> list:
    mailers = getattr(settings, "MAILERS", {})
    # Each configuration once: with MAIL_QUEUE=false "default" and "direct" are the same mailer.
    aliases = [alias for number, alias in enumerate(mailers) if mailers[alias] not in list(mailers.values())[:number]]
    return [message for alias in aliases for message in mailer_messages(alias)]


def mailer_messages(alias: str) -> list:
    """The checks' findings about ``MAILERS[alias]`` (sendtestmail reports them too)."""
    config = getattr(settings, "MAILERS", {}).get(alias)
    if config is None:
        return []
    try:
        backend = import_string(config.get("BACKEND", DEFAULT_MAILER_BACKEND))
    except ImportError:
        return []  # Django reports this itself (InvalidMailer) when the mailer is used
    if not isinstance(backend, type):
        return []
    options = config.get("OPTIONS", {})
    messages = [ignored_variables_warning()] if alias == sending_alias() and settings.MAIL_IGNORED_VARIABLES else []
    if issubclass(backend, SmtpBackend):
        messages += _smtp_messages(alias, options)
    elif issubclass(backend, FileBackend):
        messages += _folder_messages(alias, options)
    if issubclass(backend, ConsoleBackend | MemoryBackend | DummyBackend) and not settings.DEBUG:
        messages.append(
            Warning(
                _(
                    "%(name)s uses %(backend)s, which keeps mail on this machine instead of sending it, "
                    "while DEBUG is off."
                )
                % {"name": f"MAILERS[{alias!r}]", "backend": f"{backend.__module__}.{backend.__qualname__}"},
                hint=_(
                    "On a server set EMAIL_URL to your provider's SMTP server, like "
                    "smtp+ssl://you%40yandex.ru:app-password@smtp.yandex.ru:465."
                ),
                id="core.mail.W004",
            )
        )
    return messages


def ignored_variables_warning() -> Warning:
    """The default mailer is a file or console backend while SMTP variables are set (MAIL_IGNORED_VARIABLES)."""
    ignored = settings.MAIL_IGNORED_VARIABLES
    values = {
        "backend": settings.MAILERS[sending_alias()]["BACKEND"],
        "chosen_by": ignored["chosen_by"],
        "variables": ", ".join(ignored["variables"]),
    }
    return Warning(
        _("Mail is not sent through SMTP: %(chosen_by)s chooses %(backend)s, which does not read %(variables)s.")
        % values,
        hint=_(
            "To send through SMTP, delete the %(chosen_by)s line from .env; to keep %(backend)s, delete %(variables)s."
        )
        % values,
        id="core.mail.W008",
    )


def _smtp_messages(alias: str, options: dict) -> list:
    name = f"MAILERS[{alias!r}]"
    use_ssl, use_tls = bool(options.get("use_ssl")), bool(options.get("use_tls"))
    port = options.get("port") or (465 if use_ssl else 587 if use_tls else 25)
    login, password = options.get("username") or "", options.get("password") or ""
    messages = []
    if use_ssl and use_tls:
        messages.append(
            Error(
                _("%(name)s has SSL and STARTTLS both on; a connection uses one or the other.") % {"name": name},
                hint=port_hint() + " " + _("Set only one of EMAIL_USE_SSL and EMAIL_USE_TLS."),
                id="core.mail.E001",
            )
        )
    elif port == 465 and not use_ssl:
        messages.append(
            Warning(
                _(
                    "%(name)s uses port 465 without SSL: the server waits for SSL and the connection hangs until "
                    "the timeout."
                )
                % {"name": name},
                hint=_("Use smtp+ssl:// (EMAIL_USE_SSL=true) for port 465."),
                id="core.mail.W001",
            )
        )
    elif port in (25, 587) and use_ssl:
        messages.append(
            Warning(
                _(
                    "%(name)s uses SSL on port %(port)s, which speaks plain SMTP and STARTTLS "
                    "(the error will be SSL: WRONG_VERSION_NUMBER)."
                )
                % {"name": name, "port": port},
                hint=_("Use smtp+tls:// (EMAIL_USE_TLS=true) for port 587, or smtp+ssl:// on port 465."),
                id="core.mail.W002",
            )
        )
    if options.get("timeout") is None:
        messages.append(
            Warning(
                _("%(name)s has no timeout: a server that does not answer blocks the request forever.")
                % {"name": name},
                hint=_("Set EMAIL_TIMEOUT (10 is sensible) or OPTIONS['timeout']."),
                id="core.mail.W003",
            )
        )
    sender = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    if sender == PLACEHOLDER_FROM:
        messages.append(
            Warning(
                _(
                    "DEFAULT_FROM_EMAIL is still Django's placeholder %(placeholder)r while %(name)s is an "
                    "SMTP server; providers refuse it."
                )
                % {"placeholder": PLACEHOLDER_FROM, "name": name},
                hint=_("Set DEFAULT_FROM_EMAIL to the mailbox you log in as, or use a full address as the login."),
                id="core.mail.W005",
            )
        )
    elif "@" in login and _domain(sender) != _domain(login):
        messages.append(
            Warning(
                _(
                    "DEFAULT_FROM_EMAIL %(sender)r is not in the domain of the login %(login)r of %(name)s; "
                    "providers such as Yandex refuse such mail (553)."
                )
                % {"sender": sender, "login": login, "name": name},
                hint=_("Send from the mailbox you log in as: leave DEFAULT_FROM_EMAIL unset or set it to the login."),
                id="core.mail.W006",
            )
        )
    if login and not password:
        messages.append(
            Warning(
                _("%(name)s has the login %(login)r but an empty password, so Django does not log in at all.")
                % {"name": name, "login": login},
                hint=_("Set the password (EMAIL_HOST_PASSWORD, or in EMAIL_URL), or remove the login."),
                id="core.mail.W007",
            )
        )
    return messages


def _folder_messages(alias: str, options: dict) -> list:
    """A file backend's folder must exist and be writable, or be creatable."""
    raw = options.get("file_path")
    if not raw:
        return []  # Django's InvalidMailer names the missing option
    folder = Path(raw).resolve()
    existing = next(path for path in (folder, *folder.parents) if path.exists())
    names = {"name": f"MAILERS[{alias!r}]", "folder": folder, "existing": existing}
    if existing == folder and not folder.is_dir():
        problem = _("%(name)s saves messages to %(folder)s, which is not a folder.")
    elif not existing.is_dir():
        problem = _("%(name)s saves messages to %(folder)s, which cannot be created: %(existing)s is not a folder.")
    elif not os.access(existing, os.W_OK | os.X_OK):
        if existing == folder:
            problem = _("%(name)s saves messages to %(folder)s, which is not writable.")
        else:
            problem = _(
                "%(name)s saves messages to %(folder)s, which cannot be created in %(existing)s (not writable)."
            )
    else:
        return []
    return [
        Error(
            problem % names,
            hint=_("Set EMAIL_URL=outbox://folder to a folder this user can create and write."),
            id="core.mail.E002",
        )
    ]


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower()
