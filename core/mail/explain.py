"""Explaining mail failures: any exception on the way to a mail server → one MailProblem (sentence, hint, exit code).

``explain`` turns what making, opening or sending through a mailer raised into one
sentence naming host:port, a hint and the project's exit code (core.mail.errors).
No sentence made here ever contains the SMTP password: text that comes from
outside (a server's reply, an exception's message) goes through ``_scrub``, which
hides the password and every other configured secret where it can appear
(``core.security.mask_text``: a URL's credentials; a short password only as a
word of its own, never as a bare substring of other words).
"""

from __future__ import annotations

import smtplib
import socket
import ssl

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import InvalidMailer, MailerDoesNotExist
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem, bug_hint
from core.security import mask_text

# The hints are functions, not constants: each is translated when a problem is
# explained, into the language active then (LANGUAGE_CODE in a command).


def app_password_hint() -> str:
    return _(
        "Yandex, Gmail and Mail.ru need an app password, not the account password "
        "(id.yandex.ru/security/app-passwords, myaccount.google.com/apppasswords, Mail.ru: Security → "
        "passwords for external applications), and the login is the full address, like you@yandex.ru."
    )


# Which provider a server is: by its host name, or (a rehearsal on 127.0.0.1 by `mailserver --like`)
# by words only that provider's replies hold. Each tuple: host suffixes, reply words.
PROVIDERS = {
    "yandex": (
        (".yandex.ru", ".yandex.com", ".yandex.net"),
        ("yandex", "invalid user or password!", "not owned by auth user"),
    ),
    "gmail": (("smtp.gmail.com", ".google.com", ".googlemail.com"), ("gsmtp", "support.google.com")),
    "mailru": ((".mail.ru", ".bk.ru", ".list.ru", ".inbox.ru"), ("mail.ru", "not local sender over smtp")),
}


def provider_of(host: str, reply: str = "") -> str:
    """ "yandex", "gmail", "mailru", or "" when the host and the reply name none of them."""
    host, reply = "." + (host or "").lower(), (reply or "").lower()
    for name, (suffixes, words) in PROVIDERS.items():
        if host.endswith(suffixes) or any(word in reply for word in words):
            return name
    return ""


def provider_login_hint(provider: str) -> str:
    """The app-password hint for one provider; the hint naming all three when the provider is not known."""
    if provider == "yandex":
        return _(
            "Yandex needs an app password of the kind Mail (id.yandex.ru/security/app-passwords), not the "
            "account password, and the login is the full address, like you@yandex.ru."
        )
    if provider == "gmail":
        return _(
            "Gmail needs an app password (myaccount.google.com/apppasswords, which needs 2-Step Verification), "
            "not the account password, and the login is the full address, like you@gmail.com."
        )
    if provider == "mailru":
        return _(
            "Mail.ru needs a password for external applications (Mail.ru settings: Security → passwords for "
            "external applications), not the account password, and the login is the full address, like you@mail.ru."
        )
    return app_password_hint()


def port_hint() -> str:
    return _("Port 465 is SSL from the first byte (smtp+ssl://, EMAIL_USE_SSL=true); 587 is STARTTLS (smtp+tls://).")


def login_hint() -> str:
    return _(
        "Set the login and password: EMAIL_URL=smtp+ssl://you%40yandex.ru:app-password@smtp.yandex.ru:465, "
        "or EMAIL_HOST_USER and EMAIL_HOST_PASSWORD."
    )


def address_hint() -> str:
    return _("Write addresses as name@example.com.")


def explain(error: BaseException, backend, stage: str = "") -> MailProblem:
    """Any exception raised while opening ``backend`` or sending through it → MailProblem: exit code 3 config,
    4 unreachable, 5 login refused, 6 message refused (1 for a bug-like unknown error), one sentence naming
    host:port for SMTP, and a hint; never the password. ``stage`` ("connect", "send", "check", "quit")
    sharpens the words."""
    if isinstance(error, MailProblem):
        return error
    return _explain(error, backend, stage)


def _scrub(text, backend=None) -> str:
    """Text from outside the project with every secret hidden where it can appear (``core.security.mask_text``).

    A server may echo a URL or the credentials in its reply, an exception may hold
    them in its message. A short password only where it stands as a word of its
    own: the password ``e`` leaves ``refused`` alone, and ``example`` leaves the
    login ``anna@example.com`` whole.
    """
    return mask_text(str(text), getattr(backend, "password", "") or "")


def _explain(error: BaseException, backend, stage: str) -> MailProblem:
    if isinstance(error, ImproperlyConfigured):
        return config_problem(error, backend.alias)
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
        elif getattr(backend, "ssl_cafile", None):
            hint = _(
                "The server's certificate is not signed by the CA in %(ca_file)s either: give the CA file that "
                "server prints (manage.py mailserver names its own when it starts)."
            ) % {"ca_file": backend.ssl_cafile}
        else:
            hint = _(
                "The certificate is self-signed or from an unknown authority: use the provider's documented host; "
                "for a private server (manage.py mailserver --ssl, for one), give its CA file to this mailer: "
                "?ssl_cafile=PATH in EMAIL_URL, or EMAIL_SSL_CAFILE=PATH."
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
        hint = provider_login_hint(provider_of(backend.host, _said(error, backend)))
        if "@" not in user:
            hint += " " + _("The login %(login)r is not a full address.") % {"login": user}
        return MailProblem(
            login,
            _("%(where)s refused the login %(login)r: %(reply)s.")
            % {"where": where, "login": user, "reply": _quoted(error, backend)},
            hint,
        )
    if isinstance(error, smtplib.SMTPSenderRefused):
        if _login_required(error.smtp_code, error.smtp_error):
            return _login_required_problem(backend, where, _said(error, backend))
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
            % {"where": where, "sender": error.sender, "reply": _quoted(error, backend)},
            hint,
        )
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        replies = server_replies(error.recipients, backend)
        if all(_login_required(code, reply) for code, reply in error.recipients.values()):
            return _login_required_problem(backend, where, next(iter(replies.values())))
        return refused_problem(where, replies, partial=False)
    if isinstance(error, smtplib.SMTPDataError):
        reply = _said(error, backend)
        if error.smtp_code == 552 or "size" in reply.lower():
            hint = _("The message is too large for this server (--check shows its size limit): attach smaller files.")
        elif error.smtp_code == 452 or "storage" in reply.lower():  # RFC 5321: insufficient system storage
            hint = _(
                "The server has no room to store the message (its disk is full): try again later, or tell its admin."
            )
        else:
            hint = _(
                "The server's policy refused the content or the sender: send from the login's own address, "
                "and check the provider's limits and spam rules."
            )
        return MailProblem(
            refused,
            _("%(where)s refused the message after receiving it: %(reply)s.")
            % {"where": where, "reply": reply.rstrip(".!")},
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
            _("%(where)s refused the session: %(reply)s.") % {"where": where, "reply": _quoted(error, backend)},
            _("The server is busy or refuses this machine (rate limits, block lists): try later or ask its admin."),
        )
    if isinstance(error, smtplib.SMTPResponseException):
        return MailProblem(
            refused,
            _("%(where)s answered %(reply)s.") % {"where": where, "reply": _quoted(error, backend)},
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


def config_problem(error: ImproperlyConfigured, alias: str) -> MailProblem:
    """A mailer Django cannot make (an unknown alias, an InvalidMailer) → MailProblem(CONFIG) with a hint."""
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
    # 530 is the standard code; Yandex (Postfix) answers 503 "Error: send AUTH command first."
    return code == 530 or any(words in text.lower() for words in ("authentication required", "auth command first"))


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


def refused_problem(where: str, replies: dict[str, str], *, partial: bool) -> MailProblem:
    """Recipients refused by the SMTP server at ``where`` (host:port): each named with its reply (``server_reply``)."""
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


def server_reply(code: int, reply, backend=None) -> str:
    """A server's reply on one line, the password hidden where it can appear (``_scrub``)."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return _scrub(f"{code} {' '.join(text.split())}".strip(), backend)


def _said(error: smtplib.SMTPResponseException, backend) -> str:
    """What the server answered, as the exception smtplib raised holds it (``server_reply``)."""
    return server_reply(error.smtp_code, error.smtp_error, backend)


def _quoted(error: smtplib.SMTPResponseException, backend) -> str:
    """``_said`` without its closing full stop or "!", for a sentence that ends with its own."""
    return _said(error, backend).rstrip(".!")


def server_replies(refused: dict[str, tuple[int, bytes]], backend=None) -> dict[str, str]:
    """smtplib's refused recipients (address → (code, reply)) → address → ``server_reply``."""
    return {address: server_reply(code, reply, backend) for address, (code, reply) in refused.items()}
