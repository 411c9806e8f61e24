"""The first lesson's own mail code (tests/lesson_app: send_mail in a view and in a form's clean_title,
EmailMessage.attach_file), unchanged, over real HTTP: the page answers whatever the SMTP server does,
and the message arrives once when the server is there.
"""

import os

import pytest
import requests

from delivery.models import Delivery
from tests.delivery.queue import drain, drain_until_settled
from testsupport.smtp_servers import free_port, mailers_for, smtp_server

pytestmark = [
    pytest.mark.django_db(transaction=True),
    # Django 6.1 marks the lesson's fail_silently=True pending deprecation; the queue makes it harmless.
    pytest.mark.filterwarnings("ignore:The 'fail_silently' argument is deprecated"),
]
QUEUE = {"BACKEND": "delivery.backend.QueueBackend", "OPTIONS": {"sends_through": "direct"}}


@pytest.fixture
def lesson_site(settings, live_server):
    """The lesson's views on the site; a category to look at; retries 0.2 s apart."""
    from tests.lesson_app.models import Category

    settings.ROOT_URLCONF = "tests.lesson_app.urls"
    settings.MAIL_RETRY_DELAY = 0.2
    settings.MAIL_SEND_ATTEMPTS = 5
    return live_server.url, Category.objects.create(title="Работа").pk


def test_the_lessons_view_answers_while_the_server_hangs_and_the_message_arrives_once(settings, lesson_site):
    url, category = lesson_site
    with smtp_server(fail=["data:delay=600"]) as hanging:  # takes the message and never answers
        settings.MAILERS = {"default": QUEUE, **mailers_for(*hanging, alias="direct", timeout=0.5)}
        page = requests.get(f"{url}/categories/{category}/", timeout=30)
        assert (page.status_code, page.text.strip()) == (200, "<h1>Работа</h1>")
        assert hanging.events == []  # the request did not even connect
    [delivery] = Delivery.objects.all()
    assert (delivery.status, delivery.email) == ("queued", "user1@mail.ru, user2@mail.ru")

    with smtp_server() as server:  # the server is back (another one; the mailer follows it)
        settings.MAILERS = {"default": QUEUE, **mailers_for(*server, alias="direct")}
        drain_until_settled()
        drain()
    assert server.recipients() == {"user1@mail.ru": 1, "user2@mail.ru": 1}
    assert server.messages[0].message()["Subject"] == "Вы получили данные о категории"
    assert server.messages[0].mail_from == "qwerty@mail.ru"


def test_the_lessons_form_with_the_server_down_then_up_delivers_once(settings, lesson_site):
    url, _ = lesson_site
    port = free_port()  # nothing listens there yet
    settings.MAILERS = {"default": QUEUE, **mailers_for("127.0.0.1", port, alias="direct")}
    answer = requests.post(f"{url}/tasks/new/", data={"title": "Test Task", "description": ""}, timeout=30)
    assert answer.text == "saved"
    drain()  # refused: the server is down; a retry waits
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == ("queued", 1)
    assert "127.0.0.1" in delivery.last_error

    with smtp_server(port=port) as server:
        drain_until_settled()
    assert server.recipients() == {"admin@task.local": 1}
    assert server.messages[0].message()["Subject"] == "Попытка создать тестовую задачу"
    assert Delivery.objects.get().status == "sent"


def test_the_lessons_attachment_arrives_byte_for_byte(settings, lesson_site, tmp_path, monkeypatch):
    url, _ = lesson_site
    report = os.urandom(200_000)
    (tmp_path / "report.pdf").write_bytes(report)
    monkeypatch.chdir(tmp_path)  # the lesson's attach_file("report.pdf") reads the working directory
    with smtp_server() as server:
        settings.MAILERS = {"default": QUEUE, **mailers_for(*server, alias="direct")}
        assert requests.get(f"{url}/report/", timeout=30).text == "Письмо с файлом отправлено!"
        assert server.messages == []
        drain()
    [attachment] = list(server.messages[0].message().iter_attachments())
    assert (attachment.get_filename(), attachment.get_content()) == ("report.pdf", report)
