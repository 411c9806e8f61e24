"""The password-reset flow over real HTTP, against pytest-django's live server."""

import re

import pytest
import requests

from tests.conftest import saved_messages
from tests.delivery.queue import drain
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)

LINK = re.compile(r"https?://\S+/users/reset/\S+/")


def without_token(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)


def csrf_post(session, url, data):
    """GET the form, then POST it with its CSRF token, as a browser would."""
    page = session.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(url, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": url})


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "Anna@Example.com", "old-password-1")


def test_reset_from_request_to_login_with_the_new_password(live_server, outbox_dir, anna):
    session = requests.Session()
    done = csrf_post(session, f"{live_server.url}/users/password_reset/", {"email": "anna@example.COM"})
    assert done.url == f"{live_server.url}/users/password_reset/done/"
    assert "Check your email" in done.text

    drain()
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "Anna@example.com"
    assert message["Subject"] == f"Password reset on {live_server.url.split('://')[1]}"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    [link] = LINK.findall(text)
    assert link.startswith(live_server.url)  # the request's own host
    assert f'href="{link}"' in html

    form = session.get(link)  # Django redirects to .../set-password/
    assert "<h1>Set a new password</h1>" in form.text
    new_password = "brand-new-Passw0rd"
    complete = csrf_post(session, form.url, {"new_password1": new_password, "new_password2": new_password})
    assert complete.url == f"{live_server.url}/users/reset/done/"
    assert "Your new password is set" in complete.text

    fresh = requests.Session()
    home = csrf_post(fresh, f"{live_server.url}/users/login/", {"username": "anna", "password": new_password})
    assert home.url == f"{live_server.url}/"
    assert "You are logged in as <strong>anna</strong>" in home.text
    rejected = csrf_post(
        requests.Session(), f"{live_server.url}/users/login/", {"username": "anna", "password": "old-password-1"}
    )
    assert "You are logged in" not in rejected.text

    again = requests.get(link)
    assert "This link does not work" in again.text
    assert "<h1>Set a new password</h1>" not in again.text


def test_unknown_address_gets_the_same_page_and_no_message(live_server, outbox_dir, anna):
    known = csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    unknown = csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "nobody@example.com"})
    drain()
    # The same page but for the CSRF token of the header's language switch (random per response).
    assert (unknown.status_code, unknown.url, without_token(unknown.text)) == (
        known.status_code,
        known.url,
        without_token(known.text),
    )
    assert [m["To"] for m in saved_messages(outbox_dir)] == ["Anna@example.com"]


def test_inactive_user_gets_no_message(live_server, outbox_dir, anna):
    anna.is_active = False
    anna.save()
    page = csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    assert "Check your email" in page.text
    drain()
    assert not outbox_dir.exists() or saved_messages(outbox_dir) == []


def test_pages_link_to_each_other(live_server):
    home = requests.get(f"{live_server.url}/")
    assert "You are not logged in" in home.text
    assert 'href="/users/login/"' in home.text
    assert 'href="/users/password_reset/"' in home.text


def test_logout_is_a_post_and_password_change_works(live_server, anna):
    session = requests.Session()
    csrf_post(session, f"{live_server.url}/users/login/", {"username": "anna", "password": "old-password-1"})
    changed = csrf_post(
        session,
        f"{live_server.url}/users/password_change/",
        {"old_password": "old-password-1", "new_password1": "another-Passw0rd", "new_password2": "another-Passw0rd"},
    )
    assert changed.url == f"{live_server.url}/users/password_change/done/"
    assert session.get(f"{live_server.url}/users/logout/").status_code == 405
    home = session.post(
        f"{live_server.url}/users/logout/",
        data={"csrfmiddlewaretoken": session.cookies["csrftoken"]},
        headers={"Referer": live_server.url},
    )
    assert "You are not logged in" in home.text


@pytest.mark.parametrize(
    ("lesson", "django"),
    [
        ("/users/password-reset/", "/users/password_reset/"),
        ("/users/password-reset/done/", "/users/password_reset/done/"),
    ],
)
def test_the_lessons_hyphenated_addresses_lead_to_djangos_permanently(live_server, lesson, django):
    answer = requests.get(f"{live_server.url}{lesson}?next=x", allow_redirects=False)
    assert (answer.status_code, answer.headers["Location"]) == (308, f"{django}?next=x")
    assert requests.get(f"{live_server.url}{lesson}").url == f"{live_server.url}{django}"


def test_the_reset_form_posted_to_the_lessons_address_is_taken(live_server, outbox_dir, anna):
    session = requests.Session()
    page = session.get(f"{live_server.url}/users/password-reset/")
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    done = session.post(
        f"{live_server.url}/users/password-reset/",
        data={"csrfmiddlewaretoken": token, "email": "anna@example.com"},
        headers={"Referer": page.url},
    )
    assert done.url == f"{live_server.url}/users/password_reset/done/"
    drain()
    assert [message["To"] for message in saved_messages(outbox_dir)] == ["Anna@example.com"]
