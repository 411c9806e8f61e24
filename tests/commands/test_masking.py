"""The SMTP password is hidden where it can appear, and nowhere else (issue 11).

Each test runs ``sendtestmail`` as a real process against a real SMTP server on
127.0.0.1 that refuses the login.
"""

import json

import pytest

from core.security import MASK
from tests.conftest import manage
from testsupport.smtp_servers import env_for, smtp_server

LOGIN = "anna@example.com"
LOGINS = {LOGIN: "the-right-password-Zq9"}
REPLY = "535 5.7.8 Authentication credentials invalid"


def echoing(password: str) -> str:
    """A login rule refusing with a reply that repeats the login, the password and a URL holding them."""
    return f"login:535:text=5.7.8 Bad credentials {LOGIN} '{password}' see smtp://{LOGIN}:{password}@relay.example"


def send(server, password: str, *args: str):
    env = env_for(server.host, server.port, user=LOGIN, password=password, timeout=5)
    return manage("sendtestmail", "bob@example.com", *args, env=env)


@pytest.mark.parametrize("password", ["e", "example"])
def test_a_password_that_is_part_of_other_words_changes_nothing(password):
    with smtp_server(logins=LOGINS) as server:  # any other password: 535 and the library's own text
        result = send(server, password)
        document = json.loads(send(server, password, "--json").stdout)
    assert result.returncode == 5
    where = f"{server.host}:{server.port}"
    assert result.stderr.splitlines()[0] == f"Error: {where} refused the login '{LOGIN}': {REPLY}."
    assert MASK not in result.stderr + result.stdout
    assert document["error"] == f"{where} refused the login '{LOGIN}': {REPLY}."
    assert MASK not in json.dumps(document)


@pytest.mark.parametrize("password", ["e", "example", "Zq9-long-password"])
def test_a_password_echoed_by_the_server_is_hidden_only_there(password):
    with smtp_server(logins=LOGINS, fail=[echoing(password)]) as server:
        result = send(server, password)
    first = result.stderr.splitlines()[0]
    assert result.returncode == 5
    assert first == (
        f"Error: {server.host}:{server.port} refused the login '{LOGIN}': "
        f"535 5.7.8 Bad credentials {LOGIN} '{MASK}' see smtp://{MASK}@relay.example."
    )


def test_a_non_ascii_password_set_in_mailers_is_a_configuration_error(settings, smtp_refusing_login):
    from core.mail import probe
    from core.mail.errors import MailProblem
    from testsupport.smtp_servers import mailers_for

    settings.MAILERS = mailers_for(*smtp_refusing_login, user=LOGIN, password="pässwort-Zq9")
    with pytest.raises(MailProblem) as caught:
        probe.check_mailer()
    problem = caught.value
    assert int(problem.code) == 3 and "SMTP logins must be ASCII" in problem.message
    assert "ä" not in problem.message + problem.hint and "address" not in problem.hint


@pytest.mark.parametrize("password", ["Quoted-Pw-4417", "e"])
def test_a_reply_quoting_the_password_is_stored_masked_for_mailqueue_and_the_mail_to_admins(tmp_path, password):
    """The worker stores the error masked, so every reader of it is safe: mailqueue, the ADMINS mail, the admin."""
    with (
        smtp_server(logins=LOGINS, fail=[echoing(password)]) as failing,
        smtp_server() as admins,
    ):
        env = {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            **env_for(failing.host, failing.port, user=LOGIN, password=password, timeout=5),
            "ADMINS_EMAIL_URL": f"smtp://{admins.host}:{admins.port}",
            "ADMINS": "ops@example.com",
        }
        assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
        setup = (
            "from users.models import User\n"
            "from users.tasks import enqueue_password_reset\n"
            "User.objects.create_user('anna', 'anna@example.com', 'old-password-1')\n"
            "enqueue_password_reset('anna@example.com', 'https://cinemahub.example')\n"
        )
        assert manage("shell", "-v0", "-c", setup, env=env).returncode == 0
        worker = manage("db_worker", "--batch", "--no-reload", "--no-startup-delay", env=env)
        assert admins.wait_for("saved", timeout=30)
        queue = manage("mailqueue", env=env)
    [report] = admins.messages
    body = report.message().get_body(("plain",)).get_content()
    [last_error] = [line for line in body.splitlines() if line.startswith("Last error: ")]
    [failure] = [
        line for line in queue.stdout.splitlines() if "anna@example.com  'Password reset message'  1 attempt:" in line
    ]
    for shown in (last_error, failure):  # the reply is there, its password is not
        assert "535" in shown and f"'{MASK}'" in shown and f"smtp://{MASK}@relay.example" in shown
    for output in (body, report.data.decode(), queue.stdout, queue.stderr, worker.stdout, worker.stderr):
        assert f"'{password}'" not in output and f":{password}@" not in output
