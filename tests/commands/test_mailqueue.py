"""``manage.py mailqueue``: healthy (0), stalled or failing (7), --json, retry; as real processes on a SQLite file.

Failures are made by the real worker (``db_worker``) against the real SMTP test servers: one that is
down, one that refuses the login.
"""

import json

import pytest

from tests.conftest import manage, saved_messages
from testsupport.smtp_servers import LOGIN, LOGINS, PASSWORD, closed_port, env_for, smtp_server

WORKER = ("db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0")
RU = {"LANGUAGE_CODE": "ru"}

# States made by a real process on the same database file, as a worker or the site would leave them.
SETUP = """
from datetime import timedelta
from django.utils import timezone
from delivery.models import Delivery, WorkerBeat
from users.models import User
now = timezone.now()
anna = User.objects.filter(username="anna").first()
anna = anna or User.objects.create_user("anna", "anna@example.com", "old-password-1")
def delivery(status, minutes_ago, **fields):
    moment = now - timedelta(minutes=minutes_ago)
    return Delivery.objects.create(
        request_id=f"r-{status}-{minutes_ago}", key=f"user:{anna.pk}", kind="reset", email=anna.email,
        payload={"user": anna.pk, "site_url": "https://cinemahub.example", "options": {}}, status=status,
        created_at=moment, updated_at=moment, next_attempt_at=moment, **fields,
    ).pk
"""


@pytest.fixture
def site(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{tmp_path / 'out'}"}
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    return tmp_path, env


def shell(env, code: str) -> str:
    result = manage("shell", "-v0", "-c", SETUP + code, env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_worker_just_seen_and_nothing_waiting_is_healthy(site):
    _, env = site
    shell(env, "WorkerBeat.objects.create(worker_id='w1'); delivery('sent', 30); delivery('failed', 60)")
    result = manage("mailqueue", env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith("Mail is flowing.\n")
    assert "deliveries waiting:         0\n" in result.stdout
    assert "failed in the last 24 h:    1\n" in result.stdout
    assert "worker last seen:           " in result.stdout and "(w1)" in result.stdout
    assert "anna@example.com" in result.stdout  # the failure is listed with its id, to retry


def test_json_has_every_count_and_the_verdict(site):
    _, env = site
    shell(env, "WorkerBeat.objects.create(worker_id='w1'); delivery('queued', 1); delivery('sending', 0)")
    result = manage("mailqueue", "--json", env=env)
    assert (result.returncode, result.stderr) == (0, "")
    document = json.loads(result.stdout)
    assert document["ok"] is True and document["code"] == 0 and document["healthy"] is True
    assert (document["queued"], document["sending"], document["scheduled"], document["failed_24h"]) == (1, 1, 0, 0)
    assert 50 < document["oldest_waiting_seconds"] < 300
    assert document["worker_id"] == "w1" and document["worker_last_seen_seconds"] < 180
    assert document["problems"] == []


def test_a_message_waiting_too_long_and_a_silent_worker_are_stalled_exit_7(site):
    _, env = site
    shell(env, "WorkerBeat.objects.create(worker_id='w1', last_seen=now - timedelta(minutes=20))")
    shell(env, "delivery('queued', 10)")
    result = manage("mailqueue", env=env)
    assert result.returncode == 7
    first, hint = result.stderr.strip().splitlines()
    assert first.startswith("Error: Mail is not flowing: a message has waited 6")  # ~600 s
    assert "(more than 300 s); no worker seen for 12" in first
    assert hint == "Hint: Start the worker: python manage.py db_worker (run it as a service beside the web server)"
    assert "Traceback" not in result.stderr

    result = manage("mailqueue", "--json", "--max-wait", "3600", "--max-silence", "3600", env=env)
    assert (result.returncode, json.loads(result.stdout)["ok"]) == (0, True)  # thresholds are options

    result = manage("mailqueue", "--json", env=env)
    assert result.returncode == 7
    document = json.loads(result.stdout)  # one document on stdout, errors too
    assert (document["ok"], document["code"], len(document["problems"])) == (False, 7, 2)
    assert document["error"].startswith("Mail is not flowing")


def test_no_worker_ever_seen_is_stalled(site):
    _, env = site
    result = manage("mailqueue", env=env)
    assert result.returncode == 7
    assert "no worker has ever been seen" in result.stderr


def test_retry_queues_a_failed_delivery_and_the_worker_sends_it(site):
    folder, env = site
    failed = shell(env, "print(delivery('failed', 5, attempts=8, last_error='SMTPDataError: 451'))")
    result = manage("mailqueue", "retry", failed, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.strip() == f"Queued again: 1 ({failed}); the worker sends it."
    assert manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0", env=env).returncode == 0
    [message] = saved_messages(folder / "out")
    assert message["To"] == "anna@example.com"
    assert shell(env, f"print(Delivery.objects.values_list('status', 'attempts').get(pk={failed}))") == "('sent', 1)"

    again = manage("mailqueue", "retry", failed, "--json", env=env)  # sent now: not queued again
    assert again.returncode == 2
    assert json.loads(again.stdout) == {
        "ok": False,
        "code": 2,
        "error": f"Delivery {failed} is sent, not failed: only failed deliveries are queued again.",
        "hint": "",
    }
    assert again.stderr.strip() == f"Error: {json.loads(again.stdout)['error']}"


def test_retry_failed_takes_every_failed_delivery(site):
    _, env = site
    ids = shell(env, "print(delivery('failed', 5), delivery('failed', 9), delivery('sent', 1))").split()
    result = manage("mailqueue", "retry", "--failed", "--json", env=env)
    assert result.returncode == 0
    assert json.loads(result.stdout) == {"ok": True, "code": 0, "queued": sorted(map(int, ids[:2]))}


def test_retry_of_nothing_or_of_an_unknown_id_is_bad_input(site):
    _, env = site
    result = manage("mailqueue", "retry", env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: Say which deliveries to queue again.\nHint: ")
    result = manage("mailqueue", "retry", "999", env=env)
    assert (result.returncode, result.stderr.strip()) == (2, "Error: No delivery with id 999.\nHint: Check the id")
    result = manage("mailqueue", "retry", "999", "--traceback", env=env)  # accepted after the sub-command too
    assert "unrecognized" not in result.stderr and "No delivery with id 999." in result.stderr
    result = manage("mailqueue", "retry", "abc", "--json", env=env)
    assert result.returncode == 2
    assert json.loads(result.stdout)["code"] == 2


@pytest.mark.parametrize("args", [["mailqueue"], ["mailqueue", "--json"], ["resetuser", "anna", "--json"]])
def test_a_database_not_migrated_is_named_with_the_step_to_take(tmp_path, args):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "SITE_URL": "https://cinemahub.example"}
    result = manage(*args, env=env)
    assert result.returncode == 3
    assert result.stderr.startswith("Error: The database is not set up (no such table: ")
    assert result.stderr.splitlines()[-1] == "Hint: Run python manage.py migrate"
    if "--json" in args:
        assert json.loads(result.stdout)["code"] == 3


def reset_for_anna(env) -> None:
    """A reset request, as the page queues it."""
    shell(
        env,
        "from users.tasks import enqueue_password_reset; enqueue_password_reset(anna.email, 'https://x.example')",
    )


def test_every_attempt_failing_with_the_server_down_is_unhealthy_with_the_last_error_and_a_hint(site):
    _, env = site
    port = closed_port()
    reset_for_anna(env)
    assert manage(*WORKER, env={**env, **env_for(*port)}).returncode == 0  # attempt 1 refused; a retry is scheduled
    result = manage("mailqueue", env=env)
    assert result.returncode == 7
    assert "  retries scheduled:          1\n" in result.stdout
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith(
        "Error: Mail is not flowing: 1 delivery waits for a retry, and no message has been sent since it was made "
        f"(last error: Nothing is listening at {port.host}:{port.port} (connection refused))."
    )
    assert hint.startswith("Hint: Run python manage.py sendtestmail you@example.com: it says why the mail server")
    document = json.loads(manage("mailqueue", "--json", env=env).stdout)
    assert (document["code"], document["failing_retrying"], document["failing_failed"]) == (7, 1, 0)
    assert document["last_error"] == f"Nothing is listening at {port.host}:{port.port} (connection refused)."


def test_a_login_refused_after_a_password_change_is_unhealthy_until_a_message_is_sent(site):
    _, env = site
    with smtp_server(logins=LOGINS) as server:
        right = {**env, **env_for(*server, user=LOGIN, password=PASSWORD)}
        changed = {**env, **env_for(*server, user=LOGIN, password="the-old-password")}
        reset_for_anna(env)
        assert manage(*WORKER, env=right).returncode == 0
        assert manage("mailqueue", env=env).returncode == 0  # sent: mail is flowing

        reset_for_anna(env)  # the provider's password was changed; .env still has the old one
        assert manage(*WORKER, env=changed).returncode == 0  # 535: failed at once, not retried
        result = manage("mailqueue", env=env)
        assert result.returncode == 7
        assert "1 delivery failed, and no message has been sent since it was made (last error: " in result.stderr
        assert "535" in result.stderr and "the-old-password" not in result.stderr + result.stdout
        assert "Hint: Run python manage.py sendtestmail you@example.com: it says why" in result.stderr

        # .env fixed, the failed delivery queued again and sent: flowing again.
        assert manage("mailqueue", "retry", "--failed", env=env).returncode == 0
        assert manage(*WORKER, env=right).returncode == 0
    assert len(server.messages) == 2
    result = manage("mailqueue", env=env)
    assert (result.returncode, result.stderr) == (0, "")


def test_a_failure_before_a_message_sent_is_no_outage(site):
    _, env = site
    reset_for_anna(env)
    assert manage(*WORKER, env={**env, **env_for(*closed_port())}).returncode == 0  # waits for a retry
    with smtp_server() as server:
        shell(
            env,
            "from users.tasks import enqueue_password_reset; "
            "boris = User.objects.create_user('boris', 'boris@example.com', 'old-password-1'); "
            "enqueue_password_reset(boris.email, 'https://x.example')",
        )
        assert manage(*WORKER, env={**env, **env_for(*server)}).returncode == 0  # boris's goes out
    assert server.recipients() == {"boris@example.com": 1}
    result = manage("mailqueue", "--json", env=env)
    assert result.returncode == 0
    document = json.loads(result.stdout)
    assert (document["scheduled"], document["failing_retrying"], document["problems"]) == (1, 0, [])


REQUESTS_OF_EVERY_KIND = """
from users.tasks import enqueue_email_change, enqueue_password_changed, enqueue_signup, enqueue_signup_confirmation
from django.contrib.auth.hashers import make_password
site = dict(site_url="https://x.example", language="en")
enqueue_signup(username="boris", email="boris@example.com", password=make_password("pw-1-long-enough"), **site)
enqueue_signup_confirmation("carla@example.com", "https://x.example", "en")
enqueue_password_changed(anna, when=now, ip="127.0.0.1", **site)
enqueue_email_change(anna, "anna@new.example", when=now, ip="127.0.0.1", **site)
WorkerBeat.objects.create(worker_id="w1")
"""


def test_requests_of_every_kind_count_as_waiting_and_stall_when_nothing_runs_them(site):
    _, env = site
    shell(env, REQUESTS_OF_EVERY_KIND)  # sign-up, resend, notice, change of address: no reset among them
    result = manage("mailqueue", "--json", env=env)
    document = json.loads(result.stdout)
    assert (result.returncode, document["requests_waiting"]) == (0, 4)
    assert document["oldest_waiting_seconds"] is not None
    result = manage("mailqueue", "--max-wait", "0", env=env)  # they have waited longer than that
    assert result.returncode == 7
    assert "  requests not yet looked at: 4\n" in result.stdout
    assert result.stderr.startswith("Error: Mail is not flowing: a message has waited ")


def test_the_sites_own_send_mail_is_queued_and_listed_by_subject_and_recipients_never_its_body(site):
    """The lessons' send_mail() in any code of the site: queued, counted, listed; a failure listed the same way."""
    _, env = site
    shell(
        env,
        "from django.core.mail import send_mail; WorkerBeat.objects.create(worker_id='w1'); "
        "send_mail('Weekly report', 'BODY-MARKER', 'qwerty@mail.ru', ['user1@mail.ru', 'user2@mail.ru']); "
        "failed = Delivery.objects.create(request_id='f', key='message', kind='message', email='user3@mail.ru', "
        "subject='Monthly report', status='failed', attempts=3, last_error='The server refused it.')",
    )
    result = manage("mailqueue", env=env)
    assert result.returncode == 7  # a delivery failed and none was sent since: mail is failing
    assert "deliveries waiting:         1 (oldest waiting " in result.stdout
    assert "Waiting longest:\n" in result.stdout
    assert "user1@mail.ru, user2@mail.ru  'Weekly report'  queued\n" in result.stdout
    assert "user3@mail.ru  'Monthly report'  3 attempts: The server refused it.\n" in result.stdout
    assert "BODY-MARKER" not in result.stdout


@pytest.mark.parametrize("given", ["99999999999999999999999", "9223372036854775808", "0", "-1", "1" * 5000])
def test_retry_of_an_id_the_database_cannot_hold_is_bad_input(site, given):
    _, env = site
    result = manage("mailqueue", "retry", given, env=env)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and "OverflowError" not in result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.endswith("is not a delivery id (a whole number from 1 to 9223372036854775807)")
    assert len(error) < 200
    document = json.loads(manage("mailqueue", "retry", given, "--json", env=env).stdout)
    assert (document["ok"], document["code"]) == (False, 2)
    largest = manage("mailqueue", "retry", "9223372036854775807", env=env)  # as large as it can be: looked up
    assert (largest.returncode, largest.stderr.splitlines()[0]) == (
        2,
        "Error: No delivery with id 9223372036854775807.",
    )


def test_mailqueue_speaks_russian_and_json_keeps_english_keys(site):
    _, env = site
    shell(env, "WorkerBeat.objects.create(worker_id='w1'); delivery('failed', 60, attempts=2, last_error='x')")
    shell(env, "delivery('sent', 30)")
    result = manage("mailqueue", env={**env, **RU})
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "Почта идёт."
    assert lines[1].split(":")[0].strip() == "запросов ещё не взято"
    assert "  отправлено за последние 24 ч: 1" in lines
    assert lines[-1].endswith("anna@example.com  'Письмо для сброса пароля'  2 попытки: x")
    assert all(not any("a" <= c <= "z" for c in line.split("(w1)")[0]) for line in lines[:8])  # no English left

    port = closed_port()
    reset_for_anna(env)
    assert manage(*WORKER, env={**env, **env_for(*port)}).returncode == 0
    result = manage("mailqueue", env={**env, **RU})
    assert result.returncode == 7
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith("Error: Почта не идёт: 1 доставка ждёт повторной попытки, ")
    assert hint.startswith("Hint: Запустите python manage.py sendtestmail you@example.com: он скажет, ")
    document = json.loads(manage("mailqueue", "--json", env={**env, **RU}).stdout)
    assert {"ok", "code", "error", "hint", "problems", "failing_retrying"} <= set(document)
    assert document["error"].startswith("Почта не идёт")

    result = manage("mailqueue", "retry", "abc", env={**env, **RU})
    assert result.stderr.strip().endswith("abc — не номер доставки (целое число от 1 до 9223372036854775807)")
    result = manage("mailqueue", "retry", "999", env={**env, **RU})
    assert result.stderr.strip() == "Error: Нет доставки с номером 999.\nHint: Проверьте номер"
