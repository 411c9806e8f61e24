"""Sign-up with a confirmed address, over real HTTP against the live server, the worker drained in the test."""

import re
import time

import pytest
import requests
import time_machine
from django_tasks_db.models import DBTaskResult

from tests.conftest import saved_messages
from tests.delivery.queue import drain
from tests.users.test_reset_flow import LINK, csrf_post, without_token
from users import signup
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]

CONFIRM_LINK = re.compile(r"https?://\S+/users/signup/confirm/\S+/")
UNCONFIRMED = "Your email address is not confirmed yet."
WRONG = "Please enter a correct username and password."
PASSWORD = "a-Str0ng-passphrase"


def sign_up(live_server, username="boris", email="Boris@Example.com", password=PASSWORD):
    data = {"username": username, "email": email, "password1": password, "password2": password}
    return csrf_post(requests.Session(), f"{live_server.url}/users/signup/", data)


def log_in(live_server, username="boris", password=PASSWORD):
    data = {"username": username, "password": password}
    return csrf_post(requests.Session(), f"{live_server.url}/users/login/", data)


def confirm_link(message) -> str:
    [link] = CONFIRM_LINK.findall(message.get_body(("plain",)).get_content())
    assert f'href="{link}"' in message.get_body(("html",)).get_content()
    return link


def press_confirm(session, link):
    """GET the link (a page with a button: nothing changes yet), then press the button."""
    page = session.get(link)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return page, session.post(link, data={"csrfmiddlewaretoken": token}, headers={"Referer": link})


def test_sign_up_confirm_then_log_in(live_server, outbox_dir):
    done = sign_up(live_server)
    assert done.url == f"{live_server.url}/users/signup/done/"
    assert "Check your email" in done.text
    assert not outbox_dir.exists()  # queued, not sent in the request
    assert not User.objects.exists()  # the worker makes the account

    drain()
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "Boris@example.com"
    assert message["Subject"] == f"Confirm your email address on {live_server.url.split('://')[1]}"
    link = confirm_link(message)
    assert link.startswith(live_server.url)
    assert "The link works once, for 3 days." in message.get_body(("plain",)).get_content()
    user = User.objects.get()
    assert (user.username, user.email, user.email_confirmed, user.is_active) == ("boris", "Boris@example.com", 0, 1)

    refused = log_in(live_server)
    assert UNCONFIRMED in refused.text
    assert 'href="/users/signup/resend/"' in refused.text

    session = requests.Session()
    page, confirmed = press_confirm(session, link)
    assert "<h1>Confirm your email address</h1>" in page.text
    assert confirmed.url == f"{live_server.url}/users/login/"
    assert (
        '<ul class="messages"><li class="success" role="status">Your email address is confirmed. You can log in now.'
        "</li></ul>" in confirmed.text
    )  # styled like the rest of the site (templates/base.html), and read out by screen readers
    assert ".messages li.success {" in confirmed.text

    home = log_in(live_server)
    assert "You are logged in as <strong>boris</strong>" in home.text

    _, again = press_confirm(requests.Session(), link)  # the link works once
    assert "This link does not work" in session.get(link).text
    assert "This link does not work" in again.text


def test_wrong_password_of_an_unconfirmed_account_says_only_the_usual(live_server, outbox_dir):
    sign_up(live_server)
    drain()
    wrong = log_in(live_server, password="not-the-password")
    assert WRONG in wrong.text
    assert UNCONFIRMED not in wrong.text
    assert "/users/signup/resend/" not in wrong.text


def test_an_address_with_an_account_gets_the_same_answer_and_its_owner_a_reset_link(live_server, outbox_dir):
    User.objects.create_user("anna", "anna@example.com", "old-password-1")
    new = sign_up(live_server, username="newcomer", email="other@example.com")
    taken = sign_up(live_server, username="intruder", email="ANNA@example.com")
    assert (taken.status_code, taken.url, without_token(taken.text)) == (
        new.status_code,
        new.url,
        without_token(new.text),
    )
    assert DBTaskResult.objects.count() == 2  # one task each: the same work in the request

    drain()
    assert not User.objects.filter(username="intruder").exists()
    by_recipient = {message["To"]: message for message in saved_messages(outbox_dir)}
    assert set(by_recipient) == {"other@example.com", "anna@example.com"}
    owner = by_recipient["anna@example.com"]
    assert owner["Subject"] == f"An account already uses your address on {live_server.url.split('://')[1]}"
    text = owner.get_body(("plain",)).get_content()
    assert "Someone tried to sign up" in text and "anna" in text
    [link] = LINK.findall(text)
    assert f'href="{link}"' in owner.get_body(("html",)).get_content()

    session = requests.Session()
    form = session.get(link)
    assert "<h1>Set a new password</h1>" in form.text
    done = csrf_post(session, form.url, {"new_password1": PASSWORD, "new_password2": PASSWORD})
    assert done.url == f"{live_server.url}/users/reset/done/"
    assert "You are logged in as <strong>anna</strong>" in log_in(live_server, "anna").text


def test_a_completed_password_reset_confirms_the_address(live_server, outbox_dir):
    sign_up(live_server)
    drain()
    User.objects.filter(username="boris").update(email="boris@example.com")  # the confirmation link is now dead
    csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "boris@example.com"})
    drain()
    [link] = LINK.findall(saved_messages(outbox_dir)[-1].get_body(("plain",)).get_content())
    session = requests.Session()
    form = session.get(link)
    csrf_post(session, form.url, {"new_password1": "another-Passw0rd", "new_password2": "another-Passw0rd"})
    assert User.objects.get(username="boris").email_confirmed
    assert "You are logged in as <strong>boris</strong>" in log_in(live_server, password="another-Passw0rd").text


def test_resend_answers_the_same_for_every_address_and_sends_only_to_the_unconfirmed(live_server, outbox_dir):
    sign_up(live_server, username="boris", email="boris@example.com")
    User.objects.create_user("anna", "anna@example.com", "old-password-1")  # confirmed (not signed up)
    drain()
    assert len(saved_messages(outbox_dir)) == 1
    answers = [
        csrf_post(requests.Session(), f"{live_server.url}/users/signup/resend/", {"email": email})
        for email in ("BORIS@example.com", "anna@example.com", "nobody@example.com")
    ]
    assert {(answer.status_code, answer.url, without_token(answer.text)) for answer in answers} == {
        (200, f"{live_server.url}/users/signup/resend/done/", without_token(answers[0].text))
    }
    assert "a message with a new link is on its way" in answers[0].text
    assert DBTaskResult.objects.count() == 1 + 3  # the sign-up, then one task per resend request
    drain()
    messages = saved_messages(outbox_dir)
    assert [message["To"] for message in messages] == ["boris@example.com", "boris@example.com"]
    assert "This link does not work" not in requests.get(confirm_link(messages[1])).text


def test_resend_over_the_client_limit_is_429_and_over_the_address_limit_silent(
    settings, live_server, outbox_dir, still_clock
):
    settings.SIGNUP_RESEND_RATE_PER_ADDRESS = ["2/m"]
    settings.SIGNUP_RESEND_RATE_PER_CLIENT = ["4/m"]
    sign_up(live_server, username="boris", email="boris@example.com")
    drain()

    def resend(email):
        return csrf_post(requests.Session(), f"{live_server.url}/users/signup/resend/", {"email": email})

    answers = [resend("boris@example.com") for _ in range(3)]  # the third is over the address limit
    assert [answer.url for answer in answers] == [f"{live_server.url}/users/signup/resend/done/"] * 3
    drain()
    assert len(saved_messages(outbox_dir)) == 1 + 2

    resend("nobody@example.com")
    limited = resend("nobody@example.com")
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert "Too many requests" in limited.text
    assert 'href="/users/signup/resend/"' in limited.text


def test_sign_up_over_the_address_limit_is_silent_and_over_the_client_limit_429(settings, live_server, still_clock):
    settings.SIGNUP_RATE_PER_ADDRESS = ["1/m"]
    settings.SIGNUP_RATE_PER_CLIENT = ["3/m"]
    first, second = sign_up(live_server, "a1", "same@example.com"), sign_up(live_server, "a2", "same@example.com")
    assert first.url == second.url == f"{live_server.url}/users/signup/done/"
    assert DBTaskResult.objects.count() == 1  # the second was dropped
    assert sign_up(live_server, "a3", "third@example.com").status_code == 200
    assert sign_up(live_server, "a4", "fourth@example.com").status_code == 429


def test_an_expired_link_does_not_confirm(settings, live_server, outbox_dir):
    sign_up(live_server)
    drain()
    user = User.objects.get()
    then = time.time() - 3 * 24 * 3600 - 60
    with time_machine.travel(then, tick=False):
        key = signup.confirm_key(user)  # made three days and a minute ago
    link = f"{live_server.url}/users/signup/confirm/{key}/"
    assert "This link does not work" in requests.get(link).text
    settings.SIGNUP_CONFIRM_TIMEOUT = 4 * 24 * 3600
    assert "<h1>Confirm your email address</h1>" in requests.get(link).text


def test_a_forged_link_does_not_confirm(live_server, outbox_dir):
    sign_up(live_server)
    drain()
    link = confirm_link(saved_messages(outbox_dir)[0])
    _, answer = press_confirm(requests.Session(), link.rstrip("/")[:-1] + "x/")
    assert "This link does not work" in answer.text
    assert not User.objects.get().email_confirmed


def test_the_form_checks_passwords_and_usernames_but_not_addresses(live_server):
    User.objects.create_user("anna", "anna@example.com", "old-password-1")
    weak = sign_up(live_server, username="boris", password="12345678")
    assert "This password is too common." in weak.text
    taken = sign_up(live_server, username="Anna", email="new@example.com")
    assert "A user with that username already exists." in taken.text
    no_address = sign_up(live_server, email="")
    assert "This field is required." in no_address.text
    assert DBTaskResult.objects.count() == 0


def test_the_admin_sends_the_confirmation_again(admin_client, outbox_dir):
    boris = User.objects.create_user("boris", "boris@example.com", PASSWORD, email_confirmed=False)
    anna = User.objects.create_user("anna", "anna@example.com", PASSWORD)  # confirmed: nothing to send
    answer = admin_client.post(
        "/admin/users/user/", {"action": "resend_confirmation", "_selected_action": [boris.pk, anna.pk]}, follow=True
    )
    assert "1 confirmation queued." in answer.text
    assert not outbox_dir.exists()  # queued, as from the resend page
    drain()
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "boris@example.com"
    assert confirm_link(message).startswith("http://testserver/users/signup/confirm/")
