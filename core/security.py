"""What no report shows: the credentials in any URL, and ``SECRET_KEY``.

Django's own filter hides a value by its *name* (PASS, KEY, SECRET, TOKEN ...),
so ``EMAIL_URL=smtp://anna:pw@host`` in ``request.META`` (``runserver`` copies
the process environment into every request) or a ``redis://:pw@host`` in
``CACHES`` showed in full on the debug page and in the error mail to ``ADMINS``.
``SecretsFilter`` (the ``DEFAULT_EXCEPTION_REPORTER_FILTER``) also hides a value
by what it *holds*: the login and password part of any ``scheme://user:pass@host``
and the value of ``SECRET_KEY``, in settings, ``META``, cookies and the
variables of every traceback frame, nested in dicts, lists and tuples too. Every
report Django makes goes through it, and ``diffsettings`` reuses it.
"""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

MASK = "********"
# scheme://userinfo@ : the userinfo runs to the last "@" before white space, so a
# password holding an unencoded "/", "#", "?" or "@" is hidden whole.
URL_CREDENTIALS = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>\S*)@")
# A SECRET_KEY shorter than this is not looked for inside other text (it is still
# hidden where a setting or variable is named like a secret).
MIN_SECRET_LENGTH = 8


def mask_url_credentials(text: str) -> str:
    """``smtp://anna:pw@host`` → ``smtp://********@host``; anything else unchanged."""
    if "://" not in text or "@" not in text:
        return text
    return URL_CREDENTIALS.sub(lambda match: f"{match['scheme']}{MASK}@", text)


def secret_keys() -> list[str]:
    keys = [getattr(settings, "SECRET_KEY", ""), *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return [key for key in keys if isinstance(key, str) and len(key) >= MIN_SECRET_LENGTH]


def mask_text(text: str) -> str:
    """``text`` with URL credentials and the value of ``SECRET_KEY`` replaced by ``********``."""
    text = mask_url_credentials(text)
    for key in secret_keys():
        text = text.replace(key, MASK)
    return text


class SecretsFilter(SafeExceptionReporterFilter):
    """Django's filter (by name), plus URL credentials and ``SECRET_KEY`` (by value)."""

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

    def safe_settings_text(self, key: str, value) -> str:
        """``repr`` of a setting's cleansed value, as ``diffsettings`` prints it."""
        return repr(self.cleanse_setting(key, value))


class SecretsReporter(ExceptionReporter):
    """The debug page and the error mail, with the exception's own text masked too.

    The filter cleanses settings, ``META`` and variables; the exception's message
    (``exception_value``), its notes, the messages of the exceptions chained to it
    and the ``repr`` of any other object in a frame's variables are shown as they
    are, and a database or Redis error quotes its URL.
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
    """A log line, its traceback included, with URL credentials and ``SECRET_KEY`` masked."""

    def format(self, record):
        return mask_text(super().format(record))
