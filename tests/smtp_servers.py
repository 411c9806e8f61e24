"""Real SMTP servers on 127.0.0.1 for the tests and the benchmarks: ones that work, and ones written to fail.

The project's one SMTP test-server module. Every server is an aiosmtpd server in
a thread on a port of 127.0.0.1 (never any other address), except the silent one,
a listening socket that never speaks::

    from tests.smtp_servers import Handler, TRY_LATER, mailers_for, smtp_server

    with smtp_server(handler=Handler(data_reply=TRY_LATER, refuse_first=2)) as server:
        settings.MAILERS = mailers_for(*server)
        ...
        assert server.recipients() == {"anna@example.com": 1}

A handler can be slow (``delay``), refuse the first messages or all of them
(``data_reply``, ``refuse_first``), refuse senders, recipients or logins. An
outage is a port nothing listens on (``free_port()``, ``closed_port()``) and then
``smtp_server(port=...)`` on that same port, with the same handler if its
messages are to be counted together. The tests' fixtures (``smtp_sink``,
``smtp_with_login``, ``smtp_refusing_login``, ``trusted_ca``) are in
tests/conftest.py; this module does not need pytest.

Why it lives in tests/: the suite is its main user (most of tests/commands and
tests/mail import it) and CONTRIBUTING sends contributors here; the benchmarks
(bench/) run from the same development environment, with the same
requirements, and import it from here. The dependency goes one way: this module
imports nothing from bench, so no test reaches into a benchmark's private
harness for its SMTP servers (a top-level package of its own would have renamed
every test's import for no other gain). ``HOST`` and ``free_port()`` are the
loopback rule of every server the tests and benchmarks start: bench/services.py's
PostgreSQL and Redis and bench/site.py's gunicorn take theirs from here. A later
``manage.py mailserver`` is to replace this module: keep its API this small.

TLS certificates come from trustme, and a client trusts them only where a test
says so: the ``trusted_ca`` fixture sets ``SSL_CERT_FILE`` (which
``ssl.create_default_context()`` reads) for this process; ``env_for()`` passes it
to a real ``manage.py`` process.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import logging
import os
import socket
import ssl
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import quote

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from core.mail.config import SMTP_BACKEND

HOST = "127.0.0.1"
LOGIN = "sender@example.com"
# A unique marker: the tests assert it never appears in any output.
PASSWORD = "app-pass-7Qx!marker"
SERVER_NAME = "mail.test"  # what the servers call themselves (no DNS lookup)

# aiosmtpd logs a deprecation notice of its own at every successful login.
logging.getLogger("mail.log").setLevel(logging.ERROR)

REFUSED_RECIPIENT = "nobody@example.com"
SENDER_NOT_OWNED = "553 5.7.1 Sender address rejected: not owned by user sender@example.com"
RECIPIENT_UNKNOWN = "550 5.1.1 Recipient address rejected: User unknown in virtual mailbox table"
TOO_LARGE = "552 5.3.4 Message size exceeds fixed limit"
LOGIN_REQUIRED = "530 5.7.0 Authentication required"
POLICY = "554 5.7.1 Message rejected under policy: spam suspected"
TRY_LATER = "451 4.3.0 Try again later"


def free_port() -> int:
    """A port of 127.0.0.1 where nothing listens now (a server may be started on it later)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- what a server received


@dataclass
class Received:
    """One message a server accepted: the envelope and the bytes after DATA."""

    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    def message(self) -> email.message.EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)


@dataclass
class Handler:
    """An aiosmtpd handler that keeps what it accepts and refuses what it is told to.

    ``refuse_sender``: the reply to every MAIL FROM (a sender refusal).
    ``refuse``: recipients answered with ``RECIPIENT_UNKNOWN``.
    ``data_reply``: the reply after DATA instead of accepting the message;
    ``refuse_first``: only the first so many messages get it, later ones are
    accepted (None: every one). ``refused`` counts the messages answered so.
    ``delay``: seconds to wait after DATA before answering (a slow server).
    ``require_login``: MAIL FROM before a successful login gets ``LOGIN_REQUIRED``.
    """

    require_login: bool = False
    refuse_sender: str | None = None
    refuse: tuple[str, ...] = ()
    data_reply: str | None = None
    refuse_first: int | None = None
    delay: float = 0.0
    messages: list[Received] = field(default_factory=list)
    refused: int = 0

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if self.require_login and not session.authenticated:
            return LOGIN_REQUIRED
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refuse:
            return RECIPIENT_UNKNOWN
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.data_reply and (self.refuse_first is None or self.refused < self.refuse_first):
            self.refused += 1
            return self.data_reply
        self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 OK: queued"


class HoldingHandler(Handler):
    """Holds the first message's DATA phase unanswered until ``release`` is set, then refuses it (451).

    ``held`` is set when the first DATA arrives: a client is mid-attempt. Every
    later message is accepted and kept as ``Handler`` does.
    """

    def __init__(self):
        super().__init__()
        self.held = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):
        if not self.held.is_set():
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 4.3.0 Held, then refused"
        return await super().handle_DATA(server, session, envelope)


class Authenticator:
    """Accepts exactly one login and password; ``accept=False`` refuses every login (535)."""

    def __init__(self, login: str = LOGIN, password: str = PASSWORD, *, accept: bool = True):
        self.login, self.password, self.accept = login, password, accept

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            self.accept
            and isinstance(auth_data, LoginPassword)
            and (auth_data.login.decode(), auth_data.password.decode()) == (self.login, self.password)
        )
        # handled=False: aiosmtpd sends the 535 reply itself.
        return AuthResult(success=ok, handled=False)


class DroppingSMTP(SMTP):
    """Reads the first line of the message after DATA, then hangs up."""

    async def smtp_DATA(self, arg):
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        await self._reader.readline()
        self.transport.close()


class _Controller(Controller):
    """aiosmtpd's controller on a port of 127.0.0.1 (0: the kernel picks one), with a chosen SMTP class."""

    def __init__(self, handler, *, port: int = 0, smtp_class=SMTP, **kwargs):
        self.smtp_class = smtp_class
        super().__init__(handler, hostname=HOST, port=port, **kwargs)

    def factory(self):
        return self.smtp_class(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self):
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpServer:
    """A running server. Unpacks as ``host, port``."""

    host: str
    port: int
    handler: Handler | None = None

    @property
    def messages(self) -> list[Received]:
        return self.handler.messages if self.handler else []

    def recipients(self) -> Counter:
        """How many accepted messages each envelope recipient got."""
        return Counter(address for received in list(self.messages) for address in received.rcpt_tos)

    def __iter__(self):
        return iter((self.host, self.port))


# ---------------------------------------------------------------- certificates


@dataclass
class CertificateAuthority:
    """A trustme CA, its certificate as a file, and server contexts signed by it."""

    ca: trustme.CA
    ca_file: str

    def server_context(self, *names: str) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*(names or ("localhost", HOST))).configure_cert(context)
        return context


_CA: CertificateAuthority | None = None


def certificate_authority() -> CertificateAuthority:
    """One CA for the whole run (making keys is slow); its certificate is in a temporary file."""
    global _CA
    if _CA is None:
        ca = trustme.CA()
        path = os.path.join(tempfile.mkdtemp(prefix="test-ca-"), "ca.pem")
        ca.cert_pem.write_to_path(path)
        _CA = CertificateAuthority(ca, path)
    return _CA


# ---------------------------------------------------------------- servers


@contextlib.contextmanager
def smtp_server(
    *,
    port: int = 0,
    security: str = "none",
    cert_names: tuple[str, ...] = (),
    auth: Authenticator | None = None,
    auth_required: bool = False,
    handler: Handler | None = None,
    smtp_class: type[SMTP] = SMTP,
    **smtp_options,
) -> Iterator[SmtpServer]:
    """An aiosmtpd server on 127.0.0.1, on ``port`` (default: one the kernel picks).

    ``security``: "none", "starttls" (offers STARTTLS) or "ssl" (TLS from the first
    byte), with a certificate of the test CA for ``cert_names`` (default localhost
    and 127.0.0.1). ``auth``: offer AUTH (also without TLS) and check logins with it;
    without it the server offers no AUTH at all. ``auth_required``: refuse MAIL FROM
    before a login (530). ``smtp_options`` go to aiosmtpd's SMTP (data_size_limit...).
    """
    handler = handler or Handler()
    options = {"server_hostname": SERVER_NAME, "ready_timeout": 10, **smtp_options}
    if security == "starttls":
        options["tls_context"] = certificate_authority().server_context(*cert_names)
    elif security == "ssl":
        options["ssl_context"] = certificate_authority().server_context(*cert_names)
    if auth:
        options.update(authenticator=auth, auth_require_tls=False)
    # aiosmtpd's own auth_required warns when TLS is not required too; the handler does it.
    handler.require_login = auth_required
    controller = _Controller(handler, port=port, smtp_class=smtp_class, **options)
    controller.start()
    try:
        yield SmtpServer(HOST, controller.port, handler)
    finally:
        controller.stop()


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
) -> dict:
    """The environment of a real ``manage.py`` process whose mailer is that server.

    The login and password are percent-encoded into ``EMAIL_URL``; the test CA is trusted.
    """
    scheme = "smtp+ssl" if ssl else "smtp+tls" if tls else "smtp"
    credentials = f"{quote(user, safe='')}:{quote(password, safe='')}@" if user else ""
    env = {
        "EMAIL_URL": f"{scheme}://{credentials}{host}:{port}",
        "EMAIL_TIMEOUT": str(timeout),
        "SSL_CERT_FILE": certificate_authority().ca_file,
    }
    if sender:
        env["DEFAULT_FROM_EMAIL"] = sender
    return env
