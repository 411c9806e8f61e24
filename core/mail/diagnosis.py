"""Sending and probing through a mailer, and every failure explained as a ``MailProblem``.

Django's backends open the connection (TLS, login) and close it; this module
reuses them for that and adds only what Django's backend hides:

* ``send_test_messages`` sends over one opened connection and keeps what
  ``smtplib.sendmail`` returns, so a partial refusal names who was refused and who
  was accepted (Django's backend ignores it);
* ``check_mailer`` opens the connection, reads the server's capabilities and asks
  whether it would take the sender (and recipients), then resets and quits:
  nothing is sent;
* ``explain`` turns any exception raised on the way into one sentence naming
  host:port, a hint and the project's exit code (core.mail.errors).

No message produced here ever contains the SMTP password: text that comes from
outside (a server's reply, an exception's message) goes through ``_scrub``, which
hides the password where it can appear (a URL's credentials, a word of its own),
never as a bare substring of the whole output.
"""

from __future__ import annotations

import email.policy
import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core import mail
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, InvalidMailer, MailerDoesNotExist
from django.core.mail.backends.console import EmailBackend as ConsoleBackend
from django.core.mail.backends.dummy import EmailBackend as DummyBackend
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.locmem import EmailBackend as MemoryBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem, bug_hint
from core.security import MASK, mask_url_credentials

# The hints are functions, not constants: each is translated when a problem is
# explained, into the language active then (LANGUAGE_CODE in a command).


def app_password_hint() -> str:
    return _(
        "Yandex, Gmail and Mail.ru need an app password, not the account password "
        "(id.yandex.ru/security/app-passwords, myaccount.google.com/apppasswords, Mail.ru: Security → "
        "passwords for external applications), and the login is the full address, like you@yandex.ru."
    )


def port_hint() -> str:
    return _("Port 465 is SSL from the first byte (smtp+ssl://, EMAIL_USE_SSL=true); 587 is STARTTLS (smtp+tls://).")


def login_hint() -> str:
    return _(
        "Set the login and password: EMAIL_URL=smtp+ssl://you%40yandex.ru:app-password@smtp.yandex.ru:465, "
        "or EMAIL_HOST_USER and EMAIL_HOST_PASSWORD."
    )


def address_hint() -> str:
    return _("Write addresses as name@example.com.")


# ---------------------------------------------------------------- the mailer


def get_backend(alias: str = "default"):
    """A fresh backend instance for ``MAILERS[alias]``; MailProblem(CONFIG) if it cannot be made."""
    try:
        return mail.mailers[alias]
    except ImproperlyConfigured as error:
        raise _config_problem(error, alias) from None


def kind(backend) -> str:
    """ "smtp", "file", "console", "memory", "dummy" or "other"."""
    for cls, name in (
        (SmtpBackend, "smtp"),
        (FileBackend, "file"),  # before console: the file backend is a console backend
        (ConsoleBackend, "console"),
        (MemoryBackend, "memory"),
        (DummyBackend, "dummy"),
    ):
        if isinstance(backend, cls):
            return name
    return "other"


def security(backend: SmtpBackend) -> str:
    return "ssl" if backend.use_ssl else "starttls" if backend.use_tls else "none"


def describe(backend) -> dict:
    """What a report shows of a backend instance (never the password)."""
    cls = type(backend)
    result = {"alias": backend.alias, "backend": f"{cls.__module__}.{cls.__qualname__}", "kind": kind(backend)}
    if isinstance(backend, SmtpBackend):
        result.update(
            host=backend.host,
            port=backend.port,
            security=security(backend),
            login=backend.username or "",
            timeout=backend.timeout,
        )
    elif isinstance(backend, FileBackend):
        result["file_path"] = backend.file_path
    return result


def describe_mailer(alias: str = "default") -> dict:
    """What a report shows of a mailer: {"alias", "backend", "kind" (see ``kind``), and for SMTP "host",
    "port", "security" ("ssl" | "starttls" | "none"), "login" (never the password), "timeout";
    for file backends "file_path"}.
    Raises MailProblem(ExitCode.CONFIG, ...) for an unknown alias or InvalidMailer."""
    return describe(get_backend(alias))


# ---------------------------------------------------------------- reports


class _PartialRefusal:
    """Shared by the reports: a partial refusal (some recipients refused, not all) as a problem."""

    def problem(self) -> MailProblem | None:
        if not self.refused:
            return None
        return _refused_problem(self.mailer, self.refused, partial=True)


@dataclass
class SendReport(_PartialRefusal):
    """What a send did: who took the messages, who refused them, how fast."""

    mailer: dict
    delivery: str  # "sent", "saved", "printed", "kept in memory", "discarded"
    sender: str
    accepted: list[str]
    refused: dict[str, str]  # address → the server's reply
    message_ids: list[str]
    seconds: float
    files: list[str] = field(default_factory=list)

    @property
    def left_the_process(self) -> bool:
        return self.delivery in ("sent", "saved", "printed")

    @property
    def per_second(self) -> float:
        return len(self.message_ids) / self.seconds if self.seconds else 0.0

    def as_dict(self) -> dict:
        return {
            "action": "send",
            "mailer": self.mailer,
            "delivery": self.delivery,
            "left_the_process": self.left_the_process,
            "from": self.sender,
            "accepted": self.accepted,
            "refused": self.refused,
            "message_ids": self.message_ids,
            "count": len(self.message_ids),
            "seconds": round(self.seconds, 6),
            "per_second": round(self.per_second, 1),
            "files": self.files,
        }


@dataclass
class CheckReport(_PartialRefusal):
    """What ``--check`` learnt from the server, without sending anything."""

    mailer: dict
    seconds: float
    logged_in: bool = False
    capabilities: dict = field(default_factory=dict)
    sender: str = ""
    accepted: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "action": "check",
            "mailer": self.mailer,
            "logged_in": self.logged_in,
            "capabilities": self.capabilities,
            "from": self.sender,
            "accepted": self.accepted,
            "refused": self.refused,
            "seconds": round(self.seconds, 6),
        }


DELIVERY = {"smtp": "sent", "file": "saved", "console": "printed", "memory": "kept in memory", "dummy": "discarded"}


# ---------------------------------------------------------------- send and check


def send_test_messages(
    messages: list[EmailMessage],
    alias: str = "default",
    *,
    timeout: float | None = None,
    console_stream=None,
) -> SendReport:
    """Send ``messages`` through ``MAILERS[alias]`` over one connection.

    ``timeout`` overrides the mailer's; ``console_stream`` is where a console
    backend prints (a command with ``--json`` keeps stdout for the document).
    Raises MailProblem for every failure; a partial refusal is in the report.
    """
    backend = _prepared_backend(alias, timeout)
    if console_stream is not None and kind(backend) == "console":
        backend.stream = console_stream
    mailer = describe(backend)
    refused: dict[str, str] = {}
    stage = "connect"
    start = time.perf_counter()
    try:
        if isinstance(backend, SmtpBackend):
            backend.open()
            stage = "send"
            render = _Renderer(backend)
            for message in messages:
                refused.update(_smtp_send(backend, *render(message)))
            stage = "quit"
            backend.close()
        else:
            stage = "send"
            backend.send_messages(messages)
    except Exception as error:
        _abandon(backend)
        raise explain(error, backend, stage) from error
    seconds = time.perf_counter() - start
    addresses = _unique(address for message in messages for address in message.recipients())
    recipients = _unique(_envelope(backend, address) for address in addresses)
    return SendReport(
        mailer=mailer,
        delivery=DELIVERY.get(kind(backend), "sent"),
        sender=messages[0].from_email if messages else "",
        accepted=[address for address in recipients if address not in refused],
        refused=refused,
        message_ids=[message.extra_headers.get("Message-ID", "") for message in messages],
        seconds=seconds,
        files=files_written(backend),
    )


def check_mailer(
    alias: str = "default",
    *,
    sender: str | None = None,
    recipients: list[str] = (),
    timeout: float | None = None,
) -> CheckReport:
    """Connect, start TLS, log in, read the capabilities; ask the server whether it
    would take ``sender`` (default ``DEFAULT_FROM_EMAIL``) and ``recipients``
    (MAIL FROM, RCPT TO), then RSET and quit.

    Sends nothing. A backend that is not SMTP has nothing to connect to: its
    report only describes it (a file backend's folder was checked when it was made).
    """
    backend = _prepared_backend(alias, timeout)
    report = CheckReport(mailer=describe(backend), seconds=0.0)
    if not isinstance(backend, SmtpBackend):
        return report
    sender = report.sender = sender or settings.DEFAULT_FROM_EMAIL
    start = time.perf_counter()
    stage = "connect"
    try:
        backend.open()
        stage = "check"
        connection = backend.connection
        connection.ehlo_or_helo_if_needed()
        report.logged_in = bool(backend.username and backend.password)
        report.capabilities = _capabilities(connection, backend)
        code, reply = connection.mail(backend.prep_address(sender))
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        refused = {}
        for address in _unique(backend.prep_address(address) for address in recipients):
            code, reply = connection.rcpt(address)
            if code in (250, 251):
                report.accepted.append(address)
            else:
                refused[address] = (code, reply)
        connection.rset()
        if refused and not report.accepted:
            raise smtplib.SMTPRecipientsRefused(refused)
        report.refused = {address: _reply(code, reply, backend) for address, (code, reply) in refused.items()}
        stage = "quit"
        backend.close()
    except Exception as error:
        _abandon(backend)
        raise explain(error, backend, stage) from error
    report.seconds = time.perf_counter() - start
    return report


def _prepared_backend(alias: str, timeout: float | None):
    backend = get_backend(alias)
    if timeout is not None and isinstance(backend, SmtpBackend):
        backend.timeout = timeout
    return backend


def _smtp_send(backend: SmtpBackend, sender: str, recipients: list[str], data: bytes) -> dict[str, str]:
    """What Django's ``backend._send`` does, keeping the refused recipients ``sendmail`` returns."""
    refused = backend.connection.sendmail(sender, recipients, data)
    return {address: _reply(code, reply, backend) for address, (code, reply) in refused.items()}


class _Renderer:
    """A message → (envelope sender, envelope recipients, bytes), as Django's SMTP backend makes them.

    A series (``--count N``) differs only in Subject and Message-ID. Building each
    message with the email package costs about twice a round trip to a local server,
    so a message whose every other part equals the previous one's reuses its bytes
    and envelope, with those two header lines folded anew by the same policy.
    """

    SWAPPED = ("Subject", "Message-ID")

    def __init__(self, backend: SmtpBackend):
        self.backend = backend
        self.shape = None

    def __call__(self, message: EmailMessage) -> tuple[str, list[str], bytes]:
        shape = _shape(message)
        if shape is not None and shape == self.shape:
            return self.sender, self.recipients, self._swapped(message)
        self.shape = shape
        self.sender = self.backend.prep_address(message.from_email)
        self.recipients = [self.backend.prep_address(address) for address in message.recipients()]
        data = message.message(policy=email.policy.SMTP).as_bytes()
        self.head, self.body = data.split(b"\r\n\r\n", 1)
        return self.sender, self.recipients, data

    def _swapped(self, message: EmailMessage) -> bytes:
        values = {"subject": message.subject, "message-id": message.extra_headers["Message-ID"]}
        lines = []
        skipping = False
        for line in self.head.split(b"\r\n"):
            if line[:1] in (b" ", b"\t"):  # a folded continuation of the header before
                if not skipping:
                    lines.append(line)
                continue
            name = line.partition(b":")[0].decode("ascii").lower()
            skipping = name in values
            if skipping:
                lines.append(email.policy.SMTP.fold_binary(name.title().replace("-Id", "-ID"), values[name])[:-2])
            else:
                lines.append(line)
        return b"\r\n".join(lines) + b"\r\n\r\n" + self.body


def _shape(message: EmailMessage):
    """Everything of a message but its Subject and Message-ID, or None when it has no Message-ID of its own."""
    headers = dict(message.extra_headers)
    if "Message-ID" not in headers or "\n" in message.subject or "\r" in message.subject:
        return None
    del headers["Message-ID"]
    return (
        type(message),
        message.from_email,
        message.to,
        message.cc,
        message.bcc,
        message.reply_to,
        message.body,
        message.content_subtype,
        message.encoding,
        getattr(message, "alternatives", None),
        message.attachments,
        headers,
    )


def _capabilities(connection: smtplib.SMTP, backend: SmtpBackend) -> dict:
    features = connection.esmtp_features
    size = features.get("size", "").strip()
    return {
        "size_limit": int(size) if size.isdigit() and int(size) else None,
        "auth": features.get("auth", "").split(),
        # After STARTTLS the server no longer lists it: it was offered, and used.
        "starttls": backend.use_tls or "starttls" in features,
        "smtputf8": "smtputf8" in features,
        "8bitmime": "8bitmime" in features,
    }


def _abandon(backend) -> None:
    """After a failure, drop the connection without waiting for a server that may not answer."""
    for name in ("connection", "_partial_connection"):
        connection = getattr(backend, name, None)
        if isinstance(connection, smtplib.SMTP):
            connection.close()
            setattr(backend, name, None)
    if not isinstance(backend, SmtpBackend):
        backend.close()


def _envelope(backend, address: str) -> str:
    return backend.prep_address(address) if isinstance(backend, SmtpBackend) else address


def files_written(backend) -> list[str]:
    """The files a file-based backend wrote in its last send."""
    if hasattr(backend, "written"):  # the project's outbox backend: one .eml per message
        return list(backend.written)
    name = getattr(backend, "_fname", None)  # Django's file backend: one .log per connection
    return [name] if name else []


def _unique(items) -> list:
    return list(dict.fromkeys(items))


# ---------------------------------------------------------------- diagnosis


def explain(error: BaseException, backend, stage: str = "") -> MailProblem:
    """Any exception raised while opening ``backend`` or sending through it → MailProblem: exit code 3 config,
    4 unreachable, 5 login refused, 6 message refused (1 for a bug-like unknown error), one sentence naming
    host:port for SMTP, and a hint; never the password. ``stage`` ("connect", "send", "check", "quit")
    sharpens the words."""
    if isinstance(error, MailProblem):
        return error
    return _explain(error, backend, stage)


def _scrub(text, backend=None) -> str:
    """Text from outside the project with the SMTP password hidden where it can appear.

    A server may echo a URL or the credentials in its reply, an exception may hold
    them in its message: the credentials of any URL are hidden, and the password
    where it stands as a word of its own (between spaces, quotes, brackets or
    punctuation). Never as a substring of other words: the password ``e`` leaves
    ``refused`` alone, and ``example`` leaves the login ``anna@example.com`` whole.
    """
    text = mask_url_credentials(str(text))
    password = getattr(backend, "password", "") or ""
    if password and password in text:
        word = rf"(?<![^\s'\"(<\[=:]){re.escape(password)}(?![^\s'\")>\].,;:])"
        text = re.sub(word, MASK, text)
    return text


def _explain(error: BaseException, backend, stage: str) -> MailProblem:
    if isinstance(error, ImproperlyConfigured):
        return _config_problem(error, backend.alias)
    if not isinstance(backend, SmtpBackend):
        return _local_problem(error, backend)

    where = f"{backend.host}:{backend.port}"
    user = backend.username or ""
    unreachable, login, refused = ExitCode.UNREACHABLE, ExitCode.LOGIN_REFUSED, ExitCode.MESSAGE_REFUSED

    if isinstance(error, UnicodeEncodeError) and not (user.isascii() and (backend.password or "").isascii()):
        # smtplib encodes the login as ASCII; its message would quote a character of the password.
        return MailProblem(
            ExitCode.CONFIG,
            _(
                "The login or password of the mailer %(alias)r holds a character that is not ASCII; "
                "SMTP logins must be ASCII."
            )
            % {"alias": backend.alias},
            _("Use the provider's app password (letters, digits and punctuation), and the login as plain ASCII."),
        )

    if isinstance(error, ConnectionRefusedError):
        return MailProblem(
            unreachable,
            _("Nothing is listening at %(where)s (connection refused).") % {"where": where},
            _(
                "Check the host and port (465 for SSL, 587 for STARTTLS, 25 without encryption) "
                "and that the server is running."
            ),
        )
    if isinstance(error, socket.gaierror):
        return MailProblem(
            unreachable,
            _("Cannot find the mail server %(where)s: the name %(host)r does not resolve (%(reason)s).")
            % {"where": where, "host": backend.host, "reason": error.strerror},
            _("Check the spelling of the host (smtp.yandex.ru, smtp.gmail.com, smtp.mail.ru) and the network."),
        )
    # smtplib reports a reply that never came as "Connection unexpectedly closed: timed out".
    if isinstance(error, TimeoutError) or (
        isinstance(error, smtplib.SMTPServerDisconnected) and "timed out" in str(error)
    ):
        seconds = {"where": where, "seconds": f"{backend.timeout:g}"}
        if stage == "send":
            message = _("%(where)s stopped answering for %(seconds)s s while the message was being sent.") % seconds
        else:
            message = _("%(where)s did not answer within %(seconds)s s.") % seconds
        if not backend.use_ssl and backend.port == 465:
            hint = _("Port 465 expects SSL from the first byte: use smtp+ssl:// (EMAIL_USE_SSL=true).")
        elif not backend.use_ssl:
            hint = _(
                "A server that expects SSL from the first byte waits silently for it: if this is an SSL port, "
                "use smtp+ssl:// (EMAIL_USE_SSL=true). Otherwise a firewall may be dropping the connection, "
                "or the server is slow (raise EMAIL_TIMEOUT or pass --timeout)."
            )
        else:
            hint = _("A firewall may drop the connection, or the server is slow (raise EMAIL_TIMEOUT or --timeout).")
        return MailProblem(unreachable, message, hint)
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = error.verify_message or error.reason or str(error)
        if "mismatch" in reason.lower():
            hint = _(
                "The certificate is for another name: use the host name your provider documents "
                "(smtp.yandex.ru, smtp.gmail.com, smtp.mail.ru), not an IP address or an alias."
            )
        else:
            hint = _(
                "The certificate is self-signed or from an unknown authority: use the provider's documented host; "
                "for a private server, add its CA to the system's trusted certificates (or SSL_CERT_FILE)."
            )
        return MailProblem(
            unreachable,
            _("The certificate of %(where)s is not trusted: %(reason)s.")
            % {"where": where, "reason": _scrub(reason, backend).rstrip(".")},
            hint,
        )
    if isinstance(error, ssl.SSLError):
        if error.reason == "WRONG_VERSION_NUMBER" or "wrong version number" in str(error).lower():
            return MailProblem(
                unreachable,
                _("%(where)s does not speak SSL: it answered in plain text.") % {"where": where},
                _(
                    "SSL from the first byte is for port 465. For port %(port)s use STARTTLS: smtp+tls:// "
                    "(EMAIL_USE_TLS=true, EMAIL_USE_SSL=false), or smtp:// for a local server without encryption."
                )
                % {"port": backend.port},
            )
        reason = _scrub(error.reason or error, backend)
        return MailProblem(
            unreachable,
            _("The TLS handshake with %(where)s failed: %(reason)s.") % {"where": where, "reason": reason},
            port_hint(),
        )
    if isinstance(error, smtplib.SMTPNotSupportedError):
        if "STARTTLS" in str(error):
            return MailProblem(
                unreachable,
                _("%(where)s does not offer STARTTLS.") % {"where": where},
                _(
                    "If the port is 465, use smtp+ssl:// (EMAIL_USE_SSL=true, EMAIL_USE_TLS=false); "
                    "use smtp:// without encryption only for a local server."
                ),
            )
        if "AUTH" in str(error):
            return MailProblem(
                login,
                _("%(where)s offers no login (no AUTH), but the login %(login)r is configured.")
                % {"where": where, "login": user},
                _(
                    "Many servers offer login only over encryption: use smtp+tls:// (587) or smtp+ssl:// (465). "
                    "A local server that takes mail without login needs no user or password: remove them."
                ),
            )
    if isinstance(error, smtplib.SMTPAuthenticationError):
        hint = app_password_hint()
        if "@" not in user:
            hint += " " + _("The login %(login)r is not a full address.") % {"login": user}
        return MailProblem(
            login,
            _("%(where)s refused the login %(login)r: %(reply)s.")
            % {"where": where, "login": user, "reply": _reply(error.smtp_code, error.smtp_error, backend)},
            hint,
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        if _login_required(error.smtp_code, error.smtp_error):
            return _login_required_problem(backend, where, _reply(error.smtp_code, error.smtp_error, backend))
        if user:
            hint = _(
                "The sender (DEFAULT_FROM_EMAIL, or --from) must be the mailbox you log in as (%(login)s); "
                "leave DEFAULT_FROM_EMAIL unset to use the login."
            ) % {"login": user}
        else:
            hint = _(
                "The sender (DEFAULT_FROM_EMAIL, or --from) must be the mailbox you log in as; "
                "leave DEFAULT_FROM_EMAIL unset to use the login."
            )
        return MailProblem(
            refused,
            _("%(where)s refused the sender %(sender)s: %(reply)s.")
            % {"where": where, "sender": error.sender, "reply": _reply(error.smtp_code, error.smtp_error, backend)},
            hint,
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = {address: _reply(code, reply, backend) for address, (code, reply) in error.recipients.items()}
        if all(_login_required(code, reply) for code, reply in error.recipients.values()):
            return _login_required_problem(backend, where, next(iter(replies.values())))
        return _refused_problem(describe(backend), replies, partial=False)
    if isinstance(error, smtplib.SMTPDataError):
        reply = _reply(error.smtp_code, error.smtp_error, backend)
        if error.smtp_code == 552 or "size" in reply.lower():
            hint = _("The message is too large for this server (--check shows its size limit): attach smaller files.")
        else:
            hint = _(
                "The server's policy refused the content or the sender: send from the login's own address, "
                "and check the provider's limits and spam rules."
            )
        return MailProblem(
            refused,
            _("%(where)s refused the message after receiving it: %(reply)s.") % {"where": where, "reply": reply},
            hint,
        )
    if isinstance(error, smtplib.SMTPServerDisconnected):
        if stage == "send":
            message = _("%(where)s closed the connection in the middle of sending the message.") % {"where": where}
        else:
            message = _("%(where)s closed the connection unexpectedly (%(reason)s).") % {
                "where": where,
                "reason": _scrub(error or "no reply", backend),
            }
        return MailProblem(
            unreachable,
            message,
            _(
                "Often the security does not match the port (465 is SSL from the first byte, 587 is STARTTLS), "
                "or a server limit (message size, messages per connection or per minute) was exceeded; "
                "--check shows the limits."
            ),
        )
    if isinstance(error, smtplib.SMTPConnectError | smtplib.SMTPHeloError):
        return MailProblem(
            unreachable,
            _("%(where)s refused the session: %(reply)s.")
            % {"where": where, "reply": _reply(error.smtp_code, error.smtp_error, backend)},
            _("The server is busy or refuses this machine (rate limits, block lists): try later or ask its admin."),
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return MailProblem(
            refused,
            _("%(where)s answered %(reply)s.")
            % {"where": where, "reply": _reply(error.smtp_code, error.smtp_error, backend)},
            "",
        )
    if isinstance(error, smtplib.SMTPException) and "authentication method" in str(error):
        return MailProblem(
            login,
            _("%(where)s offers no login method this client knows (%(reason)s).")
            % {"where": where, "reason": _scrub(error, backend)},
            _("Use the provider's documented port with encryption: smtp+ssl:// on 465 or smtp+tls:// on 587."),
        )
    if isinstance(error, OSError):
        return MailProblem(
            unreachable,
            _("Cannot reach %(where)s: %(reason)s.")
            % {"where": where, "reason": _scrub(error.strerror or error, backend)},
            _("Check the host and port, the network and any firewall between this machine and the server."),
        )
    if isinstance(error, ValueError):
        text = _scrub(error, backend)
        return MailProblem(ExitCode.BAD_INPUT, f"{text}.".replace("..", "."), address_hint())
    return _bug(error, backend)


def _local_problem(error: BaseException, backend) -> MailProblem:
    """A failure of a backend that does not talk to a server (file, console, ...)."""
    if isinstance(error, OSError) and isinstance(backend, FileBackend):
        return MailProblem(
            ExitCode.CONFIG,
            _("Cannot write the message to %(folder)s: %(reason)s.")
            % {"folder": backend.file_path, "reason": error.strerror or error},
            _("Make the folder writable by this user, or set EMAIL_URL=outbox://another-folder."),
        )
    if isinstance(error, ValueError):
        return MailProblem(ExitCode.BAD_INPUT, f"{error}.".replace("..", "."), address_hint())
    return _bug(error, backend)


def _bug(error: BaseException, backend) -> MailProblem:
    alias = getattr(backend, "alias", None) or "?"
    return MailProblem(
        ExitCode.BUG,
        _("Unexpected error with the mailer %(alias)r: %(error)s")
        % {"alias": alias, "error": f"{type(error).__name__}: {_scrub(error, backend)}"},
        bug_hint(),
    )


def _config_problem(error: ImproperlyConfigured, alias: str) -> MailProblem:
    if isinstance(error, MailerDoesNotExist):
        known = ", ".join(repr(name) for name in getattr(settings, "MAILERS", {})) or "-"
        return MailProblem(
            ExitCode.CONFIG,
            _("There is no mailer %(alias)r in MAILERS (configured: %(known)s).") % {"alias": alias, "known": known},
            _("Pass --using with a configured alias, or add the mailer to MAILERS in the settings."),
        )
    text = str(error).rstrip(".") + "."
    if "use_ssl" in text and "use_tls" in text:
        hint = _(
            "Turn one of them off: port 465 is SSL from the first byte, 587 is STARTTLS. In .env set only "
            "EMAIL_USE_SSL or EMAIL_USE_TLS, or use the smtp+ssl:// or smtp+tls:// scheme."
        )
    elif "file_path" in text:
        hint = _("Set EMAIL_URL=outbox://folder to a folder this user can create and write.")
    elif "BACKEND" in text:
        hint = _("Check the BACKEND path of this mailer in MAILERS.")
    else:
        hint = _("Fix this mailer in MAILERS (in this project: EMAIL_URL or EMAIL_HOST... in .env).")
    if not isinstance(error, InvalidMailer):
        text = _("The mailer %(alias)r is not configured correctly: %(problem)s") % {"alias": alias, "problem": text}
    return MailProblem(ExitCode.CONFIG, text, hint)


def _login_required(code: int, reply) -> bool:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return code == 530 or "authentication required" in text.lower()


def _login_required_problem(backend: SmtpBackend, where: str, reply: str) -> MailProblem:
    if backend.username and not backend.password:
        return MailProblem(
            ExitCode.LOGIN_REFUSED,
            _(
                "%(where)s requires a login: the login %(login)r is configured but its password is empty, "
                "so none was attempted (%(reply)s)."
            )
            % {"where": where, "login": backend.username, "reply": reply},
            _("Set the password (EMAIL_HOST_PASSWORD, or in EMAIL_URL)."),
        )
    return MailProblem(
        ExitCode.LOGIN_REFUSED,
        _("%(where)s requires a login, and none is configured (%(reply)s).") % {"where": where, "reply": reply},
        login_hint(),
    )


def _refused_problem(mailer: dict, replies: dict[str, str], *, partial: bool) -> MailProblem:
    if "host" in mailer:
        where = f"{mailer['host']}:{mailer['port']}"
    else:
        where = _("the mailer %(alias)r") % {"alias": mailer["alias"]}
    named = "; ".join(f"{address} ({reply})" for address, reply in replies.items())
    if partial:
        message = _("%(where)s refused some recipients: %(named)s.") % {"where": where, "named": named}
    else:
        message = _("%(where)s refused every recipient: %(named)s.") % {"where": where, "named": named}
    return MailProblem(
        ExitCode.MESSAGE_REFUSED,
        message,
        _(
            "Check these addresses for typing errors. A server that is not the recipients' own refuses to "
            "relay without a login ('relay access denied'): send through your provider with its login."
        ),
    )


def _reply(code: int, reply, backend=None) -> str:
    """A server's reply on one line, the password hidden where it can appear (``_scrub``)."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return _scrub(f"{code} {' '.join(text.split())}".strip(), backend)
