"""What every setting read from the environment shares: ``ConfigError`` and the check of a URL's credentials.

``EMAIL_URL``, ``ADMINS_EMAIL_URL`` and ``DATABASE_URL`` are all ``scheme://login:password@host``:
a password holding an unencoded ``/``, ``#``, ``?``, ``@``, ``[`` or ``]`` makes the URL name
another host or port, or fail in a parser whose message quotes the password.
"""

from __future__ import annotations

import os
import re
from collections.abc import MutableMapping
from pathlib import Path
from urllib.parse import unquote

import environ

__all__ = [
    "ENCODE_HINT",
    "ConfigError",
    "check_env_file",
    "check_url_credentials",
    "database_from_url",
    "resolve_proxies",
]

ENCODE_HINT = (
    "percent-encode the login and password in the URL: / as %2F, # as %23, ? as %3F, @ as %40, "
    "[ as %5B, ] as %5D, % as %25 (python3 -c 'import urllib.parse,sys; "
    "print(urllib.parse.quote(sys.argv[1], safe=\"\"))' 'the-password')"
)


class ConfigError(Exception):
    """A setting read from the environment cannot work as written.

    Deliberately not ``ImproperlyConfigured``: Django's command runner swallows
    that while loading settings, and this must stop every command.
    """

    exit_code = 3

    def __init__(self, variable: str, problem: str, hint: str = ""):
        self.variable = variable
        self.problem = problem
        self.hint = hint
        super().__init__(f"{variable}: {problem}")


def check_url_credentials(variable: str, url: str) -> tuple[str, str]:
    """Refuse a URL whose login or password cannot be read as written, never echoing them.

    Returns the login and password, percent-decoded ("" when the URL has none).
    The credentials end at the last ``@`` of the authority, which itself ends at
    the first ``/``, ``?`` or ``#``. An ``@`` after that (``user:pa/ss@host``)
    means the password holds one of these unencoded: read as it is, the URL would
    name another host and port (``me:4651/TailSecret@host`` is host ``me``). A URL
    with no authority (``sqlite:////data/a@b.db``) has no credentials.
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
    login, _, password = authority.rpartition("@")[0].partition(":")
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
            if re.fullmatch(r"[A-Z][A-Z0-9]*_[A-Z0-9_]*", value):  # DEFAULT_FROM_EMAIL = EMAIL_HOST_USER
                hint = f".env does not substitute names: write it as {name}=${value} to take {value}'s value"
                if name in ("DEFAULT_FROM_EMAIL", "SERVER_EMAIL"):
                    hint += f", or leave {name} unset to send from the SMTP login"
            else:
                hint = f"write it as {name}={value}"
            raise ConfigError(
                name, f"line {number} of {path.name} has spaces around =, and .env lines are NAME=value", hint
            )


def resolve_proxies(environ: MutableMapping[str, str] = os.environ) -> None:
    """A value that is exactly ``$NAME`` (django-environ's proxy) takes the value of the set variable NAME."""
    for name, value in list(environ.items()):
        if (match := PROXY.fullmatch(value.strip())) and match.group(1) in environ:
            environ[name] = environ[match.group(1)]
