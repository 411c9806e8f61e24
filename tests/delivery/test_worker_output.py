"""What the person running the worker reads when a reset cannot be delivered: sendtestmail's sentence and hint."""

import pytest

from tests.conftest import manage
from testsupport.smtp_servers import LOGINS, closed_port, smtp_server

SETUP = """
from users.models import User
from users.tasks import enqueue_password_reset
User.objects.create_user("anna", "anna@example.com", "old-password-1")
enqueue_password_reset("anna@example.com", "https://cinemahub.example")
"""
WORKER = ("db_worker", "--batch", "--no-reload", "--no-startup-delay")


@pytest.fixture
def site(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    assert manage("shell", "-c", SETUP, env=env).returncode == 0
    return env


@pytest.mark.parametrize("verbosity", ["1", "2"])
def test_a_refused_login_is_one_line_with_the_app_password_hint(site, verbosity):
    with smtp_server(logins=LOGINS, fail=["login:535"]) as server:
        env = {**site, "EMAIL_URL": f"smtp://you%40yandex.ru:Wrong-Pass-123@{server.host}:{server.port}"}
        result = manage(*WORKER, "-v", verbosity, env=env)
    assert result.returncode == 0
    [line] = [line for line in result.stderr.splitlines() if "not delivered to anna@example.com" in line]
    assert f"{server.host}:{server.port} refused the login 'you@yandex.ru': 535" in line
    assert "Hint: Yandex, Gmail and Mail.ru need an app password" in line
    assert "Wrong-Pass-123" not in result.stderr
    # The traceback says nothing the line does not; it is there for -v2 only.
    assert ("Traceback" in result.stderr) == (verbosity == "2")


def test_a_server_that_is_down_is_named_with_the_next_attempt(site):
    port = closed_port()
    result = manage(*WORKER, env={**site, "EMAIL_URL": f"smtp://{port.host}:{port.port}"})
    assert result.returncode == 0
    [line] = [line for line in result.stderr.splitlines() if "not sent" in line]
    assert line.startswith(
        "Password reset message to anna@example.com not sent (attempt 1 of 8; trying again in 30 s): "
    )
    assert f"{port.host}:{port.port}" in line and "Hint: " in line
    assert "Traceback" not in result.stderr


def test_with_language_code_ru_the_worker_says_in_russian_that_no_account_has_the_address(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "LANGUAGE_CODE": "ru", "DEBUG": "true"}
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    enqueue = "from users.tasks import enqueue_password_reset; enqueue_password_reset('nobody@example.com', 'https://x.example')"
    assert manage("shell", "-c", enqueue, env=env).returncode == 0
    result = manage(*WORKER, env=env)
    assert result.returncode == 0
    [line] = [line for line in result.stderr.splitlines() if "nobody@example.com" in line]
    assert line.endswith(
        "Сброс пароля для nobody@example.com: ни у одной активной учётной записи с паролем нет этого адреса; "
        "ничего не отправлено"
    )
