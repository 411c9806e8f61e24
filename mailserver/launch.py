"""From what a person asks of ``mailserver`` to a server's ``Config``, and the ``.env`` lines that reach it.

Everything a person types is checked here, before anything listens, each problem one
``MailProblem`` (exit 2, or 3 for a mailer's folder) with a hint. The command only
parses arguments and prints.

State that must outlive a run (so a ``.env`` written once keeps working) is kept in
the project's ``.mailserver/``, which git ignores: the certificates
(``certificates.ensure``) and the app password of each ``--like`` rehearsal login.
"""

from __future__ import annotations

import os
import secrets
import shlex
import string
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from core.mail.config import is_loopback
from core.mail.errors import ExitCode, MailProblem
from core.security import MASK
from mailserver import certificates
from mailserver.profiles import PROFILES, Profile
from mailserver.rules import Faults
from mailserver.server import Config, MailServer
from outbox.folder import folder_for, project_outbox

STATE_DIR = ".mailserver"
APP_PASSWORD_LENGTH = 16  # Yandex's and Google's app passwords are 16 letters


def state_dir() -> Path:
    return Path(settings.BASE_DIR) / STATE_DIR


def bad_input(message: str, hint: str = "") -> MailProblem:
    return MailProblem(ExitCode.BAD_INPUT, message, hint)


def parse_login(text: str) -> tuple[str, str]:
    """``USER:PASSWORD`` → (user, password); the password never appears in an error."""
    user, colon, password = text.partition(":")
    if not colon or not user.strip() or not password:
        raise bad_input(
            _("A --login is USER:PASSWORD, with both parts."),
            _("for example --login you@yandex.ru:abcdefghijklmnop"),
        )
    if not (user + password).isascii():
        raise bad_input(_("A --login must be ASCII: SMTP clients send logins as ASCII."))
    return user.strip(), password


@dataclass(frozen=True)
class Login:
    user: str
    password: str
    shown: bool  # whether the password may be printed: one this project made for a rehearsal


def rehearsal_login(profile: Profile, folder: Path) -> Login:
    """``you@<provider>`` with an app password made for it once and kept in ``folder`` (mode 0600)."""
    path = folder / f"{profile.name}-app-password"
    try:
        password = path.read_text().strip()
    except FileNotFoundError:
        password = ""
    if len(password) != APP_PASSWORD_LENGTH or not password.isalpha():
        password = "".join(secrets.choice(string.ascii_lowercase) for _ in range(APP_PASSWORD_LENGTH))
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as stream:
            stream.write(password + "\n")
    return Login(f"you@{profile.domain}", password, shown=True)


@dataclass
class Plan:
    """A checked request: the server's config and what its user is told about it."""

    config: Config
    login: Login | None
    certificates_made: bool


def plan(
    *,
    host: str,
    port: int,
    security: str,
    logins: list[str],
    any_login: bool,
    like: str | None,
    fail: list[str],
    max_size: int | None,
    path: str | None,
    timeout: float = 60.0,
    using: str | None,
) -> Plan:
    """The ``Config`` for these arguments, or the first problem with them (``MailProblem``)."""
    if logins and any_login:
        raise bad_input(_("--login and --any-login cannot be used together."), _("give one of them"))
    if not 0 <= port <= 65535:
        raise bad_input(_("The port %(port)s is not between 1 and 65535.") % {"port": port})
    profile = PROFILES.get(like) if like else None
    if like and profile is None:
        raise bad_input(_("Unknown provider %(like)r.") % {"like": like}, ", ".join(PROFILES))
    if profile and security == "none":
        security = "ssl"  # what the lessons use (port 465); --starttls rehearses 587
    try:
        faults = Faults.parse(fail)
    except ValueError as error:
        problem, hint = (*error.args, "")[:2]
        raise bad_input(_("--fail: %(problem)s.") % {"problem": problem}, hint) from None
    if any(rule.stage == "login" for rule in faults.rules) and not (logins or any_login or profile):
        raise bad_input(_("A login rule needs logins to refuse."), _("add --login USER:PASSWORD or --any-login"))

    accounts = dict(parse_login(text) for text in logins)
    login = Login(*next(iter(accounts.items())), shown=False) if accounts else None
    if profile and not accounts:
        login = rehearsal_login(profile, state_dir())
        accounts = {login.user: login.password}

    made = False
    certs = None
    if security != "none":
        made = not (state_dir() / certificates.CA_NAME).is_file()
        try:
            certs = certificates.ensure(state_dir())
        except OSError as error:
            raise MailProblem(
                ExitCode.CONFIG,
                _("Cannot keep the certificates in %(folder)s: %(reason)s.")
                % {"folder": state_dir(), "reason": error.strerror or error},
                _("make the project folder writable by this user"),
            ) from None

    config = Config(
        folder=folder_for(path=path, using=using),
        host=host,
        port=port,
        security=security,
        logins=accounts,
        any_login=any_login,
        profile=profile,
        faults=faults,
        max_size=max_size,
        certificates=certs,
        timeout=timeout,
    )
    return Plan(config, login, made)


def make_server(config: Config, *, from_path: bool) -> MailServer:
    """The server for ``config``; a folder that cannot be made or written is one ``MailProblem``."""
    try:
        return MailServer(config)
    except ImproperlyConfigured as error:
        code = ExitCode.BAD_INPUT if from_path else ExitCode.CONFIG
        raise MailProblem(
            code,
            _("Cannot save messages in %(folder)s: %(reason)s.") % {"folder": config.folder, "reason": error},
            _("pass --path with a folder this user can write"),
        ) from None


def listen_problem(error: OSError, config: Config) -> MailProblem:
    """``start()`` failed: the port is taken, not allowed, or the address is not this machine's."""
    where = f"{config.host}:{config.port}"
    if error.errno == 98:  # EADDRINUSE
        return bad_input(
            _("Port %(port)s on %(host)s is in use (another mailserver, or another program).")
            % {"port": config.port, "host": config.host},
            _("pass another --port (1026, for example), or stop the program that holds it"),
        )
    if error.errno == 13:  # EACCES
        return bad_input(
            _("Not allowed to listen on %(where)s: ports below 1024 need root.") % {"where": where},
            _("use a port above 1024, like the default 1025; the site's .env names whatever port you choose"),
        )
    return bad_input(
        _("Cannot listen on %(where)s: %(reason)s.") % {"where": where, "reason": error.strerror or error},
        _("--host must be an address of this machine, like 127.0.0.1"),
    )


# ---------------------------------------------------------------- what the site's .env needs


def display_path(path: Path) -> str:
    """A path as ``.env`` should hold it: relative to the project when inside it."""
    base = Path(settings.BASE_DIR)
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def outbox_command(folder: Path) -> str:
    """The ``outbox list`` that shows what is saved in ``folder`` (``--path`` unless it is ``sent_emails/``)."""
    if Path(folder).resolve() == project_outbox().resolve():
        return "python manage.py outbox list"
    return f"python manage.py outbox list --path {shlex.quote(display_path(Path(folder)))}"


def env_lines(server: MailServer, login: Login | None) -> tuple[str, list[str]]:
    """The ``EMAIL_URL`` line, and the separate variables' lines, that make the site send to ``server``."""
    config = server.config
    host = config.host if is_loopback(config.host) else "127.0.0.1"
    scheme = {"none": "smtp", "starttls": "smtp+tls", "ssl": "smtp+ssl"}[config.security]
    password = (login.password if login.shown else MASK) if login else ""
    credentials = f"{quote(login.user, safe='')}:{quote(password, safe='*')}@" if login else ""
    ca = display_path(config.certificates.ca_file) if config.certificates else ""
    url = f"EMAIL_URL={scheme}://{credentials}{host}:{server.port}" + (
        f"?ssl_cafile={quote(ca, safe='/')}" if ca else ""
    )
    separate = [f"EMAIL_HOST={host}", f"EMAIL_PORT={server.port}"]
    if config.security == "ssl":
        separate.append("EMAIL_USE_SSL=true")
    elif config.security == "starttls":
        separate.append("EMAIL_USE_TLS=true")
    if login:
        separate += [f"EMAIL_HOST_USER={login.user}", f"EMAIL_HOST_PASSWORD={password}"]
    if ca:
        separate.append(f"EMAIL_SSL_CAFILE={ca}")
    return url, separate
