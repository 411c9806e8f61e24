"""The failure table (core.mail.explain.RULES): every row read by both of its readers, and the docs' copy of it.

The readers are ``sendtestmail`` (its exit code and sentence: the probe it runs) and
the worker (whether it tries again, and the sentence it stores as the delivery's last
error). Each row meets a real failure of a real server on 127.0.0.1 where one is cheap
to make (testsupport/smtp_servers.py and its ``--fail`` rules); the rest (a network that
is not loopback's, a reply no test server gives) are the exception itself.
"""

import contextlib
import errno
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from core.mail.config import OUTBOX_BACKEND
from core.mail.explain import RULES, Failure, Rule, explain, rule_for
from core.mail.mailers import get_backend
from core.security import mask_text
from delivery.attempts import judge, last_error
from delivery.models import Delivery
from tests.delivery.queue import drain
from tests.mail.sending import failure
from testsupport.smtp_servers import (
    LOGIN,
    LOGINS,
    PASSWORD,
    closed_port,
    mailers_for,
    silent_server,
    smtp_server,
)
from users.models import User
from users.tasks import enqueue_password_reset

DOCS = Path(__file__).resolve().parents[2] / "docs" / "sendtestmail.md"


@dataclass
class Case:
    """A failure that one row of the table must judge: how it is made, and what both readers must say."""

    rule: str  # Rule.failure
    exit: int
    retry: bool
    words: str  # in the sentence, whoever reads it ({where}: the server's host:port)
    server: dict | None = None  # smtp_server()'s arguments; None: nothing listens
    mailer: dict | None = None  # mailers_for()'s options
    error: BaseException | None = None  # no cheap real failure: the exception itself


def login(**server) -> dict:
    return {"logins": LOGINS, **server}


CREDENTIALS = {"user": LOGIN, "password": PASSWORD}
REAL = [
    Case("nothing listens at the port (connection refused)", 4, True, "Nothing is listening at {where}"),
    Case("no answer within the timeout", 4, True, "{where} did not answer within 1 s", server={}, mailer={}),
    Case(
        "the server's certificate is not trusted",
        4,
        True,
        "The certificate of {where} is not trusted",
        {"security": "ssl"},
        {"ssl": True},
    ),
    Case("SSL to a port that answers in plain text", 3, False, "{where} does not speak SSL", {}, {"ssl": True}),
    Case("the server does not offer STARTTLS", 3, False, "{where} does not offer STARTTLS", {}, {"tls": True}),
    Case("a login is configured, the server offers none", 5, False, "{where} offers no login", {}, CREDENTIALS),
    Case(
        "a login or password that is not ASCII",
        3,
        False,
        "SMTP logins must be ASCII",
        login(),
        {"user": LOGIN, "password": "pässwort-Zq9"},
    ),
    Case(
        "the login refused for now (454)",
        5,
        True,
        f"refused the login '{LOGIN}': 454 4.7.0",
        login(fail=["login:454"]),
        CREDENTIALS,
    ),
    Case(
        "the login refused (535)", 5, False, f"refused the login '{LOGIN}': 535", login(fail=["login:535"]), CREDENTIALS
    ),
    Case(
        "a login required, none configured (530)",
        5,
        False,
        "{where} requires a login, and none is configured",
        login(),
        {},
    ),
    Case("the sender refused for now", 6, True, "refused the sender", {"fail": ["mail:451"]}, {}),
    Case("the sender refused (553)", 6, False, "refused the sender", {"fail": ["mail:553"]}, {}),
    Case("every recipient refused for now", 6, True, "refused every recipient", {"fail": ["rcpt:450"]}, {}),
    Case("recipients refused (550)", 6, False, "refused every recipient", {"fail": ["rcpt:550"]}, {}),
    Case("no room for the message (452)", 6, True, "after receiving it: 452", {"fail": ["data:452"]}, {}),
    Case("the message refused for now (451)", 6, True, "after receiving it: 451", {"fail": ["data:451"]}, {}),
    Case("the message too large (552)", 6, False, "after receiving it: 552", {"fail": ["data:552"]}, {}),
    Case("the message refused (554 policy)", 6, False, "after receiving it: 554", {"fail": ["data:554"]}, {}),
    Case("the connection dropped", 4, True, "{where} closed the connection", {"fail": ["data:drop"]}, {}),
    Case("the session refused for now (421)", 4, True, "refused the session: 421", {"fail": ["connect:421"]}, {}),
    Case("the session refused (554)", 4, False, "refused the session: 554", {"fail": ["connect:554"]}, {}),
]
MADE = [
    Case(
        "the host name does not resolve",
        4,
        True,
        "the name 'mail.invalid' does not resolve",
        error=socket.gaierror(socket.EAI_NONAME, "Name or service not known"),
    ),
    Case(
        "the mailer's settings cannot work (unknown alias, SSL and STARTTLS both on, ...)",
        3,
        False,
        "is not configured correctly",
        error=ImproperlyConfigured("use_ssl and use_tls are both on"),
    ),
    Case(
        "the TLS handshake failed",
        4,
        True,
        "The TLS handshake with {where} failed",
        error=ssl.SSLError(1, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure"),
    ),
    Case(
        "another reply, for now",
        6,
        True,
        "{where} answered 454 4.7.0",
        error=smtplib.SMTPResponseException(454, b"4.7.0 TLS not available due to temporary reason"),
    ),
    Case(
        "another refusal",
        6,
        False,
        "{where} answered 502",
        error=smtplib.SMTPResponseException(502, b"5.5.2 Error: command not recognized"),
    ),
    Case(
        "no login method this client knows",
        5,
        False,
        "offers no login method",
        error=smtplib.SMTPException("No suitable authentication method found."),
    ),
    Case(
        "another SMTP error (a command the server does not support)",
        6,
        False,
        "cannot do what this message needs",
        error=smtplib.SMTPNotSupportedError("SMTPUTF8 not supported by server"),
    ),
    Case(
        "another network error",
        4,
        True,
        "Cannot reach {where}: Network is unreachable",
        error=OSError(errno.ENETUNREACH, "Network is unreachable"),
    ),
    Case(
        "the outbox folder cannot be written",
        3,
        False,
        "Cannot write the message to",
        error=OSError(errno.ENOSPC, "No space left on device"),
    ),
    Case("an invalid address", 2, False, "Invalid address", error=ValueError('Invalid address "anna@"')),
    Case(
        "anything else (a bug)",
        1,
        False,
        "Unexpected error with the mailer 'default': RuntimeError",
        error=RuntimeError("boom"),
    ),
]


def test_every_row_of_the_table_is_walked_once():
    walked = [case.rule for case in REAL + MADE]
    assert sorted(walked) == sorted(rule.failure for rule in RULES)


@contextlib.contextmanager
def failing(case: Case):
    """The MAILERS setting pointing at a server that fails as ``case`` says."""
    if case.server is None:
        yield mailers_for(*closed_port())
    elif case.rule == "no answer within the timeout":
        with silent_server() as server:
            yield mailers_for(*server, timeout=1)
    else:
        with smtp_server(**case.server) as server:
            yield mailers_for(*server, **case.mailer)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("case", REAL, ids=lambda case: case.rule)
def test_sendtestmail_and_the_worker_judge_a_real_failure_by_the_same_row(case, settings):
    User.objects.create_user("anna", "anna@example.com", "old-password-1")
    with failing(case) as mailers:
        problem = failure(settings, mailers)  # what sendtestmail runs
        enqueue_password_reset("anna@example.com", "https://cinemahub.example")
        drain()  # the worker's first attempt
    backend = get_backend()
    words = case.words.format(where=f"{backend.host}:{backend.port}")
    assert rule_for(Failure(problem.__cause__, backend)).failure == case.rule
    assert (int(problem.code), problem.retry) == (case.exit, case.retry)
    assert words in problem.message
    [delivery] = Delivery.objects.all()
    assert delivery.status == ("queued" if case.retry else "failed")
    assert words in delivery.last_error  # the table's sentence, the server's reply in it
    assert PASSWORD not in delivery.last_error


@pytest.mark.parametrize("case", MADE, ids=lambda case: case.rule)
def test_sendtestmail_and_the_worker_judge_an_exception_by_the_same_row(case, settings, tmp_path):
    if case.rule == "the outbox folder cannot be written":
        settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(tmp_path)}}}
    else:
        settings.MAILERS = mailers_for("mail.invalid", 25, **CREDENTIALS)
    backend = get_backend()
    problem = explain(case.error, backend)
    assert rule_for(Failure(case.error, backend)).failure == case.rule
    assert (int(problem.code), problem.retry) == (case.exit, case.retry)
    assert case.words.format(where="mail.invalid:25") in problem.message
    judged = judge(case.error)  # the worker's reading
    assert (judged.message, judged.retry) == (problem.message, case.retry)
    assert last_error(judged) == mask_text(problem.message)


def test_a_refusal_of_several_recipients_is_permanent_when_one_of_them_is(settings):
    settings.MAILERS = mailers_for("mail.invalid", 25)
    refused = {"a@example.com": (450, b"4.2.1 busy"), "b@example.com": (550, b"5.1.1 unknown")}
    assert explain(smtplib.SMTPRecipientsRefused(refused), get_backend()).retry is False
    refused["b@example.com"] = (451, b"4.3.0 later")
    assert explain(smtplib.SMTPRecipientsRefused(refused), get_backend()).retry is True


# ---------------------------------------------------------------- docs/sendtestmail.md's table is this table


def docs_row(rule: Rule) -> str:
    errors = rule.error if isinstance(rule.error, tuple) else (rule.error,)
    raised = ", ".join(f"`{error.__name__}`" for error in errors)
    if rule.replies:
        first = rule.replies.start
        raised += f" {first // 100}xx" if len(rule.replies) == 100 else f" {first}"
    if rule.mailer is not SmtpBackend:
        raised += " (any mailer)" if rule.mailer is object else " (a file mailer: the outbox)"
    worker = "retried" if rule.retry else "not retried"
    return f"| {rule.failure} | {raised} | {int(rule.exit)} | {worker}{': ' + rule.why if rule.why else ''} |"


def test_the_docs_table_is_the_failure_table():
    header = "| failure | raised as | exit | the worker |"
    lines = DOCS.read_text().splitlines()
    rows = lines[lines.index(header) + 2 :]
    table = rows[: rows.index("")]
    expected = [docs_row(rule) for rule in RULES]
    assert table == expected, "docs/sendtestmail.md's failure table, as the code has it:\n" + "\n".join(expected)


def test_the_docs_row_names_no_rule_twice():
    assert len({rule.failure for rule in RULES}) == len(RULES)
    assert all(re.fullmatch(r"[^|]+", rule.failure + rule.why) for rule in RULES)  # nothing breaks the table
