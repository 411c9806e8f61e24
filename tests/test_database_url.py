"""DATABASE_URL: a URL that cannot be read as written is one configuration line, never the password."""

import subprocess

import pytest

from core.env import ConfigError, database_from_url
from tests.conftest import ROOT, manage

SECRET = "DbSecret"


@pytest.mark.parametrize(
    "url",
    [
        f"postgres://app:{SECRET}/x@db.example.com:5432/site",  # an unencoded /
        f"postgres://app:{SECRET}#x@db.example.com:5432/site",  # an unencoded #
        f"postgres://app:{SECRET}?x@db.example.com:5432/site",  # an unencoded ?
        f"postgres://app:{SECRET}@x@db.example.com:5432/site",  # an unencoded @
        f"postgres://app:{SECRET}[x@db.example.com:5432/site",  # an unencoded [
        f"postgres://app:{SECRET}@db.example.com:{SECRET}/site",  # a port that is not a number
        f"postgres://app:1234/{SECRET}@db.example.com/site",  # read as is: the host "app", the port 1234
    ],
)
def test_a_malformed_url_is_one_line_with_the_encoding_hint(url):
    with pytest.raises(ConfigError) as caught:
        database_from_url("DATABASE_URL", url)
    error = caught.value
    assert str(error).startswith("DATABASE_URL: ") and "\n" not in str(error)
    assert "Percent-encode" in error.hint and "%2F" in error.hint
    assert SECRET not in str(error) + error.hint


@pytest.mark.parametrize(
    ("url", "host", "password"),
    [
        ("postgres://app:pa%2Fss%40w%23rd@db.example.com:5432/site", "db.example.com", "pa/ss@w#rd"),
        ("postgres://app@db.example.com/site", "db.example.com", ""),
        ("sqlite:////data/a@b.sqlite3", "", ""),  # a path, no credentials: an @ is a file name's
    ],
)
def test_a_well_formed_url_is_read(url, host, password):
    config = database_from_url("DATABASE_URL", url)
    assert config["HOST"] == host and config["PASSWORD"] == password


def test_unknown_scheme():
    with pytest.raises(ConfigError, match="unknown database scheme 'mongodb'"):
        database_from_url("DATABASE_URL", "mongodb://u:p@h/db")


@pytest.mark.parametrize("args", [["check"], ["resetuser", "anna", "--json"]])
def test_a_process_stops_with_exit_3_and_no_secret(args):
    result = manage(*args, env={"DATABASE_URL": f"postgres://app:{SECRET}/x@127.0.0.1:5432/site"})
    assert result.returncode == 3
    assert result.stderr.startswith("Configuration error: DATABASE_URL: the login or password holds an unencoded")
    assert "Hint: Percent-encode" in result.stderr and "Traceback" not in result.stderr
    assert SECRET not in result.stdout + result.stderr
    if "--json" in args:
        assert '"code": 3' in result.stdout


def test_git_ignores_the_files_sqlite_writes_beside_the_database():
    """WAL mode (core/settings.py) keeps db.sqlite3-wal and db.sqlite3-shm beside the file while the site runs."""
    names = ["db.sqlite3", "db.sqlite3-wal", "db.sqlite3-shm"]
    result = subprocess.run(["git", "check-ignore", *names], cwd=ROOT, capture_output=True, text=True)
    assert result.stdout.split() == names
