"""Test settings: the project's settings from a controlled environment.

A developer's .env or shell (EMAIL_URL pointing at a real provider, say) must
never reach the tests, so every variable the project reads is cleared first.
"""

import atexit
import os
import shutil
import tempfile

for _name in list(os.environ):
    if _name.startswith(("EMAIL_", "MAIL_", "RESET_", "LOGIN_RATE_", "SIGNUP_")) or _name in {
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
        "CACHE_URL",
        "ADMINS_EMAIL_URL",
        "TRUSTED_PROXY_COUNT",
    }:
        del os.environ[_name]
os.environ.update(DJANGO_ENV_FILE="", DEBUG="true", SECRET_KEY="tests-only-secret-key-" + "x" * 40)
# Rate-limit counters of one test run stay out of the project's .cache/ (tests
# that count requests clear it first: tests/users/test_reset_limits.py).
os.environ["CACHE_URL"] = "diskcache://" + tempfile.mkdtemp(prefix="mailproof-tests-cache-")
atexit.register(shutil.rmtree, os.environ["CACHE_URL"].removeprefix("diskcache://"), ignore_errors=True)

from core.settings import *  # noqa: E402, F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast tests
INSTALLED_APPS = [*INSTALLED_APPS, "tests.lesson_app"]  # noqa: F405 - the lesson's Task project, its mail as written
