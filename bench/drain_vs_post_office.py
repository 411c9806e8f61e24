"""Draining queued send_mail() messages with the project's workers, against django-post-office's send_queued_mail.

    .venv/bin/python -m bench.drain_vs_post_office                 # 5,000 messages, 2 workers, SQLite
    .venv/bin/python -m bench.drain_vs_post_office --postgresql    # a PostgreSQL server of the run's own
    .venv/bin/python -m bench.drain_vs_post_office -n 2000 --rounds 3

django-post-office is what a Django developer picks for the same job: a backend that
stores the message and a command that sends what is stored. It is installed for this
benchmark only, into ``bench/.post-office/`` (``pip install --target``; once), and loaded
through ``DJANGO_SETTINGS_MODULE=bench.post_office_settings``.

In one run, on one database and machine: ``-n`` messages (a reset-sized text and HTML
message each) are queued with the project's default mailer (``send_mail()``) and drained
by ``--workers`` processes of ``manage.py db_worker --batch``; the same ``-n`` are queued with
``post_office.mail.send()`` and drained by ``manage.py send_queued_mail --processes
--workers``. Both write into outbox folders through the same mailer (``"direct"``); each drain
is timed from its processes' start to the last one's exit. Prints messages per second for
both and the ratio project/post-office (target: at least 1.0).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

from bench.databases import database_url, process_env
from testsupport.site import manage

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ROOT / "bench" / ".post-office"
REQUIREMENT = "django-post-office==3.12.0"

MESSAGE = """
body = "Someone asked for a new password for your account. " * 14
html = ("<p>" + body + "</p><p><a href='https://cinemahub.example/users/reset/MQ/abc/'>Set a password</a></p>") * 4
emails = [f"reader{i}@example.com" for i in range(%(n)d)]
"""
QUEUE_OURS = (
    MESSAGE
    + """
from django.core.mail import send_mail
for email in emails:
    send_mail("Password reset on cinemahub.example", body, None, [email], html_message=html)
"""
)
QUEUE_THEIRS = (
    MESSAGE
    + """
from post_office import mail
for email in emails:
    mail.send([email], subject="Password reset on cinemahub.example", message=body, html_message=html)
"""
)


def install() -> None:
    """django-post-office for this benchmark only, beside the project's environment (once)."""
    if (PACKAGES / "post_office").is_dir():
        return
    command = [sys.executable, "-m", "pip", "install", "-q", "--target", str(PACKAGES), REQUIREMENT, "nh3"]
    subprocess.run(command, check=True)


def timed(env: dict, commands: list[list[str]]) -> float:
    started = time.perf_counter()
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL) for command in commands]
    for process in processes:
        if process.wait(timeout=3600):
            raise RuntimeError(f"{' '.join(process.args)} failed")
    return time.perf_counter() - started


def run(n: int, workers: int, url: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-post-office-") as folder:
        folder = Path(folder)
        env = process_env(
            folder,
            url,
            PYTHONPATH=str(PACKAGES),
            DJANGO_SETTINGS_MODULE="bench.post_office_settings",
            DEBUG="false",
            SECRET_KEY="bench-" + "x" * 50,
            ALLOWED_HOSTS="localhost",
        )
        ours = {**env, "EMAIL_URL": f"outbox://{folder / 'ours'}"}
        theirs = {**env, "EMAIL_URL": f"outbox://{folder / 'theirs'}"}
        manage(env, "migrate", "--noinput", "-v0")
        manage(ours, "shell", "-v0", "-c", QUEUE_OURS % {"n": n})
        manage(theirs, "shell", "-v0", "-c", QUEUE_THEIRS % {"n": n})
        worker = [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0"]
        ours_seconds = timed(ours, [worker] * workers)
        sender = [sys.executable, "manage.py", "send_queued_mail", "--processes", str(workers), "--log-level", "1"]
        theirs_seconds = timed({**theirs, "PYTHONWARNINGS": "ignore"}, [sender])
        counts = {side: len(list((folder / side).glob("*.eml"))) for side in ("ours", "theirs")}
    return {
        "database": env["DATABASE_URL"].partition("://")[0],
        "ours": counts["ours"] / ours_seconds,
        "theirs": counts["theirs"] / theirs_seconds,
        "counts": counts,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=5000, help="messages queued each way (default 5000)")
    parser.add_argument("--workers", type=int, default=2, help="processes draining each queue (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat, keeping each side's best (a shared machine)")
    parser.add_argument("--postgresql", action="store_true", help="on a PostgreSQL server started for the run")
    args = parser.parse_args()
    install()
    with ExitStack() as servers:
        url = database_url(servers, args.postgresql)
        results = [run(args.n, args.workers, url) for _ in range(args.rounds)]
    ours, theirs = max(r["ours"] for r in results), max(r["theirs"] for r in results)
    print(f"database: {results[0]['database']}; {args.n} messages queued each way, {args.workers} processes draining")
    print(f"project: db_worker --batch x {args.workers}:           {ours:6.0f} messages/s")
    print(f"django-post-office: send_queued_mail -p {args.workers}:   {theirs:6.0f} messages/s")
    print(f"ratio project/post-office: {ours / theirs:.2f} (target >= 1.0)")
    complete = all(r["counts"] == {"ours": args.n, "theirs": args.n} for r in results)
    if not complete:
        print(f"not every message was delivered: {[r['counts'] for r in results]}", file=sys.stderr)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
