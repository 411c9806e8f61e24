"""A real ``db_worker`` killed with SIGKILL in the middle of an attempt; a new worker delivers, once.

The SMTP server holds the DATA phase of the first message (a ``data:delay`` rule
far longer than the test), so the worker is killed while it waits for the reply:
its task stays RUNNING and the delivery "sending". The held session ends with its
client, and nothing of it is saved. A second worker notices the first one's silence (MAIL_WORKER_TIMEOUT,
1 s here) and runs the task again.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, manage
from testsupport.smtp_servers import smtp_server

RESET = """
from users.models import User
from users.tasks import enqueue_password_reset
User.objects.create_user("anna", "anna@example.com", "old-password-1")
enqueue_password_reset("anna@example.com", "https://cinemahub.example")
"""
SEND_MAIL = """
from django.core.mail import send_mail
send_mail("Вы получили данные о категории", "Вы довольны?", "qwerty@mail.ru", ["anna@example.com"])
"""


def wait_for(condition, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


@pytest.fixture
def site(tmp_path):
    """The environment of the real processes: a SQLite file of their own, a 1 s worker timeout."""
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "MAIL_WORKER_TIMEOUT": "1"}
    return tmp_path, env


def start_worker(env: dict, log) -> subprocess.Popen:
    """``manage.py db_worker`` running continuously, in the clean environment manage() uses."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", ""), "DJANGO_ENV_FILE": ""}
    base.update(DEBUG="true", PYTHONWARNINGS="error::DeprecationWarning,error::PendingDeprecationWarning")
    command = [sys.executable, "manage.py", "db_worker", "--no-reload", "--no-startup-delay", "--interval=0.1"]
    return subprocess.Popen(command, cwd=ROOT, env={**base, **env}, stdout=log, stderr=subprocess.STDOUT)


def state(db) -> tuple:
    with sqlite3.connect(db, timeout=30) as connection:
        tasks = connection.execute("SELECT status FROM django_tasks_database_dbtaskresult").fetchall()
        deliveries = connection.execute("SELECT status, attempts FROM delivery_delivery").fetchall()
    return sorted(row[0] for row in tasks), deliveries


def settled(db) -> bool:
    """Every task done (a send_due may have been queued again beside the recovered one), sent at attempt 2."""
    tasks, deliveries = state(db)
    return set(tasks) == {"SUCCESSFUL"} and deliveries == [("sent", 2)]


@pytest.mark.parametrize("setup", [RESET, SEND_MAIL], ids=["reset", "send_mail"])
def test_a_worker_killed_mid_attempt_is_replaced_and_the_message_arrives_once(site, setup):
    folder, env = site
    hold_the_first = "data:delay=600:first=1"  # the first message waits for its reply; later ones do not
    with smtp_server(fail=[hold_the_first]) as server, open(folder / "worker.log", "wb") as log:
        env["EMAIL_URL"] = f"smtp://{server.host}:{server.port}?timeout=30"
        assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
        assert manage("shell", "-c", setup, env=env).returncode == 0

        first = start_worker(env, log)
        try:
            assert server.wait_for("delayed", 60), "the first worker never reached DATA"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait()
        # The killed worker's connection is gone: the server drops the held session, saving nothing.
        assert state(folder / "db.sqlite3") == (["RUNNING"], [("sending", 1)])

        second = start_worker(env, log)
        try:
            wait_for(lambda: len(server.messages) == 1, "the second worker to deliver")
            wait_for(lambda: settled(folder / "db.sqlite3"), "the record")
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        # Another worker afterwards finds nothing to do: sent once.
        assert manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0", env=env).returncode == 0
    assert [received.rcpt_tos for received in server.messages] == [("anna@example.com",)]
    assert second.returncode == 0
