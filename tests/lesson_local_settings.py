"""A settings/local.py as many guides write it: the project's settings imported, then the second lesson's lines.

Run as DJANGO_SETTINGS_MODULE=tests.lesson_local_settings (tests/test_lesson_settings.py).
"""

from core.settings import *  # noqa: F403

EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
EMAIL_HOST = "smtp.yandex.ru"
EMAIL_PORT = 465
EMAIL_USE_SSL = True
EMAIL_HOST_USER = "learner@yandex.ru"
EMAIL_HOST_PASSWORD = "s3cr3t-app-password"
DEFAULT_FROM_EMAIL = EMAIL_HOST_USER
SERVER_EMAIL = EMAIL_HOST_USER
