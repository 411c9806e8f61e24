"""What no report shows: every credential the settings hold, and the credentials in any URL.

Django's own filter hides a value by its *name* (PASS, KEY, SECRET, TOKEN ...),
so ``EMAIL_URL=smtp://anna:pw@host`` in ``request.META`` (``runserver`` copies
the process environment into every request), a ``redis://:pw@host`` in
``CACHES``, psycopg's ``conninfo`` (``... password=pw ...``) or redis-py's
``auth_args`` (``('pw',)``) in a traceback's variables showed in full on the
debug page and in the error mail to ``ADMINS``. Here a value is also hidden by
what it *holds*:

* every configured secret (``configured_secrets``: ``SECRET_KEY`` and its
  fallbacks, each database's password, the password in each cache's
  ``LOCATION``, each mailer's password), by its value in every form: as it is,
  percent-encoded (any mix of encoded characters, either case, a space as ``+``),
  and escaped as in a ``repr``. A secret of ``MIN_SECRET_LENGTH`` characters or
  more is hidden wherever it stands; a shorter one only where it stands as a
  word of its own (between blanks, quotes, brackets or punctuation), so the
  password ``e`` leaves "refused" alone;
* the login and password part of any ``scheme://user:pass@host``, configured or not.

``mask_text`` does both, for any text. ``SecretsFilter`` (the
``DEFAULT_EXCEPTION_REPORTER_FILTER``) applies it to settings, ``META``, cookies
and the variables of every traceback frame, nested in dicts, lists and tuples
too; ``SecretsReporter`` to the exception's own text; ``SecretsFormatter`` to the
log; ``diffsettings`` reuses the filter, and the delivery queue stores errors
through ``mask_text`` (delivery/attempts.py).
"""

from __future__ import annotations

import functools
import logging
import re
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

MASK = "********"
# scheme://userinfo@ : the userinfo runs to the last "@" before white space, so a
# password holding an unencoded "/", "#", "?" or "@" is hidden whole.
URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>\S*)@")
# A configured secret shorter than this is hidden only as a word of its own.
MIN_SECRET_LENGTH = 8
WORD_BEFORE = r"(?<![^\s'\"(<\[=:])"
WORD_AFTER = r"(?![^\s'\")>\].,;:])"


def mask_url_credentials(text: str) -> str:
    """``smtp://anna:pw@host`` → ``smtp://********@host``; anything else unchanged."""
    if "://" not in text or "@" not in text:
        return text
    return URL_CREDENTIALS.sub(lambda match: f"{match['scheme']}{MASK}@", text)


def url_password(url: object) -> str:
    """The decoded password of a URL ("" when it has none, or is no URL)."""
    try:
        return unquote(urlsplit(url).password or "") if isinstance(url, str) else ""
    except ValueError:
        return ""


def configured_secrets() -> list[str]:
    """Every credential the settings hold, decoded: where ``DATABASE_URL``, ``CACHE_URL``, ``EMAIL_URL``,
    ``ADMINS_EMAIL_URL``, ``IMAP_URL``, ``EMAIL_HOST_PASSWORD`` and ``SECRET_KEY`` end up."""
    if not settings.configured:  # nothing is configured yet, so nothing can have been used
        return []
    found = [getattr(settings, "SECRET_KEY", ""), *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    found += [database.get("PASSWORD") for database in settings.DATABASES.values()]
    for cache in settings.CACHES.values():
        locations = cache.get("LOCATION", "")
        found += [url_password(location) for location in ([locations] if isinstance(locations, str) else locations)]
    found += [mailer.get("OPTIONS", {}).get("password") for mailer in getattr(settings, "MAILERS", {}).values()]
    found.append(url_password(getattr(settings, "IMAP_URL", "")))
    return [secret for secret in found if isinstance(secret, str) and secret]


def character_forms(char: str) -> str:
    """A pattern for one character of a secret: as it is, percent-encoded (either case), escaped as in a repr."""
    forms = {
        re.escape(char),
        re.escape(repr(char)[1:-1]),
        "(?i:" + "".join(f"%{byte:02X}" for byte in char.encode()) + ")",
    }
    if char in "'\"":
        forms.add(re.escape("\\" + char))
    if char == " ":
        forms.add(r"\+")
    if not char.isascii():  # in a bytes repr
        forms.add(re.escape("".join(f"\\x{byte:02x}" for byte in char.encode())))
    return "(?:" + "|".join(sorted(forms)) + ")"


@functools.lru_cache(maxsize=8)
def secrets_pattern(secrets: tuple[str, ...]) -> re.Pattern | None:
    """One pattern finding any of ``secrets`` in any of its forms (longest first)."""
    patterns = []
    for secret in sorted(set(secrets), key=len, reverse=True):
        pattern = "".join(character_forms(char) for char in secret)
        patterns.append(pattern if len(secret) >= MIN_SECRET_LENGTH else f"{WORD_BEFORE}{pattern}{WORD_AFTER}")
    return re.compile("|".join(patterns)) if patterns else None


def mask_text(text: str, *secrets: str) -> str:
    """``text`` with URL credentials, every configured secret and ``secrets`` replaced by ``********``."""
    text = mask_url_credentials(text)
    pattern = secrets_pattern(tuple(secret for secret in (*configured_secrets(), *secrets) if secret))
    return pattern.sub(MASK, text) if pattern else text


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter (by name), plus configured secrets and URL credentials (by value)."""

    cleansed_substitute = MASK

    def cleanse_setting(self, key, value):
        cleansed = super().cleanse_setting(key, value)  # recurses into dicts, lists, tuples through this method
        if isinstance(cleansed, str):
            return mask_text(cleansed)
        return cleansed

    def cleanse_special_types(self, request, value):
        """A traceback frame's variable: strings and containers are cleansed as settings are."""
        value = super().cleanse_special_types(request, value)
        if isinstance(value, str | dict | list | tuple):
            return self.cleanse_setting("", value)
        return value


class SecretsReporter(ExceptionReporter):
    """The debug page and the error mail, with the exception's own text masked too.

    The filter cleanses settings, ``META`` and variables; the exception's message
    (``exception_value``), its notes, the messages of the exceptions chained to it
    and the ``repr`` of any other object in a frame's variables would be shown as
    they are, and a database or Redis error may quote its URL or password.
    """

    def get_traceback_data(self):
        data = super().get_traceback_data()
        for key in ("exception_value", "exception_notes", "unicode_hint"):
            if data.get(key):
                data[key] = mask_text(str(data[key]))
        for frame in data["frames"]:
            # A variable is shown as its repr: an exception object's holds its message.
            frame["vars"] = [(name, mask_text(value)) for name, value in frame.get("vars", [])]
            if frame.get("exc_cause") is not None:
                frame["exc_cause"] = mask_text(str(frame["exc_cause"]))
        return data


class SecretsFormatter(logging.Formatter):
    """A log line, its traceback included, with configured secrets and URL credentials masked."""

    def format(self, record):
        return mask_text(super().format(record))
