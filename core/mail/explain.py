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
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import InvalidMailer, MailerDoesNotExist
from django.core.mail.backends.filebased import EmailBackend as FileBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

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
    """Any exception raised while opening ``backend`` or sending through it → the MailProblem of its row in
    ``RULES``: the exit code, one sentence naming host:port for SMTP, a hint, and whether the worker tries
    again (``retry``); never the password. ``stage`` ("connect", "send", "check", "quit") sharpens the words."""
    if isinstance(error, MailProblem):
        return error
    failure = Failure(error, backend, stage)
    rule = rule_for(failure)
    return MailProblem(rule.exit, failure.say(rule.sentence), failure.say(rule.hint), retry=rule.retry)


def _scrub(text, backend=None) -> str:
    """Text from outside the project with every secret hidden where it can appear (``core.security.mask_text``).

    A server may echo a URL or the credentials in its reply, an exception may hold
    them in its message. A short password only where it stands as a word of its
    own: the password ``e`` leaves ``refused`` alone, and ``example`` leaves the
    login ``anna@example.com`` whole.
    """
    return mask_text(str(text), getattr(backend, "password", "") or "")


@dataclass(frozen=True)
class Failure:
    """One failure as the rules read it: what was raised, through which mailer, at which stage."""

    error: BaseException
    backend: object
    stage: str = ""

    @property
    def where(self) -> str:
        return f"{self.backend.host}:{self.backend.port}"

    @property
    def login(self) -> str:
        return getattr(self.backend, "username", "") or ""

    @property
    def code(self) -> int | None:
        """The SMTP reply code; of several refused recipients the highest (one permanent refusal is permanent)."""
        if isinstance(self.error, smtplib.SMTPRecipientsRefused):
            return max((code for code, _ in self.error.recipients.values()), default=None)
        return getattr(self.error, "smtp_code", None)

    def scrub(self, text) -> str:
        return _scrub(text, self.backend)

    @property
    def reply(self) -> str:
        """What the server answered, on one line (``server_reply``)."""
        return server_reply(self.error.smtp_code, self.error.smtp_error, self.backend)

    @property
    def reason(self) -> str:
        """What the exception says, the most specific first: the certificate's fault, SSL's, the system's."""
        error = self.error
        for name in ("verify_message", "reason", "strerror"):
            if said := getattr(error, name, None):
                return self.scrub(said).rstrip(".")
        return self.scrub(error).rstrip(".")

    def say(self, words: str | Callable[[Failure], str]) -> str:
        """A rule's sentence or hint: a msgid translated and filled in with what this failure holds, or made."""
        if callable(words):
            return words(self)
        if not words:
            return ""
        backend, values = self.backend, {"alias": getattr(self.backend, "alias", None) or "?", "reason": self.reason}
        if isinstance(backend, SmtpBackend):
            values |= {"where": self.where, "host": backend.host, "port": backend.port, "login": self.login}
        if isinstance(backend, FileBackend):
            values["folder"] = backend.file_path
        if isinstance(self.error, smtplib.SMTPResponseException):
            values["reply"] = self.reply.rstrip(".!")  # the sentence ends with its own full stop
        if isinstance(self.error, smtplib.SMTPSenderRefused):
            values["sender"] = self.error.sender
        return _(words) % values


def _always(failure: Failure) -> bool:
    return True


@dataclass(frozen=True)
class Rule:
    """One row of the failure table: what it matches, the exit code, the words, and whether the worker retries.

    ``sentence`` and ``hint`` are msgids filled in with %(where)s (host:port), %(host)s, %(port)s,
    %(login)s, %(alias)s, %(reply)s (the server's reply) and %(reason)s (the exception's words), or
    functions of the Failure where the words depend on more.
    """

    failure: str  # the failure in the docs table's words
    error: type | tuple[type, ...]  # the exceptions it matches
    exit: ExitCode
    retry: bool  # whether the worker tries again later (a temporary failure) or gives up at once
    sentence: str | Callable[[Failure], str]
    hint: str | Callable[[Failure], str] = ""
    replies: range | None = None  # the SMTP reply codes it matches (Failure.code)
    when: Callable[[Failure], bool] = _always  # what else the failure must be
    mailer: type = SmtpBackend  # the backends it applies to
    why: str = ""  # the reason for the exit code or the retry, where it is not plain (docs)

    def matches(self, failure: Failure) -> bool:
        return (
            isinstance(failure.backend, self.mailer)
            and isinstance(failure.error, self.error)
            and (self.replies is None or failure.code in self.replies)
            and self.when(failure)
        )


def rule_for(failure: Failure) -> Rule:
    """The first row of ``RULES`` that matches (the last matches anything)."""
    return next(rule for rule in RULES if rule.matches(failure))


# ---------------------------------------------------------------- the words that depend on more than the failure


def _credentials_not_ascii(failure: Failure) -> bool:
    # smtplib encodes the login as ASCII; its message would quote a character of the password.
    return not (failure.login.isascii() and (failure.backend.password or "").isascii())


def _timed_out(failure: Failure) -> bool:
    # smtplib reports a reply that never came as "Connection unexpectedly closed: timed out".
    return isinstance(failure.error, TimeoutError) or "timed out" in str(failure.error)


def _no_answer(failure: Failure) -> str:
    seconds = {"where": failure.where, "seconds": f"{failure.backend.timeout:g}"}
    if failure.stage == "send":
        return _("%(where)s stopped answering for %(seconds)s s while the message was being sent.") % seconds
    return _("%(where)s did not answer within %(seconds)s s.") % seconds


def _no_answer_hint(failure: Failure) -> str:
    backend = failure.backend
    if not backend.use_ssl and backend.port == 465:
        return _("Port 465 expects SSL from the first byte: use smtp+ssl:// (EMAIL_USE_SSL=true).")
    if not backend.use_ssl:
        return _(
            "A server that expects SSL from the first byte waits silently for it: if this is an SSL port, "
            "use smtp+ssl:// (EMAIL_USE_SSL=true). Otherwise a firewall may be dropping the connection, "
            "or the server is slow (raise EMAIL_TIMEOUT or pass --timeout)."
        )
    return _("A firewall may drop the connection, or the server is slow (raise EMAIL_TIMEOUT or --timeout).")


def _untrusted_hint(failure: Failure) -> str:
    if "mismatch" in failure.reason.lower():
        return _(
            "The certificate is for another name: use the host name your provider documents "
            "(smtp.yandex.ru, smtp.gmail.com, smtp.mail.ru), not an IP address or an alias."
        )
    if ca_file := getattr(failure.backend, "ssl_cafile", None):
        return _(
            "The server's certificate is not signed by the CA in %(ca_file)s either: give the CA file that "
            "server prints (manage.py mailserver names its own when it starts)."
        ) % {"ca_file": ca_file}
    return _(
        "The certificate is self-signed or from an unknown authority: use the provider's documented host; "
        "for a private server (manage.py mailserver --ssl, for one), give its CA file to this mailer: "
        "?ssl_cafile=PATH in EMAIL_URL, or EMAIL_SSL_CAFILE=PATH."
    )


def _plain_text_answer(failure: Failure) -> bool:
    error = failure.error
    return getattr(error, "reason", None) == "WRONG_VERSION_NUMBER" or "wrong version number" in str(error).lower()


def _login_refused_hint(failure: Failure) -> str:
    hint = provider_login_hint(provider_of(failure.backend.host, failure.reply))
    if "@" not in failure.login:
        hint += " " + _("The login %(login)r is not a full address.") % {"login": failure.login}
    return hint


def _asks_for_login(failure: Failure) -> bool:
    error = failure.error
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(_login_required(code, reply) for code, reply in error.recipients.values())
    return _login_required(error.smtp_code, error.smtp_error)


def _login_required_sentence(failure: Failure) -> str:
    error = failure.error
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        reply = next(iter(server_replies(error.recipients, failure.backend).values()))
    else:
        reply = failure.reply
    values = {"where": failure.where, "login": failure.login, "reply": reply}
    if failure.login and not failure.backend.password:
        return (
            _(
                "%(where)s requires a login: the login %(login)r is configured but its password is empty, "
                "so none was attempted (%(reply)s)."
            )
            % values
        )
    return _("%(where)s requires a login, and none is configured (%(reply)s).") % values


def _login_required_hint(failure: Failure) -> str:
    if failure.login and not failure.backend.password:
        return _("Set the password (EMAIL_HOST_PASSWORD, or in EMAIL_URL).")
    return login_hint()


def _sender_hint(failure: Failure) -> str:
    if failure.login:
        return _(
            "The sender (DEFAULT_FROM_EMAIL, or --from) must be the mailbox you log in as (%(login)s); "
            "leave DEFAULT_FROM_EMAIL unset to use the login."
        ) % {"login": failure.login}
    return _(
        "The sender (DEFAULT_FROM_EMAIL, or --from) must be the mailbox you log in as; "
        "leave DEFAULT_FROM_EMAIL unset to use the login."
    )


def _recipients_refused(failure: Failure) -> str:
    return refused_sentence(failure.where, server_replies(failure.error.recipients, failure.backend), partial=False)


def _connection_closed(failure: Failure) -> str:
    if failure.stage == "send":
        return _("%(where)s closed the connection in the middle of sending the message.") % {"where": failure.where}
    return _("%(where)s closed the connection unexpectedly (%(reason)s).") % {
        "where": failure.where,
        "reason": failure.scrub(failure.error or "no reply"),
    }


def _bad_input(failure: Failure) -> str:
    return f"{failure.scrub(failure.error)}.".replace("..", ".")


def _unexpected(failure: Failure) -> str:
    error = failure.error
    return _("Unexpected error with the mailer %(alias)r: %(error)s") % {
        "alias": getattr(failure.backend, "alias", None) or "?",
        "error": f"{type(error).__name__}: {failure.scrub(error)}",
    }


FOUR_XX, FIVE_XX = range(400, 500), range(500, 600)
CONFIG, UNREACHABLE, LOGIN, REFUSED = (
    ExitCode.CONFIG,
    ExitCode.UNREACHABLE,
    ExitCode.LOGIN_REFUSED,
    ExitCode.MESSAGE_REFUSED,
)
SENDER_REFUSED = gettext_noop("%(where)s refused the sender %(sender)s: %(reply)s.")
MESSAGE_REFUSED = gettext_noop("%(where)s refused the message after receiving it: %(reply)s.")
SESSION_REFUSED = gettext_noop("%(where)s refused the session: %(reply)s.")
SESSION_HINT = gettext_noop(
    "The server is busy or refuses this machine (rate limits, block lists): try later or ask its admin."
)
ANSWERED = gettext_noop("%(where)s answered %(reply)s.")

# The failure table: the first row that matches a failure says all about it. docs/sendtestmail.md's
# "Mail failures" table is this table (tests/mail/test_failures.py keeps them the same). A reply code
# decides the retry as RFC 5321 does: 4xx is temporary, 5xx permanent.
RULES = (
    Rule(
        "the mailer's settings cannot work (unknown alias, SSL and STARTTLS both on, ...)",
        ImproperlyConfigured,
        CONFIG,
        False,
        lambda failure: config_sentence(failure.error, getattr(failure.backend, "alias", "default")),
        lambda failure: config_hint(failure.error),
        mailer=object,
    ),
    Rule(
        "a login or password that is not ASCII",
        UnicodeEncodeError,
        CONFIG,
        False,
        gettext_noop(
            "The login or password of the mailer %(alias)r holds a character that is not ASCII; "
            "SMTP logins must be ASCII."
        ),
        gettext_noop(
            "Use the provider's app password (letters, digits and punctuation), and the login as plain ASCII."
        ),
        when=_credentials_not_ascii,
    ),
    Rule(
        "nothing listens at the port (connection refused)",
        ConnectionRefusedError,
        UNREACHABLE,
        True,
        gettext_noop("Nothing is listening at %(where)s (connection refused)."),
        gettext_noop(
            "Check the host and port (465 for SSL, 587 for STARTTLS, 25 without encryption) "
            "and that the server is running."
        ),
    ),
    Rule(
        "the host name does not resolve",
        socket.gaierror,
        UNREACHABLE,
        True,
        gettext_noop("Cannot find the mail server %(where)s: the name %(host)r does not resolve (%(reason)s)."),
        gettext_noop("Check the spelling of the host (smtp.yandex.ru, smtp.gmail.com, smtp.mail.ru) and the network."),
    ),
    Rule(
        "no answer within the timeout",
        (TimeoutError, smtplib.SMTPServerDisconnected),
        UNREACHABLE,
        True,
        _no_answer,
        _no_answer_hint,
        when=_timed_out,
    ),
    Rule(
        "the server's certificate is not trusted",
        ssl.SSLCertVerificationError,
        UNREACHABLE,
        True,
        gettext_noop("The certificate of %(where)s is not trusted: %(reason)s."),
        _untrusted_hint,
        why="an expired certificate gets renewed; a network that intercepts TLS is left",
    ),
    Rule(
        "SSL to a port that answers in plain text",
        ssl.SSLError,
        CONFIG,
        False,
        gettext_noop("%(where)s does not speak SSL: it answered in plain text."),
        gettext_noop(
            "SSL from the first byte is for port 465. For port %(port)s use STARTTLS: smtp+tls:// "
            "(EMAIL_USE_TLS=true, EMAIL_USE_SSL=false), or smtp:// for a local server without encryption."
        ),
        when=_plain_text_answer,
        why="the server answered, in plain text: the settings ask for SSL this port does not speak",
    ),
    Rule(
        "the TLS handshake failed",
        ssl.SSLError,
        UNREACHABLE,
        True,
        gettext_noop("The TLS handshake with %(where)s failed: %(reason)s."),
        lambda failure: port_hint(),
    ),
    Rule(
        "the server does not offer STARTTLS",
        smtplib.SMTPNotSupportedError,
        CONFIG,
        False,
        gettext_noop("%(where)s does not offer STARTTLS."),
        gettext_noop(
            "If the port is 465, use smtp+ssl:// (EMAIL_USE_SSL=true, EMAIL_USE_TLS=false); "
            "use smtp:// without encryption only for a local server."
        ),
        when=lambda failure: "STARTTLS" in str(failure.error),
        why="the server answered, without STARTTLS: the settings ask for what it does not offer",
    ),
    Rule(
        "a login is configured, the server offers none",
        smtplib.SMTPNotSupportedError,
        LOGIN,
        False,
        gettext_noop("%(where)s offers no login (no AUTH), but the login %(login)r is configured."),
        gettext_noop(
            "Many servers offer login only over encryption: use smtp+tls:// (587) or smtp+ssl:// (465). "
            "A local server that takes mail without login needs no user or password: remove them."
        ),
        when=lambda failure: "AUTH" in str(failure.error),
    ),
    Rule(
        "the login refused for now (454)",
        smtplib.SMTPAuthenticationError,
        LOGIN,
        True,
        gettext_noop("%(where)s refused the login %(login)r: %(reply)s."),
        gettext_noop("The server could not check the login just now: try again later. If it lasts, check the login."),
        replies=FOUR_XX,
        why="454 4.7.0 is a temporary authentication failure",
    ),
    Rule(
        "the login refused (535)",
        smtplib.SMTPAuthenticationError,
        LOGIN,
        False,
        gettext_noop("%(where)s refused the login %(login)r: %(reply)s."),
        _login_refused_hint,
        replies=FIVE_XX,
    ),
    Rule(
        "a login required, none configured (530)",
        (smtplib.SMTPSenderRefused, smtplib.SMTPRecipientsRefused),
        LOGIN,
        False,
        _login_required_sentence,
        _login_required_hint,
        when=_asks_for_login,
    ),
    Rule("the sender refused for now", smtplib.SMTPSenderRefused, REFUSED, True, SENDER_REFUSED, _sender_hint, FOUR_XX),
    Rule("the sender refused (553)", smtplib.SMTPSenderRefused, REFUSED, False, SENDER_REFUSED, _sender_hint, FIVE_XX),
    Rule(
        "every recipient refused for now",
        smtplib.SMTPRecipientsRefused,
        REFUSED,
        True,
        _recipients_refused,
        lambda failure: recipients_hint(),
        FOUR_XX,
    ),
    Rule(
        "recipients refused (550)",
        smtplib.SMTPRecipientsRefused,
        REFUSED,
        False,
        _recipients_refused,
        lambda failure: recipients_hint(),
        FIVE_XX,
        why="one permanent refusal among them is enough",
    ),
    Rule(
        "no room for the message (452)",
        smtplib.SMTPDataError,
        REFUSED,
        True,
        MESSAGE_REFUSED,
        gettext_noop(
            "The server has no room to store the message (its disk is full): try again later, or tell its admin."
        ),
        range(452, 453),
    ),
    Rule(
        "the message refused for now (451)",
        smtplib.SMTPDataError,
        REFUSED,
        True,
        MESSAGE_REFUSED,
        gettext_noop("The server refused the message for now: try again later, or ask its admin if it lasts."),
        FOUR_XX,
    ),
    Rule(
        "the message too large (552)",
        smtplib.SMTPDataError,
        REFUSED,
        False,
        MESSAGE_REFUSED,
        gettext_noop("The message is too large for this server (--check shows its size limit): attach smaller files."),
        range(552, 553),
    ),
    Rule(
        "the message refused (554 policy)",
        smtplib.SMTPDataError,
        REFUSED,
        False,
        MESSAGE_REFUSED,
        gettext_noop(
            "The server's policy refused the content or the sender: send from the login's own address, "
            "and check the provider's limits and spam rules."
        ),
        FIVE_XX,
    ),
    Rule(
        "the connection dropped",
        smtplib.SMTPServerDisconnected,
        UNREACHABLE,
        True,
        _connection_closed,
        gettext_noop(
            "Often the security does not match the port (465 is SSL from the first byte, 587 is STARTTLS), "
            "or a server limit (message size, messages per connection or per minute) was exceeded; "
            "--check shows the limits."
        ),
    ),
    Rule(
        "the session refused for now (421)",
        (smtplib.SMTPConnectError, smtplib.SMTPHeloError),
        UNREACHABLE,
        True,
        SESSION_REFUSED,
        SESSION_HINT,
        FOUR_XX,
    ),
    Rule(
        "the session refused (554)",
        (smtplib.SMTPConnectError, smtplib.SMTPHeloError),
        UNREACHABLE,
        False,
        SESSION_REFUSED,
        SESSION_HINT,
        FIVE_XX,
        why="a 5xx greeting refuses this machine until someone changes a list",
    ),
    Rule("another reply, for now", smtplib.SMTPResponseException, REFUSED, True, ANSWERED, replies=FOUR_XX),
    Rule("another refusal", smtplib.SMTPResponseException, REFUSED, False, ANSWERED, replies=FIVE_XX),
    Rule(
        "no login method this client knows",
        smtplib.SMTPException,
        LOGIN,
        False,
        gettext_noop("%(where)s offers no login method this client knows (%(reason)s)."),
        gettext_noop("Use the provider's documented port with encryption: smtp+ssl:// on 465 or smtp+tls:// on 587."),
        when=lambda failure: "authentication method" in str(failure.error),
    ),
    Rule(
        "another SMTP error (a command the server does not support)",
        smtplib.SMTPException,
        REFUSED,
        False,
        gettext_noop("%(where)s cannot do what this message needs: %(reason)s."),
        why="the same message meets the same server",
    ),
    Rule(
        "another network error",
        OSError,
        UNREACHABLE,
        True,
        gettext_noop("Cannot reach %(where)s: %(reason)s."),
        gettext_noop("Check the host and port, the network and any firewall between this machine and the server."),
    ),
    Rule(
        "the outbox folder cannot be written",
        OSError,
        CONFIG,
        False,
        gettext_noop("Cannot write the message to %(folder)s: %(reason)s."),
        gettext_noop("Make the folder writable by this user, or set EMAIL_URL=outbox://another-folder."),
        mailer=FileBackend,
        why="a folder's permissions or a full disk wait for a person",
    ),
    Rule(
        "an invalid address",
        ValueError,
        ExitCode.BAD_INPUT,
        False,
        _bad_input,
        lambda failure: address_hint(),
        mailer=object,
    ),
    Rule(
        "anything else (a bug)",
        BaseException,
        ExitCode.BUG,
        False,
        _unexpected,
        lambda failure: bug_hint(),
        mailer=object,
    ),
)


def config_sentence(error: ImproperlyConfigured, alias: str) -> str:
    """What is wrong with a mailer Django cannot make (an unknown alias, an InvalidMailer)."""
    if isinstance(error, MailerDoesNotExist):
        known = ", ".join(repr(name) for name in getattr(settings, "MAILERS", {})) or "-"
        return _("There is no mailer %(alias)r in MAILERS (configured: %(known)s).") % {"alias": alias, "known": known}
    text = str(error).rstrip(".") + "."
    if isinstance(error, InvalidMailer):
        return text
    return _("The mailer %(alias)r is not configured correctly: %(problem)s") % {"alias": alias, "problem": text}


def config_hint(error: ImproperlyConfigured) -> str:
    text = str(error)
    if isinstance(error, MailerDoesNotExist):
        return _("Pass --using with a configured alias, or add the mailer to MAILERS in the settings.")
    if "use_ssl" in text and "use_tls" in text:
        return _(
            "Turn one of them off: port 465 is SSL from the first byte, 587 is STARTTLS. In .env set only "
            "EMAIL_USE_SSL or EMAIL_USE_TLS, or use the smtp+ssl:// or smtp+tls:// scheme."
        )
    if "file_path" in text:
        return _("Set EMAIL_URL=outbox://folder to a folder this user can create and write.")
    if "BACKEND" in text:
        return _("Check the BACKEND path of this mailer in MAILERS.")
    return _("Fix this mailer in MAILERS (in this project: EMAIL_URL or EMAIL_HOST... in .env).")


def config_problem(error: ImproperlyConfigured, alias: str) -> MailProblem:
    """A mailer Django cannot make (an unknown alias, an InvalidMailer) → MailProblem(CONFIG) with a hint."""
    return MailProblem(ExitCode.CONFIG, config_sentence(error, alias), config_hint(error))


def _login_required(code: int, reply) -> bool:
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    # 530 is the standard code; Yandex (Postfix) answers 503 "Error: send AUTH command first."
    return code == 530 or any(words in text.lower() for words in ("authentication required", "auth command first"))


def refused_sentence(where: str, replies: dict[str, str], *, partial: bool) -> str:
    """Recipients refused by the SMTP server at ``where`` (host:port): each named with its reply (``server_reply``)."""
    named = "; ".join(f"{address} ({reply})" for address, reply in replies.items())
    if partial:
        return _("%(where)s refused some recipients: %(named)s.") % {"where": where, "named": named}
    return _("%(where)s refused every recipient: %(named)s.") % {"where": where, "named": named}


def recipients_hint() -> str:
    return _(
        "Check these addresses for typing errors. A server that is not the recipients' own refuses to "
        "relay without a login ('relay access denied'): send through your provider with its login."
    )


def refused_problem(where: str, replies: dict[str, str], *, partial: bool) -> MailProblem:
    """Some recipients refused (a send that reached the others): exit 6, each named with its reply."""
    return MailProblem(ExitCode.MESSAGE_REFUSED, refused_sentence(where, replies, partial=partial), recipients_hint())


def server_reply(code: int, reply, backend=None) -> str:
    """A server's reply on one line, the password hidden where it can appear (``_scrub``)."""
    text = reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)
    return _scrub(f"{code} {' '.join(text.split())}".strip(), backend)


def server_replies(refused: dict[str, tuple[int, bytes]], backend=None) -> dict[str, str]:
    """smtplib's refused recipients (address → (code, reply)) → address → ``server_reply``."""
    return {address: server_reply(code, reply, backend) for address, (code, reply) in refused.items()}
