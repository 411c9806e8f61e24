"""The mail queue's variables say mail (MAIL_*), and their old names (RESET_*) keep working with a warning.

As real processes: the values the settings hold, ``check``'s warning naming the new name, and both
names set differently being a configuration error (exit 3).
"""

import json

import pytest

from core.env import RENAMED, Env
from core.mail.config import ConfigError
from tests.conftest import manage

SHOW = (
    "import json; from django.conf import settings; "
    "print(json.dumps([settings.MAIL_SEND_ATTEMPTS, settings.MAIL_RETRY_DELAY, settings.MAIL_WORKER_TIMEOUT]))"
)


def settings_seen(env: dict) -> list:
    result = manage("shell", "--no-imports", "-c", SHOW, env=env)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
    return json.loads(result.stdout)


def test_defaults_cover_an_hour_of_outage_and_a_minute_of_silence():
    assert settings_seen({}) == [8, 30.0, 60.0]


def test_the_mail_names_set_the_queue_and_check_is_silent():
    env = {"MAIL_SEND_ATTEMPTS": "3", "MAIL_RETRY_DELAY": "0.5", "MAIL_WORKER_TIMEOUT": "20"}
    assert settings_seen(env) == [3, 0.5, 20.0]
    result = manage("check", env=env)
    assert (result.returncode, result.stderr) == (0, "")


def test_the_old_reset_names_still_work():
    env = {"RESET_SEND_ATTEMPTS": "3", "RESET_RETRY_DELAY": "0.5", "RESET_WORKER_TIMEOUT": "20"}
    assert settings_seen(env) == [3, 0.5, 20.0]


@pytest.mark.parametrize(("new", "old"), RENAMED.items())
def test_check_warns_once_naming_the_new_name(new, old):
    result = manage("check", env={old: "5"})
    assert result.returncode == 0
    [warning] = [line for line in result.stderr.splitlines() if "core.W001" in line]
    assert warning == (
        f"?: (core.W001) {old} is deprecated: rename it to {new} in .env or the environment (the old name still works)."
    )
    assert "HINT" not in result.stderr and "Traceback" not in result.stderr


def test_check_warns_in_the_site_language():
    result = manage("check", env={"RESET_RETRY_DELAY": "5", "LANGUAGE_CODE": "ru"})
    assert result.returncode == 0
    assert "(core.W001) Переменная RESET_RETRY_DELAY устарела: переименуйте её в MAIL_RETRY_DELAY" in result.stderr


def test_both_names_with_different_values_stop_start_up_naming_both():
    result = manage("check", env={"MAIL_SEND_ATTEMPTS": "3", "RESET_SEND_ATTEMPTS": "8"})
    assert (result.returncode, result.stdout) == (3, "")
    assert result.stderr.splitlines() == [
        "Configuration error: MAIL_SEND_ATTEMPTS: set to '3', and its old name RESET_SEND_ATTEMPTS to '8'",
        "Hint: Delete the RESET_SEND_ATTEMPTS line and keep MAIL_SEND_ATTEMPTS",
    ]


def test_both_names_with_the_same_value_start_with_the_warning():
    assert settings_seen({"MAIL_RETRY_DELAY": "30", "RESET_RETRY_DELAY": "30.0"})[1] == 30.0
    result = manage("check", env={"MAIL_RETRY_DELAY": "30", "RESET_RETRY_DELAY": "30.0"})
    assert result.returncode == 0 and "(core.W001) RESET_RETRY_DELAY" in result.stderr


def test_renamed_variables_read_from_any_environment():
    env = Env({"RESET_SEND_ATTEMPTS": "4", "MAIL_RETRY_DELAY": "2", "RESET_WORKER_TIMEOUT": "x"})
    assert env.int("MAIL_SEND_ATTEMPTS", 8, minimum=1) == 4
    assert env.seconds("MAIL_RETRY_DELAY", 30.0) == 2
    assert env.renamed() == {"RESET_SEND_ATTEMPTS": "MAIL_SEND_ATTEMPTS", "RESET_WORKER_TIMEOUT": "MAIL_WORKER_TIMEOUT"}
    with pytest.raises(ConfigError, match=r"^RESET_WORKER_TIMEOUT: 'x' is not a number of seconds"):
        env.seconds("MAIL_WORKER_TIMEOUT", 60.0)  # a bad value names the variable it was read from
