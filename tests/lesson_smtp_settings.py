"""core/settings.py with the second lesson's lines pasted at its end (see tests/lesson_file_settings.py)."""

from pathlib import Path

_SOURCE = Path(__file__).resolve().parent.parent / "core" / "settings.py"
exec(compile(_SOURCE.read_text(), str(_SOURCE), "exec"))  # noqa: S102

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"

EMAIL_HOST = "smtp.yandex.ru"
EMAIL_PORT = 465
EMAIL_USE_SSL = True

EMAIL_HOST_USER = "learner@yandex.ru"
EMAIL_HOST_PASSWORD = "s3cr3t-app-password"

DEFAULT_FROM_EMAIL = EMAIL_HOST_USER
SERVER_EMAIL = EMAIL_HOST_USER
