"""The reset endpoint under load on PostgreSQL + Redis and on SQLite + diskcache, against a minimal view.

    .venv/bin/python -m bench.machines          # 10 s per endpoint and stack, gunicorn with 3 workers, wrk -t2 -c16

For each stack the site runs under gunicorn (``DJANGO_SETTINGS_MODULE=bench.settings``:
the site plus ``/bench/minimal/``, a view that only answers a POST) with a
``db_worker`` draining beside it (``--no-worker``: drained afterwards). wrk (bench/load.py) posts the same reset
forms to the minimal view, to ``/bench/stock-reset/`` (Django's own ``PasswordResetView``, its
message written in the request, as a project without a queue sends it) and to
``/users/password_reset/``, under the same server in the same run; then, on a second
server whose client budget is one a day, floods the reset endpoint with requests it
refuses (429) and the minimal view beside it. Prints requests per second and p99 and
the ratios: reset/stock view (target on PostgreSQL + Redis: >= 1.5), refused/minimal
(>= 0.6), reset/minimal. Then the queue is drained: there must be no 5xx and exactly
one message in the outbox per accepted reset.

PostgreSQL and Redis are servers of the run's own on 127.0.0.1
(testsupport/services.py, as in the tests); PostgreSQL keeps its durable defaults and
the site keeps its connections (``conn_max_age=60``, as docs/deployment.md says).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.load import ensure_wrk, post_forms
from testsupport.services import PostgreSQL, Redis
from testsupport.site import Site

RESET_PATH = "/users/password_reset/"
MINIMAL_PATH = "/bench/minimal/"  # bench/urls.py
STOCK_PATH = "/bench/stock-reset/"  # Django's PasswordResetView, sending in the request
STACKS = ("postgresql+redis", "sqlite+diskcache")


def measure(
    stack: str, folder: Path, *, duration: int, connections: int, gunicorn_workers: int, users: int, worker: bool = True
) -> dict:
    emails = [f"load{i}@bench.example" for i in range(users)]
    outbox = folder / "outbox"
    env = {
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "EMAIL_URL": f"outbox://{outbox}",
        "RESET_RATE_PER_CLIENT": "1000000/m",
        "RESET_RATE_PER_ADDRESS": "1000000/m",
        "BENCH_STOCK_FOLDER": str(folder / "stock"),
    }
    with ExitStack() as stack_of_servers:
        if stack == "postgresql+redis":
            postgres = stack_of_servers.enter_context(PostgreSQL(durable=True))
            redis = stack_of_servers.enter_context(Redis())
            env |= {"DATABASE_URL": postgres.create_database("conn_max_age=60"), "CACHE_URL": redis.url(0)}
        site = stack_of_servers.enter_context(Site(folder, env))  # SQLite and diskcache in `folder` otherwise
        site.prepare(emails)
        site.start_server(gunicorn_workers)
        running = site.start_worker() if worker else None
        load = {"duration": duration, "connections": connections, "threads": 2, "users": users}
        minimal = post_forms(site, MINIMAL_PATH, **load)
        stock = post_forms(site, STOCK_PATH, **load)
        reset = post_forms(site, RESET_PATH, **load)
        if running:
            site.stop(running)
        # The same reset endpoint with every request over the client's budget: all 429.
        (folder / "refusing").mkdir()
        refusing = stack_of_servers.enter_context(Site(folder / "refusing", {**env, "RESET_RATE_PER_CLIENT": "1/d"}))
        refusing.env["DATABASE_URL"], refusing.env["CACHE_URL"] = site.env["DATABASE_URL"], site.env["CACHE_URL"]
        refusing.start_server(gunicorn_workers)
        refused = post_forms(refusing, RESET_PATH, **load)
        minimal_beside = post_forms(refusing, MINIMAL_PATH, **load)
        for _ in range(3):  # a batch worker exits when nothing is ready; the last tasks may still be queueing others
            site.drain(workers=2)
            answered = site.answered("POST", RESET_PATH)
            answered = answered + refusing.answered("POST", RESET_PATH)  # the refusing server's first is accepted
            messages = len(list(outbox.glob("*.eml")))
            if messages >= answered[302]:
                break
        answered_minimal = site.answered("POST", MINIMAL_PATH)
        answered_stock = site.answered("POST", STOCK_PATH)
    statuses = answered + answered_minimal + answered_stock
    return {
        "stack": stack,
        "minimal": minimal,
        "stock": stock,
        "reset": reset,
        "refused": refused,
        "ratio": reset["requests_per_second"] / minimal["requests_per_second"],
        "stock_ratio": reset["requests_per_second"] / stock["requests_per_second"],
        "refused_ratio": refused["requests_per_second"] / minimal_beside["requests_per_second"],
        "refused_statuses": refused["seen_by_wrk"],
        "statuses": {
            "reset": dict(sorted(answered.items())),
            "minimal": dict(sorted(answered_minimal.items())),
            "stock": dict(sorted(answered_stock.items())),
        },
        "server_errors": sum(count for status, count in statuses.items() if status >= 500),
        "accepted": answered[302],
        "messages": messages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per endpoint (default 10)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    parser.add_argument("--stack", choices=STACKS, action="append", help="only this stack (repeatable)")
    parser.add_argument(
        "--no-worker", action="store_true", help="no db_worker during the load (the queue is drained afterwards)"
    )
    args = parser.parse_args()
    ensure_wrk()
    ok = True
    for stack in args.stack or STACKS:
        with tempfile.TemporaryDirectory(prefix="bench-machines-") as folder:
            result = measure(
                stack,
                Path(folder),
                duration=args.duration,
                connections=args.connections,
                gunicorn_workers=args.workers,
                users=200,
                worker=not args.no_worker,
            )
        minimal, reset = result["minimal"], result["reset"]
        good = result["server_errors"] == 0 and result["messages"] == result["accepted"] > 0
        ok = ok and good
        beside = "no worker during the load" if args.no_worker else "a db_worker draining"
        print(f"{stack}: gunicorn with {args.workers} workers, {beside}, {minimal['command']}")
        print(f"  minimal view:  {minimal['requests_per_second']:7.0f} requests/s, p99 {minimal['p99_ms']:.1f} ms")
        stock, refused = result["stock"], result["refused"]
        print(f"  stock reset:   {stock['requests_per_second']:7.0f} requests/s, p99 {stock['p99_ms']:.1f} ms")
        print(f"  reset:         {reset['requests_per_second']:7.0f} requests/s, p99 {reset['p99_ms']:.1f} ms")
        print(f"  ratio:         {result['stock_ratio']:.2f} reset/stock view (target >= 1.5)")
        print(
            f"  refused flood: {refused['requests_per_second']:7.0f} requests/s {result['refused_statuses']}, "
            f"{result['refused_ratio']:.2f} of the minimal view beside it (target >= 0.6)"
        )
        print(
            f"  ratio:         {result['ratio']:.2f} reset/minimal" + ("  (target >= 0.5)" if "redis" in stack else "")
        )
        print(f"  answered:      {result['statuses']}, 5xx: {result['server_errors']}")
        print(f"  outbox:        {result['messages']} messages for {result['accepted']} accepted resets")
        print("  " + ("one message per accepted request, no 5xx" if good else "MISMATCH"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
