"""The reset flow once in a real browser: Playwright driving Debian's Chromium."""

import os
import re
from pathlib import Path

import pytest

from tests.conftest import saved_messages
from tests.mail.queue import drain
from users.models import User

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="run `make test`: it installs Debian's chromium"),
]
# No connections beyond loopback: the machine's network is closed to the rest.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def page():
    # Playwright's sync API runs an event loop in this thread; the ORM calls
    # this test makes between browser steps are synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(10_000)
            yield page
        finally:
            browser.close()
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


def test_forgotten_password_reset_in_the_browser(live_server, outbox_dir, page):
    User.objects.create_user("boris", "boris@example.com", "old-password-1")

    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill("boris@example.com")
    page.get_by_role("button", name="Send me the link").click()
    page.get_by_role("heading", name="Check your email").wait_for()

    drain()
    [message] = saved_messages(outbox_dir)
    link = re.search(r"https?://\S+/users/reset/\S+/", message.get_body(("plain",)).get_content()).group(0)
    page.goto(link)
    page.get_by_label(re.compile(r"^New password:?$")).fill("brand-new-Passw0rd")
    page.get_by_label("New password confirmation").fill("brand-new-Passw0rd")
    page.get_by_role("button", name="Set my password").click()
    page.get_by_role("heading", name="Password set").wait_for()

    page.get_by_role("link", name="Log in").last.click()
    page.get_by_label("Username").fill("boris")
    page.get_by_label("Password").fill("brand-new-Passw0rd")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("You are logged in as boris").is_visible()

    page.goto(link)
    assert page.get_by_role("heading", name="This link does not work").is_visible()
