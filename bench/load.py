"""Load: the reset endpoint under wrk for 30 s, then count the delivered messages.

    .venv/bin/python -m bench.load              # 30 s, gunicorn with 3 workers, wrk -t2 -c16

The site runs under gunicorn with several workers and a db_worker beside it,
limits raised so that every request is accepted, messages saved to an outbox
folder. wrk (Debian's package, installed with apt-get when missing and run as
root) posts resets for random existing addresses. Afterwards the queue is
drained and there must be no 5xx answer and exactly one message in the outbox
per accepted request.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from testsupport.site import REQUEST_TASK, Site

LUA = """
local token = "%(token)s"
local users = %(users)d
local threads = {}
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Cookie"] = "csrftoken=%(cookie)s"
wrk.headers["Referer"] = "%(url)s"
function setup(thread) table.insert(threads, thread) end
function init(args) statuses = {} end
function request()
  local body = "csrfmiddlewaretoken=" .. token .. "&email=load" .. math.random(0, users - 1) .. "%%40bench.example"
  return wrk.format(nil, nil, nil, body)
end
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
function done(summary, latency, requests)
  local total = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do total[status] = (total[status] or 0) + count end
  end
  for status, count in pairs(total) do io.write(string.format("STATUS %%d %%d\\n", status, count)) end
  local p50, p99 = latency:percentile(50) / 1000, latency:percentile(99) / 1000
  io.write(string.format("LATENCY p50=%%.1fms p99=%%.1fms\\n", p50, p99))
end
"""


def ensure_wrk() -> str:
    if path := shutil.which("wrk"):
        return path
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed: sudo apt-get install wrk (Debian's package), then run again")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=True, env=env, timeout=600)
    return shutil.which("wrk") or sys.exit("apt-get did not install wrk")


def post_forms(site: Site, path: str, *, duration: int, connections: int, threads: int, users: int) -> dict:
    """wrk posts reset forms (random existing addresses, a valid CSRF token) to ``path`` for ``duration`` s.

    Returns the command, the statuses wrk saw, requests per second, latency and socket errors.
    """
    wrk = ensure_wrk()
    session, token = site.form_session()
    url = f"{site.url}{path}"
    script = site.folder / "reset.lua"
    script.write_text(LUA % {"token": token, "cookie": session.cookies["csrftoken"], "url": url, "users": users})
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--timeout=10s", "-s", str(script)]
    output = subprocess.run([*command, url], capture_output=True, text=True, timeout=duration + 60, check=True).stdout
    latency = re.search(r"^LATENCY p50=([\d.]+)ms p99=([\d.]+)ms$", output, re.MULTILINE)
    errors = re.search(r"Socket errors: .*", output)
    return {
        "command": " ".join(command),
        "seen_by_wrk": dict(sorted((int(s), int(c)) for s, c in re.findall(r"^STATUS (\d+) (\d+)$", output, re.M))),
        "requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "latency": latency.group(0).removeprefix("LATENCY "),
        "p50_ms": float(latency.group(1)),
        "p99_ms": float(latency.group(2)),
        "socket_errors": errors.group(0) if errors else "none",
    }


def run(duration: int = 30, connections: int = 16, threads: int = 2, gunicorn_workers: int = 3, users: int = 200):
    ensure_wrk()
    emails = [f"load{i}@bench.example" for i in range(users)]
    with tempfile.TemporaryDirectory(prefix="bench-load-") as folder:
        outbox = Path(folder) / "outbox"
        env = {
            "EMAIL_URL": f"outbox://{outbox}",
            "RESET_RATE_PER_CLIENT": "1000000/m",
            "RESET_RATE_PER_ADDRESS": "1000000/m",
        }
        with Site(Path(folder), env) as site:
            site.prepare(emails)
            site.start_server(gunicorn_workers)
            worker = site.start_worker()
            wrk = post_forms(
                site, "/users/password_reset/", duration=duration, connections=connections, threads=threads, users=users
            )

            site.stop(worker)
            started = time.monotonic()
            site.drain(workers=2)
            site.wait_until(lambda: site.pending() == 0, 300, "the queue to drain")
            drain_seconds = time.monotonic() - started
            queued = site.count_tasks(REQUEST_TASK)
            messages = len(list(outbox.glob("*.eml")))
            answered = site.answered("POST", "/users/password_reset/")
    return {
        **wrk,
        "statuses": dict(sorted(answered.items())),
        "accepted": answered[302],
        "queued": queued,
        "messages": messages,
        "drain_seconds": drain_seconds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds of load (default 30)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3)")
    args = parser.parse_args()
    result = run(args.duration, args.connections, gunicorn_workers=args.workers)
    server_errors = sum(count for status, count in result["statuses"].items() if status >= 500)
    print(f"wrk:             {result['command']} (gunicorn with {args.workers} workers)")
    print(f"server answered: {result['statuses']} (gunicorn's access log)")
    print(f"wrk saw:         {result['seen_by_wrk']}, socket errors: {result['socket_errors']}")
    print(f"throughput:      {result['requests_per_second']:.0f} requests/s, latency {result['latency']}")
    print(f"5xx:             {server_errors}")
    print(f"accepted (302):  {result['accepted']}; queued by the site: {result['queued']}")
    print(f"outbox:          {result['messages']} messages after the queue drained ({result['drain_seconds']:.1f} s)")
    ok = server_errors == 0 and result["messages"] == result["accepted"] == result["queued"]
    print("one message per accepted request, no 5xx" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
