"""The SMTP password is hidden where it can appear, and nowhere else (issue 11).

Each test runs ``sendtestmail`` as a real process against a real SMTP server on
127.0.0.1 that refuses the login.
"""

import json

import pytest

from core.security import MASK
from tests.conftest import manage
from tests.smtp_servers import env_for, smtp_server

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
    from tests.smtp_servers import mailers_for

    settings.MAILERS = mailers_for(*smtp_refusing_login, user=LOGIN, password="pässwort-Zq9")
    with pytest.raises(MailProblem) as caught:
        probe.check_mailer()
    problem = caught.value
    assert int(problem.code) == 3 and "SMTP logins must be ASCII" in problem.message
    assert "ä" not in problem.message + problem.hint and "address" not in problem.hint
