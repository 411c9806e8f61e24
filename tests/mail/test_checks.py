"""core/mail/checks.py: each mail system check raised by a setting, and quiet for the right one."""

import os

import pytest
from django.core.checks import run_checks

from core.mail.checks import check_mailers
from core.mail.config import OUTBOX_BACKEND
from tests.conftest import manage
from testsupport.smtp_servers import LOGIN, PASSWORD, mailers_for


def ids(settings) -> list[str]:
    return sorted(message.id for message in check_mailers())


@pytest.fixture
def good_smtp(settings):
    """An SMTP mailer set up as docs/configuration.md says: SSL on 465, full login, sender = login."""
    settings.MAILERS = mailers_for("smtp.yandex.ru", 465, ssl=True, user=LOGIN, password=PASSWORD, timeout=10)
    settings.DEFAULT_FROM_EMAIL = f"Site <{LOGIN}>"
    settings.DEBUG = False
    return settings.MAILERS["default"]["OPTIONS"]


def test_a_good_smtp_mailer_raises_nothing(settings, good_smtp):
    assert ids(settings) == []


def test_checks_are_registered_under_the_mail_tag(settings, good_smtp):
    good_smtp["timeout"] = None
    assert "core.mail.W003" in [message.id for message in run_checks(tags=["mail"])]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"use_tls": True}, "core.mail.E001"),  # with use_ssl: both on
        ({"use_ssl": False}, "core.mail.W001"),  # port 465 without SSL
        ({"port": 587}, "core.mail.W002"),  # SSL on the STARTTLS port
        ({"port": 25}, "core.mail.W002"),
        ({"timeout": None}, "core.mail.W003"),
        ({"password": ""}, "core.mail.W007"),
    ],
)
def test_smtp_option_that_cannot_work(settings, good_smtp, options, expected):
    good_smtp.update(options)
    assert ids(settings) == [expected]
    [message] = check_mailers()
    assert message.hint and "MAILERS['default']" in message.msg and PASSWORD not in message.msg


def test_the_right_port_for_each_security_is_quiet(settings, good_smtp):
    good_smtp.update(use_ssl=False, use_tls=True, port=587)
    assert ids(settings) == []


def test_placeholder_sender_with_an_smtp_mailer(settings, good_smtp):
    settings.DEFAULT_FROM_EMAIL = "webmaster@localhost"
    assert ids(settings) == ["core.mail.W005"]


def test_sender_in_another_domain_than_the_login(settings, good_smtp):
    settings.DEFAULT_FROM_EMAIL = "Site <noreply@cinemahub.example>"
    assert ids(settings) == ["core.mail.W006"]


def test_sender_in_the_login_domain_is_quiet(settings, good_smtp):
    settings.DEFAULT_FROM_EMAIL = "other-box@EXAMPLE.com"
    assert ids(settings) == []


@pytest.mark.parametrize(
    "backend",
    [
        OUTBOX_BACKEND,
        "django.core.mail.backends.filebased.EmailBackend",
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.locmem.EmailBackend",
        "django.core.mail.backends.dummy.EmailBackend",
    ],
)
def test_local_backend_while_debug_is_off(settings, tmp_path, backend):
    settings.MAILERS = {
        "default": {
            "BACKEND": backend,
            "OPTIONS": {"file_path": str(tmp_path)} if "file" in backend or backend == OUTBOX_BACKEND else {},
        }
    }
    settings.DEBUG = False
    assert ids(settings) == ["core.mail.W004"]
    settings.DEBUG = True
    assert ids(settings) == []


def test_outbox_folder_that_can_be_created_is_quiet(settings, tmp_path):
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(tmp_path / "a" / "b")}}}
    settings.DEBUG = True
    assert ids(settings) == []
    assert not (tmp_path / "a").exists()  # a check creates nothing


def test_outbox_folder_that_is_a_file(settings, tmp_path):
    (tmp_path / "taken").write_text("")
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(tmp_path / "taken")}}}
    settings.DEBUG = True
    [message] = check_mailers()
    assert message.id == "core.mail.E002" and "is not a folder" in message.msg


def test_outbox_folder_that_cannot_be_created_under_a_file(settings, tmp_path):
    (tmp_path / "taken").write_text("")
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(tmp_path / "taken" / "x")}}}
    settings.DEBUG = True
    [message] = check_mailers()
    assert message.id == "core.mail.E002" and "cannot be created" in message.msg


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes everywhere")
def test_outbox_folder_that_is_not_writable(settings, tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o500)
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(folder)}}}
    settings.DEBUG = True
    assert ids(settings) == ["core.mail.E002"]


# The first lesson's line left in .env beside the second lesson's: the file backend wins.
LESSONS_IN_ENV = {
    "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
    "EMAIL_FILE_PATH": "sent_emails",
    "EMAIL_HOST": "smtp.yandex.ru",
    "EMAIL_PORT": "465",
    "EMAIL_USE_SSL": "true",
    "EMAIL_HOST_USER": "learner@yandex.ru",
    "EMAIL_HOST_PASSWORD": "s3cr3t-app-password",
}


def test_check_says_the_lesson_one_backend_wins_over_the_smtp_variables():
    result = manage("check", env=LESSONS_IN_ENV)
    assert result.returncode == 0
    assert (
        "?: (core.mail.W008) Mail is not sent through SMTP: EMAIL_BACKEND chooses "
        "django.core.mail.backends.filebased.EmailBackend, which does not read EMAIL_HOST, EMAIL_PORT, "
        "EMAIL_USE_SSL, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD.\n"
        "\tHINT: To send through SMTP, delete the EMAIL_BACKEND line from .env; to keep "
        "django.core.mail.backends.filebased.EmailBackend, delete EMAIL_HOST, EMAIL_PORT, EMAIL_USE_SSL, "
        "EMAIL_HOST_USER, EMAIL_HOST_PASSWORD."
    ) in result.stderr
    assert "s3cr3t" not in result.stdout + result.stderr


def test_sendtestmail_says_in_russian_why_it_saved_a_file_instead_of_sending(tmp_path):
    env = {**LESSONS_IN_ENV, "EMAIL_FILE_PATH": str(tmp_path), "LANGUAGE_CODE": "ru"}
    result = manage("sendtestmail", "anna@example.com", env=env)
    assert result.returncode == 0
    assert "(core.mail.W008)" in result.stderr
    assert "Почта не отправляется через SMTP: EMAIL_BACKEND выбирает" in result.stderr
    assert "Hint: Чтобы отправлять через SMTP, удалите строку EMAIL_BACKEND из .env" in result.stderr


def test_smtp_variables_in_use_raise_no_w008():
    env = {**LESSONS_IN_ENV, "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend"}
    assert "W008" not in manage("check", env=env).stderr
