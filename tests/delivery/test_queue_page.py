"""The queue at /outbox/queue/ over real HTTP: each message's state, the failure in words with its hint, retry."""

import pytest
import requests
from django.core.mail import send_mail

from delivery.models import Delivery
from tests.delivery.queue import drain
from tests.outbox.test_web_pages import csrf_token, logged_in
from testsupport.smtp_servers import RECIPIENT_UNKNOWN, mailers_for, refusal, smtp_server

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]
QUEUE = {"BACKEND": "delivery.backend.QueueBackend", "OPTIONS": {"sends_through": "direct"}}


@pytest.fixture
def queued(settings):
    """One message sent, one refused by the server (550), one waiting; the mailer a real SMTP server."""
    with smtp_server(fail=[refusal("rcpt", RECIPIENT_UNKNOWN, first=1)]) as server:
        settings.MAILERS = {"default": QUEUE, **mailers_for(*server, alias="direct")}
        send_mail("Вы получили данные о категории", "BODY-MARKER", None, ["user1@mail.ru"])
        drain()  # refused: failed
        send_mail("Новый комментарий к задаче", "BODY-MARKER", None, ["user2@mail.ru"])
        drain()  # sent
        send_mail("Попытка создать тестовую задачу", "BODY-MARKER", None, ["admin@task.local"])  # waits
        yield server


def test_staff_see_each_message_in_its_state_with_the_error_in_words_and_the_hint(live_server, queued):
    staff = logged_in(live_server, "admin", is_staff=True)
    page = staff.get(f"{live_server.url}/outbox/queue/")
    assert page.status_code == 200
    text = page.text
    failed, sent, waiting = (
        Delivery.objects.get(email=address) for address in ("user1@mail.ru", "user2@mail.ru", "admin@task.local")
    )
    assert (failed.status, sent.status, waiting.status) == ("failed", "sent", "queued")
    row = text[text.index(f'id="delivery-{failed.pk}"') :].split("</tr>")[0]
    assert "Вы получили данные о категории" in row and "user1@mail.ru" in row and "failed" in row
    assert "550" in row and "Hint:" in row and f"/outbox/queue/{failed.pk}/retry/" in row
    row = text[text.index(f'id="delivery-{sent.pk}"') :].split("</tr>")[0]
    assert "Новый комментарий к задаче" in row and ">sent<" in row and "retry" not in row
    assert "Попытка создать тестовую задачу" in text
    assert "BODY-MARKER" not in text  # subjects and recipients, never bodies
    only_failed = staff.get(f"{live_server.url}/outbox/queue/?status=failed").text
    assert "Вы получили" in only_failed and "Новый комментарий" not in only_failed


def test_staff_send_a_failed_message_again_and_the_worker_delivers_it(live_server, queued):
    staff = logged_in(live_server, "admin", is_staff=True)
    failed = Delivery.objects.get(status="failed")
    token = csrf_token(staff, f"{live_server.url}/outbox/queue/")
    answer = staff.post(f"{live_server.url}/outbox/queue/{failed.pk}/retry/", data={"csrfmiddlewaretoken": token})
    assert answer.status_code == 200 and f"Delivery {failed.pk} is queued again" in answer.text
    drain()
    assert Delivery.objects.get(pk=failed.pk).status == "sent"
    assert queued.recipients()["user1@mail.ru"] == 1
    again = staff.post(f"{live_server.url}/outbox/queue/{failed.pk}/retry/", data={"csrfmiddlewaretoken": token})
    assert f"Delivery {failed.pk} is sent, not failed" in again.text


def test_visitors_and_users_who_are_not_staff_see_nothing(live_server, queued):
    answer = requests.get(f"{live_server.url}/outbox/queue/", allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (302, "/users/login/?next=/outbox/queue/")
    user = logged_in(live_server, "anna")
    assert user.get(f"{live_server.url}/outbox/queue/").status_code == 403
    failed = Delivery.objects.get(status="failed")
    token = csrf_token(user, f"{live_server.url}/users/login/")
    refused = user.post(f"{live_server.url}/outbox/queue/{failed.pk}/retry/", data={"csrfmiddlewaretoken": token})
    assert refused.status_code == 403
    assert Delivery.objects.get(pk=failed.pk).status == "failed"


def test_the_admin_shows_a_queued_message_read_only_without_its_body(live_server, queued):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("root", "root@example.com", "root-Passw0rd-1")
    session = requests.Session()
    token = csrf_token(session, f"{live_server.url}/admin/login/")
    session.post(
        f"{live_server.url}/admin/login/?next=/admin/",
        data={"csrfmiddlewaretoken": token, "username": "root", "password": "root-Passw0rd-1"},
    )
    listing = session.get(f"{live_server.url}/admin/delivery/delivery/")
    assert listing.status_code == 200 and "Попытка создать тестовую задачу" in listing.text
    waiting = Delivery.objects.get(email="admin@task.local")
    page = session.get(f"{live_server.url}/admin/delivery/delivery/{waiting.pk}/change/")
    assert page.status_code == 200 and "admin@task.local" in page.text
    assert "BODY-MARKER" not in page.text and 'name="_save"' not in page.text  # no body, nothing to save
