"""The workers' delivery rate: queued resets drained by ``db_worker --batch`` processes into the outbox.

    .venv/bin/python -m bench.drain                 # 2,000 resets, 2 workers, SQLite
    .venv/bin/python -m bench.drain --postgresql    # the same on a PostgreSQL server of the run's own
    DATABASE_URL=postgres://... .venv/bin/python -m bench.drain -n 2000

In one run: ``-n`` users are created and ``-n`` resets queued as the web form
queues them (``enqueue_password_reset``); then ``--workers`` processes of
``manage.py db_worker --batch`` drain the queue into an outbox folder (timed
from their start to the last one's exit, process start-up included); then one
process renders and saves the same messages in a plain loop (the functions the
task uses, no queue: the limit). Prints messages per second for both and the
ratio drain/loop (target: at least 0.5). ``--rounds R`` repeats the whole run
and keeps each side's best (on a machine shared with other work).

The database is a SQLite file in a temporary folder, a PostgreSQL server started
for the run with its durable defaults (``--postgresql``, testsupport/services.py, as the
tests and bench.machines start it), or ``DATABASE_URL`` from the environment
(an empty database is best; the run's users and tasks are deleted at the end).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

from bench.databases import database_url, process_env
from testsupport.site import manage

ROOT = Path(__file__).resolve().parent.parent
SITE_URL = "https://cinemahub.example"

SETUP = """
import sys
from django.contrib.auth.hashers import make_password
from users.addresses import mailbox
from users.models import User
from users.tasks import enqueue_password_reset
emails = sys.stdin.read().split()
password = make_password("bench-Passw0rd")
User.objects.bulk_create(User(username=e, email=e, mailbox=mailbox(e), password=password) for e in emails)
for e in emails:
    enqueue_password_reset(e, "%(site)s")
"""

LOOP = """
import sys, time
from users.models import User
from users.reset import send_reset_message
users = list(User.objects.filter(username__startswith="%(prefix)s").order_by("pk"))
start = time.perf_counter()
for user in users:
    send_reset_message(user, site_url="%(site)s")
print(len(users), time.perf_counter() - start)
"""

CLEANUP = """
from django_tasks_db.models import DBTaskResult
from users.models import User
from delivery.models import Delivery
sent = Delivery.objects.filter(email__startswith="%(prefix)s", status="sent").count()
ids = list(Delivery.objects.filter(email__startswith="%(prefix)s").values_list("request_id", flat=True))
print(sent)
DBTaskResult.objects.filter(args_kwargs__kwargs__email__startswith="%(prefix)s").delete()
DBTaskResult.objects.filter(pk__in=ids).delete()
Delivery.objects.filter(email__startswith="%(prefix)s").delete()
User.objects.filter(username__startswith="%(prefix)s").delete()
"""


def run(n: int = 2000, workers: int = 2, url: str = "") -> dict:
    prefix = f"drain-{uuid.uuid4().hex[:8]}-"
    emails = [f"{prefix}{i}@bench.example" for i in range(n)]
    with tempfile.TemporaryDirectory(prefix="bench-drain-") as folder:
        folder = Path(folder)
        env = process_env(folder, url, DEBUG="true", EMAIL_URL=f"outbox://{folder / 'drained'}")
        database = env["DATABASE_URL"].partition("://")[0]
        manage(env, "migrate", "--noinput", "-v0")
        manage(env, "shell", "-v0", "-c", SETUP % {"site": SITE_URL}, input="\n".join(emails))

        started = time.perf_counter()
        command = [sys.executable, "manage.py", "db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0"]
        processes = [subprocess.Popen(command, cwd=ROOT, env=env) for _ in range(workers)]
        for process in processes:
            process.wait(timeout=3600)
        drain_seconds = time.perf_counter() - started
        drained = len(list((folder / "drained").glob("*.eml")))

        loop_env = {**env, "EMAIL_URL": f"outbox://{folder / 'looped'}"}
        loop = LOOP % {"site": SITE_URL, "prefix": prefix}
        looped, loop_seconds = manage(loop_env, "shell", "-v0", "-c", loop).split()
        sent_records = int(manage(env, "shell", "-v0", "-c", CLEANUP % {"prefix": prefix}))
    return {
        "n": n,
        "workers": workers,
        "database": database,
        "drained": drained,
        "sent_records": sent_records,
        "drain_seconds": drain_seconds,
        "drain_rate": drained / drain_seconds,
        "looped": int(looped),
        "loop_seconds": float(loop_seconds),
        "loop_rate": int(looped) / float(loop_seconds),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="resets queued (default 2000)")
    parser.add_argument("--workers", type=int, default=2, help="db_worker --batch processes (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat, keeping each side's best (a shared machine)")
    parser.add_argument("--postgresql", action="store_true", help="on a PostgreSQL server started for the run")
    args = parser.parse_args()
    with ExitStack() as servers:
        url = database_url(servers, args.postgresql)
        results = [run(args.n, args.workers, url) for _ in range(args.rounds)]
    result = max(results, key=lambda r: r["drain_rate"])
    best_loop = max(results, key=lambda r: r["loop_rate"])
    result.update({key: best_loop[key] for key in ("looped", "loop_seconds", "loop_rate")})
    ratio = result["drain_rate"] / result["loop_rate"]
    print(f"database: {result['database']}, {result['n']} resets queued")
    print(
        f"{result['workers']} x db_worker --batch: {result['drained']} messages in {result['drain_seconds']:.1f} s "
        f"= {result['drain_rate']:.0f} messages/s (process start-up included)"
    )
    print(
        f"plain loop, one process:  {result['looped']} messages in {result['loop_seconds']:.1f} s "
        f"= {result['loop_rate']:.0f} messages/s"
    )
    print(f"ratio workers/loop: {ratio:.2f} (target >= 0.5)")
    ok = all(r["drained"] == r["sent_records"] == r["looped"] == r["n"] for r in results)
    if not ok:
        print("not every reset was delivered exactly once", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
