"""Test settings: the project's settings from a controlled environment.

A developer's .env or shell (EMAIL_URL pointing at a real provider, say) must
never reach the tests, so every variable the project reads is cleared first.
"""

import os

for _name in list(os.environ):
    if _name.startswith("EMAIL_") or _name in {
        "DJANGO_ENV_FILE",
        "SECRET_KEY",
        "DEBUG",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "DATABASE_URL",
        "TIME_ZONE",
        "LANGUAGE_CODE",
        "DEFAULT_FROM_EMAIL",
        "SERVER_EMAIL",
        "ADMINS",
        "MANAGERS",
        "SITE_URL",
    }:
        del os.environ[_name]
os.environ.update(DJANGO_ENV_FILE="", DEBUG="true", SECRET_KEY="tests-only-secret-key-" + "x" * 40)

from core.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
