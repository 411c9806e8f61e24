"""core/mail/tasks.py: the reset message sent by the worker, retried, never twice, failures reported.

Against real aiosmtpd servers on 127.0.0.1 (bench/smtp.py) that are slow,
refuse for a while, or refuse for good.
"""

import smtplib
import socket
import time
import uuid

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from bench.smtp import Recorder, SMTPServer
from core.mail import config as mailconfig
from core.mail.tasks import (
    DeliveryFailed,
    enqueue_password_reset,
    is_temporary,
    send_password_reset,
)
from core.settings import BASE_DIR
from tests.mail.queue import drain
from users.models import User

# The worker commits and closes connections as in production: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)
SITE = "https://cinemahub.example"
LOCMEM = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


@pytest.fixture
def smtp(settings):
    """Start a server; the default mailer sends to it. Retries wait 0.2 s, at most 3 attempts."""
    settings.RESET_RETRY_DELAY = 0.2
    settings.RESET_SEND_ATTEMPTS = 3
    servers = []

    def start(recorder=None):
        server = SMTPServer(recorder).start()
        servers.append(server)
        settings.MAILERS = mailconfig.mailers_from_env({"EMAIL_URL": server.url}, BASE_DIR)
        return server

    yield start
    for server in servers:
        server.stop()


def attempts(status=None):
    results = DBTaskResult.objects.filter(task_path=send_password_reset.module_path).order_by("enqueued_at")
    return list(results.filter(status=status) if status else results)


def drain_until_settled(rounds=8):
    """Drain, wait out the retry delay, drain again: each round a new worker, as after a restart."""
    for _ in range(rounds):
        drain(worker_id=uuid.uuid4().hex)
        if not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists():
            return
        time.sleep(0.25)
    raise AssertionError("the queue did not settle")


def test_the_worker_sends_the_message_resetuser_would_send(smtp, anna):
    server = smtp()
    enqueue_password_reset("ANNA@example.com", SITE)
    assert server.recorder.messages == []  # queued, not sent
    drain()
    [message] = server.recorder.messages
    assert message["To"] == "anna@example.com"
    assert message["Subject"] == "Password reset on cinemahub.example"
    text = message.get_body(("plain",)).get_content()
    link = next(word for word in text.split() if word.startswith(f"{SITE}/users/reset/"))
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert default_token_generator.check_token(anna, token)


def test_unknown_and_inactive_addresses_get_nothing(smtp, anna):
    server = smtp()
    User.objects.create_user("boris", "boris@example.com", "pw-1-long-enough", is_active=False)
    enqueue_password_reset("nobody@example.com", SITE)
    enqueue_password_reset("boris@example.com", SITE)
    drain()
    assert server.recorder.messages == []
    assert attempts() == []


def test_temporary_failures_are_retried_across_worker_restarts_and_deliver_once(smtp, anna):
    server = smtp(Recorder(refuse_first=2))
    enqueue_password_reset("anna@example.com", SITE)

    drain()  # first attempt refused; the next waits for its time in the queue
    assert server.recorder.messages == []
    [waiting] = attempts(TaskResultStatus.READY)
    assert waiting.task_result.kwargs["attempt"] == 2

    drain_until_settled()
    assert server.recorder.refused == 2
    assert server.recorder.recipients() == {"anna@example.com": 1}
    assert [a.task_result.kwargs["attempt"] for a in attempts(TaskResultStatus.SUCCESSFUL)] == [3]


def test_a_server_down_then_up_gets_the_message(smtp, anna):
    server = smtp()
    server.stop()
    enqueue_password_reset("anna@example.com", SITE)
    drain()  # connection refused
    [failed] = attempts(TaskResultStatus.FAILED)
    assert failed.exception_class_path == "builtins.ConnectionRefusedError"
    server.start()
    drain_until_settled()
    assert server.recorder.recipients() == {"anna@example.com": 1}


def test_a_delivery_that_succeeded_is_not_sent_again(smtp, anna):
    server = smtp()
    delivery = uuid.uuid4().hex
    for _ in range(2):  # the same delivery queued twice: a retry after a success
        send_password_reset.enqueue(user_pk=anna.pk, site_url=SITE, delivery=delivery)
    drain()
    assert server.recorder.recipients() == {"anna@example.com": 1}
    assert sorted(a.return_value for a in attempts()) == ["already sent", "sent"]


def test_after_the_last_attempt_admins_are_told_through_their_own_mailer(smtp, settings, anna):
    server = smtp(Recorder(refuse_first=10**6))
    settings.MAILERS = {**settings.MAILERS, "admins": LOCMEM}
    settings.ADMINS = ["ops@example.com"]
    mail.outbox = []
    enqueue_password_reset("anna@example.com", SITE)
    drain_until_settled()

    assert server.recorder.messages == []
    assert server.recorder.refused == 3
    [last] = attempts(TaskResultStatus.FAILED)[-1:]
    assert last.task_result.kwargs["attempt"] == 3
    assert last.exception_class_path == f"{DeliveryFailed.__module__}.DeliveryFailed"
    [report] = mail.outbox
    assert report.to == ["ops@example.com"]
    assert report.sent_using == "admins"
    assert "Password reset message not delivered to anna@example.com" in report.subject
    assert "gave up after 3 attempts" in report.body
    assert "451" in report.body


def test_a_permanent_refusal_is_not_retried_and_without_an_admins_mailer_is_logged(smtp, settings, anna, caplog):
    server = smtp(Recorder(refuse_first=10**6, refuse_code="550 5.7.1 Relaying denied"))
    settings.ADMINS = ["ops@example.com"]  # but no "admins" mailer: the default one is failing
    mail.outbox = []
    enqueue_password_reset("anna@example.com", SITE)
    drain()

    assert server.recorder.refused == 1
    assert [a.task_result.kwargs["attempt"] for a in attempts()] == [1]
    assert mail.outbox == []
    [record] = [r for r in caplog.records if r.name == "core.mail.tasks" and r.levelname == "ERROR"]
    assert "not delivered to anna@example.com" in record.getMessage()
    assert "refused, not retried" in record.getMessage()


@pytest.mark.parametrize(
    ("error", "temporary"),
    [
        (ConnectionRefusedError(), True),
        (TimeoutError(), True),
        (socket.gaierror(), True),
        (smtplib.SMTPServerDisconnected(), True),
        (smtplib.SMTPDataError(451, b"try later"), True),
        (smtplib.SMTPDataError(554, b"no"), False),
        (smtplib.SMTPAuthenticationError(535, b"bad login"), False),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy")}), True),
        (smtplib.SMTPRecipientsRefused({"a@x": (450, b"busy"), "b@x": (550, b"no")}), False),
        (smtplib.SMTPNotSupportedError(), False),
    ],
)
def test_which_failures_are_worth_another_attempt(error, temporary):
    assert is_temporary(error) is temporary
