"""Security notices and the change of address, over real HTTP against the live server, the worker drained."""

import re
import time
from datetime import datetime, timedelta

import pytest
import requests
import time_machine
from django.core import signing
from django.tasks import TaskResultStatus
from django.utils import formats, timezone
from django_tasks_db.models import DBTaskResult

from delivery.attempts import attempt_delivery
from delivery.models import Delivery
from tests.conftest import read_eml, saved_messages
from tests.delivery.queue import drain
from tests.users.test_reset_flow import LINK, csrf_post, without_token
from users import notices
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]

PASSWORD = "old-Passw0rd-1"
NEW_PASSWORD = "brand-new-Passw0rd"
CHANGE_LINK = re.compile(r"https?://\S+/users/email/confirm/\S+/")
INVALID = "This link does not work"


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", PASSWORD)


def logged_in(live_server, username="anna", password=PASSWORD, language="en") -> requests.Session:
    session = requests.Session()
    session.headers["Accept-Language"] = language
    home = csrf_post(session, f"{live_server.url}/users/login/", {"username": username, "password": password})
    assert home.url == f"{live_server.url}/", home.text
    return session


def host(live_server) -> str:
    return live_server.url.split("://")[1]


def text_of(message) -> str:
    return message.get_body(("plain",)).get_content()


def html_of(message) -> str:
    return message.get_body(("html",)).get_content()


def ask_change(live_server, session, email, password=PASSWORD):
    return csrf_post(session, f"{live_server.url}/users/email/", {"email": email, "password": password})


def change_link(message) -> str:
    [link] = CHANGE_LINK.findall(text_of(message))
    assert f'href="{link}"' in html_of(message)
    return link


def press(session, link):
    """GET the link (a page with a button: nothing changes yet), then press the button."""
    page = session.get(link)
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    token = found.group(1) if found else ""
    return page, session.post(link, data={"csrfmiddlewaretoken": token}, headers={"Referer": link})


def shown_time(delivery: Delivery) -> str:
    """The request's time as the message shows it: in TIME_ZONE, the language's format."""
    when = timezone.localtime(datetime.fromisoformat(delivery.payload["options"]["extra_email_context"]["when"]))
    return f"{formats.date_format(when, 'DATETIME_FORMAT')} ({when.tzname()})"


def assert_password_notice(live_server, message, delivery):
    assert message["Subject"] == f"Your password was changed on {host(live_server)}"
    text, html = text_of(message), html_of(message)
    assert f"was changed on {shown_time(delivery)}, from the address 127.0.0.1." in text
    assert f"was changed on {shown_time(delivery)}, from the address 127.0.0.1." in html
    assert f"{live_server.url}/users/password_reset/" in text
    assert f'href="{live_server.url}/users/password_reset/"' in html
    assert not LINK.findall(text)  # no working reset link in a notice


# ---------------------------------------------------------------- the password-changed notice


def test_changing_the_password_tells_the_address_when_and_from_where(live_server, outbox_dir, anna):
    session = logged_in(live_server)
    form = session.get(f"{live_server.url}/users/password_change/")
    assert 'href="/users/email/"' in form.text  # the change of address is linked from here
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    done = csrf_post(session, f"{live_server.url}/users/password_change/", data)
    assert done.url == f"{live_server.url}/users/password_change/done/"
    assert not outbox_dir.exists()  # queued, not sent in the request

    drain()
    [message] = saved_messages(outbox_dir)
    [delivery] = Delivery.objects.all()
    assert (message["To"], delivery.email, delivery.kind) == (
        "anna@example.com",
        "anna@example.com",
        "password_changed",
    )
    assert delivery.payload["options"]["extra_email_context"]["ip"] == "127.0.0.1"
    assert_password_notice(live_server, message, delivery)


def test_a_wrong_old_password_changes_nothing_and_tells_nobody(live_server, outbox_dir, anna):
    session = logged_in(live_server)
    data = {"old_password": "wrong", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    answer = csrf_post(session, f"{live_server.url}/users/password_change/", data)
    assert "Your old password was entered incorrectly" in answer.text
    assert DBTaskResult.objects.count() == 0


def test_a_completed_reset_tells_the_address(live_server, outbox_dir, anna):
    session = requests.Session()
    csrf_post(session, f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    drain()
    [link] = LINK.findall(text_of(saved_messages(outbox_dir)[0]))
    form = session.get(link)
    done = csrf_post(session, form.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.url == f"{live_server.url}/users/reset/done/"

    drain()
    _reset, notice = saved_messages(outbox_dir)
    delivery = Delivery.objects.get(kind="password_changed")
    assert notice["To"] == "anna@example.com"
    assert_password_notice(live_server, notice, delivery)


# ---------------------------------------------------------------- the change of address


def test_change_of_address_from_request_to_logging_in_and_resetting_with_the_new_one(live_server, outbox_dir, anna):
    session = logged_in(live_server)
    assert 'href="/users/email/"' in session.get(f"{live_server.url}/").text
    done = ask_change(live_server, session, "Anna.New@EXAMPLE.com")
    assert done.url == f"{live_server.url}/users/email/done/"
    assert "Check the new address" in done.text
    assert not outbox_dir.exists()
    assert DBTaskResult.objects.count() == 1  # one task for both messages
    assert User.objects.get().email == "anna@example.com"  # nothing changes yet

    drain()
    by_recipient = {message["To"]: message for message in saved_messages(outbox_dir)}
    assert set(by_recipient) == {"Anna.New@example.com", "anna@example.com"}  # the domain normalised
    assert {(delivery.email, delivery.kind) for delivery in Delivery.objects.all()} == {
        ("Anna.New@example.com", "email_change_confirm"),
        ("anna@example.com", "email_change_requested"),
    }
    confirm = by_recipient["Anna.New@example.com"]
    assert confirm["Subject"] == f"Confirm your new email address on {host(live_server)}"
    assert "The link works once, for 3 days." in text_of(confirm)
    link = change_link(confirm)
    assert link.startswith(live_server.url)

    told = by_recipient["anna@example.com"]
    assert told["Subject"] == f"A change of your email address was requested on {host(live_server)}"
    requested = Delivery.objects.get(kind="email_change_requested")
    for body in (text_of(told), html_of(told)):
        assert f"On {shown_time(requested)} someone asked, from the address 127.0.0.1," in body
        assert "to A***@e***.com." in body  # masked: the old mailbox may no longer be the owner's
        assert "Anna.New" not in body and not CHANGE_LINK.findall(body)
    assert f'href="{live_server.url}/users/password_reset/"' in html_of(told)

    page, changed = press(requests.Session(), link)
    assert "<h1>Confirm your new email address</h1>" in page.text and "Anna.New@example.com" in page.text
    assert changed.url == f"{live_server.url}/"
    assert "Your email address is now Anna.New@example.com." in changed.text
    user = User.objects.get()
    assert (user.email, user.email_confirmed) == ("Anna.New@example.com", True)

    _, again = press(requests.Session(), link)  # the link works once
    assert INVALID in again.text and INVALID in requests.get(link).text

    drain()
    changed_notice = saved_messages(outbox_dir)[-1]
    assert changed_notice["To"] == "anna@example.com"  # the old address is told, briefly
    assert changed_notice["Subject"] == f"Your email address was changed on {host(live_server)}"
    assert "was changed to A***@e***.com" in text_of(changed_notice) and html_of(changed_notice)

    logged_in(live_server)  # the username and password as before
    csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "anna.new@example.com"})
    csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    drain()
    reset = saved_messages(outbox_dir)[-1]
    assert reset["To"] == "Anna.New@example.com" and LINK.findall(text_of(reset))
    assert len(saved_messages(outbox_dir)) == 4  # nothing for the old address


def test_a_retry_sends_the_same_message_to_the_new_address(live_server, outbox_dir, anna):
    ask_change(live_server, logged_in(live_server), "new@example.com")
    drain()
    delivery = Delivery.objects.get(kind="email_change_confirm")
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.QUEUED)  # as if its worker had died
    assert attempt_delivery(delivery.pk).status == Delivery.Status.SENT
    first, retried = (message for message in saved_messages(outbox_dir) if message["To"] == "new@example.com")
    assert first["Subject"] == retried["Subject"]
    assert INVALID not in requests.get(change_link(retried)).text


def test_a_request_run_again_after_its_worker_died_sends_each_message_once(live_server, outbox_dir, anna):
    """The worker died after sending the link to the new address, before the notice to the old one was made."""
    ask_change(live_server, logged_in(live_server), "new@example.com")
    drain()
    notice = Delivery.objects.get(key__endswith=":old")
    for path in outbox_dir.glob("*.eml"):  # as if that notice had never been made, nor sent
        if read_eml(path)["To"] == "anna@example.com":
            path.unlink()
    notice.delete()
    long_ago = timezone.now() - timedelta(minutes=5)
    DBTaskResult.objects.update(status=TaskResultStatus.RUNNING, started_at=long_ago, worker_ids=["killed"])

    drain(worker_id="new")  # recovers the task and runs it again
    assert sorted(message["To"] for message in saved_messages(outbox_dir)) == ["anna@example.com", "new@example.com"]
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == 2
    drain(worker_id="newer")  # nothing left to do: nothing sent twice
    assert len(saved_messages(outbox_dir)) == 2


def test_a_changed_password_kills_the_link(live_server, outbox_dir, anna):
    """What the notice to the old address advises if it was not them."""
    ask_change(live_server, logged_in(live_server), "new@example.com")
    drain()
    link = change_link(next(m for m in saved_messages(outbox_dir) if m["To"] == "new@example.com"))
    anna.set_password(NEW_PASSWORD)
    anna.save()
    _, answer = press(requests.Session(), link)
    assert INVALID in answer.text
    assert User.objects.get().email == "anna@example.com"


def test_an_expired_link_does_not_change_the_address(settings, live_server, anna):
    then = time.time() - 3 * 24 * 3600 - 60
    with time_machine.travel(then, tick=False):
        key = notices.change_key(anna, "new@example.com")  # made three days and a minute ago
    link = f"{live_server.url}/users/email/confirm/{key}/"
    _, answer = press(requests.Session(), link)
    assert INVALID in answer.text
    assert User.objects.get().email == "anna@example.com"
    settings.EMAIL_CHANGE_TIMEOUT = 4 * 24 * 3600
    assert "<h1>Confirm your new email address</h1>" in requests.get(link).text


def test_a_forged_link_does_not_change_the_address(live_server, anna):
    key = notices.change_key(anna, "new@example.com")
    flipped = key[:-5] + ("A" if key[-5] != "A" else "B") + key[-4:]  # the signature's middle, not its padding bits
    other_salt = signing.dumps([anna.pk, "evil@example.com", notices.change_state(anna)], salt="another.salt")
    for forged in (flipped, "garbage", other_salt):
        page, answer = press(requests.Session(), f"{live_server.url}/users/email/confirm/{forged}/")
        assert INVALID in page.text and INVALID in answer.text
    assert User.objects.get().email == "anna@example.com"


def test_a_wrong_password_or_the_same_address_is_refused_and_nothing_queued(live_server, outbox_dir, anna):
    session = logged_in(live_server)
    wrong = ask_change(live_server, session, "new@example.com", password="not-the-password")
    assert wrong.url == f"{live_server.url}/users/email/"
    assert "Your password was entered incorrectly. Please enter it again." in wrong.text
    same = ask_change(live_server, session, "ANNA@example.com")
    assert "This is already your address." in same.text
    assert DBTaskResult.objects.count() == 0


def test_a_taken_address_gets_the_same_answer_and_its_owner_a_warning_not_a_link(live_server, outbox_dir, anna):
    User.objects.create_user("boris", "boris@example.com", "boris-Passw0rd")
    session = logged_in(live_server)
    free = ask_change(live_server, session, "free@example.com")
    taken = ask_change(live_server, session, "BORIS@example.com")
    assert (taken.status_code, taken.url, without_token(taken.text)) == (
        free.status_code,
        free.url,
        without_token(free.text),
    )
    assert DBTaskResult.objects.count() == 2  # one task each: the same work in the request

    drain()
    messages = saved_messages(outbox_dir)
    assert sorted(message["To"] for message in messages) == [
        "anna@example.com",
        "anna@example.com",
        "boris@example.com",
        "free@example.com",
    ]
    owner = next(message for message in messages if message["To"] == "boris@example.com")
    assert owner["Subject"] == f"Someone tried to use your address on {host(live_server)}"
    assert "it already belongs to your account, boris. Nothing was changed." in text_of(owner)
    assert html_of(owner)
    assert not CHANGE_LINK.findall(text_of(owner)) and not CHANGE_LINK.findall(html_of(owner))
    links = [link for message in messages for link in CHANGE_LINK.findall(text_of(message))]
    assert len(links) == 1 and "free" not in links[0]  # the one link, to free@, sent to free@
    assert [m["To"] for m in messages if CHANGE_LINK.findall(text_of(m))] == ["free@example.com"]
    assert User.objects.get(username="anna").email == "anna@example.com"


def test_a_link_whose_address_was_taken_meanwhile_is_invalid_not_an_error(live_server, outbox_dir, anna, monkeypatch):
    ask_change(live_server, logged_in(live_server), "new@example.com")
    drain()
    link = change_link(next(m for m in saved_messages(outbox_dir) if m["To"] == "new@example.com"))
    other = User.objects.create_user("carol", "NEW@example.com", "carol-Passw0rd")
    page, answer = press(requests.Session(), link)
    assert INVALID in page.text and (answer.status_code, INVALID in answer.text) == (200, True)

    other.delete()
    page = requests.Session().get(link)
    assert "<h1>Confirm your new email address</h1>" in page.text
    User.objects.create_user("carol", "NEW@example.com", "carol-Passw0rd")  # between the page and the button
    monkeypatch.setattr(notices, "taken_by_another", lambda user, email: False)  # the checks miss it: the index
    _, answer = press(requests.Session(), link)
    assert (answer.status_code, INVALID in answer.text) == (200, True)
    assert User.objects.get(username="anna").email == "anna@example.com"


def test_over_the_client_limit_is_429_and_over_the_address_limit_silent(settings, live_server, anna, still_clock):
    settings.EMAIL_CHANGE_RATE_PER_ADDRESS = ["1/m"]
    settings.EMAIL_CHANGE_RATE_PER_CLIENT = ["3/m"]
    session = logged_in(live_server)
    first, second = ask_change(live_server, session, "a@example.com"), ask_change(live_server, session, "A@example.com")
    assert first.url == second.url == f"{live_server.url}/users/email/done/"
    assert DBTaskResult.objects.count() == 1  # the second was dropped
    assert ask_change(live_server, session, "b@example.com").status_code == 200
    limited = ask_change(live_server, session, "c@example.com")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many requests" in limited.text and 'href="/users/email/"' in limited.text
    assert DBTaskResult.objects.count() == 2


def test_the_account_budget_holds_from_another_client_address(settings, live_server, anna, still_clock):
    settings.EMAIL_CHANGE_RATE_PER_CLIENT = ["1/m"]
    settings.TRUSTED_PROXY_COUNT = 1
    session = logged_in(live_server)
    session.headers["X-Forwarded-For"] = "203.0.113.1"
    assert ask_change(live_server, session, "a@example.com").status_code == 200
    session.headers["X-Forwarded-For"] = "203.0.113.2"  # a new client address, the same account
    assert ask_change(live_server, session, "b@example.com").status_code == 429


def test_anonymous_visitors_are_sent_to_the_login(live_server):
    answer = requests.get(f"{live_server.url}/users/email/", allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (302, "/users/login/?next=/users/email/")
    done = requests.get(f"{live_server.url}/users/email/done/", allow_redirects=False)
    assert done.status_code == 302
    assert DBTaskResult.objects.count() == 0


# ---------------------------------------------------------------- the language of the page that asked


def test_every_message_is_in_the_language_of_the_page_that_asked(settings, live_server, outbox_dir, anna):
    settings.LANGUAGE_CODE = "en"  # the worker's own language is English either way
    session = logged_in(live_server, language="ru")
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    csrf_post(session, f"{live_server.url}/users/password_change/", data)
    ask_change(live_server, session, "new@example.com", password=NEW_PASSWORD)
    drain()
    link = change_link(next(m for m in saved_messages(outbox_dir) if m["To"] == "new@example.com"))
    confirming = requests.Session()
    confirming.headers["Accept-Language"] = "ru"
    press(confirming, link)
    drain()
    kinds = {delivery.kind: delivery.payload["options"]["language"] for delivery in Delivery.objects.all()}
    assert kinds == {
        "password_changed": "ru",
        "email_change_confirm": "ru",
        "email_change_requested": "ru",
        "email_changed": "ru",
    }
    messages = saved_messages(outbox_dir)
    assert len(messages) == 4
    for message in messages:
        assert '<html lang="ru">' in html_of(message)
