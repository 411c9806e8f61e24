"""Timing: do the reset and sign-up pages answer as fast for an address with an account as without?

    .venv/bin/python -m bench.timing                # the reset page: 200 + 200 requests, SMTP waiting 500 ms
    .venv/bin/python -m bench.timing --page signup  # the sign-up page, the same way

Requests for existing and unknown addresses are interleaved (in random order
within each pair) against gunicorn, while a db_worker sends through a local
SMTP server that waits ``--delay`` seconds per message. Prints both medians,
their ratio (target 0.95-1.05) and the two-sided Mann-Whitney U p-value
(target > 0.05: the two distributions cannot be told apart). Then the queue is
drained and every address must have received exactly one message: for the
reset, each existing address its link (and the unknown ones nothing); for the
sign-up, each existing address the "already has an account" message and each
new one its confirmation.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from testsupport.site import Site
from testsupport.smtp_servers import env_for, smtp_server


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (normal approximation, tie and continuity corrected)."""
    n1, n2 = len(a), len(b)
    pooled = sorted([(value, 0) for value in a] + [(value, 1) for value in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        ties += (j - i + 1) ** 3 - (j - i + 1)
        i = j + 1
    rank_sum_a = sum(rank for rank, (_, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = rank_sum_a - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    if sigma == 0:
        return 1.0
    z = max(abs(u - n1 * n2 / 2) - 0.5, 0) / sigma
    return math.erfc(z / math.sqrt(2))


PAGES = ("reset", "signup")


def run(n: int = 200, delay: float = 0.5, gunicorn_workers: int = 2, seed: int = 6, page: str = "reset") -> dict:
    known = [f"known{i}@bench.example" for i in range(n)]
    unknown = [f"unknown{i}@bench.example" for i in range(n)]
    warm = [f"warmup{i}@bench.example" for i in range(10)]
    slow = f"data:delay={delay:g}"  # every message waits `delay` for its reply
    budget = f"{4 * n + 100}/m"
    with tempfile.TemporaryDirectory(prefix="bench-timing-") as folder, smtp_server(fail=[slow]) as smtp:
        env = {**env_for(*smtp), "RESET_RATE_PER_CLIENT": budget, "SIGNUP_RATE_PER_CLIENT": budget}
        with Site(Path(folder), env) as site:
            site.prepare(known)
            site.start_server(gunicorn_workers)
            worker = site.start_worker()
            session, token = site.form_session()
            post = site.post_signup if page == "signup" else site.post_reset
            for email in warm:  # warm-up: imports, connections, caches (their sign-ups are not counted)
                post(session, token, email)

            rng = random.Random(seed)
            times: dict[str, list[float]] = {"known": [], "unknown": []}
            for pair in zip(known, unknown, strict=True):
                order = [("known", pair[0]), ("unknown", pair[1])]
                rng.shuffle(order)
                for kind, email in order:
                    start = time.perf_counter()
                    response = post(session, token, email)
                    times[kind].append(time.perf_counter() - start)
                    if response.status_code != 302:
                        raise RuntimeError(f"{email}: HTTP {response.status_code}")

            # Deliver what is left: each attempt waits `delay` at the server, so drain with several workers.
            site.stop(worker)
            started = time.monotonic()
            site.drain(workers=4)
            site.wait_until(lambda: site.pending() == 0, 60, "the queue to drain")
            drain_seconds = time.monotonic() - started
        delivered = Counter({address: count for address, count in smtp.recipients().items() if address not in warm})
    expected = known + unknown if page == "signup" else known  # who must get exactly one message
    median_known = statistics.median(times["known"])
    median_unknown = statistics.median(times["unknown"])
    return {
        "requests": 2 * n,
        "median_known_ms": median_known * 1000,
        "median_unknown_ms": median_unknown * 1000,
        "ratio": median_known / median_unknown,
        "p_value": mann_whitney_p(times["known"], times["unknown"]),
        "delivered": sum(delivered.values()),
        "expected": len(expected),
        "addresses_with_one_message": sum(1 for address in expected if delivered[address] == 1),
        "unexpected": sorted(set(delivered) - set(expected)) + [a for a, c in delivered.items() if c > 1],
        "drain_seconds": drain_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=200, help="requests of each kind (default 200)")
    parser.add_argument("--delay", type=float, default=0.5, help="seconds the SMTP server waits per message")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--page", choices=PAGES, default="reset", help="the page to time (default: reset)")
    args = parser.parse_args()
    result = run(args.n, args.delay, args.workers, page=args.page)
    print(f"requests:            {result['requests']} ({args.n} existing + {args.n} unknown, interleaved)")
    print(f"median, existing:    {result['median_known_ms']:.2f} ms")
    print(f"median, unknown:     {result['median_unknown_ms']:.2f} ms")
    print(f"ratio:               {result['ratio']:.3f}  (target 0.95-1.05)")
    print(f"Mann-Whitney U p:    {result['p_value']:.3f}  (target > 0.05)")
    print(
        f"delivered:           {result['delivered']} messages, {result['addresses_with_one_message']}/"
        f"{result['expected']} addresses exactly once (queue drained in {result['drain_seconds']:.1f} s)"
    )
    expected = result["expected"]
    ok = result["addresses_with_one_message"] == expected == result["delivered"] and not result["unexpected"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
