"""Start-up as a real process: bad variables stop every command with one line and exit 3."""

import json
import re

import pytest

from tests.conftest import manage

SECRET = "s3cr3t-marker-Zq9"
PROD = {
    "DEBUG": "false",
    "SECRET_KEY": "tests-only-" + "".join(map(chr, range(65, 110))),
    "ALLOWED_HOSTS": "example.com",
}


def test_defaults_start_without_warnings():
    result = manage("check")
    assert (result.returncode, result.stderr) == (0, "")
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("env", "first_line"),
    [
        ({"EMAIL_URL": "smpt://h"}, "Configuration error: EMAIL_URL: unknown scheme smpt://"),
        ({"EMAIL_URL": f"smtp://me:{SECRET}@h:abc"}, "Configuration error: EMAIL_URL: the port 'abc' is not a number"),
        ({"EMAIL_HOST": "h", "EMAIL_PORT": "x"}, "Configuration error: EMAIL_PORT: the port 'x' is not a number"),
        (
            {"EMAIL_URL": f"smtp+ssl://me:{SECRET}@h?use_tls=1"},
            "Configuration error: EMAIL_URL: SSL and STARTTLS are both on",
        ),
        ({"EMAIL_URL": "filemail://manage.py"}, "Configuration error: EMAIL_URL: "),
        ({"DEBUG": "false"}, "Configuration error: SECRET_KEY: not set, and DEBUG is off"),
        ({"DEBUG": "sometimes"}, "Configuration error: DEBUG: 'sometimes' is not true or false"),
        ({"SITE_URL": "cinemahub.example"}, "Configuration error: SITE_URL: "),
        ({"ADMINS": "root"}, "Configuration error: ADMINS: 'root' is not a valid email address"),
        ({"TIME_ZONE": "Mars/Olympus"}, "Configuration error: TIME_ZONE: 'Mars/Olympus' is not a time zone name"),
        ({"DATABASE_URL": "nosuchdb://x"}, "Configuration error: DATABASE_URL: "),
    ],
)
@pytest.mark.parametrize("command", [["check"], ["help"], ["migrate"], ["outbox", "list"]])
def test_bad_value_stops_any_command_with_one_line_and_exit_3(env, first_line, command):
    result = manage(*command, env=env)
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith(first_line)
    assert len(lines) <= 2 and all(line.startswith("Hint: ") for line in lines[1:])
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr


def test_traceback_is_shown_when_asked_for():
    result = manage("check", "--traceback", env={"EMAIL_URL": "smpt://h"})
    assert result.returncode == 1
    assert "Traceback" in result.stderr and "ConfigError" in result.stderr


@pytest.mark.parametrize(
    ("mail_env", "expected"),
    [
        # A real mailer, as docs/deployment.md asks for.
        (
            {"EMAIL_URL": f"smtp+ssl://site%40example.com:{SECRET}@localhost:465"},
            ["security.W004", "security.W008"],
        ),
        # The default outbox keeps mail on the machine: said once more with DEBUG off.
        ({}, ["core.mail.W004", "security.W004", "security.W008"]),
    ],
)
def test_check_deploy_warns_only_about_what_the_readme_names(mail_env, expected):
    result = manage("check", "--deploy", env={**PROD, **mail_env})
    assert result.returncode == 0
    assert sorted(re.findall(r"\((\S+)\)", result.stderr + result.stdout)) == expected
    assert SECRET not in result.stderr + result.stdout


# Each malformed EMAIL_URL of issue 11, as a person would write it; the marker is the password's tail.
MALFORMED = [
    f"smtp+ssl://anna%40example.com:Sup3r/{SECRET}@smtp.example.com:465",
    f"smtp+ssl://anna%40example.com:Sup3r#{SECRET}@smtp.example.com:465",
    f"smtp+ssl://anna%40example.com:12345?{SECRET}@smtp.example.com:465",
    f"smtp+ssl://me:4651/{SECRET}@smtp.example.com:465",
    f"smtp+ssl://anna%40example.com:Sup3r[{SECRET}@smtp.example.com:465",
    f"smtp+ssl://anna%40example.com:Sup3r]{SECRET}@smtp.example.com:465",
    f"smtp+ssl://anna%40example.com:Sup3r@{SECRET}@smtp.example.com:465",
]


@pytest.mark.parametrize("url", MALFORMED)
@pytest.mark.parametrize("variable", ["EMAIL_URL", "ADMINS_EMAIL_URL"])
def test_unencoded_password_stops_with_exit_3_a_hint_and_no_secret(url, variable):
    result = manage("check", env={variable: url})
    assert result.returncode == 3
    assert result.stdout == ""
    first, hint = result.stderr.splitlines()
    assert first.startswith(f"Configuration error: {variable}: the login or password holds an unencoded ")
    assert hint.startswith("Hint: Percent-encode the login and password") and "%2F" in hint
    for fragment in (SECRET, "Sup3r", "12345", "4651"):
        assert fragment not in result.stderr


def test_non_ascii_password_is_a_configuration_error_without_echo():
    result = manage("check", env={"EMAIL_URL": "smtp+ssl://anna%40example.com:Pässwort-Zq9@smtp.example.com:465"})
    assert result.returncode == 3
    assert "SMTP logins must be ASCII" in result.stderr.splitlines()[0]
    assert "Zq9" not in result.stderr and "ä" not in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "command",
    [["sendtestmail", "--json", "a@example.com"], ["resetuser", "--json", "anna"], ["outbox", "list", "--json"]],
)
def test_json_gets_one_document_for_a_configuration_error(command):
    result = manage(*command, env={"EMAIL_URL": f"smtp+ssl://me:4651/{SECRET}@smtp.example.com:465"})
    assert result.returncode == 3
    document = json.loads(result.stdout)
    assert document["ok"] is False and document["code"] == 3
    assert document["error"].startswith("EMAIL_URL: the login or password holds an unencoded")
    assert document["hint"].startswith("Percent-encode")
    assert SECRET not in result.stdout + result.stderr
    assert result.stderr.startswith("Configuration error: EMAIL_URL: ")  # a person still reads it on stderr
