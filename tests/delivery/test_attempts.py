"""users/tasks.py: the reset message sent by the worker, retried, never twice, failures reported.

One delivery is one ``Delivery`` row with its attempts, whatever the retries.

Against real SMTP servers on 127.0.0.1 (testsupport/smtp_servers.py: the mailserver library) that
are down, refuse for a while, or refuse for good.
"""

import contextlib
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.tasks import TaskResultStatus
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from delivery.attempts import DeliveryFailed, send_delivery
from delivery.models import Delivery, WorkerBeat
from delivery.worker import recover_stranded
from tests.delivery.queue import drain, drain_until_settled
from testsupport.smtp_servers import HOST, TRY_LATER, free_port, mailers_for, refusal, smtp_server
from users.models import User
from users.tasks import enqueue_password_reset, enqueue_signup_confirmation, message_for


def queued_for(user) -> dict:
    """A delivery's fields for the reset message to ``user``, as the reset request records them."""
    message = message_for(user, SITE, {})
    return {"key": message.key, "kind": message.kind, "email": message.email, "payload": message.payload}


# The worker commits and closes connections as in production: real transactions.
pytestmark = pytest.mark.django_db(transaction=True)
SITE = "https://cinemahub.example"
LOCMEM = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


@pytest.fixture
def smtp(settings):
    """Start a server (on ``port`` if given, failing by ``fail`` rules) the default mailer sends to.

    Retries wait 0.2 s, at most 3 attempts.
    """
    settings.MAIL_RETRY_DELAY = 0.2
    settings.MAIL_SEND_ATTEMPTS = 3
    with contextlib.ExitStack() as servers:

        def start(*fail, port=0):
            server = servers.enter_context(smtp_server(fail=fail, port=port))
            settings.MAILERS = mailers_for(*server)
            return server

        yield start


def failed_tasks():
    return list(DBTaskResult.objects.filter(status=TaskResultStatus.FAILED))


def test_the_worker_sends_the_message_resetuser_would_send(smtp, anna):
    server = smtp()
    enqueue_password_reset("ANNA@example.com", SITE)
    assert server.messages == []  # queued, not sent
    drain()
    [received] = server.messages
    message = received.message()
    assert message["To"] == "anna@example.com"
    assert message["Subject"] == "Password reset on cinemahub.example"
    text = message.get_body(("plain",)).get_content()
    link = next(word for word in text.split() if word.startswith(f"{SITE}/users/reset/"))
    token = link.rstrip("/").rsplit("/", 1)[1]
    assert default_token_generator.check_token(anna, token)
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts, delivery.email, delivery.worker_id) == ("sent", 1, anna.email, "tests")
    assert DBTaskResult.objects.count() == 1  # one task per reset: the request sends


def test_unknown_and_inactive_addresses_get_nothing(smtp, anna):
    server = smtp()
    User.objects.create_user("boris", "boris@example.com", "pw-1-long-enough", is_active=False)
    enqueue_password_reset("nobody@example.com", SITE)
    enqueue_password_reset("boris@example.com", SITE)
    drain()
    assert server.messages == []
    assert Delivery.objects.count() == 0


def test_accounts_are_picked_as_djangos_form_picks_them(smtp, anna):
    server = smtp()
    boris = User.objects.create_user("boris", "Boris@Example.com", "pw-1-long-enough")
    User.objects.create_user("carla", "carla@example.com")  # no usable password: signs in another way
    for email in ("boris@EXAMPLE.com", "carla@example.com", "anna@example.co"):
        enqueue_password_reset(email, SITE)
    drain()
    assert server.recipients() == {boris.email: 1}


def test_temporary_failures_are_retried_across_worker_restarts_and_deliver_once(smtp, anna):
    server = smtp(refusal("data", TRY_LATER, first=2))
    enqueue_password_reset("anna@example.com", SITE)

    drain()  # first attempt refused; the next waits for its time in the queue
    assert server.messages == []
    [waiting] = Delivery.objects.all()
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert "451" in waiting.last_error

    drain_until_settled()
    assert server.refused == 2
    assert server.recipients() == {"anna@example.com": 1}
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, "")
    assert failed_tasks() == []  # the attempts are on the delivery, not failed task rows


def test_twelve_resets_after_an_outage_are_twelve_deliveries_and_no_failures(smtp, settings, anna):
    # A slow machine takes longer than a 0.2 s retry delay for twelve attempts: retries that come
    # due meanwhile meet the outage too. Attempts enough that none is given up before the server is back.
    settings.MAIL_SEND_ATTEMPTS = 8
    port = free_port()  # the server is down: nothing listens there yet
    settings.MAILERS = mailers_for(HOST, port)
    users = [User.objects.create_user(f"u{i}", f"u{i}@example.com", "pw-1-long-enough") for i in range(12)]
    for user in users:
        enqueue_password_reset(user.email, SITE)
    drain()  # connection refused, twelve times (or more)
    assert Delivery.objects.filter(status="queued", last_error__startswith="Nothing is listening at").count() == 12
    server = smtp(port=port)  # back, on the same port
    drain_until_settled(rounds=40)
    assert server.recipients() == {user.email: 1 for user in users}
    deliveries = Delivery.objects.values_list("status", "attempts")
    assert len(deliveries) == 12 and all(status == "sent" and attempts >= 2 for status, attempts in deliveries)
    assert failed_tasks() == []


def test_a_delivery_that_succeeded_is_not_sent_again(smtp, anna):
    server = smtp()
    enqueue_password_reset("anna@example.com", SITE)
    drain()
    [delivery] = Delivery.objects.all()
    for _ in range(2):  # the same delivery queued again after its success
        send_delivery.enqueue(delivery_id=delivery.pk)
    drain()
    assert server.recipients() == {"anna@example.com": 1}
    returned = DBTaskResult.objects.filter(task_path=send_delivery.module_path).values_list("return_value", flat=True)
    assert list(returned) == ["already sent", "already sent"]
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_a_task_whose_worker_died_is_run_again_and_delivers_once(smtp, anna, settings):
    """In-process half of the story (tests/delivery/test_worker_killed.py kills a real worker)."""
    settings.MAIL_WORKER_TIMEOUT = 60
    server = smtp()
    enqueue_password_reset("anna@example.com", SITE)
    # What a SIGKILL mid-attempt leaves: the task RUNNING, its delivery "sending", the worker silent.
    long_ago = timezone.now() - timedelta(minutes=2)
    [task] = DBTaskResult.objects.all()
    Delivery.objects.create(request_id=str(task.pk), **queued_for(anna), status="sending", attempts=1)
    WorkerBeat.objects.create(worker_id="killed", last_seen=long_ago)
    WorkerBeat.objects.create(worker_id="alive")
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["alive"])
    assert recover_stranded() == []  # a worker still beating keeps its task, however long it runs
    DBTaskResult.objects.update(worker_ids=["killed"])

    drain(worker_id="new")
    assert server.recipients() == {"anna@example.com": 1}
    [task] = DBTaskResult.objects.all()
    assert (task.status, task.worker_ids) == (TaskResultStatus.SUCCESSFUL, ["killed", "new"])
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("sent", 2)
    drain(worker_id="newer")  # nothing left: not sent twice
    assert server.recipients() == {"anna@example.com": 1}


def test_a_worker_that_died_during_the_last_attempt_is_reported_to_admins(smtp, settings, anna):
    server = smtp()
    settings.MAIL_SEND_ATTEMPTS = 1
    settings.MAILERS = {**settings.MAILERS, "admins": LOCMEM}
    settings.ADMINS = ["ops@example.com"]
    mail.outbox = []
    enqueue_password_reset("anna@example.com", SITE)
    [task] = DBTaskResult.objects.all()
    Delivery.objects.create(request_id=str(task.pk), **queued_for(anna), status="sending", attempts=1)
    long_ago = timezone.now() - timedelta(minutes=5)
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["killed"])

    drain(worker_id="new")  # recovers the task; its one attempt is spent: given up, not sent
    assert server.messages == []
    [delivery] = Delivery.objects.all()
    assert delivery.status == "failed"
    [report] = mail.outbox
    assert "gave up after 1 attempt" in report.body
    assert "the worker of the last attempt stopped during it" in report.body


def test_after_the_last_attempt_admins_are_told_through_their_own_mailer(smtp, settings, anna):
    server = smtp(refusal("data", TRY_LATER))
    settings.MAILERS = {**settings.MAILERS, "admins": LOCMEM}
    settings.ADMINS = ["ops@example.com"]
    mail.outbox = []
    enqueue_password_reset("anna@example.com", SITE)
    drain_until_settled()

    assert server.messages == []
    assert server.refused == 3
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    [last] = failed_tasks()  # one failed task row for the one lost delivery
    assert last.exception_class_path == f"{DeliveryFailed.__module__}.DeliveryFailed"
    [report] = mail.outbox
    assert report.to == ["ops@example.com"]
    assert report.sent_using == "admins"
    assert "Password reset message not delivered to anna@example.com" in report.subject
    assert "gave up after 3 attempts" in report.body
    assert "451" in report.body


def test_a_permanent_refusal_is_not_retried_and_without_an_admins_mailer_is_logged(smtp, settings, anna, caplog):
    server = smtp(refusal("data", "550 5.7.1 Relaying denied"))
    settings.ADMINS = ["ops@example.com"]  # but no "admins" mailer: the default one is failing
    mail.outbox = []
    enqueue_password_reset("anna@example.com", SITE)
    drain()

    assert server.refused == 1
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "550" in delivery.last_error
    assert mail.outbox == []
    [record] = [r for r in caplog.records if r.name == "delivery.attempts" and r.levelname == "ERROR"]
    assert "not delivered to anna@example.com" in record.getMessage()
    assert "refused, not retried" in record.getMessage()


def test_a_lost_account_message_is_reported_by_its_own_name(smtp, settings, caplog):
    User.objects.create_user("boris", "boris@example.com", "x-Passw0rd-1", email_confirmed=False)
    smtp(refusal("data", "550 5.7.1 Relaying denied"))
    settings.MAILERS = {**settings.MAILERS, "admins": LOCMEM}
    settings.ADMINS = ["ops@example.com"]
    mail.outbox = []
    enqueue_signup_confirmation("boris@example.com", SITE, "")
    drain()

    [report] = mail.outbox
    assert report.subject.endswith("Sign-up confirmation not delivered to boris@example.com")
    assert "The sign-up confirmation for user boris <boris@example.com>" in report.body
    [record] = [r for r in caplog.records if r.name == "delivery.attempts" and r.levelname == "ERROR"]
    assert record.getMessage().startswith("Sign-up confirmation not delivered to boris@example.com (refused")
