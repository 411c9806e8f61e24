"""Settings, read from the environment and an optional ``.env`` (see env.sample).

A value that cannot work stops start-up with ``ConfigError`` (exit status 3 from
manage.py), naming the variable. Mail settings are built by ``core.mail.config``;
the deprecated ``EMAIL_*`` settings are never defined here, and the lessons' ``EMAIL_* = ...``
lines pasted into this file (or a settings module importing it) stop start-up with the ``.env``
lines to write instead (``core.mail.config.load_settings``, run by manage.py and the servers' entry points).
"""

import os
from pathlib import Path

import environ

from core import counters
from core.env import Env, check_env_file, database_from_url, resolve_proxies, time_zone
from core.mail import config as mailconfig
from core.mail import dkim, roundtrip
from core.mail.config import ConfigError
from users import limits

BASE_DIR = Path(__file__).resolve().parent.parent

env = Env()  # every variable is read through it (core/env.py): a bad value is one ConfigError
# DJANGO_ENV_FILE names the file to read (default .env); empty reads none.
# Variables already in the environment win over the file. A value that is
# exactly $NAME takes the value of NAME (DEFAULT_FROM_EMAIL=$EMAIL_HOST_USER).
_env_file = os.environ.get("DJANGO_ENV_FILE", str(BASE_DIR / ".env"))
if _env_file and Path(_env_file).is_file():
    check_env_file(Path(_env_file))  # settings.py lines (NAME = value) stop here, not skipped
    environ.Env.read_env(_env_file)
resolve_proxies(os.environ)


# GENERAL
# ------------------------------------------------------------------------------
DEBUG = env.bool("DEBUG", False)
SECRET_KEY = env.text("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ConfigError(
            "SECRET_KEY",
            "not set, and DEBUG is off (a secret key is required outside development)",
            "set SECRET_KEY to a long random string (python -c 'import secrets; print(secrets.token_urlsafe(50))'), "
            "or DEBUG=true for local development",
        )
    SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"  # noqa: S105
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS")
TIME_ZONE = env.get("TIME_ZONE", time_zone, "UTC")
# The site speaks English and Russian (core/middleware.py says who chooses).
LANGUAGES = [("en", "English"), ("ru", "Русский")]


def _language(text: str) -> str:
    """``ru``, ``ru-RU``, ``ru_RU`` → ``ru``: the site has one English and one Russian."""
    code = text.lower().replace("_", "-").split("-")[0]
    if code not in dict(LANGUAGES):
        raise ValueError(f"{text!r} is not one of the site's languages", "use LANGUAGE_CODE=ru or LANGUAGE_CODE=en")
    return code


LANGUAGE_CODE = env.get("LANGUAGE_CODE", _language, "en")
# Set: every visitor gets LANGUAGE_CODE until they choose with the switch. Unset:
# the browser's language (Accept-Language) decides, English when it names neither.
LANGUAGE_FROM_BROWSER = not env.text("LANGUAGE_CODE")
# Translations: locale/<language>/LC_MESSAGES/django.po, compiled to django.mo and
# committed (make messages), so a fresh clone needs no gettext to run.
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
# Public address of the site, for links in mail sent outside a web request
# (resetuser, background tasks). Web requests use their own validated host.
SITE_URL = env.get("SITE_URL", mailconfig.site_url, "")

# APPS
# ------------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "core",  # before django_tasks_db: its db_worker command (heartbeats, recovery) wins
    "django_tasks_db",
    "delivery",  # the queue every message goes through
    "users",
    "outbox",  # the web outbox's template filters
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "core.middleware.LocaleMiddleware",  # LANGUAGE_CODE, else the browser's; the header's switch wins
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # No policy by default (SECURE_CSP is empty); the web outbox's views set their own.
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
]
ROOT_URLCONF = "core.urls"
WSGI_APPLICATION = "core.wsgi.application"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",  # csp_nonce, for the web outbox's script
            ],
        },
    },
]
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# DATABASES
# ------------------------------------------------------------------------------
_database_url = env.text("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": database_from_url("DATABASE_URL", _database_url)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web processes and workers share one file. A writer waits up to 20 s for
    # another's lock (?timeout= in the URL overrides) instead of failing; IMMEDIATE
    # takes the write lock when a transaction begins, so two transactions never
    # deadlock upgrading from read to write; WAL lets readers run beside a writer.
    # synchronous=NORMAL (SQLite's advice for WAL): safe when any process is
    # killed; a power loss may undo the last commits (docs/reset-and-queue.md).
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        **DATABASES["default"].get("OPTIONS", {}),
    }

# CACHES
# ------------------------------------------------------------------------------
# "counters" holds the rate-limit counters and nothing else (core/counters.py):
# diskcache in .cache/counters by default (one machine, no extra service), or
# CACHE_URL=redis://host:6379/0 to share them between machines. Stores that can
# lose a count (memcached, locmem, dummy, database) stop start-up. "default" is
# Django's per-process memory cache, for anything else.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    counters.ALIAS: counters.counters_cache(env.text("CACHE_URL"), BASE_DIR),
}

# TASKS (mail sent off the request path: run `manage.py db_worker`)
# ------------------------------------------------------------------------------
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# AUTH
# ------------------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# MAIL (Django 6.1 MAILERS; see core/mail/config.py and env.sample)
# ------------------------------------------------------------------------------
MAILERS = mailconfig.mailers_from_env(env, BASE_DIR)
# SMTP variables that EMAIL_BACKEND (a file or console backend) or EMAIL_URL overrides: check warns (W008).
MAIL_IGNORED_VARIABLES = mailconfig.ignored_variables(env, MAILERS)
DEFAULT_FROM_EMAIL = mailconfig.default_from_email(env, MAILERS)
# Every message the site sends is queued (delivery/backend.py): send_mail() returns once it is stored, and
# `manage.py db_worker` sends it through "direct", the mailer configured above (send_mail(..., using="direct")
# sends at once). MAIL_QUEUE=false: "default" sends at once too, as Django does.
MAIL_QUEUE = env.bool("MAIL_QUEUE", True)
MAIL_MAX_SIZE_MB = env.int("MAIL_MAX_SIZE_MB", 25, minimum=1)  # a larger message is refused when it is sent
# DKIM_PRIVATE_KEY and DKIM_SELECTOR (DKIM_DOMAIN): every message sent through SMTP or saved to the outbox
# is signed (core/mail/dkim.py). Unset: nothing is signed.
DKIM = dkim.settings_from_env(env, BASE_DIR)
if DKIM:
    MAILERS["default"] = dkim.signing_mailer(MAILERS["default"])
MAILERS = {
    "default": {"BACKEND": "delivery.backend.QueueBackend", "OPTIONS": {"sends_through": "direct"}}
    if MAIL_QUEUE
    else MAILERS["default"],
    "direct": MAILERS["default"],
}
# The DNS servers sendtestmail --check and the outbox's DKIM check ask ("1.1.1.1, 127.0.0.1:5353"); unset: the system's.
DNS_NAMESERVERS = env.get("DNS_NAMESERVERS", mailconfig.nameservers_text, "")
# The mailbox sendtestmail --roundtrip reads the test message back from (imaps://login:password@host:993);
# unset: the SMTP login's own mailbox at Yandex, Gmail or Mail.ru.
IMAP_URL = env.get("IMAP_URL", roundtrip.url_text, "")
SERVER_EMAIL = env.get("SERVER_EMAIL", mailconfig.address, DEFAULT_FROM_EMAIL)
ADMINS = env.get("ADMINS", mailconfig.addresses, [])
# A second mailer, used only to tell ADMINS that a message of the site was not
# delivered (the default mailer is the one failing then). Unset: the log.
if env.text("ADMINS_EMAIL_URL"):
    try:
        MAILERS["admins"] = mailconfig.mailer_from_url(
            env.text("ADMINS_EMAIL_URL"), BASE_DIR, mailconfig.DEFAULT_TIMEOUT
        )
        if DKIM:
            MAILERS["admins"] = dkim.signing_mailer(MAILERS["admins"])
    except ConfigError as error:
        raise ConfigError("ADMINS_EMAIL_URL", error.problem, error.hint) from None
MANAGERS = env.get("MANAGERS", mailconfig.addresses, ADMINS)

# PASSWORD RESET AND LOGIN (rate limits; see users/limits.py)
# ------------------------------------------------------------------------------
# Budgets as comma-separated rates, N per s/m/h/d. Defaults as strict as
# django-allauth's (20/m per client, 5/m per address) plus an hourly cap.
RESET_RATE_PER_CLIENT = env.get("RESET_RATE_PER_CLIENT", limits.rates, ["20/m"])
RESET_RATE_PER_ADDRESS = env.get("RESET_RATE_PER_ADDRESS", limits.rates, ["5/m", "10/h"])
# Failed logins (every login form: /users/login/ and /admin/login/), counted
# per client and per username; as strict as django-allauth's defaults.
LOGIN_RATE_PER_CLIENT = env.get("LOGIN_RATE_PER_CLIENT", limits.rates, ["10/m"])
LOGIN_RATE_PER_USERNAME = env.get("LOGIN_RATE_PER_USERNAME", limits.rates, ["5/5m"])
# Guesses at the current password on /users/password_change/, per client and per
# account, as strict as the login's.
PASSWORD_CHANGE_RATE_PER_CLIENT = env.get("PASSWORD_CHANGE_RATE_PER_CLIENT", limits.rates, ["10/m"])
PASSWORD_CHANGE_RATE_PER_ACCOUNT = env.get("PASSWORD_CHANGE_RATE_PER_ACCOUNT", limits.rates, ["5/5m"])
# How many proxies in front of the site append to X-Forwarded-For. 0: the header
# is ignored and the client is REMOTE_ADDR (anyone can write the header).
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", 0, minimum=0)

# MAIL QUEUE (every message the site sends: delivery/attempts.py, delivery/worker.py)
# ------------------------------------------------------------------------------
# Attempts at one message, and the first wait between them (doubling): 8 attempts
# from 30 s cover an outage of about an hour. Before, RESET_SEND_ATTEMPTS and
# RESET_RETRY_DELAY: still read (core.env.RENAMED), and `check` warns core.W001.
MAIL_SEND_ATTEMPTS = env.int("MAIL_SEND_ATTEMPTS", 8, minimum=1)
MAIL_RETRY_DELAY = env.seconds("MAIL_RETRY_DELAY", 30.0)
# A worker that has not written its heartbeat for this long is dead: the attempt
# it held is queued again by the other workers (delivery/worker.py). Before, RESET_WORKER_TIMEOUT.
MAIL_WORKER_TIMEOUT = env.seconds("MAIL_WORKER_TIMEOUT", 60.0)

# SIGN-UP (users/views.py, users/signup.py; docs/signup-and-notices.md)
# ------------------------------------------------------------------------------
# How long a confirmation link works, in seconds (3 days, as django-allauth's).
SIGNUP_CONFIRM_TIMEOUT = env.int("SIGNUP_CONFIRM_TIMEOUT", 3 * 24 * 3600, minimum=1)
# Budgets as the reset's: over the per-client one the page answers 429, over the
# per-address one it answers as usual and queues nothing. Sign-up per client as
# django-allauth's (20/m); per address as the reset's, so nobody can flood a mailbox.
SIGNUP_RATE_PER_CLIENT = env.get("SIGNUP_RATE_PER_CLIENT", limits.rates, ["20/m"])
SIGNUP_RATE_PER_ADDRESS = env.get("SIGNUP_RATE_PER_ADDRESS", limits.rates, ["5/m", "10/h"])
SIGNUP_RESEND_RATE_PER_CLIENT = env.get("SIGNUP_RESEND_RATE_PER_CLIENT", limits.rates, ["20/m"])
SIGNUP_RESEND_RATE_PER_ADDRESS = env.get("SIGNUP_RESEND_RATE_PER_ADDRESS", limits.rates, ["5/m", "10/h"])

# CHANGE OF ADDRESS (users/views.py, users/notices.py; docs/signup-and-notices.md)
# ------------------------------------------------------------------------------
# How long the link sent to the new address works, in seconds (3 days, as the sign-up's).
EMAIL_CHANGE_TIMEOUT = env.int("EMAIL_CHANGE_TIMEOUT", 3 * 24 * 3600, minimum=1)
# Change requests per client and per account (over it 429, as allauth's 20/m), and
# per new address (over it the usual page and nothing queued: no mailbox flooded).
EMAIL_CHANGE_RATE_PER_CLIENT = env.get("EMAIL_CHANGE_RATE_PER_CLIENT", limits.rates, ["20/m"])
EMAIL_CHANGE_RATE_PER_ADDRESS = env.get("EMAIL_CHANGE_RATE_PER_ADDRESS", limits.rates, ["5/m", "10/h"])

# SECURITY
# ------------------------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# With DEBUG off the site is served over HTTPS: cookies travel only there.
# HSTS and SSL redirect are left to the proxy in front (docs/deployment.md).
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
# Debug page and error mail: also hide every configured password and SECRET_KEY by
# value, and the credentials of any URL (EMAIL_URL in a request's META ...) (core/security.py).
DEFAULT_EXCEPTION_REPORTER_FILTER = "core.security.SecretsFilter"
# ... and the exception's own text (a database or Redis error quoting its password).
DEFAULT_EXCEPTION_REPORTER = "core.security.SecretsReporter"

# LOGGING
# ------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        # A failed delivery is one line from delivery.attempts; its traceback only with db_worker -v2.
        "explained_task_failures": {"()": "core.logging.ExplainedTaskFailures"},
        # Django's line for each 429: users.limits logs a flood's first refusal instead.
        "refusals_logged_once": {"()": "core.logging.RefusalsLoggedOnce"},
    },
    "formatters": {"masked": {"()": "core.security.SecretsFormatter"}},  # every secret, in a traceback too
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "masked"},
        # Django's error mail to ADMINS, but a mail failure never escapes the logging call.
        "mail_admins": {
            "class": "core.logging.AdminEmailHandler",
            "level": "ERROR",
            "formatter": "masked",  # the logged message, above the report
            "filters": ["require_debug_false"],
        },
    },
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "django": {"handlers": ["mail_admins"], "level": "INFO"},
        "django.request": {"filters": ["refusals_logged_once"]},
        # Task outcomes go to the console only. A failed attempt at a message
        # is retried, and a lost one is reported by delivery.attempts through the
        # "admins" mailer; mail_admins would try the default mailer, the failing one.
        "django.tasks": {
            "handlers": ["console"],
            "level": "INFO",
            "propagate": False,
            "filters": ["explained_task_failures"],
        },
    },
}
