"""A local SMTP server for the benchmarks and tests: records what it accepts.

Real aiosmtpd on 127.0.0.1 only. It can be slow (``delay`` seconds per message),
refuse the first messages with a temporary error (``refuse_first``), refuse
everything (``refuse_code``), and be stopped and started again on the same port
to simulate an outage.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
from collections import Counter

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Recorder:
    """The handler: answers DATA, keeps every accepted message."""

    def __init__(self, *, delay: float = 0.0, refuse_first: int = 0, refuse_code: str = "451 4.3.0 Try again later"):
        self.delay = delay
        self.refuse_first = refuse_first
        self.refuse_code = refuse_code
        self.messages: list[email.message.EmailMessage] = []
        self.refused = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self.refused < self.refuse_first:
                self.refused += 1
                return self.refuse_code
            self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        return "250 2.0.0 Accepted"

    def recipients(self) -> Counter:
        """How many accepted messages each address got."""
        with self.lock:
            return Counter(message["To"] for message in self.messages)


class SMTPServer:
    """``with SMTPServer() as server:`` … ``server.url`` for EMAIL_URL; ``stop()``/``start()`` for an outage."""

    def __init__(self, recorder: Recorder | None = None, port: int | None = None):
        self.recorder = recorder or Recorder()
        self.port = port or free_port()
        self.controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{HOST}:{self.port}?timeout=5"

    def start(self) -> SMTPServer:
        self.controller = Controller(self.recorder, hostname=HOST, port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def __enter__(self) -> SMTPServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
