"""Outage: the SMTP server is down while resets are requested, then comes back.

    .venv/bin/python -m bench.outage            # 50 resets

With the server stopped, ``-n`` resets are requested through gunicorn; the
worker's first attempts fail (connection refused) and wait in the queue. The
worker is then stopped, the server started again on the same port, and a new
worker started: every message must arrive, each exactly once.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from testsupport.site import Site
from testsupport.smtp_servers import HOST, env_for, free_port, smtp_server


def run(n: int = 50, retry_delay: float = 1.0) -> dict:
    emails = [f"outage{i}@bench.example" for i in range(n)]
    port = free_port()  # nothing listens on the port yet: the server is down
    with tempfile.TemporaryDirectory(prefix="bench-outage-") as folder:
        env = {
            **env_for(HOST, port),
            "RESET_RATE_PER_CLIENT": f"{n + 10}/m",  # all requests come from this one client
            "MAIL_RETRY_DELAY": str(retry_delay),
            "MAIL_SEND_ATTEMPTS": "8",
        }
        with Site(Path(folder), env) as site:
            site.prepare(emails)
            site.start_server()
            worker = site.start_worker()
            session, token = site.form_session()
            statuses = {site.post_reset(session, token, email).status_code for email in emails}

            # Every message has been tried at least once and failed: n deliveries waiting for a retry.
            site.wait_until(lambda: len(site.deliveries(("queued",))) >= n, 120, "the first attempts")
            failed_attempts = sum(attempts for _, attempts in site.deliveries(("queued", "sending")))
            site.stop(worker)  # a restart between attempts
            with smtp_server(port=port) as smtp:  # the server is back, on the same port
                started = time.monotonic()
                worker = site.start_worker()
                try:
                    site.wait_until(lambda: site.pending() == 0, 30 + 64 * retry_delay, "the queue to drain")
                finally:
                    seconds = time.monotonic() - started
                    site.stop(worker)
        records = site.deliveries()
    delivered = smtp.recipients()
    return {
        "requested": n,
        "statuses": sorted(statuses),
        "failed_attempts_during_outage": failed_attempts,
        "delivered": sum(delivered.values()),
        "addresses_with_one_message": sum(1 for email in emails if delivered[email] == 1),
        "seconds_to_deliver": seconds,
        "deliveries": len(records),
        "failed_deliveries": sum(1 for status, _ in records if status != "sent"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50, help="resets requested during the outage (default 50)")
    parser.add_argument("--retry-delay", type=float, default=1.0, help="MAIL_RETRY_DELAY for the run (seconds)")
    args = parser.parse_args()
    result = run(args.n, args.retry_delay)
    print(f"requested during the outage: {result['requested']} (HTTP {', '.join(map(str, result['statuses']))})")
    print(f"failed attempts while down:  {result['failed_attempts_during_outage']}")
    print(
        f"after the server came back:  {result['delivered']} delivered, "
        f"{result['addresses_with_one_message']}/{args.n} addresses exactly once, "
        f"in {result['seconds_to_deliver']:.1f} s"
    )
    print(f"delivery records:            {result['deliveries']} ({result['failed_deliveries']} not sent)")
    ok = result["statuses"] == [302] and result["delivered"] == result["addresses_with_one_message"] == args.n
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
