"""``--json``: exactly one JSON document on stdout for every outcome of every command, as real processes.

One case per kind of outcome per command: an argument error (exit 2), an error the
command reports (a configuration error, an unknown ``--using`` alias ...), and an
unexpected error (exit 1, a fault in tests/fault_settings.py). Stderr keeps its
sentence and the exit code is what it is without ``--json``.
"""

import json

import pytest

from tests.conftest import manage

SITE = "https://cinemahub.example"
FAULTS = {"DJANGO_SETTINGS_MODULE": "tests.fault_settings"}


def one_document(result) -> dict:
    document = json.loads(result.stdout)  # fails on nothing, on two documents, on text around one
    assert document["ok"] is False
    assert document["code"] == result.returncode
    assert document["error"] and "hint" in document
    return document


@pytest.mark.parametrize(
    ("args", "code", "error"),
    [
        # argparse: an unknown option, a bad value, a missing argument
        (["sendtestmail", "a@example.com", "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["sendtestmail", "a@example.com", "--count", "x"], 2, "argument --count: 'x' is not a whole number"),
        (["resetuser"], 2, "the following arguments are required: ADDRESS_OR_USERNAME"),
        (["outbox", "list", "--limit", "0"], 2, "argument --limit: '0' must be 1 or more"),
        (["outbox"], 2, "the following arguments are required: {list,show,clear}"),
        (["outbox", "clear", "--older-than", "soon"], 2, "--older-than 'soon' is not a date"),
        # errors the command reports, some before its own output
        (["sendtestmail", "a@example.com", "--using", "nope"], 3, "There is no mailer 'nope' in MAILERS"),
        (["resetuser", "anna", "--using", "nope", "--site-url", SITE], 3, "There is no mailer 'nope' in MAILERS"),
        (["resetuser", "anna"], 3, "SITE_URL is not set"),
        (["outbox", "list", "--using", "nope"], 3, "There is no mailer named 'nope' in MAILERS"),
        (["outbox", "show", "nosuchid", "--path", "."], 2, "'nosuchid' is not a message ID."),
    ],
)
def test_every_error_is_one_json_document(args, code, error, tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{tmp_path / 'out'}"}
    result = manage(*args, "--json", env=env)
    assert result.returncode == code, result.stderr
    assert error in one_document(result)["error"]
    assert error in result.stderr  # stderr says the same as without --json
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["sendtestmail", "--admins"],  # ADMINS = 42
        ["resetuser", "anna", "--site-url", SITE],  # a database that cannot be opened
        ["outbox", "list"],  # a file_path that is not a path
    ],
)
def test_an_unexpected_error_is_one_json_document_and_one_line(args):
    result = manage(*args, "--json", env=FAULTS)
    assert result.returncode == 1
    document = one_document(result)
    assert document["error"].startswith("Unexpected error: ")
    assert "--traceback" in document["hint"]
    assert result.stderr.startswith("Error: Unexpected error: ") and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 2  # the sentence and the Hint line

    with_traceback = manage(*args, "--json", "--traceback", env=FAULTS)
    assert with_traceback.returncode == 1
    # (resetuser meets either fault first, the database or the mailer, depending on hash order)
    assert one_document(with_traceback)["error"].startswith("Unexpected error: ")
    assert "Traceback (most recent call last)" in with_traceback.stderr


@pytest.mark.parametrize("command", ["sendtestmail", "resetuser", "outbox"])
def test_a_configuration_error_is_one_json_document(command):
    args = {"sendtestmail": ["a@example.com"], "resetuser": ["anna"], "outbox": ["list"]}[command]
    result = manage(command, *args, "--json", env={"EMAIL_URL": "smtp://host:port"})
    assert result.returncode == 3
    assert one_document(result)["error"].startswith("EMAIL_URL: ")
    assert result.stderr.startswith("Configuration error: EMAIL_URL: ")


def test_a_command_that_wrote_its_document_is_not_followed_by_a_second(tmp_path):
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", "EMAIL_URL": f"outbox://{tmp_path / 'out'}"}
    assert manage("migrate", env=env).returncode == 0
    result = manage("resetuser", "ghost@example.com", "--site-url", SITE, "--json", env=env)
    assert result.returncode == 2
    document = json.loads(result.stdout)  # its own document, with the failure in its results
    assert document["results"][0]["ok"] is False
