"""With LANGUAGE_CODE=ru the commands explain themselves in Russian; --json keeps its keys English.

Real processes against real SMTP servers on 127.0.0.1, as a learner runs them.
"""

import json
import re

import pytest

from tests.conftest import manage, saved_messages
from testsupport.smtp_servers import (
    LOGIN,
    LOGINS,
    PASSWORD,
    SENDER_NOT_OWNED,
    closed_port,
    env_for,
    refusal,
    smtp_server,
)

RU = {"LANGUAGE_CODE": "ru"}
TO = "anna@example.com"


def test_a_refused_login_gets_the_app_password_hint_in_russian():
    with smtp_server(logins=LOGINS, fail=["login:535"]) as server:
        env = {**env_for(*server, user="you@yandex.ru", password=PASSWORD), **RU}
        result = manage("sendtestmail", TO, env=env)
    assert result.returncode == 5
    error, hint = result.stderr.splitlines()
    assert error.startswith(f"Error: {server.host}:{server.port} отклонил вход 'you@yandex.ru': 535 ")
    assert hint.startswith("Hint: Яндексу, Gmail и Mail.ru нужен пароль приложения, а не пароль от аккаунта")
    assert PASSWORD not in result.stderr + result.stdout


def test_nothing_listening_in_russian():
    port = closed_port()
    result = manage("sendtestmail", TO, env={**env_for(*port), **RU})
    assert result.returncode == 4
    assert result.stderr.startswith(f"Error: На {port.host}:{port.port} никто не слушает (соединение отклонено).\n")
    assert "Hint: Проверьте хост и порт (465 для SSL, 587 для STARTTLS" in result.stderr


def test_ssl_to_a_plain_port_in_russian():
    with smtp_server() as server:
        result = manage("sendtestmail", TO, env={**env_for(*server, ssl=True), **RU})
    assert result.returncode == 3  # a setting to fix (the failure table)
    assert f"{server.host}:{server.port} не говорит на SSL: он ответил открытым текстом." in result.stderr
    assert "Hint: SSL с первого байта — для порта 465." in result.stderr


def test_a_sender_that_is_not_the_login_in_russian():
    with smtp_server(logins=LOGINS, fail=[refusal("mail", SENDER_NOT_OWNED)]) as server:
        env = {**env_for(*server, user=LOGIN, password=PASSWORD, sender="other@example.org"), **RU}
        result = manage("sendtestmail", TO, env=env)
    assert result.returncode == 6
    assert "отклонил отправителя other@example.org: 553" in result.stderr
    assert f"должен быть ящик, под которым вы входите ({LOGIN})" in result.stderr


def test_success_and_json_in_russian(tmp_path):
    env = {"EMAIL_URL": f"outbox://{tmp_path}", **RU}
    result = manage("sendtestmail", TO, env=env)
    assert result.returncode == 0
    assert result.stdout.startswith("Сохранено 1 письмо за ")
    assert "ничего не отправлено, соединение пишет файлы." in result.stdout
    [message] = saved_messages(tmp_path)
    assert message["Subject"].startswith("Тестовое письмо с ")
    assert "Если вы его читаете, почта сайта работает." in message.get_content()

    port = closed_port()
    failed = manage("sendtestmail", TO, "--json", env={**env_for(*port), **RU})
    document = json.loads(failed.stdout)
    assert set(document) >= {"ok", "code", "error", "hint"} and document["ok"] is False and document["code"] == 4
    assert document["error"].startswith(f"На {port.host}:{port.port} никто не слушает")


def test_english_stays_english_by_default():
    port = closed_port()
    result = manage("sendtestmail", TO, env=env_for(*port))
    assert result.stderr.startswith(f"Error: Nothing is listening at {port.host}:{port.port} (connection refused).")


@pytest.fixture
def site(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **RU}
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    setup = (
        "from users.models import User; from users.tasks import enqueue_password_reset; "
        "User.objects.create_user('anna', 'anna@example.com', 'old-password-1'); "
        "enqueue_password_reset('anna@example.com', 'https://cinemahub.example')"
    )
    assert manage("shell", "-c", setup, env=env).returncode == 0
    return env


def test_the_worker_line_in_russian(site):
    with smtp_server(logins=LOGINS, fail=["login:535"]) as server:
        env = {**site, "EMAIL_URL": f"smtp://you%40yandex.ru:Wrong-Pass-123@{server.host}:{server.port}"}
        result = manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", env=env)
    [line] = [line for line in result.stderr.splitlines() if "не доставлено на anna@example.com" in line]
    assert "(отклонено, повторов не будет)" in line
    assert f"{server.host}:{server.port} отклонил вход 'you@yandex.ru': 535" in line
    assert "Hint: Яндексу, Gmail и Mail.ru нужен пароль приложения" in line
    assert "Wrong-Pass-123" not in result.stderr


def test_resetuser_in_russian(site, tmp_path):
    env = {**site, "EMAIL_URL": f"outbox://{tmp_path / 'box'}"}
    no_site = manage("resetuser", "anna", env=env)
    assert no_site.returncode == 3
    assert no_site.stderr.startswith("Error: Нет адреса сайта для ссылки сброса пароля: SITE_URL не задан.\n")
    nobody = manage("resetuser", "nobody@example.com", "--site-url", "http://127.0.0.1:8000", env=env)
    assert (
        nobody.returncode == 2
        and "Нет активного пользователя с адресом или именем 'nobody@example.com'." in nobody.stderr
    )
    sent = manage("resetuser", "anna", "--site-url", "http://127.0.0.1:8000", env=env)
    assert sent.returncode == 0, sent.stderr
    assert sent.stdout.startswith("Письмо для сброса пароля отправлено: anna <anna@example.com>")
    [message] = saved_messages(tmp_path / "box")
    assert message["Subject"] == "Восстановление пароля на сайте 127.0.0.1:8000"


def test_outbox_in_russian(tmp_path):
    env = {"EMAIL_URL": f"outbox://{tmp_path}", **RU}
    assert manage("sendtestmail", TO, env=env).returncode == 0
    listed = manage("outbox", "list", env=env)
    assert listed.stdout.splitlines()[-1].startswith(f"Показано 1 из 1 письма в {tmp_path} (")
    missing = manage("outbox", "show", "0000", env=env)
    assert missing.returncode == 2
    assert missing.stderr.startswith(f"Error: В {tmp_path} нет письма с идентификатором '0000'.\n")
    cleared = manage("outbox", "clear", "--noinput", env=env)
    assert cleared.stdout.startswith(f"Из {tmp_path} удалено 1 письмо: освобождено ")


@pytest.mark.django_db
def test_a_command_speaks_language_code_whatever_language_the_calling_thread_has_active(settings, capsys):
    """A request or a test leaves its language active in its thread; a command run there speaks LANGUAGE_CODE."""
    from django.core.management import call_command
    from django.utils import translation

    from users.models import User

    User.objects.create_user("anna", TO, "old-password-1")
    settings.LANGUAGE_CODE = "en"
    translation.activate("ru")  # as a Russian page's request leaves it
    try:
        call_command("resetuser", "anna", "--dry-run", "--site-url", "https://cinemahub.example")
    finally:
        translation.deactivate()
    assert capsys.readouterr().out.startswith("Reset link made for anna <anna@example.com>")


def test_the_commands_labels_are_russian_and_aligned(tmp_path):
    """sendtestmail's and resetuser's report lines, outbox show's headers: no English label on a Russian screen."""
    env = {"EMAIL_URL": f"outbox://{tmp_path}", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **RU}
    sent = manage("sendtestmail", TO, env=env)
    assert sent.returncode == 0, sent.stderr
    labels = [line.split()[0] for line in sent.stdout.splitlines()[1:]]
    assert labels == ["почта", "от", "кому", "Message-ID", "файл"]
    assert len({line.index(line.split()[1]) for line in sent.stdout.splitlines()[1:]}) == 1  # one column
    assert re.search(r" за \d+,\d\d с", sent.stdout.splitlines()[0])  # «за 0,04 с»: the decimal comma

    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    create = "from users.models import User; User.objects.create_user('anna', 'anna@example.com', 'pw-Passw0rd-1')"
    assert manage("shell", "-v0", "-c", create, env=env).returncode == 0
    reset = manage("resetuser", "anna", "--dry-run", "--site-url", "https://cinemahub.example", env=env)
    assert [line.split(":")[0].strip() for line in reset.stdout.splitlines()[1:]] == ["истекает", "ссылка"]

    shown = manage("outbox", "show", "latest", "--path", str(tmp_path), env=env)
    assert {"От:", "Кому:", "Тема:", "Дата:"} <= {line.split()[0] for line in shown.stdout.splitlines() if line}
