"""Environment → Django 6.1 ``MAILERS``, and masking of secrets.

Two forms are read:

* ``EMAIL_URL``: one URL, with django-environ's schemes plus ``outbox://``;
* the separate variables of the lessons: ``EMAIL_BACKEND`` (a dotted path, see
  ``BACKENDS``), ``EMAIL_FILE_PATH``, ``EMAIL_HOST``, ``EMAIL_PORT``, ``EMAIL_USE_SSL``,
  ``EMAIL_USE_TLS``, ``EMAIL_HOST_USER``, ``EMAIL_HOST_PASSWORD``, ``EMAIL_SSL_CAFILE``.

Precedence: ``EMAIL_URL`` wins over every separate variable. Else ``EMAIL_BACKEND``
chooses, and only the variables that backend reads count (SMTP: ``EMAIL_HOST``...,
which it needs; the file backends: ``EMAIL_FILE_PATH``, default ``sent_emails``); without
it, ``EMAIL_HOST`` means SMTP and ``EMAIL_FILE_PATH`` alone means the outbox backend in
that folder. ``EMAIL_TIMEOUT`` applies to SMTP in either form (``?timeout=`` in the URL
overrides it). ``EMAIL_SSL_CAFILE`` (``?ssl_cafile=`` in the URL) names a CA
certificate file that mailer trusts besides the system's (``manage.py mailserver
--ssl`` prints its own); the mailer is then the project's ``SmtpEmailBackend``. With
nothing set, mail is saved to ``sent_emails/`` by the project's outbox backend.

The lessons' ``EMAIL_*`` lines assigned in a settings file are refused with the
``.env`` lines to write instead (``refuse_email_settings``).

Nothing here reads ``os.environ`` directly: callers pass a ``core.env.Env``, so the
mapping is tested as a table. Error messages never contain a password.
``ConfigError`` and the check of a URL's credentials are shared with the other
settings (core/env.py) and imported from here as before.
"""

from __future__ import annotations

import ast
import contextlib
import ipaddress
import os
import ssl
import sys
import unicodedata
from collections.abc import Mapping
from email.headerregistry import Address
from email.utils import getaddresses
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import environ
from django.conf import DEPRECATED_EMAIL_SETTINGS, settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from core.env import ENCODE_HINT, ConfigError, Env, boolean, check_url_credentials, read, seconds, tcp_port

OUTBOX_BACKEND = "outbox.backend.EmailBackend"
SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
CAFILE_SMTP_BACKEND = "core.mail.backends.SmtpEmailBackend"  # SMTP_BACKEND with ssl_cafile
FILE_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
DEFAULT_OUTBOX_DIR = "sent_emails"
DEFAULT_TIMEOUT = 10.0

# The project's own scheme first, then django-environ's.
URL_SCHEMES = {"outbox": OUTBOX_BACKEND, **environ.Env.EMAIL_SCHEMES}
FILE_SCHEMES = {"outbox", "filemail"}
SMTP_SCHEMES = {"smtp", "smtps", "smtp+tls", "smtp+ssl"}
# Query options an EMAIL_URL may carry, and the OPTIONS key each becomes.
URL_OPTIONS = {
    "timeout": "timeout",
    "ssl_cafile": "ssl_cafile",
    "ssl_certfile": "ssl_certfile",
    "ssl_keyfile": "ssl_keyfile",
    "use_tls": "use_tls",
    "use_ssl": "use_ssl",
}
CONSOLE_BACKEND = "django.core.mail.backends.console.EmailBackend"
MEMORY_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DUMMY_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
# EMAIL_BACKEND's accepted values: the lessons' dotted paths and the project's outbox.
BACKENDS = (SMTP_BACKEND, FILE_BACKEND, CONSOLE_BACKEND, MEMORY_BACKEND, DUMMY_BACKEND, OUTBOX_BACKEND)
FOLDER_BACKENDS = {FILE_BACKEND, OUTBOX_BACKEND}
# The outbox backend's path before it moved into the outbox app: an .env written then keeps working.
MOVED_BACKENDS = {"core.mail.backends.EmailBackend": OUTBOX_BACKEND}
SEPARATE_VARIABLES = (
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_USE_SSL",
    "EMAIL_USE_TLS",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "EMAIL_SSL_CAFILE",
)
CAFILE_HINT = "Give the CA file that manage.py mailserver --ssl prints (.mailserver/ca.pem), relative to the project"

# ---------------------------------------------------------------- values (casts for core.env.Env.get)


def addresses(value: str) -> list[str]:
    """``Name <addr>, addr2`` → ``["Name <addr>", "addr2"]``, each address validated."""
    result = []
    for name, address in getaddresses([value]):
        if not name and not address:
            continue
        try:
            validate_email(address)
        except ValidationError:
            raise ValueError(f"{address or name!r} is not a valid email address") from None
        result.append(str(Address(display_name=name, addr_spec=address)) if name else address)
    return result


def address(value: str) -> str:
    found = addresses(value)
    if len(found) != 1:
        raise ValueError("expected exactly one address, like 'Site <noreply@example.com>'")
    return found[0]


def site_url(value: str) -> str:
    """``https://host[:port]`` with no path; returned without a trailing slash.

    Control characters are refused: ``urlsplit`` would silently drop a line break
    or a tab (``http://a\nb`` is host ``ab``), so the links would go elsewhere.
    """
    url = value.strip().rstrip("/")
    for char in url:
        if unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            raise ValueError(
                f"{value!r} contains the control character U+{ord(char):04X}",
                "write the address on one line, like https://example.com",
            )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) address", "write it as https://example.com")
    if parts.path or parts.query or parts.fragment or parts.username:
        raise ValueError("give only the scheme and host, like https://example.com")
    return url


def parse_site_url(variable: str, value: str) -> str:
    """``site_url`` for a value that is not a variable (``resetuser --site-url``)."""
    return read(variable, site_url, value)


# ---------------------------------------------------------------- mailers


def resolve_dir(variable: str, raw: str, base_dir: Path) -> str:
    """A folder: absolute as written, relative to the project root otherwise."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if path.exists() and not path.is_dir():
        raise ConfigError(variable, f"{path} exists and is not a directory")
    return str(path)


def ca_file(variable: str, raw: str, base_dir: Path) -> str:
    """A CA certificate file: absolute as written, relative to the project root otherwise; it must hold a
    certificate the SSL library can read."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base_dir / path
    if not path.exists():
        raise ConfigError(variable, f"{path} does not exist", CAFILE_HINT)
    if not path.is_file():
        raise ConfigError(variable, f"{path} is not a file", CAFILE_HINT)
    try:
        ssl.create_default_context(cafile=str(path))
    except PermissionError:
        raise ConfigError(variable, f"{path} cannot be read (permission denied)") from None
    except (ssl.SSLError, ValueError, UnicodeDecodeError):
        raise ConfigError(
            variable, f"{path} holds no CA certificate", "give the PEM file (-----BEGIN CERTIFICATE-----)"
        ) from None
    return str(path)


def outbox_mailer(base_dir: Path, folder: str = DEFAULT_OUTBOX_DIR) -> dict:
    return {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": resolve_dir("EMAIL_URL", folder, base_dir)}}


def mailer_from_url(url: str, base_dir: Path, timeout: float) -> dict:
    """One ``MAILERS`` entry from an ``EMAIL_URL``."""
    var = "EMAIL_URL"
    if url.strip().partition("://")[0].lower() in SMTP_SCHEMES:
        check_credentials(var, url.strip())  # before urlsplit, which may read a password as the host or port
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # "Invalid IPv6 URL": an unmatched [ or ]
        raise ConfigError(var, "the URL cannot be read (an unmatched [ or ])", ENCODE_HINT) from None
    scheme = parts.scheme.lower()
    if scheme not in URL_SCHEMES:
        known = ", ".join(f"{name}://" for name in URL_SCHEMES)
        raise ConfigError(var, f"unknown scheme {scheme + '://' if scheme else '(none)'}", f"use one of {known}")

    if scheme in FILE_SCHEMES:
        # django-environ drops one slash of the path (filemail:///abs → abs), so
        # the folder is read here: scheme:///abs is absolute, scheme://rel relative.
        raw = unquote(parts.netloc + parts.path) if parts.netloc else unquote(parts.path)
        folder = resolve_dir(var, raw or DEFAULT_OUTBOX_DIR, base_dir)
        return {"BACKEND": URL_SCHEMES[scheme], "OPTIONS": {"file_path": folder}}

    if scheme not in SMTP_SCHEMES:  # console, memory, dummy: no options
        return {"BACKEND": URL_SCHEMES[scheme], "OPTIONS": {}}

    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        port_text = parts.netloc.rpartition("@")[2].rpartition(":")[2]
        raise ConfigError(var, f"the port {port_text!r} is not a number between 1 and 65535") from None
    if not parts.hostname:
        raise ConfigError(var, "no host in the URL", "write it as smtp+ssl://user:password@smtp.example.com:465")
    flat = environ.Env.email_url_config(url.strip())
    options = {
        "host": flat["EMAIL_HOST"],
        "username": flat["EMAIL_HOST_USER"] or "",
        "password": flat["EMAIL_HOST_PASSWORD"] or "",
        "use_ssl": bool(flat.get("EMAIL_USE_SSL")),
        "use_tls": bool(flat.get("EMAIL_USE_TLS")),
        "timeout": timeout,
    }
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() not in URL_OPTIONS:
            raise ConfigError(var, f"unknown option {key!r}", f"known options: {', '.join(URL_OPTIONS)}")
        name = URL_OPTIONS[key.lower()]
        if name == "timeout":
            options[name] = read(f"{var} ?timeout", seconds(positive=True), value)
        elif name in ("use_tls", "use_ssl"):
            options[name] = read(f"{var} ?{name}", boolean, value)
        elif name == "ssl_cafile":
            options[name] = ca_file(f"{var} ?ssl_cafile", value, base_dir)
        else:
            options[name] = value
    return smtp_mailer(var, options, flat["EMAIL_PORT"])


def check_credentials(variable: str, url: str) -> None:
    """``check_url_credentials``, and an SMTP login and password must be ASCII."""
    login, password = check_url_credentials(variable, url)
    check_ascii(variable, login, password)


def check_ascii(variable: str, login: str, password: str) -> None:
    """smtplib sends the login and password as ASCII: anything else fails at every login."""
    for what, text in (("login", login), ("password", password)):
        if not text.isascii():
            raise ConfigError(
                variable,
                f"the SMTP {what} holds a character that is not ASCII; SMTP logins must be ASCII",
                "use the provider's app password (letters, digits and punctuation), or a login without accents",
            )


def mailer_from_variables(env: Env, base_dir: Path, timeout: float) -> dict | None:
    """One ``MAILERS`` entry from ``EMAIL_BACKEND``, ``EMAIL_HOST`` and friends, or None if unset."""
    backend = env.text("EMAIL_BACKEND")
    backend = MOVED_BACKENDS.get(backend, backend)
    host = env.text("EMAIL_HOST")
    folder = env.text("EMAIL_FILE_PATH")
    if backend and backend not in BACKENDS:
        raise ConfigError("EMAIL_BACKEND", f"unknown backend {backend!r}", f"use one of {', '.join(BACKENDS)}")
    if backend in FOLDER_BACKENDS or (not backend and not host and folder):
        if "BASE_DIR" in folder:
            raise ConfigError(
                "EMAIL_FILE_PATH",
                ".env is not Python, so BASE_DIR means nothing there",
                "write the folder relative to the project: EMAIL_FILE_PATH=sent_emails",
            )
        path = resolve_dir("EMAIL_FILE_PATH", folder or DEFAULT_OUTBOX_DIR, base_dir)
        return {"BACKEND": backend or OUTBOX_BACKEND, "OPTIONS": {"file_path": path}}
    if backend and backend != SMTP_BACKEND:  # console, locmem, dummy: no options
        return {"BACKEND": backend, "OPTIONS": {}}
    if not host:
        if backend:
            raise ConfigError(
                "EMAIL_BACKEND",
                "is the SMTP backend, but EMAIL_HOST is not set",
                "set EMAIL_HOST (with EMAIL_PORT, EMAIL_USE_SSL, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD), "
                f"or EMAIL_BACKEND={FILE_BACKEND} to save messages to files",
            )
        stray = [name for name in SEPARATE_VARIABLES if env.text(name)]
        if stray:
            raise ConfigError(stray[0], "set, but EMAIL_HOST is not", "set EMAIL_HOST (or EMAIL_URL), or remove it")
        return None
    options = {
        "host": host,
        "username": env.text("EMAIL_HOST_USER"),
        "password": env.secret("EMAIL_HOST_PASSWORD"),
        "use_ssl": env.bool("EMAIL_USE_SSL"),
        "use_tls": env.bool("EMAIL_USE_TLS"),
        "timeout": timeout,
    }
    if env.text("EMAIL_SSL_CAFILE"):
        options["ssl_cafile"] = ca_file("EMAIL_SSL_CAFILE", env.text("EMAIL_SSL_CAFILE"), base_dir)
    check_ascii("EMAIL_HOST_USER/EMAIL_HOST_PASSWORD", options["username"], options["password"])
    return smtp_mailer("EMAIL_USE_SSL/EMAIL_USE_TLS", options, env.get("EMAIL_PORT", tcp_port, None))


def smtp_mailer(variable: str, options: dict, port: int | None) -> dict:
    if options["use_ssl"] and options["use_tls"]:
        raise ConfigError(
            variable,
            "SSL and STARTTLS are both on; a connection uses one or the other",
            "port 465 is SSL (smtp+ssl:// or EMAIL_USE_SSL), port 587 is STARTTLS (smtp+tls:// or EMAIL_USE_TLS)",
        )
    if port is None:
        port = 465 if options["use_ssl"] else 587 if options["use_tls"] else 25
    backend = CAFILE_SMTP_BACKEND if options.get("ssl_cafile") else SMTP_BACKEND
    return {"BACKEND": backend, "OPTIONS": {**options, "port": port}}


def mailers_from_env(env: Env, base_dir: Path) -> dict:
    """The ``MAILERS`` setting described by the environment (see module doc)."""
    timeout = env.seconds("EMAIL_TIMEOUT", DEFAULT_TIMEOUT, positive=True)
    url = env.text("EMAIL_URL")
    if url:
        mailer = mailer_from_url(url, base_dir, timeout)
    else:
        mailer = mailer_from_variables(env, base_dir, timeout) or outbox_mailer(base_dir)
    return {"default": mailer}


def ignored_variables(env: Env, mailers: dict) -> dict:
    """The SMTP variables set while the default mailer is not SMTP, and the variable that chose it.

    ``{"chosen_by": "EMAIL_BACKEND" | "EMAIL_URL", "variables": [...]}``, or ``{}``: the first lesson's
    ``EMAIL_BACKEND=...filebased...`` left in ``.env`` beside the second lesson's ``EMAIL_HOST...``
    lines wins, and ``check`` (core.mail.W008) and ``make run`` say so.
    """
    if mailers["default"]["BACKEND"] in (SMTP_BACKEND, CAFILE_SMTP_BACKEND):
        return {}
    variables = [name for name in SEPARATE_VARIABLES if env.text(name)]
    if not variables:
        return {}
    return {"chosen_by": "EMAIL_URL" if env.text("EMAIL_URL") else "EMAIL_BACKEND", "variables": variables}


def default_from_email(env: Env, mailers: dict) -> str:
    """``DEFAULT_FROM_EMAIL``, else the SMTP login when it is an address.

    Yandex and Mail.ru refuse mail whose sender is not the mailbox logged in as.
    """
    login = mailers["default"]["OPTIONS"].get("username", "")
    return env.get("DEFAULT_FROM_EMAIL", address, login if "@" in login else "webmaster@localhost")


# ---------------------------------------------------------------- settings files


def env_line(name: str, value: object, base_dir: Path, uses: str | None = None) -> str:
    """The ``.env`` line for a settings-file value; a password is never repeated.

    ``uses``: the lesson setting the line's value is (``DEFAULT_FROM_EMAIL = EMAIL_HOST_USER``), written ``$NAME``.
    """
    if uses:
        text = f"${uses}"
    elif name == "EMAIL_HOST_PASSWORD":
        text = "your-app-password"
    elif isinstance(value, bool):
        text = str(value).lower()
    elif isinstance(value, Path) and value.is_relative_to(base_dir):
        text = str(value.relative_to(base_dir))
    else:
        text = str(value)
    return f"{name}={text}"


def lesson_lines(namespace: Mapping[str, object]) -> dict[str, str | None]:
    """The lessons' mail lines in a settings module, in the file's order: {name: the lesson setting its value is}.

    A line counts when it sets one of Django's ``EMAIL_*`` settings, or when its value uses one
    (``DEFAULT_FROM_EMAIL = EMAIL_HOST_USER``: left alone, it fails once the others are deleted).
    The module's file is read for the second kind; names Django would read count without it.
    """
    found: dict[str, str | None] = {}
    try:
        statements = ast.parse(Path(str(namespace["__file__"])).read_text()).body
    except (KeyError, OSError, SyntaxError, ValueError):
        statements = []
    for statement in statements:
        if not isinstance(statement, ast.Assign | ast.AnnAssign) or statement.value is None:
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
        value = statement.value
        uses = {node.id for node in ast.walk(value) if isinstance(node, ast.Name)} & DEPRECATED_EMAIL_SETTINGS
        for target in targets:
            if isinstance(target, ast.Name) and (target.id in DEPRECATED_EMAIL_SETTINGS or uses):
                found[target.id] = value.id if isinstance(value, ast.Name) and uses else None
    return found | {name: None for name in namespace if name in DEPRECATED_EMAIL_SETTINGS and name not in found}


def load_settings(base_dir: Path, argv: list[str] | None = None) -> None:
    """Load Django's settings, and stop on the lessons' mail lines in the settings module (``refuse_email_settings``).

    ``argv``: manage.py's arguments, whose ``--settings`` and ``--pythonpath`` choose the module as
    Django's own ``ManagementUtility`` reads them (it would, only after the settings were loaded here).

    manage.py, core/wsgi.py and core/asgi.py call it before Django loads the settings itself: the
    module has run whole by then, so lines pasted anywhere in it are seen, in a settings/local.py
    that imports core.settings too (it is the module DJANGO_SETTINGS_MODULE names). Beside
    ``MAILERS`` Django refuses those lines with ``ImproperlyConfigured``, which manage.py would
    swallow and report as an unknown command; any other such error is left to Django to report.
    """
    from django.conf import ENVIRONMENT_VARIABLE, settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management.base import CommandError, CommandParser, handle_default_options

    if argv:
        parser = CommandParser(add_help=False, allow_abbrev=False)
        parser.add_argument("--settings")
        parser.add_argument("--pythonpath")
        with contextlib.suppress(CommandError):  # a bad argument is Django's to report, with its usage
            handle_default_options(parser.parse_known_args(argv[2:])[0])

    # Reading a setting loads the settings module. Django meets an error of its own again and reports it,
    # unless the lessons' lines are its cause (below).
    with contextlib.suppress(ImproperlyConfigured, ImportError):
        settings.INSTALLED_APPS  # noqa: B018
    module = sys.modules.get(os.environ.get(ENVIRONMENT_VARIABLE, ""))
    if module is not None:
        refuse_email_settings(vars(module), base_dir)


def refuse_email_settings(namespace: Mapping[str, object], base_dir: Path) -> None:
    """Stop on the lessons' ``EMAIL_BACKEND = ...`` lines in a settings module, showing the ``.env`` lines."""
    lines = lesson_lines(namespace)  # beside MAILERS Django would stop with a traceback
    if lines:
        file = Path(str(namespace.get("__file__", "")))
        shown = file.relative_to(base_dir) if file.is_relative_to(base_dir) else file
        env_lines = ", ".join(env_line(name, namespace.get(name), base_dir, uses) for name, uses in lines.items())
        raise ConfigError(
            ", ".join(lines),
            f"set in the settings file {shown}; this project reads mail settings from .env "
            "(Django 6.1 refuses EMAIL_* settings beside MAILERS)",
            f"delete those lines from the settings file and write in .env, one per line: {env_lines}",
        )


def sending_alias(alias: str = "default") -> str:
    """The alias of the mailer that sends for ``MAILERS[alias]``: a queueing mailer's ``sends_through``
    (``"direct"`` behind the default one, see ``MAIL_QUEUE``), else ``alias`` itself."""
    config = getattr(settings, "MAILERS", {}).get(alias) or {}
    return (config.get("OPTIONS") or {}).get("sends_through") or alias


# ---------------------------------------------------------------- DNS servers (sendtestmail --check)

NAMESERVERS_HINT = "write IP addresses, like 1.1.1.1, 127.0.0.1:5353 or [2606:4700:4700::1111]:53, comma-separated"


def parse_nameservers(text: str) -> list[tuple[str, int]]:
    """``DNS_NAMESERVERS`` text → (address, port) pairs: ``host``, ``host:port``, ``[ipv6]:port`` or a bare IPv6
    address, comma-separated, IP addresses only. A bad entry raises ``ValueError(problem, hint)``."""
    servers = []
    for entry in (item.strip() for item in text.split(",")):
        if not entry:
            continue
        host, port = entry, "53"
        if entry.startswith("["):
            host, bracket, rest = entry[1:].partition("]")
            if not bracket or (rest and not rest.startswith(":")):
                raise ValueError(f"{entry!r} is not an address with a port", NAMESERVERS_HINT)
            port = rest[1:] if rest else "53"
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{entry!r} is not an IP address", NAMESERVERS_HINT) from None
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"the port in {entry!r} is not a number between 1 and 65535", NAMESERVERS_HINT)
        servers.append((str(address), int(port)))
    return servers


def nameservers_text(text: str) -> str:
    """The ``DNS_NAMESERVERS`` setting: the text, once every entry is known to be good (an ``Env`` cast)."""
    parse_nameservers(text)
    return text.strip()


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine: ``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if host.lower().rstrip(".") in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
