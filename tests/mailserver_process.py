"""``manage.py mailserver`` as a real process: started with ``--json --port 0``, its document read, then stopped.

``text=True`` starts it without ``--json``: what it printed up to "Ctrl+C stops this server." (in English or
Russian) is then in ``Running.lines``, and ``document`` is empty.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import ROOT, environment


@dataclass
class Running:
    process: subprocess.Popen
    document: dict  # what it printed when it started listening
    lines: list[str] = field(default_factory=list)  # with text=True: what it printed before listening

    @property
    def port(self) -> int:
        if not self.document:
            match = re.search(r"\S+:(\d+) \(", self.lines[0])  # "listening on HOST:PORT (security)", any language
            return int(match.group(1))
        return self.document["port"]

    @property
    def env_url(self) -> str:
        """The ``EMAIL_URL`` value it says the site should use."""
        return self.document["env"]["url"].partition("=")[2]

    def rss_kib(self) -> int:
        """Its resident memory now, in KiB (from /proc)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self, number: int = signal.SIGINT, timeout: float = 30) -> tuple[int, str, str]:
        """Send the signal; its exit code, the rest of stdout, and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(number)
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


@contextlib.contextmanager
def mailserver(*args: str, env: dict | None = None, text: bool = False) -> Iterator[Running]:
    """The command listening (on a free port unless ``--port`` is given), stopped with SIGINT afterwards."""
    port = [] if "--port" in args else ["--port", "0"]
    output = [] if text else ["--json"]
    process = subprocess.Popen(
        [sys.executable, "manage.py", "mailserver", *output, *port, *args],
        cwd=ROOT,
        env=environment(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        while True:
            line = process.stdout.readline()
            if not line:
                _, err = process.communicate(timeout=30)
                raise AssertionError(f"mailserver did not start: exit {process.returncode}: {err}")
            if not text:
                running = Running(process, json.loads(line))
                break
            lines.append(line.rstrip("\n"))
            if line.rstrip().endswith(("Ctrl+C stops this server.", "Ctrl+C останавливает этот сервер.")):
                running = Running(process, {}, lines)
                break
        yield running
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate(timeout=30)
