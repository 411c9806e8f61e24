"""The site in Russian: every page, the language switch, and the reset message in the asking page's language."""

import html
import io
import re

import pytest
import requests
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from tests.conftest import manage, saved_messages
from tests.delivery.queue import drain
from tests.users.test_reset_flow import LINK, csrf_post
from users.messages import MessageOptions, build_message
from users.models import User
from users.reset import reset_context

pytestmark = pytest.mark.django_db(transaction=True)

# Text that is the same in both languages: the switch's names, the user's name.
SAME_IN_BOTH = {"English", "Русский", "anna", ":"}


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


def visible_text(page: str) -> list[str]:
    """The text a reader sees: text between tags, and the page's title, without style or script."""
    page = re.sub(r"<(style|script)\b.*?</\1>", "", page, flags=re.S)
    return [html.unescape(" ".join(part.split())) for part in re.split(r"<[^>]*>", page) if part.strip()]


def english_left(russian: str, english: str) -> list[str]:
    """Pieces of the English page's text that the Russian page shows unchanged."""
    shown = set(visible_text(russian))
    return [
        text
        for text in visible_text(english)
        if text in shown and text not in SAME_IN_BOTH and re.search("[A-Za-z]", text)
    ]


def page_paths(anna) -> dict[str, str]:
    bad_link = reverse("password_reset_confirm", kwargs={"uidb64": "MQ", "token": "bad-token"})
    return {
        "home": "/",
        "login": "/users/login/",
        "reset form": "/users/password_reset/",
        "reset done": "/users/password_reset/done/",
        "reset link not valid": bad_link,
        "reset complete": "/users/reset/done/",
    }


@pytest.mark.parametrize("logged_in", [False, True])
def test_every_page_is_russian_for_a_russian_browser(anna, logged_in):
    russian, english = Client(headers={"accept-language": "ru"}), Client(headers={"accept-language": "en"})
    paths = page_paths(anna)
    if logged_in:
        russian.force_login(anna)
        english.force_login(anna)
        paths = {"home": "/", "password change": "/users/password_change/", "changed": "/users/password_change/done/"}
    for name, path in paths.items():
        ru_page, en_page = russian.get(path), english.get(path)
        assert ru_page.status_code == en_page.status_code == 200, name
        assert '<html lang="ru">' in ru_page.text and '<html lang="en">' in en_page.text, name
        assert not english_left(ru_page.text, en_page.text), (
            f"{name}: English left {english_left(ru_page.text, en_page.text)}"
        )


def test_the_language_code_setting_makes_russian_the_default(settings):
    settings.LANGUAGE_CODE = "ru"
    page = Client().get("/users/password_reset/")  # no Accept-Language
    assert '<html lang="ru">' in page.text and "<h1>Восстановление пароля</h1>" in page.text
    assert (
        "<h1>Reset your password</h1>" in Client(headers={"accept-language": "en"}).get("/users/password_reset/").text
    )


def test_the_header_switch_changes_the_language_and_returns_to_the_page():
    client = Client(headers={"accept-language": "en"})
    page = client.get("/users/login/")
    switch = re.search(r'<form class="language" method="post" action="([^"]+)">', page.text).group(1)
    assert re.search(r'<button type="submit" name="language" value="ru" lang="ru">Русский</button>', page.text)
    answer = client.post(switch, {"language": "ru", "next": "/users/login/"})
    assert (answer.status_code, answer["Location"]) == (302, "/users/login/")
    again = client.get("/users/login/")
    assert '<html lang="ru">' in again.text and "<h1>Войти</h1>" in again.text
    assert '<button type="submit" name="language" value="en" lang="en">English</button>' in again.text


def test_the_login_limit_says_the_wait_in_russian(settings, anna):
    settings.LOGIN_RATE_PER_USERNAME = ["1/d"]
    client = Client(headers={"accept-language": "ru"})
    client.post("/users/login/", {"username": "anna", "password": "wrong"})
    refused = client.post("/users/login/", {"username": "anna", "password": "wrong"})
    assert re.search(r"Слишком много попыток входа\. Подождите \d+ (час|часа|часов) и попробуйте снова\.", refused.text)


@pytest.mark.parametrize(
    ("language", "subject", "greeting", "button"),
    [
        ("ru", "Восстановление пароля на сайте", "Здравствуйте, anna!", "Выбрать новый пароль"),
        ("en", "Password reset on", "Hello anna,", "Choose a new password"),
    ],
)
def test_the_message_is_in_the_language_of_the_page_that_asked(
    live_server, outbox_dir, anna, settings, language, subject, greeting, button
):
    settings.LANGUAGE_CODE = "en"  # the worker's own language is English either way
    session = requests.Session()
    session.headers["Accept-Language"] = language
    csrf_post(session, f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    drain()
    [message] = saved_messages(outbox_dir)
    text = message.get_body(("plain",)).get_content()
    page = message.get_body(("html",)).get_content()
    assert message["Subject"].startswith(subject)
    assert text.startswith(greeting) and greeting in page and button in page
    assert f'<html lang="{language}">' in page
    [link] = LINK.findall(text)
    assert f'href="{link}"' in page


def test_every_line_of_the_russian_message_is_russian(anna):
    """No sentence of the English message is left in the Russian one (the link and the name aside)."""
    context = reset_context(anna, site_url="http://127.0.0.1:8000")
    russian, english = (build_message(context, MessageOptions(language=code)) for code in ("ru", "en"))
    ru_lines = {line.strip() for line in russian.body.splitlines() if line.strip()}
    left = [line.strip() for line in english.body.splitlines() if line.strip() in ru_lines and "://" not in line]
    assert left == []
    assert not english_left(russian.alternatives[0].content, english.alternatives[0].content)
    assert russian.subject == "Восстановление пароля на сайте 127.0.0.1:8000"


def test_resetuser_sends_in_the_language_asked(outbox_dir, anna):
    call_command("resetuser", "anna", "--language", "ru", "--site-url", "http://127.0.0.1:8000", stdout=io.StringIO())
    [message] = saved_messages(outbox_dir)
    assert message["Subject"] == "Восстановление пароля на сайте 127.0.0.1:8000"
    assert message.get_body(("plain",)).get_content().startswith("Здравствуйте, anna!")


def test_resetuser_refuses_a_language_the_site_does_not_have(tmp_path):
    result = manage("resetuser", "anna", "--language", "de", env={"EMAIL_URL": f"outbox://{tmp_path}"})
    assert result.returncode == 2
    assert "--language" in result.stderr and "'de'" in result.stderr and "ru" in result.stderr
    assert saved_messages(tmp_path) == []
