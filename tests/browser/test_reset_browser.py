"""The reset flow once in a real browser: Playwright driving Debian's Chromium."""

import re

import pytest

from tests.browser.conftest import needs_chromium
from tests.conftest import saved_messages
from tests.delivery.queue import drain
from users.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), needs_chromium]


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


def no_english(page, *allowed: str) -> None:
    """The page, title included, shows no English word (the switch's "English" and ``allowed`` aside)."""
    text = page.title() + "\n" + page.locator("body").inner_text()
    for word in ("English", *allowed):
        text = text.replace(word, "")
    assert not re.findall(r"[A-Za-z]{2,}", text), f"English on {page.url}: {text}"
    assert page.locator("html").get_attribute("lang") == "ru"


def test_the_lesson_reset_in_russian_then_the_switch_to_english(live_server, outbox_dir, page, settings):
    settings.LANGUAGE_CODE, settings.LANGUAGE_FROM_BROWSER = "ru", False  # LANGUAGE_CODE=ru in .env; an English browser
    User.objects.create_user("boris", "boris@example.com", "old-password-1")

    page.goto(f"{live_server.url}/")
    no_english(page)
    page.get_by_role("link", name="Забыли пароль?").click()
    no_english(page)
    page.goto(f"{live_server.url}/users/password-reset/")  # the lesson's address
    page.get_by_label("Адрес электронной почты").fill("boris@example.com")
    page.get_by_role("button", name="Прислать ссылку").click()
    page.get_by_role("heading", name="Проверьте почту").wait_for()
    no_english(page)

    drain()
    [message] = saved_messages(outbox_dir)
    host = live_server.url.split("://")[1]
    assert message["Subject"] == f"Восстановление пароля на сайте {host}"
    body = message.get_body(("plain",)).get_content()
    link = re.search(r"https?://\S+/users/reset/\S+/", body).group(0)
    assert not re.findall(r"[A-Za-z]{2,}", body.replace(link, "").replace(host, "").replace("boris", ""))
    page.goto(link)
    no_english(page)
    page.get_by_label(re.compile(r"^Новый пароль:?$")).fill("brand-new-Passw0rd")
    page.get_by_label("Подтверждение нового пароля").fill("brand-new-Passw0rd")
    page.get_by_role("button", name="Установить пароль").click()
    page.get_by_role("heading", name="Пароль установлен").wait_for()
    no_english(page)

    page.get_by_role("link", name="Войти").last.click()
    no_english(page)
    page.get_by_role("button", name="English").click()  # the header's switch
    page.get_by_role("heading", name="Log in").wait_for()
    assert page.locator("html").get_attribute("lang") == "en"
    page.get_by_label("Username").fill("boris")
    page.get_by_label("Password").fill("brand-new-Passw0rd")
    page.get_by_role("button", name="Log in").click()
    assert page.get_by_text("You are logged in as boris").is_visible()
