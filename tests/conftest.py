import email
import email.policy
import functools
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.mail.config import OUTBOX_BACKEND
from testsupport import services
from testsupport.smtp_servers import LOGINS, SmtpServer, smtp_server, trusted_ca_file


@pytest.fixture(autouse=True)
def no_language_left_active():
    """Each test starts with no language active, as a process does: a Russian page fetched through
    django.test.Client leaves Russian active in the thread (Django's LocaleMiddleware never deactivates)."""
    yield
    from django.utils import translation

    translation.deactivate()


ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def outbox_dir(settings, tmp_path):
    """The default mailer saves to a fresh folder (Django's test runner swaps in locmem otherwise)."""
    folder = tmp_path / "sent_emails"
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(folder)}}}
    return folder


def read_eml(path: Path) -> email.message.EmailMessage:
    with open(path, "rb") as stream:
        return email.message_from_binary_file(stream, policy=email.policy.default)


def saved_messages(folder: Path) -> list[email.message.EmailMessage]:
    """Every message saved in an outbox folder, oldest first."""
    return [read_eml(path) for path in sorted(folder.glob("*.eml"))]


@pytest.fixture
def fresh_counters():
    """Empty rate-limit counters: every test's logins and requests come from 127.0.0.1 and would add up."""
    from django.core.cache import caches

    caches["counters"].clear()


@pytest.fixture
def still_clock(time_machine):
    """The clock stands still (time-machine): no rate-limit counting window can end between a test's requests."""
    time_machine.move_to(time.time(), tick=False)


def environment(extra: dict | None = None) -> dict:
    """A clean environment for a manage.py process: no .env, DEBUG on, deprecations as errors.

    ``extra`` adds variables; a value of None removes one.
    """
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "DJANGO_ENV_FILE": "",
        "DEBUG": "true",
        "PYTHONWARNINGS": "error::DeprecationWarning,error::PendingDeprecationWarning",
    }
    return {name: value for name, value in {**base, **(extra or {})}.items() if value is not None}


def manage(
    *args: str, env: dict | None = None, input: str | None = None, timeout: float = 60, memory_mb: int | None = None
):
    """Run ``python manage.py ARGS`` as a real process in a clean environment.

    ``env`` adds variables to it; a value of None removes one. ``memory_mb`` caps the process's
    address space (RLIMIT_AS): input read without a bound then fails the test (MemoryError,
    exit 1) instead of eating the machine.
    """

    def limit_memory():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environment(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=limit_memory if memory_mb else None,
    )


def _server_of_our_own(server_class):
    """Start a server of testsupport/services.py for the session; skip (printing why) where it is not installed."""
    try:
        server = server_class()
    except services.Unavailable as why:
        pytest.skip(str(why))
    with server:
        yield server


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server of the test run's own on 127.0.0.1 (testsupport/services.py); skipped if not installed."""
    yield from _server_of_our_own(services.PostgreSQL)


@pytest.fixture(scope="session")
def redis():
    """A Redis server of the test run's own on 127.0.0.1 (testsupport/services.py); skipped if not installed."""
    yield from _server_of_our_own(services.Redis)


REDIS_PASSWORD = "Rd/S3cret#y"  # with characters a URL must percent-encode


@pytest.fixture(scope="session")
def redis_with_password():
    """A Redis server that requires ``REDIS_PASSWORD`` (``requirepass``); skipped if not installed."""
    yield from _server_of_our_own(functools.partial(services.Redis, password=REDIS_PASSWORD))


# ---------------------------------------------------------------- SMTP servers (testsupport/smtp_servers.py)


@pytest.fixture
def trusted_ca(monkeypatch) -> str:
    """The test CAs' file, trusted by ``ssl.create_default_context()`` in this process for this test."""
    ca_file = trusted_ca_file()
    monkeypatch.setenv("SSL_CERT_FILE", ca_file)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return ca_file


@pytest.fixture
def smtp_sink() -> Iterator[SmtpServer]:
    """A plain SMTP server without login that accepts everything."""
    with smtp_server() as server:
        yield server


@pytest.fixture
def smtp_with_login() -> Iterator[SmtpServer]:
    """A plain SMTP server that offers AUTH, accepts ``LOGIN`` / ``PASSWORD`` and requires it."""
    with smtp_server(logins=LOGINS) as server:
        yield server


@pytest.fixture
def smtp_refusing_login() -> Iterator[SmtpServer]:
    """A plain SMTP server that offers AUTH and refuses every login with 535 (``login:535``). Unpacks as host, port."""
    with smtp_server(logins=LOGINS, fail=["login:535"]) as server:
        yield server


def parses_as_written(line: str, words: list[str]) -> None:
    """``words`` (a command's name and arguments, from ``line`` of a doc) parse as the command would parse them."""
    from django.core.management import get_commands, load_command_class
    from django.core.management.base import CommandError

    name, *args = words
    app = get_commands().get(name)
    assert app, f"no command {name!r}"
    parser = load_command_class(app, name).create_parser("manage.py", name)
    try:
        parser.parse_args(args)
    except CommandError as error:
        pytest.fail(f"{line}: {error}")
