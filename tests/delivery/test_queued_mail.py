"""delivery/backend.py and delivery/stored.py: send_mail() and EmailMessage.send() queued whole, sent by the worker.

The default mailer queues and "direct" is a real SMTP server on 127.0.0.1 (the
mailserver library): what arrives is compared with what was sent, byte for byte.
"""

import contextlib
import email
import email.policy
import logging
import os

import pytest
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives, mail_admins, send_mail, send_mass_mail
from django.db import OperationalError, transaction
from django.db.models import QuerySet
from django_tasks_db.models import DBTaskResult

from delivery.attempts import claim_due
from delivery.backend import MessageTooLarge
from delivery.models import Delivery
from delivery.status import queue_status
from delivery.worker import beat
from tests.conftest import manage
from tests.delivery.queue import drain, drain_until_settled
from testsupport.smtp_servers import RECIPIENT_UNKNOWN, TRY_LATER, mailers_for, refusal, smtp_server

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = {"BACKEND": "delivery.backend.QueueBackend", "OPTIONS": {"sends_through": "direct"}}
LOCMEM = {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}


@pytest.fixture
def smtp(settings):
    """The queueing default mailer in front of a real SMTP server ("direct"); retries wait 0.2 s, 3 attempts."""
    settings.MAIL_RETRY_DELAY = 0.2
    settings.MAIL_SEND_ATTEMPTS = 3
    with contextlib.ExitStack() as servers:

        def start(*fail, port=0):
            server = servers.enter_context(smtp_server(fail=fail, port=port))
            settings.MAILERS = {"default": QUEUE, **mailers_for(*server, alias="direct"), "admins": LOCMEM}
            return server

        yield start


def test_send_mail_returns_once_stored_and_the_worker_sends_it(smtp):
    server = smtp()
    assert send_mail("Новый комментарий к задаче", "К вашей задаче добавлен комментарий.", None, ["u@example.com"]) == 1
    assert server.messages == []  # nothing sent in the request
    [delivery] = Delivery.objects.all()
    assert (delivery.kind, delivery.status, delivery.email) == ("message", "queued", "u@example.com")
    assert delivery.subject == "Новый комментарий к задаче"
    assert queue_status().queued == 1

    drain()

    [received] = server.messages
    assert received.data.replace(b"\r\n", b"\n") == bytes(Delivery.objects.get().message)
    assert received.message()["Subject"] == "Новый комментарий к задаче"
    assert Delivery.objects.get().status == "sent"
    drain()
    assert len(server.messages) == 1  # never twice


def test_the_whole_message_survives_the_queue(smtp, settings):
    server = smtp()
    pdf = os.urandom(300_000)  # bytes no text codec would leave alone
    message = EmailMultiAlternatives(
        subject="Отчёт за неделю",
        body="Во вложении файл.",
        from_email="Отдел отчётов <reports@example.com>",
        to=["Анна <anna@example.com>"],
        cc=["boris@example.com"],
        bcc=["secret@example.com"],
        reply_to=["replies@example.com"],
        headers={"X-Task-Id": "42", "List-Unsubscribe": "<https://example.com/u/42>"},
    )
    message.attach_alternative("<p>Во вложении <b>файл</b>.</p>", "text/html")
    message.attach("отчёт.pdf", pdf, "application/pdf")
    message.send()
    drain()

    [received] = server.messages
    assert received.data.replace(b"\r\n", b"\n") == bytes(Delivery.objects.get().message)  # byte for byte
    parsed = received.message()
    assert sorted(received.rcpt_tos) == ["anna@example.com", "boris@example.com", "secret@example.com"]
    assert received.mail_from == "reports@example.com"
    assert "Bcc" not in parsed and b"secret@example.com" not in received.data  # the envelope only
    assert (parsed["Reply-To"], parsed["X-Task-Id"], parsed["Cc"]) == ("replies@example.com", "42", "boris@example.com")
    assert parsed["From"] == "Отдел отчётов <reports@example.com>"
    assert parsed["To"] == "Анна <anna@example.com>"
    [attachment] = list(parsed.iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("отчёт.pdf", pdf)
    assert parsed.get_body(("html",)).get_content().rstrip() == "<p>Во вложении <b>файл</b>.</p>"


def test_a_rolled_back_request_sends_nothing(smtp):
    smtp()
    with contextlib.suppress(RuntimeError), transaction.atomic():
        send_mail("Подтверждение", "Текст", None, ["u@example.com"])
        raise RuntimeError("the view failed after sending")
    assert (Delivery.objects.count(), DBTaskResult.objects.count()) == (0, 0)


def test_send_mass_mail_and_mail_admins_are_queued_too(smtp, settings):
    server = smtp()
    settings.ADMINS = ["ops@example.com"]
    assert send_mass_mail((("A", "a", None, ["a@example.com"]), ("B", "b", None, ["b@example.com"]))) == 2
    mail_admins("Disk almost full", "90 %")
    assert Delivery.objects.filter(status="queued").count() == 3
    drain()
    assert server.recipients() == {"a@example.com": 1, "b@example.com": 1, "ops@example.com": 1}


def test_using_direct_sends_at_once(smtp):
    server = smtp()
    send_mail("Сразу", "Текст", None, ["u@example.com"], using="direct")
    assert len(server.messages) == 1
    assert not Delivery.objects.exists()


def test_a_message_over_the_size_limit_is_refused_when_sent_not_at_night(smtp, settings):
    smtp()
    settings.MAIL_MAX_SIZE_MB = 1
    message = EmailMessage("Большой отчёт", "Во вложении файл.", None, ["u@example.com"])
    message.attach("big.bin", os.urandom(1_200_000), "application/octet-stream")
    with pytest.raises(MessageTooLarge, match=r"'Большой отчёт' is 1\.\d MB; MAIL_MAX_SIZE_MB allows 1 MB"):
        message.send()
    assert not Delivery.objects.exists()


def test_fail_silently_never_loses_a_message_without_a_word(smtp, caplog, monkeypatch):
    """The lesson's fail_silently=True: a message that cannot even be stored is an ERROR in the log."""
    smtp()

    def database_down(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(QuerySet, "bulk_create", database_down)
    with pytest.warns(PendingDeprecationWarning, match="fail_silently"):  # Django 6.1's own word on the argument
        sent = send_mail("Тема", "Текст", "task_form@task.local", ["admin@task.local"], fail_silently=True)
    assert sent == 0
    [record] = [r for r in caplog.records if r.name == "delivery.backend"]
    assert record.levelno == logging.ERROR and "could not be queued" in record.getMessage()
    assert "database is locked" in record.exc_text


def test_a_refused_message_is_failed_and_reported_to_admins_with_its_subject(smtp, settings):
    smtp(refusal("rcpt", RECIPIENT_UNKNOWN))
    settings.ADMINS = ["ops@example.com"]
    mail.outbox = []
    send_mail("Вы получили данные о категории", "Вы довольны?", None, ["user1@mail.ru"], fail_silently=False)
    drain()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "550" in delivery.last_error
    [report] = mail.outbox
    assert report.subject.endswith("Message not delivered to user1@mail.ru")
    assert "user1@mail.ru ('Вы получили данные о категории')" in report.body
    assert f"python manage.py mailqueue retry {delivery.pk}" in report.body


def test_a_server_down_then_back_gets_the_message_once(smtp):
    server = smtp(refusal("mail", TRY_LATER, first=2))
    send_mail("Тема", "Текст", None, ["u@example.com"])
    drain_until_settled()
    assert server.refused == 2
    assert server.recipients() == {"u@example.com": 1}
    assert (Delivery.objects.get().status, Delivery.objects.get().attempts) == ("sent", 3)


def test_the_stored_bytes_are_what_a_file_mailer_saves(settings, tmp_path):
    settings.MAILERS = {
        "default": QUEUE,
        "direct": {"BACKEND": "outbox.backend.EmailBackend", "OPTIONS": {"file_path": str(tmp_path)}},
    }
    send_mail("Файл", "Текст", None, ["u@example.com"])
    drain()
    [saved] = tmp_path.glob("*.eml")
    stored = email.message_from_bytes(bytes(Delivery.objects.get().message), policy=email.policy.default)
    assert saved.read_bytes() == bytes(Delivery.objects.get().message)
    assert stored["Message-ID"]


SEND = "from django.core.mail import send_mail; send_mail('Тема', 'Текст', None, ['u@example.com'])"


def test_mail_queue_false_sends_in_the_request_as_django_does(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{tmp_path / 'out'}"}
    assert manage("migrate", "-v0", env=env).returncode == 0
    assert manage("shell", "-v0", "-c", SEND, env={**env, "MAIL_QUEUE": "false"}).returncode == 0
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1  # at once
    assert manage("shell", "-v0", "-c", SEND, env=env).returncode == 0
    assert len(list((tmp_path / "out").glob("*.eml"))) == 1  # queued: the worker will send it
    assert manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", "-v0", env=env).returncode == 0
    assert len(list((tmp_path / "out").glob("*.eml"))) == 2


@pytest.mark.parametrize(
    ("variable", "value", "problem"),
    [
        ("MAIL_QUEUE", "maybe", "Configuration error: MAIL_QUEUE: "),
        ("MAIL_MAX_SIZE_MB", "0", "Configuration error: MAIL_MAX_SIZE_MB: "),
        ("MAIL_MAX_SIZE_MB", "25MB", "Configuration error: MAIL_MAX_SIZE_MB: "),
    ],
)
def test_a_bad_queue_setting_is_one_line_and_exit_3(variable, value, problem):
    result = manage("check", env={variable: value})
    assert result.returncode == 3
    assert result.stderr.startswith(problem) and len(result.stderr.strip().splitlines()) <= 2


def test_a_batch_is_shared_never_doubled_between_two_workers(smtp):
    smtp()
    send_mass_mail([("Тема", "Текст", None, [f"r{i}@example.com"]) for i in range(7)])
    for worker in ("worker-a", "worker-b", "worker-c"):
        beat(worker)  # alive: what one holds, the others leave alone
    first = claim_due("worker-a", limit=4)
    second = claim_due("worker-b", limit=4)
    assert (len(first), len(second)) == (4, 3)
    assert not {d.pk for d in first} & {d.pk for d in second}
    assert claim_due("worker-c") == []


def test_a_message_left_without_a_task_is_picked_up_by_the_next_worker(smtp):
    """Stored after the running send_due looked, its commit came later: the workers' heartbeat queues another."""
    server = smtp()
    send_mail("Тема", "Текст", None, ["u@example.com"])
    DBTaskResult.objects.all().delete()  # as if the only send_due had already run
    drain()  # a worker starts: its first beat sweeps
    assert server.recipients() == {"u@example.com": 1}


def test_a_message_a_dead_worker_was_sending_is_sent_once_by_another(smtp):
    server = smtp()
    send_mail("Тема", "Текст", None, ["u@example.com"])
    [taken] = claim_due("worker-that-dies")  # never beats: as good as dead
    assert Delivery.objects.get().status == "sending"
    DBTaskResult.objects.all().delete()
    drain()
    assert server.recipients() == {"u@example.com": 1}
    delivery = Delivery.objects.get()
    assert (delivery.pk, delivery.status, delivery.attempts) == (taken.pk, "sent", 2)
