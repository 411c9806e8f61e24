"""Settings with faults a person could write into a settings module (tests/commands/test_json_contract.py).

Each command trips over one of them as a real bug would: an exception no command expects.
"""

from core.settings import *  # noqa: F403

ADMINS = 42  # not a list: `sendtestmail --admins` cannot iterate it
MAILERS = {"default": {"BACKEND": "outbox.backend.EmailBackend", "OPTIONS": {"file_path": 42}}}  # not a path
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "/nonexistent-folder/db.sqlite3"}}
