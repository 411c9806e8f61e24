"""The reset request keeps Django's semantics: the view's arguments reach the queued message, template names
mean what they mean in Django."""

import re
from pathlib import Path

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client

from tests.conftest import saved_messages
from tests.delivery.queue import drain
from tests.reset_view_urls import OtherTokens
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
LINK = re.compile(r"https?://\S+/users/reset/(?P<uid>[^/]+)/(?P<token>[^/]+)/")


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


def with_templates(settings, folder: str) -> None:
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [TEMPLATES / folder, *settings.TEMPLATES[0]["DIRS"]]}]


def test_every_argument_of_the_view_reaches_the_queued_message(settings, outbox_dir, anna):
    settings.ROOT_URLCONF = "tests.reset_view_urls"
    with_templates(settings, "")
    Client().post("/custom-reset/", {"email": "anna@example.com"})
    drain()  # the worker builds the message, long after the request
    [message] = saved_messages(outbox_dir)
    assert message["Subject"] == "Кино: new password for anna"  # subject_template_name, extra_email_context
    assert message["From"] == "Кино <noreply@cinema.example>"  # from_email
    assert message.get_content_type() == "text/plain"  # html_email_template_name=None: no HTML part
    body = message.get_content()
    assert body.startswith("Кино body. Link: http://testserver/users/reset/")  # email_template_name
    token = LINK.search(body)["token"]
    assert OtherTokens().check_token(anna, token) and not default_token_generator.check_token(anna, token)


def test_a_text_template_written_for_djangos_view_is_the_text_body(settings, outbox_dir, anna):
    """Django's PasswordResetView renders registration/password_reset_email.html as the plain-text body."""
    with_templates(settings, "django_style")
    Client().post("/users/password_reset/", {"email": "anna@example.com"})
    drain()
    [message] = saved_messages(outbox_dir)
    text = message.get_body(("plain",)).get_content()
    assert text.startswith("Plain text written for Django's own view: http://testserver/users/reset/")
    html = message.get_body(("html",)).get_content()  # the project's HTML alternative, beside it
    assert "<!doctype html>" in html and "Plain text written" not in html
