"""What a queued ``send_mail()`` costs the request that calls it, against sending in the request.

    .venv/bin/python -m bench.send_mail_bench                  # SQLite
    .venv/bin/python -m bench.send_mail_bench --postgresql     # a PostgreSQL server of the run's own
    .venv/bin/python -m bench.send_mail_bench -n 500 --rounds 3

In one ``manage.py shell`` process, ``-n`` calls of ``send_mail()`` with a reset-sized
message (a subject, a text part and an HTML part, about 3 KB) each way, interleaved in
rounds so that a busy moment of the machine falls on both alike:

* queued: the default mailer (``delivery.backend``): the message stored in the database
  with its first attempt queued;
* the outbox in the request: ``using="direct"`` with ``EMAIL_URL=outbox://``, the file
  written by the request (what the first lesson's file backend does);
* SMTP in the request: ``using="direct"`` to an SMTP server on 127.0.0.1 that takes
  ``--smtp-delay`` seconds (default 0.2, a real provider's round trip) to answer DATA;
  fewer calls (``--smtp-n``), since each takes that long.

Prints the median milliseconds per call and the ratios (targets: queued / outbox
<= 1.5; queued / SMTP < 1/20).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

from bench.databases import database_url, process_env
from testsupport.site import manage
from testsupport.smtp_servers import mailers_for, smtp_server

CALLS = """
import json, time
from django.core.mail import send_mail
body = "Someone asked for a new password for your account. " * 14
link = "<p><a href='https://cinemahub.example/users/reset/MQ/abc-123/'>Set a new password</a></p>"
html = ("<p>" + body + "</p>" + link) * 4

def call(using):
    start = time.perf_counter()
    send_mail("Password reset on cinemahub.example", body, None, ["anna@example.com"], html_message=html, using=using)
    return time.perf_counter() - start

ways = %(ways)s
times = {way: [] for way in ways}
for _ in range(%(n)d):
    for way, using in ways.items():
        times[way].append(call(using))
print(json.dumps(times))
"""


def run(n: int, smtp_n: int, smtp_delay: float, url: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="bench-send-mail-") as folder, ExitStack() as servers:
        folder = Path(folder)
        env = process_env(
            folder,
            url,
            DEBUG="false",
            SECRET_KEY="bench-" + "x" * 50,
            ALLOWED_HOSTS="localhost",
            EMAIL_URL=f"outbox://{folder / 'outbox'}",
        )
        manage(env, "migrate", "--noinput", "-v0")
        local = json.loads(
            manage(env, "shell", "-v0", "-c", CALLS % {"n": n, "ways": {"queued": None, "outbox": "direct"}})
        )
        server = servers.enter_context(smtp_server(fail=[f"data:delay={smtp_delay}"]))
        options = mailers_for(*server)["default"]["OPTIONS"]
        smtp_env = {**env, "EMAIL_URL": f"smtp://{options['host']}:{options['port']}"}
        remote = json.loads(
            manage(smtp_env, "shell", "-v0", "-c", CALLS % {"n": smtp_n, "ways": {"queued": None, "smtp": "direct"}})
        )
    return {
        "database": env["DATABASE_URL"].partition("://")[0],
        "queued": statistics.median(local["queued"]),
        "outbox": statistics.median(local["outbox"]),
        "queued_beside_smtp": statistics.median(remote["queued"]),
        "smtp": statistics.median(remote["smtp"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300, help="calls each way (default 300)")
    parser.add_argument("--smtp-n", type=int, default=20, help="calls each way beside the slow server (default 20)")
    parser.add_argument("--smtp-delay", type=float, default=0.2, help="seconds the SMTP server takes (default 0.2)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat, keeping each side's best (a shared machine)")
    parser.add_argument("--postgresql", action="store_true", help="on a PostgreSQL server started for the run")
    args = parser.parse_args()
    with ExitStack() as servers:
        url = database_url(servers, args.postgresql)
        results = [run(args.n, args.smtp_n, args.smtp_delay, url) for _ in range(args.rounds)]
    best = {key: min(result[key] for result in results) for key in ("queued", "outbox", "queued_beside_smtp", "smtp")}
    print(f"database: {results[0]['database']}; median of {args.n} send_mail() calls each way")
    print(f"queued (default mailer):      {best['queued'] * 1000:7.2f} ms")
    print(f"outbox file in the request:   {best['outbox'] * 1000:7.2f} ms")
    print(f"ratio queued/outbox:          {best['queued'] / best['outbox']:.2f} (target <= 1.5)")
    print(f"SMTP in the request ({args.smtp_delay:g} s server): {best['smtp'] * 1000:7.1f} ms")
    print(f"queued beside it:             {best['queued_beside_smtp'] * 1000:7.2f} ms")
    print(f"ratio queued/SMTP:            1/{best['smtp'] / best['queued_beside_smtp']:.0f} (target under 1/20)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
