"""sendtestmail --count N against a local SMTP sink, beside a plain smtplib loop (the practical limit).

    .venv/bin/python bench/sendtestmail_rate.py [--count 1000] [--rounds 5]

One process: an aiosmtpd sink on 127.0.0.1 in a thread; the baseline sends one
prebuilt message N times over one smtplib connection; the command
(``call_command("sendtestmail", ..., count=N)``) builds N messages and sends them over
one connection through Django's SMTP backend. Rates are messages per second over
the whole call (composing included); the best of ``--rounds`` is kept for each.
Target: the command reaches at least 0.5 of the baseline (each message is built by
Django's email package, which a local sink's round trip does not hide; a real
provider's round trip of 50-200 ms does).
"""

import argparse
import io
import json
import os
import smtplib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TO = "anna@example.com"
SENDER = "site@example.com"


def smtplib_loop(sink, count: int, data: bytes) -> float:
    start = time.perf_counter()
    connection = smtplib.SMTP(sink.host, sink.port, timeout=10)
    for _ in range(count):
        connection.sendmail(SENDER, [TO], data)
    connection.quit()
    return count / (time.perf_counter() - start)


def command(count: int) -> tuple[float, float]:
    from django.core.management import call_command

    stdout = io.StringIO()
    start = time.perf_counter()
    call_command("sendtestmail", TO, "--from", SENDER, "--count", str(count), "--json", stdout=stdout)
    wall = count / (time.perf_counter() - start)
    return wall, json.loads(stdout.getvalue())["per_second"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from testsupport.smtp_servers import env_for, smtp_server

    with smtp_server() as sink:
        os.environ.update(DJANGO_SETTINGS_MODULE="core.settings", DJANGO_ENV_FILE="", DEBUG="true", **env_for(*sink))
        import django
        from django.core.mail import EmailMessage

        django.setup()
        data = EmailMessage("Test message", "If you can read it, mail works.\n", SENDER, [TO]).message().as_bytes()

        smtplib_loop(sink, 50, data)  # warm up both paths
        command(50)
        baseline, ours, ours_sending = 0.0, 0.0, 0.0
        for _ in range(args.rounds):
            baseline = max(baseline, smtplib_loop(sink, args.count, data))
            wall, sending = command(args.count)
            ours, ours_sending = max(ours, wall), max(ours_sending, sending)

    print(f"messages per round: {args.count}, rounds: {args.rounds} (best kept), sink received {len(sink.messages)}")
    print(f"smtplib loop, one connection:      {baseline:8.1f} messages/s")
    print(f"sendtestmail --count {args.count} (whole call): {ours:8.1f} messages/s")
    print(f"  (its own report, sending only):  {ours_sending:8.1f} messages/s")
    print(f"ratio sendtestmail / smtplib:      {ours / baseline:8.2f}  (target >= 0.50)")


if __name__ == "__main__":
    main()
