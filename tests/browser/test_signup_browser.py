"""Sign-up to first login once in a real browser: Playwright driving Debian's Chromium."""

import re

import pytest

from tests.browser.conftest import needs_chromium, no_sideways_scrolling, screenshot
from tests.conftest import saved_messages
from tests.delivery.queue import drain
from users.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]

PASSWORD = "a-Str0ng-passphrase"


def fill_sign_up(page, password=PASSWORD):
    page.get_by_label("Username").fill("boris")
    page.get_by_label("Email").fill("boris@example.com")
    page.get_by_label(re.compile(r"^Password:?$")).fill(password)
    page.get_by_label("Password confirmation").fill(password)
    page.get_by_role("button", name="Sign up").click()


def log_in(page, live_server):
    page.goto(f"{live_server.url}/users/login/")
    page.get_by_label("Username").fill("boris")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_sign_up_confirm_and_first_login_in_the_browser(live_server, outbox_dir, page):
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Sign up").click()
    fill_sign_up(page)
    page.get_by_role("heading", name="Check your email").wait_for()

    drain()
    log_in(page, live_server)  # before the link: told so, with the way to a new link
    assert page.get_by_text("Your email address is not confirmed yet.").is_visible()
    assert page.get_by_role("link", name="Send me a new confirmation link").is_visible()

    [message] = saved_messages(outbox_dir)
    link = re.search(r"https?://\S+/users/signup/confirm/\S+/", message.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    assert not User.objects.get(username="boris").email_confirmed  # opening the link changes nothing
    page.get_by_role("button", name="Confirm my address").click()
    page.get_by_text("Your email address is confirmed. You can log in now.").wait_for()
    page.get_by_label("Username").fill("boris")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("You are logged in as boris").is_visible()

    page.goto(link)
    assert page.get_by_role("heading", name="This link does not work").is_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_sign_up_pages_fit_the_width(live_server, page, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto(f"{live_server.url}/users/signup/")
    fill_sign_up(page, password="short")  # the errors, next to the fields, widen nothing
    page.get_by_text("This password is too short.").wait_for()
    no_sideways_scrolling(page)
    screenshot(page, f"signup-{width}")
