"""Reading the environment: the one reader (``Env``), its value types, ``ConfigError``, URL credentials.

Every part of the project that reads a variable reads it through ``Env``: a value
that is unset or empty takes the default; any other value goes through a *cast*, a
function from the text to the value that raises ``ValueError(problem[, hint])``;
``Env.get`` turns that into the one-line ``ConfigError`` naming the variable (exit 3),
with a hint when the value looks like another variable's name (``.env`` does not
substitute names). Lists are read by django-environ's own list cast.

``EMAIL_URL``, ``ADMINS_EMAIL_URL``, ``DATABASE_URL`` and ``CACHE_URL`` are all
``scheme://login:password@host``: a password holding an unencoded ``/``, ``#``, ``?``, ``@``,
``[`` or ``]`` makes the URL name another host or port, or fail in a parser whose message
quotes the password; one holding white space (Gmail's ``abcd efgh ijkl mnop``) is cut or
changed by URL parsers. Each is refused (``check_url_credentials``).
"""

from __future__ import annotations

import os
import re
import zoneinfo
from collections.abc import Callable, Mapping, MutableMapping
from pathlib import Path
from urllib.parse import unquote

import environ
from django.utils.text import capfirst

__all__ = [
    "ENCODE_HINT",
    "RENAMED",
    "SPACE_HINT",
    "ConfigError",
    "Env",
    "boolean",
    "check_env_file",
    "check_url_credentials",
    "database_from_url",
    "gettext_noop",
    "read",
    "resolve_proxies",
    "seconds",
    "tcp_port",
    "time_zone",
    "whole",
]


def gettext_noop(text: str) -> str:
    """Marks ``text`` for translation (``makemessages`` reads this name), as Django's ``gettext_noop`` does, but
    without reading the settings: Django's reads ``USE_I18N``, and this runs while the settings load."""
    return text


ENCODE_HINT = gettext_noop(  # English at start-up; translated where a command shows it (``--imap``)
    "percent-encode the login and password in the URL: / as %2F, # as %23, ? as %3F, @ as %40, "
    "[ as %5B, ] as %5D, % as %25 (python3 -c 'import urllib.parse,sys; "
    "print(urllib.parse.quote(sys.argv[1], safe=\"\"))' 'the-password')"
)

SPACE_HINT = (
    "percent-encode the login and password in the URL: a space as %20, a tab as %09; "
    "Gmail shows its app password in groups of four: the spaces may simply be removed"
)


# Variables renamed, new name: old name. The old name still works (``Env.get`` reads it, and the
# system check core.W001 says to use the new one); both set to different values is a ConfigError.
RENAMED = {
    "MAIL_SEND_ATTEMPTS": "RESET_SEND_ATTEMPTS",
    "MAIL_RETRY_DELAY": "RESET_RETRY_DELAY",
    "MAIL_WORKER_TIMEOUT": "RESET_WORKER_TIMEOUT",
}


class ConfigError(Exception):
    """A setting read from the environment cannot work as written.

    Deliberately not ``ImproperlyConfigured``: Django's command runner swallows
    that while loading settings, and this must stop every command.
    """

    exit_code = 3

    def __init__(self, variable: str, problem: str, hint: str = ""):
        self.variable = variable
        self.problem = problem
        self.hint = capfirst(hint)  # a sentence, in every language, however its msgid begins
        super().__init__(f"{variable}: {problem}")


TRUE_WORDS = {"1", "true", "yes", "on", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "off", "n", "f"}
# A value that is only a variable's name, or django-environ's proxy of one ($NAME).
VARIABLE_NAME = re.compile(r"\$?([A-Z][A-Z0-9]*_[A-Z0-9_]*)")


class Env:
    """The environment (``os.environ`` or any mapping, for tests), read by type."""

    def __init__(self, source: Mapping[str, str] | None = None):
        self.source = os.environ if source is None else source

    def text(self, name: str, default: str = "") -> str:
        """The value without surrounding blanks; ``default`` when unset or empty."""
        return self.source.get(name, "").strip() or default

    def secret(self, name: str) -> str:
        """A password: exactly as written, blanks included."""
        return self.source.get(name, "")

    def get[T](self, name: str, cast: Callable[[str], T], default: T) -> T:
        """``cast(value)``, or ``default`` when unset or empty; a ``ValueError`` becomes a ``ConfigError``.

        A renamed variable (``RENAMED``) is read under its old name too.
        """
        text = self.text(name)
        value = read(name, cast, text) if text else default
        old = RENAMED.get(name, "")
        if old_text := self.text(old):
            old_value = read(old, cast, old_text)
            if text and old_value != value:
                raise ConfigError(
                    name,
                    f"set to {text!r}, and its old name {old} to {old_text!r}",
                    f"delete the {old} line and keep {name}",
                )
            value = old_value
        return value

    def renamed(self) -> dict[str, str]:
        """The renamed variables set under their old name: old name → new name."""
        return {old: new for new, old in RENAMED.items() if self.text(old)}

    def bool(self, name: str, default: bool = False) -> bool:
        return self.get(name, boolean, default)

    def int(self, name: str, default: int, *, minimum: int = 0) -> int:
        return self.get(name, whole(minimum), default)

    def seconds(self, name: str, default: float, *, positive: bool = False) -> float:
        return self.get(name, seconds(positive=positive), default)

    def list(self, name: str, default: list[str] | None = None) -> list[str]:
        def items(text: str) -> list[str]:
            return [item.strip() for item in environ.Env.parse_value(text, list) if item.strip()]

        return self.get(name, items, default or [])


def read[T](name: str, cast: Callable[[str], T], text: str) -> T:
    """``cast(text)``, its ``ValueError`` a ``ConfigError`` naming ``name`` (a variable, or a URL's option)."""
    try:
        return cast(text)
    except ValueError as error:
        problem, hint = (*error.args, "")[:2]
        raise ConfigError(name, problem, hint or name_hint(name, text)) from None


def name_hint(variable: str, value: str) -> str:
    """The hint for a value that is another variable's name (``DEFAULT_FROM_EMAIL=EMAIL_HOST_USER``), else ""."""
    match = VARIABLE_NAME.fullmatch(value.strip())
    if not match:
        return ""
    name = match.group(1)
    unset = (
        ", or leave it unset to send from the SMTP login" if variable in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL") else ""
    )
    if value.strip().startswith("$"):
        return f"{variable}=${name} takes the value of {name}, which is not set: set {name}{unset}"
    return (
        f".env does not substitute names: {variable}={name} is the text {name!r}; "
        f"write {variable}=${name} to take its value{unset}"
    )


# ---------------------------------------------------------------- casts: text → value, or ValueError


def boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ValueError(f"{text!r} is not true or false (use 1/0, true/false, yes/no, on/off)")


def whole(minimum: int = 0) -> Callable[[str], int]:
    def cast(text: str) -> int:
        try:
            number = int(text.strip())
        except ValueError:
            raise ValueError(f"{text.strip()!r} is not a whole number") from None
        if number < minimum:
            raise ValueError(f"must be {minimum} or more, not {number}")
        return number

    return cast


def tcp_port(text: str) -> int:
    try:
        number = int(text.strip())
    except ValueError:
        raise ValueError(f"the port {text.strip()!r} is not a number") from None
    if not 0 < number < 65536:
        raise ValueError(f"the port {number} is not between 1 and 65535")
    return number


def seconds(*, positive: bool) -> Callable[[str], float]:
    """Seconds, ``0`` or more (``positive``: more than 0)."""

    def cast(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            value = float("nan")
        if positive and not 0 < value < float("inf"):
            raise ValueError(f"{text.strip()!r} is not a number of seconds more than 0", "10 is a sensible value")
        if not 0 <= value < float("inf"):
            raise ValueError(f"{text.strip()!r} is not a number of seconds (0 or more)")
        return value

    return cast


def time_zone(text: str) -> str:
    if text not in zoneinfo.available_timezones():
        raise ValueError(f"{text!r} is not a time zone name", "use a name like Europe/Moscow or UTC")
    return text


def check_url_credentials(variable: str, url: str) -> tuple[str, str]:
    """Refuse a URL whose login or password cannot be read as written, never echoing them.

    Returns the login and password, percent-decoded ("" when the URL has none).
    The credentials end at the last ``@`` of the authority, which itself ends at
    the first ``/``, ``?`` or ``#``. An ``@`` after that (``user:pa/ss@host``)
    means the password holds one of these unencoded: read as it is, the URL would
    name another host and port (``me:4651/TailSecret@host`` is host ``me``). White
    space in the credentials is refused too. A URL with no authority
    (``sqlite:////data/a@b.db``) has no credentials.
    """
    rest = url.partition("://")[2]
    end = next((index for index, char in enumerate(rest) if char in "/?#"), len(rest))
    authority, after = rest[:end], rest[end:]
    if not authority:
        return "", ""
    if "@" not in authority:
        if "@" in after:
            raise ConfigError(
                variable,
                "the login or password holds an unencoded /, # or ? (the URL cannot be read as written)",
                ENCODE_HINT,
            )
        return "", ""
    # An unencoded @ in the login (anna@example.com) is read right: the host starts after the last @.
    userinfo = authority.rpartition("@")[0]
    if any(char.isspace() for char in userinfo):  # URL parsers drop a tab, or end the URL at a space
        problem = "the login or password holds white space (the URL cannot be read as written)"
        raise ConfigError(variable, problem, SPACE_HINT)
    login, _, password = userinfo.partition(":")
    if any(char in login for char in "[]") or any(char in password for char in "@[]"):
        problem = "the login or password holds an unencoded @, [ or ] (the URL cannot be read as written)"
        raise ConfigError(variable, problem, ENCODE_HINT)
    return unquote(login), unquote(password)


def database_from_url(variable: str, url: str) -> dict:
    """One ``DATABASES`` entry from a django-environ database URL; any flaw is one ``ConfigError``."""
    scheme = url.partition("://")[0]
    if scheme not in environ.Env.DB_SCHEMES:
        raise ConfigError(
            variable,
            f"unknown database scheme {scheme!r}",
            "for example sqlite:///db.sqlite3 or postgres://user:password@host:5432/name",
        )
    check_url_credentials(variable, url)  # before parsing, which may read a password as the host or port
    try:
        return environ.Env.db_url_config(url)
    except ValueError:  # its message quotes the text it could not read: the password, perhaps
        problem = "the URL cannot be read as written (a port that is not a number, or a [ or ])"
        raise ConfigError(variable, problem, ENCODE_HINT) from None


# A settings.py line pasted into .env: ``EMAIL_HOST = "smtp.yandex.ru"``. django-environ
# reads only NAME=value, logs "Invalid line" for this and goes on without the variable.
SPACED_LINE = re.compile(r"\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s+=\s*(.*?)\s*")
# django-environ's proxy: a value that is exactly $NAME takes NAME's value.
PROXY = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)")


def check_env_file(path: Path) -> None:
    """Refuse settings.py syntax in a ``.env`` file, which django-environ would skip with a warning."""
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if match := SPACED_LINE.fullmatch(line):
            name, value = match.groups()
            if len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            hint = name_hint(name, value) or f"write it as {name}={value}"
            raise ConfigError(
                name, f"line {number} of {path.name} has spaces around =, and .env lines are NAME=value", hint
            )


def resolve_proxies(environ: MutableMapping[str, str] = os.environ) -> None:
    """A value that is exactly ``$NAME`` (django-environ's proxy) takes the value of the set variable NAME."""
    for name, value in list(environ.items()):
        if (match := PROXY.fullmatch(value.strip())) and match.group(1) in environ:
            environ[name] = environ[match.group(1)]
