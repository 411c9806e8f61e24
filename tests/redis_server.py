"""A throwaway Redis on 127.0.0.1 for the tests, from Debian's ``redis-server``.

The ``redis_url`` fixture starts one per test session on a free loopback port,
in a temporary folder, saving nothing to disk and never evicting a key (Redis'
default ``noeviction``, as the README asks of a Redis holding the counters).
Without ``redis-server`` on the PATH the tests using it are skipped, and pytest
prints the reason (``-ra``).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

STARTUP_LIMIT = 20.0  # seconds to wait for the server to answer PING; only a guard against a hang


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (Debian package redis-server)")
    port = free_port()
    folder = tmp_path_factory.mktemp("redis")
    options = {"bind": "127.0.0.1", "port": str(port), "dir": str(folder), "save": "", "appendonly": "no"}
    options["maxmemory-policy"] = "noeviction"
    server = subprocess.Popen(
        [binary, *(part for name, value in options.items() for part in (f"--{name}", value))],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"redis-server did not start on 127.0.0.1:{port}")
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        server.terminate()
        server.wait(10)
