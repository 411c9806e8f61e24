"""``manage.py mailqueue``: healthy (0), stalled (7), --json, retry; as real processes on a SQLite file."""

import json

import pytest

from tests.conftest import manage, saved_messages

# States made by a real process on the same database file, as a worker or the site would leave them.
SETUP = """
from datetime import timedelta
from django.utils import timezone
from core.models import Delivery, WorkerBeat
from users.models import User
now = timezone.now()
anna = User.objects.filter(username="anna").first()
anna = anna or User.objects.create_user("anna", "anna@example.com", "old-password-1")
def delivery(status, minutes_ago, **fields):
    moment = now - timedelta(minutes=minutes_ago)
    return Delivery.objects.create(
        request_id=f"r-{status}-{minutes_ago}", user=anna, email=anna.email,
        site_url="https://cinemahub.example", status=status,
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
    assert result.stdout.strip() == f"Queued again: 1 ({failed}); the worker sends them."
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
