"""The lessons' mail settings where this project reads them, as real processes (docs/configuration.md)."""

import json

import pytest

from tests.conftest import manage

FILE = "django.core.mail.backends.filebased.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"
SHOW = (
    "import json; from django.conf import settings; "
    "print(json.dumps([settings.MAILERS['direct'], settings.DEFAULT_FROM_EMAIL, settings.SERVER_EMAIL]))"
)


def settings_seen(env: dict) -> list:
    result = manage("shell", "--no-imports", "-c", SHOW, env=env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return json.loads(result.stdout)


def write_env(tmp_path, text: str) -> dict:
    (tmp_path / ".env").write_text(text)
    return {"DJANGO_ENV_FILE": str(tmp_path / ".env")}


def test_first_lesson_in_env_saves_to_files_in_sent_emails(tmp_path):
    env = write_env(tmp_path, f"EMAIL_BACKEND={FILE}\nEMAIL_FILE_PATH=sent_emails\n")
    mailer, _, _ = settings_seen(env)
    assert mailer["BACKEND"] == FILE
    assert mailer["OPTIONS"]["file_path"].endswith("/sent_emails")


def test_second_lesson_in_env_is_yandex_over_ssl_from_the_login(tmp_path):
    lines = [
        f"EMAIL_BACKEND={SMTP}",
        "EMAIL_HOST=smtp.yandex.ru",
        "EMAIL_PORT=465",
        "EMAIL_USE_SSL=True",
        "EMAIL_HOST_USER=learner@yandex.ru",
        "EMAIL_HOST_PASSWORD=app-password",
        "DEFAULT_FROM_EMAIL=$EMAIL_HOST_USER",  # django-environ's proxy, resolved
        "SERVER_EMAIL=$EMAIL_HOST_USER",
    ]
    mailer, sender, server = settings_seen(write_env(tmp_path, "\n".join(lines) + "\n"))
    assert mailer["BACKEND"] == SMTP
    assert {key: mailer["OPTIONS"][key] for key in ("host", "port", "use_ssl", "username")} == {
        "host": "smtp.yandex.ru",
        "port": 465,
        "use_ssl": True,
        "username": "learner@yandex.ru",
    }
    assert sender == server == "learner@yandex.ru"


def test_unknown_backend_stops_with_the_accepted_values():
    result = manage("check", env={"EMAIL_BACKEND": "django.core.mail.backends.smpt.EmailBackend"})
    assert result.returncode == 3
    first, hint = result.stderr.splitlines()
    assert first == "Configuration error: EMAIL_BACKEND: unknown backend 'django.core.mail.backends.smpt.EmailBackend'"
    assert hint.startswith("Hint: Use one of ") and SMTP in hint and FILE in hint


def test_smtp_backend_without_a_host_is_a_configuration_error():
    result = manage("check", env={"EMAIL_BACKEND": SMTP})
    assert result.returncode == 3
    first_line = "Configuration error: EMAIL_BACKEND: is the SMTP backend, but EMAIL_HOST is not set"
    assert result.stderr.startswith(first_line)
    assert "Hint: Set EMAIL_HOST" in result.stderr


SMTP_NAMES = (
    "EMAIL_BACKEND, EMAIL_HOST, EMAIL_PORT, EMAIL_USE_SSL, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, "
    "DEFAULT_FROM_EMAIL, SERVER_EMAIL"
)
SMTP_ENV_LINES = (
    f"EMAIL_BACKEND={SMTP}, EMAIL_HOST=smtp.yandex.ru, EMAIL_PORT=465, EMAIL_USE_SSL=true, "
    "EMAIL_HOST_USER=learner@yandex.ru, EMAIL_HOST_PASSWORD=your-app-password, "
    "DEFAULT_FROM_EMAIL=$EMAIL_HOST_USER, SERVER_EMAIL=$EMAIL_HOST_USER"
)


@pytest.mark.parametrize(
    ("module", "first_line", "env_lines"),
    [
        (
            "tests.lesson_file_settings",
            "Configuration error: EMAIL_BACKEND, EMAIL_FILE_PATH: set in the settings file "
            "tests/lesson_file_settings.py; this project reads mail settings from .env",
            f"EMAIL_BACKEND={FILE}, EMAIL_FILE_PATH=sent_emails",
        ),
        (
            # every line of the lesson's block at once: DEFAULT_FROM_EMAIL = EMAIL_HOST_USER left alone
            # would stop the next start with a NameError once the others are deleted
            "tests.lesson_smtp_settings",
            f"Configuration error: {SMTP_NAMES}: set in the settings file tests/lesson_smtp_settings.py",
            SMTP_ENV_LINES,
        ),
        (
            # a settings/local.py that imports the project's settings, then the lesson's block
            "tests.lesson_local_settings",
            f"Configuration error: {SMTP_NAMES}: set in the settings file tests/lesson_local_settings.py",
            SMTP_ENV_LINES,
        ),
    ],
)
@pytest.mark.parametrize("command", ["check", "runserver"])
def test_lesson_lines_in_the_settings_file_stop_with_the_env_lines(module, first_line, env_lines, command):
    result = manage(command, env={"DJANGO_SETTINGS_MODULE": module})
    assert result.returncode == 3
    first, hint = result.stderr.splitlines()
    assert first.startswith(first_line)
    assert hint.startswith("Hint: Delete those lines from the settings file and write in .env")
    assert hint.endswith(env_lines)
    assert "Traceback" not in result.stderr and "s3cr3t" not in result.stderr + result.stdout


@pytest.mark.parametrize(
    "option", [["--settings", "tests.lesson_local_settings"], ["--settings=tests.lesson_local_settings"]]
)
def test_a_settings_module_named_by_the_settings_option_is_checked_as_well(option):
    """python manage.py runserver --settings settings.local: the module the option names, not core.settings."""
    result = manage("check", *option)
    assert result.returncode == 3
    assert result.stderr.startswith(
        f"Configuration error: {SMTP_NAMES}: set in the settings file tests/lesson_local_settings.py"
    )


@pytest.mark.parametrize(
    ("line", "first_line", "hint"),
    [
        (
            'EMAIL_HOST = "smtp.yandex.ru"',
            "Configuration error: EMAIL_HOST: line 2 of .env has spaces around =, and .env lines are NAME=value",
            "Hint: Write it as EMAIL_HOST=smtp.yandex.ru",
        ),
        (
            "DEFAULT_FROM_EMAIL = EMAIL_HOST_USER",
            "Configuration error: DEFAULT_FROM_EMAIL: line 2 of .env has spaces around =, "
            "and .env lines are NAME=value",
            "Hint: .env does not substitute names: DEFAULT_FROM_EMAIL=EMAIL_HOST_USER is the text 'EMAIL_HOST_USER'; "
            "write DEFAULT_FROM_EMAIL=$EMAIL_HOST_USER to take its value, "
            "or leave it unset to send from the SMTP login",
        ),
        (
            "DEFAULT_FROM_EMAIL=EMAIL_HOST_USER",
            "Configuration error: DEFAULT_FROM_EMAIL: 'EMAIL_HOST_USER' is not a valid email address",
            "Hint: .env does not substitute names: DEFAULT_FROM_EMAIL=EMAIL_HOST_USER is the text 'EMAIL_HOST_USER'; "
            "write DEFAULT_FROM_EMAIL=$EMAIL_HOST_USER to take its value, "
            "or leave it unset to send from the SMTP login",
        ),
    ],
)
def test_env_lines_written_as_in_settings_py_get_a_hint(tmp_path, line, first_line, hint):
    env = write_env(tmp_path, f"# from the lesson\n{line}\n")
    result = manage("check", env=env)
    assert (result.returncode, result.stderr.splitlines()) == (3, [first_line, hint])
