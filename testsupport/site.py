"""The site as real processes for the benchmarks and the tests: gunicorn, db_worker, manage.py.

Everything in one temporary folder (SQLite database, cache, outbox), servers on
127.0.0.1 only, every process stopped on exit.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import requests

from testsupport.smtp_servers import HOST, free_port

ROOT = Path(__file__).resolve().parent.parent
TASKS_TABLE = "django_tasks_database_dbtaskresult"
DELIVERIES_TABLE = "delivery_delivery"
SEND_TASK = "delivery.attempts.send_delivery"
REQUEST_TASK = "users.tasks.request_password_reset"
SIGNUP_PASSWORD = "bench-Sign-up-passphrase"

CREATE_USERS = """
import sys
from django.contrib.auth.hashers import make_password
from users.addresses import mailbox
from users.models import User
password = make_password("bench-Passw0rd")
emails = sys.stdin.read().split()
User.objects.bulk_create(User(username=e, email=e, mailbox=mailbox(e), password=password) for e in emails)
"""


def manage(env: dict, *args: str, input: str | None = None, timeout: float = 3600) -> str:
    """``python manage.py ARGS`` in ``env``; its stdout, or RuntimeError with its stderr."""
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


class Site:
    """``with Site(folder, env) as site:`` migrate, add users, start gunicorn and workers."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder = Path(folder)
        self.db = self.folder / "db.sqlite3"
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", ""),
            "DJANGO_ENV_FILE": "",
            "DEBUG": "true",  # http cookies and localhost hosts; the bench is local
            # Writers wait for SQLite's lock instead of failing (web requests and workers share the file).
            "DATABASE_URL": f"sqlite:///{self.db}?timeout=30",
            "CACHE_URL": f"diskcache://{self.folder / 'cache'}",
            **env,
        }
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.processes: list[subprocess.Popen] = []
        self.access_log = self.folder / "access.log"

    # ------------------------------------------------------------ set-up
    def manage(self, *args: str, input: str | None = None) -> str:
        return manage(self.env, *args, input=input)

    def prepare(self, emails: list[str]) -> None:
        self.manage("migrate", "--noinput", "-v0")
        self.manage("shell", "-c", CREATE_USERS, input="\n".join(emails))

    # ------------------------------------------------------------ processes
    def spawn(self, *args: str, log: str) -> subprocess.Popen:
        with open(self.folder / log, "ab") as out:
            process = subprocess.Popen(args, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def start_server(self, workers: int = 2) -> None:
        gunicorn = Path(sys.executable).with_name("gunicorn")
        self.spawn(
            str(gunicorn),
            "core.wsgi:application",
            f"--bind={HOST}:{self.port}",
            f"--workers={workers}",
            "--backlog=256",
            f"--access-logfile={self.access_log}",
            log="gunicorn.log",
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/", timeout=5).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or a busy machine
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer in 30 s; see {self.folder / 'gunicorn.log'}")

    def start_worker(self, interval: float = 0.2) -> subprocess.Popen:
        """``db_worker`` running continuously, as in production."""
        return self.spawn(
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-reload",
            "--no-startup-delay",
            f"--interval={interval}",
            "-v0",
            log="worker.log",
        )

    def stop(self, process: subprocess.Popen) -> None:
        """Stop gracefully (SIGTERM: a worker finishes its current task)."""
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def drain(self, workers: int = 1) -> None:
        """Run every ready task with ``db_worker --batch`` (several at once for a slow server)."""
        batch = [
            self.spawn(
                sys.executable,
                "manage.py",
                "db_worker",
                "--batch",
                "--no-reload",
                "--no-startup-delay",
                "-v0",
                log="worker.log",
            )
            for _ in range(workers)
        ]
        for process in batch:
            process.wait(timeout=600)

    def __enter__(self) -> Site:
        return self

    def __exit__(self, *exc) -> None:
        for process in reversed(self.processes):
            self.stop(process)

    # ------------------------------------------------------------ state
    def count_tasks(self, path: str, statuses: tuple[str, ...] = ()) -> int:
        query = f"SELECT count(*) FROM {TASKS_TABLE} WHERE task_path = ?"  # noqa: S608 - constant table name
        params: list = [path]
        if statuses:
            query += f" AND status IN ({','.join('?' * len(statuses))})"
            params += statuses
        with sqlite3.connect(self.db, timeout=30) as db:
            return db.execute(query, params).fetchone()[0]

    def deliveries(self, statuses: tuple[str, ...] = ()) -> list[tuple[str, int]]:
        """``(status, attempts)`` of every delivery (delivery.models.Delivery), or of those in ``statuses``."""
        query = f"SELECT status, attempts FROM {DELIVERIES_TABLE}"  # noqa: S608 - constant table name
        if statuses:
            query += f" WHERE status IN ({','.join('?' * len(statuses))})"
        with sqlite3.connect(self.db, timeout=30) as db:
            return db.execute(query, statuses).fetchall()

    def pending(self) -> int:
        """Tasks waiting or running (retries waiting for their time included), and unfinished deliveries."""
        with sqlite3.connect(self.db, timeout=30) as db:
            query = f"SELECT count(*) FROM {TASKS_TABLE} WHERE status IN ('READY', 'RUNNING')"  # noqa: S608
            tasks = db.execute(query).fetchone()[0]
            query = f"SELECT count(*) FROM {DELIVERIES_TABLE} WHERE status IN ('queued', 'sending')"  # noqa: S608
            return tasks + db.execute(query).fetchone()[0]

    def answered(self, method: str, path: str) -> Counter:
        """HTTP statuses gunicorn answered to ``method path``, from its access log."""
        pattern = re.compile(rf'"{method} {re.escape(path)} HTTP/[\d.]+" (\d{{3}}) ')
        return Counter(int(m.group(1)) for m in pattern.finditer(self.access_log.read_text()))

    def wait_until(self, condition, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise RuntimeError(f"timed out after {timeout:g} s waiting for {what}")
            time.sleep(0.2)

    def form_session(self) -> tuple[requests.Session, str]:
        """A session with the CSRF cookie, and the form token to post with it."""
        session = requests.Session()
        page = session.get(f"{self.url}/users/password_reset/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return session, token

    def post_reset(self, session: requests.Session, token: str, email: str) -> requests.Response:
        return self.post_form(session, "/users/password_reset/", {"csrfmiddlewaretoken": token, "email": email})

    def post_signup(self, session: requests.Session, token: str, email: str) -> requests.Response:
        """A sign-up for ``email`` under a username no prepared account has (the address may be taken)."""
        data = {"username": f"new-{email}", "email": email, "password1": SIGNUP_PASSWORD, "password2": SIGNUP_PASSWORD}
        return self.post_form(session, "/users/signup/", {"csrfmiddlewaretoken": token, **data})

    def post_form(self, session: requests.Session, path: str, data: dict) -> requests.Response:
        url = f"{self.url}{path}"
        return session.post(url, data=data, headers={"Referer": url}, allow_redirects=False, timeout=30)
