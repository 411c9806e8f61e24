"""confirmuser: a new sign-up confirmation from the terminal, with resetuser's conventions."""

import json
import re

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import manage, saved_messages
from tests.users.test_reset_flow import csrf_post
from users.models import User

pytestmark = pytest.mark.django_db(transaction=True)
CONFIRM = re.compile(r"https?://\S+/users/signup/confirm/[^/\s]+/")


@pytest.fixture
def unconfirmed():
    return User.objects.create_user("anna", "anna@example.com", "old-password-1", email_confirmed=False)


def test_the_message_is_the_resend_pages_and_its_link_confirms_the_address(
    live_server, outbox_dir, unconfirmed, capsys
):
    call_command("confirmuser", "ANNA@example.com", "--site-url", live_server.url)
    out = capsys.readouterr().out
    assert "Confirmation message sent to anna <anna@example.com>" in out
    assert "(SIGNUP_CONFIRM_TIMEOUT)" in out and "link:" not in out
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "anna@example.com"
    assert message["Subject"].startswith("Confirm your email address on ")
    [link] = CONFIRM.findall(message.get_body(("plain",)).get_content())
    csrf_post(requests.Session(), link, {})
    unconfirmed.refresh_from_db()
    assert unconfirmed.email_confirmed


def test_dry_run_json_gives_the_link_and_sends_nothing(outbox_dir, unconfirmed, capsys):
    call_command("confirmuser", "anna", "--dry-run", "--json", "--site-url", "https://cinema.example")
    [result] = json.loads(capsys.readouterr().out)["results"]
    assert (result["ok"], result["sent"], result["exit_code"]) == (True, False, 0)
    assert result["link"].startswith("https://cinema.example/users/signup/confirm/")
    assert not outbox_dir.exists() or saved_messages(outbox_dir) == []


def test_a_confirmed_address_is_exit_2_pointing_to_resetuser(outbox_dir):
    User.objects.create_user("boris", "boris@example.com", "old-password-1")  # confirmed: not made by sign-up
    with pytest.raises(CommandError) as raised:
        call_command("confirmuser", "boris", "--site-url", "https://cinema.example")
    assert raised.value.returncode == 2
    assert str(raised.value) == (
        "The address of 'boris' is already confirmed: there is nothing to confirm.\n"
        "Hint: To send a password reset instead: python manage.py resetuser boris"
    )


def test_as_a_process_it_sends_and_an_unknown_user_is_one_line_and_exit_2(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{tmp_path / 'outbox'}"}
    assert manage("migrate", "--noinput", env=env).returncode == 0
    script = (
        "from users.models import User\n"
        "User.objects.create_user('anna', 'anna@example.com', 'pw', email_confirmed=False)"
    )
    assert manage("shell", "-c", script, env=env).returncode == 0
    sent = manage("confirmuser", "anna", "--site-url", "https://cinema.example", env=env)
    assert (sent.returncode, sent.stderr) == (0, "")
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    result = manage("confirmuser", "nobody@example.com", "--site-url", "https://cinema.example", env=env)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[0] == "Error: No active user with address or username 'nobody@example.com'."
