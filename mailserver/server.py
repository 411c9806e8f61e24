"""The SMTP server of ``manage.py mailserver``: aiosmtpd's protocol, the project's rules, the outbox as its store.

``MailServer(config)`` checks the folder (``Store``) at once; ``start()`` listens;
``close()`` stops listening and hangs up every client. A message is saved only when
its DATA is complete and every check passed, in one synchronous write of the event
loop, so a stop (Ctrl+C, SIGTERM) never interrupts one: a client cut off mid-DATA
leaves nothing, and was never told 250. Two ways to run it:

* ``serve(config, ready)`` in the foreground, stopping on SIGINT or SIGTERM (the command);
* ``running(config)``: in a thread for the length of a ``with`` block (tests, benchmarks).

Bounded: a message over the size limit is read to its end and dropped as it comes
(aiosmtpd keeps nothing of it), a line over 1001 bytes is refused the same way, a
client silent for ``timeout`` seconds (or slower than that for one whole DATA) is
hung up on, beyond ``max_connections`` clients a new one is told 421 and closed, and a
client whose login fails ``MAX_FAILED_LOGINS`` times is told 421 and closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hmac
import logging
import signal
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from mailserver.certificates import Certificates
from mailserver.profiles import Profile
from mailserver.rules import Faults, Rule
from mailserver.store import Received, Store, rewrite_from

DEFAULT_PORT = 1025
DEFAULT_SIZE = 32 * 1024 * 1024  # aiosmtpd's own default, Mailpit's order of size
LOGIN_REQUIRED = "530 5.7.0 Authentication required"
BUSY = "421 4.7.0 Too many connections, try again later"
DROPPED = "421 4.4.2 Connection dropped by a mailserver --fail rule"
# aiosmtpd's own words for a message over the limit, replaced by the profile's.
SIZE_REPLIES = ("552 Error: Too much mail data", "552 Error: message size exceeds fixed maximum message size")
SECURITIES = ("none", "starttls", "ssl")
# A disk (or a quota) with no room left for the message: RFC 5321's "insufficient system storage".
DISK_FULL = "452 4.3.1 Insufficient system storage"
FULL = (errno.ENOSPC, errno.EDQUOT)
# Failed logins one connection may make; the last is answered 421 and the connection closed,
# as the providers do, so that a client cannot try passwords without end.
MAX_FAILED_LOGINS = 3
TOO_MANY_LOGINS = "421 4.7.0 Too many failed logins, closing the connection"


@dataclass(frozen=True)
class Event:
    """Something the server did that its user may want to see: "saved", "refused", "dropped" or "delayed"."""

    kind: str
    peer: str
    text: str  # what happened, in a few words (never a password)
    received: Received | None = None


@dataclass
class Config:
    folder: Path
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT  # 0: the kernel picks one (``MailServer.port`` says which)
    security: str = "none"  # "none", "starttls" (offered; required with a profile) or "ssl" (from the first byte)
    logins: dict[str, str] = field(default_factory=dict)  # login → password; a login is then required
    any_login: bool = False  # any login is accepted, none is required
    profile: Profile | None = None  # --like: a login required, the provider's replies
    faults: Faults = field(default_factory=Faults)
    max_size: int | None = None  # None: the profile's limit, else DEFAULT_SIZE
    certificates: Certificates | None = None  # for "starttls" and "ssl"
    timeout: float = 60.0
    max_connections: int = 100
    on_event: Callable[[Event], None] | None = None

    @property
    def size_limit(self) -> int:
        if self.max_size is not None:
            return self.max_size
        return self.profile.size_limit if self.profile else DEFAULT_SIZE

    @property
    def offers_login(self) -> bool:
        return bool(self.logins or self.any_login or self.profile)

    @property
    def requires_login(self) -> bool:
        return bool(self.logins or self.profile) and not self.any_login


def _peer(session) -> str:
    peer = getattr(session, "peer", None)
    return str(peer[0]) if isinstance(peer, tuple) else str(peer or "?")


def _login(session) -> str:
    login = getattr(session, "login_data", None)
    return login.decode("utf-8", "replace") if isinstance(login, bytes) else str(login or "")


class Handler:
    """aiosmtpd's handler hooks: the rules, the profile's checks, the login, and saving."""

    def __init__(self, config: Config, store: Store):
        self.config, self.store = config, store
        self.logins = {login.casefold(): password for login, password in config.logins.items()}
        self.saved = 0  # messages saved since the start

    def event(self, kind: str, session, text: str, received: Received | None = None) -> None:
        if self.config.on_event:
            self.config.on_event(Event(kind, _peer(session), text, received))

    async def act(self, rule: Rule | None, server: Session, session, what: str) -> str | None:
        """What a rule does here: a reply to send, None to go on (after any delay); a drop hangs up."""
        if rule is None:
            return None
        if rule.action == "delay":
            self.event("delayed", session, f"{what}: waiting {rule.delay:g} s ({rule.written})")
            await asyncio.sleep(rule.delay)
            return None
        if rule.action == "drop":
            self.event("dropped", session, f"{what}: connection dropped ({rule.written})")
            server.transport.close()
            return DROPPED
        self.event("refused", session, f"{what}: {rule.reply} ({rule.written})")
        return rule.reply

    def refuse(self, session, what: str, reply: str) -> str:
        self.event("refused", session, f"{what}: {' '.join(reply.split())}")
        return reply

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        login = auth_data.login.decode("utf-8", "replace")
        rule = self.config.faults.at("login", login)
        if rule:
            self.event("refused", session, f"login {login}: {rule.reply} ({rule.written})")
            return AuthResult(success=False, handled=False, message=rule.reply)
        expected = self.logins.get(login.casefold())
        if self.config.any_login or (
            expected is not None and hmac.compare_digest(expected.encode(), auth_data.password)
        ):
            return AuthResult(success=True, handled=False, auth_data=auth_data)
        reply = self.config.profile.bad_login if self.config.profile else "535 5.7.8 Authentication credentials invalid"
        server.failed_logins += 1
        if server.failed_logins >= MAX_FAILED_LOGINS:
            reply = TOO_MANY_LOGINS  # Session.smtp_AUTH hangs up after saying it
        self.event("refused", session, f"login {login}: {' '.join(reply.split())}")
        return AuthResult(success=False, handled=False, message=reply)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        reply = await self.act(self.config.faults.at("mail", address), server, session, f"MAIL FROM {address}")
        if reply:
            return reply
        profile = self.config.profile
        if self.config.requires_login and not session.authenticated:
            return self.refuse(session, f"MAIL FROM {address}", profile.no_login if profile else LOGIN_REQUIRED)
        login = _login(session)
        if profile and session.authenticated and address.casefold() != login.casefold():
            if profile.not_owner:
                return self.refuse(session, f"MAIL FROM {address} (logged in as {login})", profile.not_owner)
            envelope.rewrite_from = login  # Gmail sends it from the account instead
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = await self.act(self.config.faults.at("rcpt", address), server, session, f"RCPT TO {address}")
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        reply = await self.act(server.data_rule, server, session, "DATA")
        if reply:
            return reply
        data = envelope.original_content
        if login := getattr(envelope, "rewrite_from", ""):
            data = rewrite_from(data, login)
        try:
            path, size = self.store.save(
                data,
                mail_from=envelope.mail_from,
                rcpt_tos=envelope.rcpt_tos,
                helo=session.host_name or "",
                peer=_peer(session),
                login=_login(session),
                security=self.config.security,
            )
        except OSError as error:
            if error.errno in FULL:
                return self.refuse(session, "DATA: the disk is full", DISK_FULL)
            return self.refuse(session, "DATA", f"451 4.3.0 Cannot save the message: {error.strerror or error}")
        received = Received(
            path, envelope.mail_from, tuple(envelope.rcpt_tos), _peer(session), _login(session), size, data
        )
        self.saved += 1
        self.event("saved", session, Path(path).name, received)
        return f"250 2.0.0 Ok: saved as {Path(path).name}"


class Session(SMTP):
    """One client's connection: aiosmtpd's SMTP, with the rules of the connect and data stages."""

    def __init__(self, server: MailServer, *, greeting_delay: float = 0.0):
        config = server.config
        profile = config.profile
        ident = (
            f"ESMTP rehearsal of {profile.title} (manage.py mailserver)" if profile else "ESMTP manage.py mailserver"
        )
        tls_context = config.certificates.server_context() if config.security == "starttls" else None
        super().__init__(
            server.handler,
            data_size_limit=config.size_limit or None,
            hostname=profile.greeting if profile else "localhost",
            ident=ident,
            tls_context=tls_context,
            # The providers offer AUTH on 587 only after STARTTLS, and take no mail before it.
            require_starttls=bool(profile and tls_context),
            auth_require_tls=bool(profile and tls_context),
            authenticator=server.handler.authenticate if config.offers_login else None,
            timeout=config.timeout,
            loop=asyncio.get_running_loop(),
        )
        self.server = server
        self.greeting_delay = greeting_delay
        self.data_rule: Rule | None = None
        self.failed_logins = 0

    def connection_lost(self, error):
        self.server.sessions.discard(self)
        super().connection_lost(error)

    async def push(self, status):
        if isinstance(status, str) and status.startswith("250-AUTH") and not self.server.config.offers_login:
            return  # aiosmtpd always lists AUTH, with no mechanism when none is offered: say nothing
        if self.greeting_delay and str(status).startswith("220 "):
            delay, self.greeting_delay = self.greeting_delay, 0.0
            await asyncio.sleep(delay)
        if self.server.config.profile and status in SIZE_REPLIES:
            status = self.server.config.profile.too_big
        await super().push(status.replace("\n", "\r\n") if isinstance(status, str) else status)

    async def smtp_AUTH(self, arg):
        await super().smtp_AUTH(arg)
        if self.failed_logins >= MAX_FAILED_LOGINS:
            self.transport.close()

    async def smtp_DATA(self, arg):
        # The data rules are decided when a DATA that will be taken arrives: "drop" hangs up
        # after the 354, a reply or a delay comes after the message (Handler.handle_DATA).
        self.data_rule = None
        if self.session.host_name and self.envelope.rcpt_tos and not arg:
            self.data_rule = self.server.config.faults.at("data", *self.envelope.rcpt_tos)
            if self.data_rule and self.data_rule.action == "drop":
                await super().push("354 End data with <CR><LF>.<CR><LF>")
                self.server.handler.event(
                    "dropped", self.session, f"DATA: connection dropped ({self.data_rule.written})"
                )
                self.transport.close()
                return
        await super().smtp_DATA(arg)


class Refuse(asyncio.Protocol):
    """A connection answered with one reply (or none) and closed: a connect rule, or too many clients."""

    def __init__(self, reply: str | None):
        self.reply = reply

    def connection_made(self, transport):
        if self.reply:
            transport.write(self.reply.encode("ascii") + b"\r\n")
        transport.close()


class MailServer:
    def __init__(self, config: Config):
        if config.security not in SECURITIES:
            raise ValueError(f"security must be one of {SECURITIES}, not {config.security!r}")
        if config.security != "none" and config.certificates is None:
            raise ValueError("SSL and STARTTLS need certificates (mailserver.certificates.ensure)")
        self.config = config
        self.store = Store(config.folder)  # InvalidMailer: a folder that cannot be made or written
        self.handler = Handler(config, self.store)
        self.sessions: weakref.WeakSet[Session] = weakref.WeakSet()
        self.port = config.port
        self._server: asyncio.Server | None = None
        # aiosmtpd logs every connection at INFO and a deprecation notice at every login.
        logging.getLogger("mail.log").setLevel(logging.ERROR)

    @property
    def host(self) -> str:
        return self.config.host

    def _connection(self) -> asyncio.Protocol:
        if len(self.sessions) >= self.config.max_connections:
            return Refuse(BUSY)
        rule = self.config.faults.at("connect")
        if rule and rule.action != "delay":
            self.handler.event("dropped" if rule.action == "drop" else "refused", None, f"connect ({rule.written})")
            return Refuse(rule.reply if rule.action == "reply" else None)
        session = Session(self, greeting_delay=rule.delay if rule else 0.0)
        # Counted from now, not from connection_made: a burst of clients accepted in one turn of
        # the loop is made before any of them is connected. A session whose TLS handshake fails
        # never hears connection_lost; being a weak set, it leaves when it is collected.
        self.sessions.add(session)
        return session

    async def start(self) -> None:
        """Listen (OSError: the port is in use, or not allowed)."""
        ssl_context = self.config.certificates.server_context() if self.config.security == "ssl" else None
        self._server = await asyncio.get_running_loop().create_server(
            self._connection,
            self.config.host,
            self.config.port,
            ssl=ssl_context,
            ssl_handshake_timeout=self.config.timeout if ssl_context else None,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and hang up on every client; a message not yet complete is not saved."""
        if self._server is None:
            return
        self._server.close()
        for session in list(self.sessions):
            if session.transport is not None:
                session.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def serve(self, ready: Callable[[MailServer], None] | None = None) -> None:
        """Listen until SIGINT or SIGTERM, then close (``ready`` is called once listening)."""
        await self.start()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        try:
            if ready:
                ready(self)
            await stop.wait()
        finally:
            await self.close()


@contextlib.contextmanager
def running(config: Config) -> Iterator[MailServer]:
    """The server, listening in a thread of its own for the length of the block."""
    server = MailServer(config)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="mailserver", daemon=True)
    thread.start()
    try:
        asyncio.run_coroutine_threadsafe(server.start(), loop).result(30)
        yield server
    finally:
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(server.close(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)
        loop.close()
