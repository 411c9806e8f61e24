"""resetuser: the web form's reset message, from the terminal, saying what happened."""

import json
import re

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.conftest import manage, saved_messages
from tests.delivery.queue import drain
from testsupport.smtp_servers import LOGIN, PASSWORD, env_for
from users.models import User

TOKEN = re.compile(r"/users/reset/([^/\s]+)/([^/\s]+)/")
SITE = "https://cinemahub.example"


# ---------------------------------------------------------------- in process, against the live site


def csrf_post(session, url, data):
    page = session.get(url)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    return session.post(url, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": url})


@pytest.mark.django_db(transaction=True)
def test_the_link_in_the_message_resets_the_password_once(live_server, outbox_dir, capsys):
    User.objects.create_user("anna", "anna@example.com", "old-password-1")
    call_command("resetuser", "ANNA@example.com", "--site-url", live_server.url)
    assert "Reset message sent to anna <anna@example.com>" in capsys.readouterr().out

    [message] = saved_messages(outbox_dir)
    link = re.search(r"http://\S+/users/reset/\S+/", message.get_body(("plain",)).get_content()).group(0)
    session = requests.Session()
    form = session.get(link)
    assert "<h1>Set a new password</h1>" in form.text
    done = csrf_post(session, form.url, {"new_password1": "brand-new-Passw0rd", "new_password2": "brand-new-Passw0rd"})
    assert "Your new password is set" in done.text
    home = csrf_post(
        requests.Session(), f"{live_server.url}/users/login/", {"username": "anna", "password": "brand-new-Passw0rd"}
    )
    assert "You are logged in as <strong>anna</strong>" in home.text
    assert "This link does not work" in requests.get(link).text


@pytest.mark.django_db(transaction=True)
def test_the_message_is_the_web_forms_message_but_for_the_token(live_server, outbox_dir):
    User.objects.create_user("anna", "anna@example.com", "old-password-1")
    csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    drain()  # the web form queues its message; the worker sends it
    call_command("resetuser", "anna", "--site-url", live_server.url)

    from_form, from_command = saved_messages(outbox_dir)
    for header in ("Subject", "From", "To", "Content-Type"):
        assert re.sub(r'boundary="[^"]+"', "", from_form[header]) == re.sub(
            r'boundary="[^"]+"', "", from_command[header]
        )
    for part in ("plain", "html"):
        form_body = TOKEN.sub("/users/reset/UID/TOKEN/", from_form.get_body((part,)).get_content())
        command_body = TOKEN.sub("/users/reset/UID/TOKEN/", from_command.get_body((part,)).get_content())
        assert form_body == command_body
        assert "/users/reset/UID/TOKEN/" in form_body


@pytest.mark.django_db
def test_dry_run_sends_nothing_and_prints_a_working_link(outbox_dir, capsys):
    User.objects.create_user("anna", "anna@example.com", "pw")
    call_command("resetuser", "anna@example.com", "--site-url", SITE, "--dry-run")
    out = capsys.readouterr().out
    assert "nothing sent: --dry-run" in out
    assert re.search(rf"link:\s+{SITE}/users/reset/\S+/\S+/", out)
    assert not outbox_dir.exists()


@pytest.mark.django_db
def test_json_lists_one_result_per_argument(outbox_dir, capsys, settings):
    settings.SITE_URL = SITE
    User.objects.create_user("anna", "anna@example.com", "pw")
    with pytest.raises(CommandError) as caught:
        call_command("resetuser", "anna", "ghost@example.com", "--json")
    assert caught.value.returncode == 2
    document = json.loads(capsys.readouterr().out)
    anna, ghost = document["results"]
    assert (anna["ok"], anna["sent"], anna["email"], anna["exit_code"]) == (True, True, "anna@example.com", 0)
    assert anna["files"] == [str(path) for path in sorted(outbox_dir.glob("*.eml"))]
    assert "link" not in anna  # only with --show-link or --dry-run
    assert (ghost["ok"], ghost["exit_code"], ghost["sent"]) == (False, 2, False)
    assert ghost["error"] == "No active user with address or username 'ghost@example.com'."


# ---------------------------------------------------------------- real processes


@pytest.fixture(scope="module")
def site_env(tmp_path_factory):
    """A database with users in every state, and an outbox folder, for real processes."""
    folder = tmp_path_factory.mktemp("resetuser")
    env = {"DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{folder / 'outbox'}"}
    assert manage("migrate", "--noinput", env=env).returncode == 0
    script = (
        "from users.models import User\n"
        "User.objects.create_user('anna', 'Anna@Example.com', 'pw')\n"
        "User.objects.create_user('ivan', 'ivan@example.com', 'pw', is_active=False)\n"
        "User.objects.create_user('oleg', 'oleg@example.com')\n"  # no usable password
        "User.objects.create_user('nomail', '', 'pw')\n"
    )
    assert manage("shell", "-c", script, env=env).returncode == 0
    return env, folder / "outbox"


def outbox_files(folder):
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_sends_and_reports_without_printing_the_link(site_env):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", "anna@example.com", env={**env, "SITE_URL": SITE})
    assert (result.returncode, result.stderr) == (0, "")
    [new] = sorted(set(outbox_files(outbox)) - set(before))
    assert "Reset message sent to anna <Anna@example.com>" in result.stdout
    assert "mailer:  direct" in result.stdout
    assert f"saved:   {new}" in result.stdout
    assert re.search(r"expires: \d{4}-\d\d-\d\d \d\d:\d\d UTC", result.stdout)
    assert "/users/reset/" not in result.stdout


def test_show_link_sends_and_prints_the_link(site_env):
    env, outbox = site_env
    before = len(outbox_files(outbox))
    result = manage("resetuser", "anna", "--show-link", env={**env, "SITE_URL": SITE})
    assert result.returncode == 0
    assert len(outbox_files(outbox)) == before + 1
    assert re.search(rf"link:\s+{SITE}/users/reset/\S+/\S+/", result.stdout)


@pytest.mark.parametrize(
    ("argument", "message", "hint"),
    [
        ("ghost@example.com", "No active user with address or username 'ghost@example.com'.", "Check the spelling"),
        ("ivan@example.com", "User 'ivan' is inactive", "Activate the account"),
        ("oleg", "User 'oleg' has no usable password", "python manage.py changepassword oleg"),
        ("nomail", "User 'nomail' has no email address", "--dry-run"),
    ],
)
def test_who_cannot_be_reset_gets_exit_2_and_nothing_is_sent(site_env, argument, message, hint):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", argument, env={**env, "SITE_URL": SITE})
    assert result.returncode == 2
    assert result.stdout == ""
    first, second = result.stderr.splitlines()
    assert message in first
    assert second.startswith("Hint: ") and hint in second
    assert "Traceback" not in result.stderr
    assert outbox_files(outbox) == before


def test_dry_run_gives_the_link_of_a_user_without_an_address(site_env):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", "nomail", "--dry-run", env={**env, "SITE_URL": SITE})
    assert result.returncode == 0, result.stderr
    assert "nothing sent: --dry-run" in result.stdout
    assert re.search(rf"{SITE}/users/reset/\S+/\S+/", result.stdout)
    assert outbox_files(outbox) == before


def test_several_arguments_each_reported_and_the_worst_exit_code(site_env):
    env, outbox = site_env
    before = len(outbox_files(outbox))
    result = manage("resetuser", "ghost", "anna", "ivan@example.com", env={**env, "SITE_URL": SITE})
    assert result.returncode == 2
    assert "Reset message sent to anna" in result.stdout
    assert "Error: No active user with address or username 'ghost'." in result.stderr
    assert "Error: User 'ivan' is inactive" in result.stderr
    assert result.stderr.rstrip().endswith("2 of 3 resets failed.")
    assert len(outbox_files(outbox)) == before + 1


def test_without_a_site_address_it_stops_before_sending(site_env):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", "anna", env=env)
    assert result.returncode == 3
    assert "SITE_URL is not set" in result.stderr
    assert "--site-url" in result.stderr
    assert outbox_files(outbox) == before


@pytest.mark.parametrize("bad", ["cinemahub.example", "https://cinemahub.example/path"])
def test_a_bad_site_url_option_is_bad_input(site_env, bad):
    env, _ = site_env
    result = manage("resetuser", "anna", "--site-url", bad, env=env)
    assert result.returncode == 2
    assert result.stderr.startswith("Error: --site-url: ")


def test_an_unknown_mailer_alias_is_a_configuration_error(site_env):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", "anna", "--using", "nope", env={**env, "SITE_URL": SITE})
    assert result.returncode == 3
    assert "There is no mailer 'nope'" in result.stderr
    assert outbox_files(outbox) == before


def test_through_a_real_smtp_server(site_env, smtp_with_login):
    env, _ = site_env
    smtp = env_for(*smtp_with_login, user=LOGIN, password=PASSWORD, sender=LOGIN)
    result = manage("resetuser", "anna", "--verbosity", "3", env={**env, **smtp, "SITE_URL": SITE})
    assert (result.returncode, result.stderr) == (0, "")
    assert f"mailer:  direct: SMTP {smtp_with_login.host}:{smtp_with_login.port}, no encryption" in result.stdout
    [received] = smtp_with_login.messages
    assert received.rcpt_tos == ("Anna@example.com",)
    assert received.message()["Subject"] == "Password reset on cinemahub.example"
    assert PASSWORD not in result.stdout


def test_a_server_refusing_the_login_gives_exit_5_and_the_app_password_hint(site_env, smtp_refusing_login):
    env, _ = site_env
    smtp = env_for(*smtp_refusing_login, user=LOGIN, password=PASSWORD, sender=LOGIN)
    result = manage("resetuser", "anna", "--verbosity", "3", env={**env, **smtp, "SITE_URL": SITE})
    assert result.returncode == 5
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith(f"Error: {smtp_refusing_login.host}:{smtp_refusing_login.port} refused the login")
    assert hint.startswith("Hint: ") and "app password" in hint
    assert PASSWORD not in result.stderr


@pytest.mark.parametrize("command", ["resetuser", "confirmuser"])
def test_an_argument_longer_than_any_address_or_username_is_bad_input(site_env, command):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage(command, "a" * 100_000, env={**env, "SITE_URL": SITE})
    assert result.returncode == 2
    first, second = result.stderr.splitlines()
    assert first == (
        "Error: The argument is 100000 characters long: an address has at most 254, a username at most 150."
    )
    assert second == "Hint: Give the account's email address or username"
    assert outbox_files(outbox) == before


@pytest.mark.parametrize("bad", ["http://a\nb", "http://a\tb", "http://127.0.0.1\r:8000", "https://a\u2028b"])
def test_a_site_url_option_with_a_control_character_is_refused(site_env, bad):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", "anna", "--site-url", bad, env=env)
    assert result.returncode == 2
    first, second = result.stderr.splitlines()
    assert first.startswith("Error: --site-url: ") and "contains the control character U+" in first
    assert second == "Hint: Write the address on one line, like https://example.com"
    assert outbox_files(outbox) == before


def test_a_site_url_setting_with_a_control_character_is_a_configuration_error(site_env):
    env, outbox = site_env
    before = outbox_files(outbox)
    result = manage("resetuser", "anna", env={**env, "SITE_URL": "http://a\nb"})
    assert result.returncode == 3
    first, second = result.stderr.splitlines()
    assert "SITE_URL: 'http://a\\nb' contains the control character U+000A" in first
    assert second.startswith("Hint: Write the address on one line")
    assert outbox_files(outbox) == before
