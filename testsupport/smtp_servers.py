"""Real SMTP servers on 127.0.0.1 for the tests and the benchmarks: ones that work, and ones written to fail.

The project's one SMTP test-server module, a thin layer over the server of
``manage.py mailserver`` (``mailserver``), run in-process in a thread on a
port of 127.0.0.1 (never any other address). What a server refuses is written as
the command's ``--fail`` rules (``STAGE:ACTION[:OPTION]...``, see
mailserver/rules.py), so the tests exercise the rules a person types::

    from testsupport.smtp_servers import TRY_LATER, mailers_for, refusal, smtp_server

    with smtp_server(fail=[refusal("data", TRY_LATER, first=2)]) as server:
        settings.MAILERS = mailers_for(*server)
        ...
        assert server.recipients() == {"anna@example.com": 1} and server.refused == 2

Every kind of server the suite needs: plain, STARTTLS, SSL (``security``), with a
login required (``logins``), refusing the sender, recipients, the message or the
login (``refusal()`` of a reply constant below, or ``"login:535"``), answering
slowly (``"data:delay=0.5"``), holding a message until its client goes away
(``"data:delay=600:first=1"`` and ``wait_for("delayed")``), cutting the connection
mid-message (``"data:drop"``). The one server that is not the library's is the
silent one, a listening socket that never speaks. An outage is a port nothing
listens on (``free_port()``, ``closed_port()``) and then ``smtp_server(port=...)``
on that same port. What a server accepted is ``server.messages``, made from the
library's "saved" events (it also saves each one as an ``.eml`` file in an outbox
folder of its own, removed with the server); ``server.events`` holds every event.
The tests' fixtures (``smtp_sink``, ``smtp_with_login``, ``smtp_refusing_login``,
``trusted_ca``) are in tests/conftest.py; this module does not need pytest.

Why it lives in testsupport/: the tests (tests/) and the benchmarks (bench/) both
start these servers, and neither imports the other; both import this package,
which imports from neither. ``HOST`` and ``free_port()`` are the loopback rule of
every server the tests and benchmarks start: testsupport/services.py's PostgreSQL
and Redis and testsupport/site.py's gunicorn take theirs from here.

TLS certificates are the library's (``certificates.ensure``), made once per run in
a temporary folder: one CA and its certificate for localhost and 127.0.0.1, and,
for a test of a name mismatch (``cert_names``), another CA and a certificate for
those names, all in one file, ``trusted_ca_file()``. A client trusts them only where a
test says so: a real ``manage.py`` through ``env_for()``'s ``?ssl_cafile=``, as a site
trusts ``manage.py mailserver``'s CA; an in-process test through the ``trusted_ca``
fixture, which sets ``SSL_CERT_FILE`` (read by ``ssl.create_default_context()``) for
this process, so that the mailers stay Django's own SMTP backend.
"""

from __future__ import annotations

import atexit
import contextlib
import email
import email.policy
import shutil
import socket
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from core.mail.config import SMTP_BACKEND
from mailserver import Certificates, Config, Event, Faults, certificates, running, store
from mailserver.server import LOGIN_REQUIRED as LOGIN_REQUIRED

HOST = "127.0.0.1"
LOGIN = "sender@example.com"
# A unique marker: the tests assert it never appears in any output.
PASSWORD = "app-pass-7Qx!marker"
LOGINS = {LOGIN: PASSWORD}  # smtp_server(logins=LOGINS): a login is required, and only this one is accepted

# Replies the tests assert on; refusal(stage, REPLY) is the --fail rule that answers with one.
REFUSED_RECIPIENT = "nobody@example.com"
SENDER_NOT_OWNED = "553 5.7.1 Sender address rejected: not owned by user sender@example.com"
RECIPIENT_UNKNOWN = "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table"
TOO_LARGE = "552 5.3.4 Message size exceeds fixed limit"
POLICY = "554 5.7.1 Message rejected under policy: spam suspected"
TRY_LATER = "451 4.3.0 Try again later"


def free_port() -> int:
    """A port of 127.0.0.1 where nothing listens now (a server may be started on it later)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def refusal(stage: str, reply: str, **options) -> str:
    """The ``--fail`` rule answering ``reply`` (a code and its text) at ``stage``; ``options``: every, first, match.

    ``refusal("rcpt", RECIPIENT_UNKNOWN, match=REFUSED_RECIPIENT)`` is
    ``rcpt:550:match=nobody@example.com:text=5.1.1 Recipient address rejected: ...``.
    """
    code, _, text = reply.partition(" ")
    written = "".join(f":{name}={value}" for name, value in options.items())
    return f"{stage}:{code}{written}:text={text}"


# ---------------------------------------------------------------- what a server received


@dataclass(frozen=True)
class Received(store.Received):
    """One message a server accepted (the library's record: envelope, peer, login, bytes sent), parsed on demand."""

    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class SmtpServer:
    """A running server and what it did. Unpacks as ``host, port``."""

    host: str
    port: int
    messages: list[Received] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)

    def record(self, event: Event) -> None:
        """The library's ``on_event`` (called in the server's thread, before the client hears the reply)."""
        with self._changed:
            if event.kind == "saved" and event.received is not None:
                self.messages.append(Received(**vars(event.received)))
            self.events.append(event)
            self._changed.notify_all()

    @property
    def refused(self) -> int:
        """How many times the server refused something (a rule's reply, a login, a login required)."""
        return sum(1 for event in list(self.events) if event.kind == "refused")

    def wait_for(self, kind: str, timeout: float) -> bool:
        """Wait until an event of ``kind`` ("saved", "refused", "dropped", "delayed") has happened."""
        with self._changed:
            return self._changed.wait_for(lambda: any(event.kind == kind for event in self.events), timeout)

    def recipients(self) -> Counter:
        """How many accepted messages each envelope recipient got."""
        return Counter(address for received in list(self.messages) for address in received.rcpt_tos)

    def __iter__(self):
        return iter((self.host, self.port))


# ---------------------------------------------------------------- certificates

_FOLDER: Path | None = None
_CERTIFICATES: dict[tuple[str, ...], Certificates] = {}
TRUSTED_NAME = "trusted.pem"


def _folder() -> Path:
    global _FOLDER
    if _FOLDER is None:
        _FOLDER = Path(tempfile.mkdtemp(prefix="test-certificates-"))
        atexit.register(shutil.rmtree, _FOLDER, ignore_errors=True)
    return _FOLDER


def certificates_for(names: tuple[str, ...] = ()) -> Certificates:
    """The run's certificates for ``names`` (default: localhost, 127.0.0.1, ::1), made once (keys are slow).

    Each set of names has a folder and a CA of its own (the library's ``ensure``);
    every CA made is added to the file ``trusted_ca_file()`` names.
    """
    names = tuple(names) or certificates.NAMES
    if names not in _CERTIFICATES:
        made = certificates.ensure(_folder() / f"certificates-{len(_CERTIFICATES)}", names=names)
        _CERTIFICATES[names] = made
        bundle = b"".join(found.ca_file.read_bytes() for found in _CERTIFICATES.values())
        part = _folder() / f".{TRUSTED_NAME}.part"
        part.write_bytes(bundle)
        part.replace(_folder() / TRUSTED_NAME)  # a client reading it never sees half of it
    return _CERTIFICATES[names]


def trusted_ca_file() -> str:
    """The file of every test CA of this run: what a client that trusts the test servers is given."""
    certificates_for()
    return str(_folder() / TRUSTED_NAME)


# ---------------------------------------------------------------- servers


@contextlib.contextmanager
def smtp_server(
    *,
    port: int = 0,
    security: str = "none",
    cert_names: tuple[str, ...] = (),
    logins: dict[str, str] | None = None,
    fail: Iterable[str] = (),
    max_size: int | None = None,
) -> Iterator[SmtpServer]:
    """The mailserver library's server on 127.0.0.1, on ``port`` (default: one the kernel picks).

    ``security``: "none", "starttls" (offers STARTTLS) or "ssl" (TLS from the first
    byte), with a certificate of a test CA for ``cert_names`` (default localhost
    and 127.0.0.1). ``logins``: login → password; AUTH is offered (also without
    TLS), a login is required before MAIL FROM (530) and only these are accepted
    (535); without it the server offers no AUTH at all. ``fail``: ``--fail`` rules.
    ``max_size``: the SIZE limit in bytes.
    """
    server = SmtpServer(HOST, port)
    with tempfile.TemporaryDirectory(prefix="test-smtp-outbox-") as folder:
        config = Config(
            folder=Path(folder),
            host=HOST,
            port=port,
            security=security,
            logins=dict(logins or {}),
            faults=Faults.parse(fail),
            max_size=max_size,
            certificates=certificates_for(cert_names) if security != "none" else None,
            on_event=server.record,
        )
        with running(config) as listening:
            server.port = listening.port
            yield server


@contextlib.contextmanager
def silent_server() -> Iterator[SmtpServer]:
    """Accepts TCP connections (the kernel does, into the backlog) and never says a word."""
    with socket.create_server((HOST, 0), backlog=16) as sock:
        yield SmtpServer(HOST, sock.getsockname()[1])


def closed_port() -> SmtpServer:
    """A port of 127.0.0.1 where nothing listens (connection refused)."""
    return SmtpServer(HOST, free_port())


# ---------------------------------------------------------------- pointing a mailer at a server


def mailers_for(
    host: str,
    port: int,
    *,
    ssl: bool = False,
    tls: bool = False,
    user: str = "",
    password: str = "",
    timeout: float = 5.0,
    alias: str = "default",
) -> dict:
    """The ``MAILERS`` setting for an SMTP server, as core.mail.config would build it."""
    options = {
        "host": host,
        "port": port,
        "username": user,
        "password": password,
        "use_ssl": ssl,
        "use_tls": tls,
        "timeout": timeout,
    }
    return {alias: {"BACKEND": SMTP_BACKEND, "OPTIONS": options}}


def env_for(
    host: str,
    port: int,
    *,
    ssl: bool = False,
    tls: bool = False,
    user: str = "",
    password: str = "",
    timeout: float = 5.0,
    sender: str = "",
    trust: bool = True,
) -> dict:
    """The environment of a real ``manage.py`` process whose mailer is that server.

    The login and password are percent-encoded into ``EMAIL_URL``; with SSL or STARTTLS
    the mailer trusts the test CAs through ``?ssl_cafile=``, as a site trusts
    ``manage.py mailserver``'s (``trust=False``: it does not).
    """
    scheme = "smtp+ssl" if ssl else "smtp+tls" if tls else "smtp"
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    query = f"?ssl_cafile={quote(trusted_ca_file())}" if (ssl or tls) and trust else ""
    env = {"EMAIL_URL": f"{scheme}://{credentials}{host}:{port}{query}", "EMAIL_TIMEOUT": str(timeout)}
    if sender:
        env["DEFAULT_FROM_EMAIL"] = sender
    return env
