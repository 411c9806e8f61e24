"""The reset guard's variables: a bad value stops start-up with one line naming it, and exit 3."""

import pytest

from core.env import Env
from core.mail.config import ConfigError
from tests.conftest import manage
from users.limits import rates

SECRET = "s3cr3t-marker-Zq9"


@pytest.mark.parametrize(
    ("env", "first_line"),
    [
        ({"CACHE_URL": "nosuch://x"}, "Configuration error: CACHE_URL: unknown cache scheme 'nosuch'"),
        ({"CACHE_URL": "locmemcache://"}, "Configuration error: CACHE_URL: locmemcache:// cannot hold the rate-limit"),
        (
            {"CACHE_URL": "dbcache://cache_table"},
            "Configuration error: CACHE_URL: dbcache:// cannot hold the rate-limit",
        ),
        ({"CACHE_URL": "filecache://manage.py"}, "Configuration error: CACHE_URL: "),
        ({"CACHE_URL": "dummycache://"}, "Configuration error: CACHE_URL: dummycache:// cannot hold the rate-limit"),
        (
            {"CACHE_URL": "pymemcache://127.0.0.1:11211"},
            "Configuration error: CACHE_URL: pymemcache:// cannot hold the rate-limit counters (memcached evicts",
        ),
        ({"CACHE_URL": "127.0.0.1:6379"}, "Configuration error: CACHE_URL: not a URL"),
        (
            {"CACHE_URL": f"redis://:{SECRET}[@127.0.0.1:6379/0"},
            "Configuration error: CACHE_URL: the login or password holds an unencoded @, [ or ]",
        ),
        (
            {"CACHE_URL": f"redis://:{SECRET}/x@127.0.0.1:6379/0"},
            "Configuration error: CACHE_URL: the login or password holds an unencoded /, # or ?",
        ),
        (
            {"CACHE_URL": f"redis://:{SECRET}#x@127.0.0.1:6379/0"},
            "Configuration error: CACHE_URL: the login or password holds an unencoded /, # or ?",
        ),
        ({"CACHE_URL": f"redis://:{SECRET}@127.0.0.1:port/0"}, "Configuration error: CACHE_URL: the redis:// URL"),
        ({"RESET_RATE_PER_CLIENT": "lots"}, "Configuration error: RESET_RATE_PER_CLIENT: 'lots' is not a rate"),
        (
            {"RESET_RATE_PER_ADDRESS": "5/m,10/week"},
            "Configuration error: RESET_RATE_PER_ADDRESS: '10/week' is not a rate",
        ),
        ({"RESET_RATE_PER_ADDRESS": " , "}, "Configuration error: RESET_RATE_PER_ADDRESS: no rate given"),
        ({"LOGIN_RATE_PER_CLIENT": "ten"}, "Configuration error: LOGIN_RATE_PER_CLIENT: 'ten' is not a rate"),
        ({"LOGIN_RATE_PER_USERNAME": "0/m"}, "Configuration error: LOGIN_RATE_PER_USERNAME: '0/m' is not a rate"),
        ({"TRUSTED_PROXY_COUNT": "one"}, "Configuration error: TRUSTED_PROXY_COUNT: 'one' is not a whole number"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "Configuration error: TRUSTED_PROXY_COUNT: must be 0 or more"),
        ({"MAIL_SEND_ATTEMPTS": "0"}, "Configuration error: MAIL_SEND_ATTEMPTS: must be 1 or more"),
        ({"MAIL_RETRY_DELAY": "soon"}, "Configuration error: MAIL_RETRY_DELAY: 'soon' is not a number of seconds"),
        ({"RESET_SEND_ATTEMPTS": "0"}, "Configuration error: RESET_SEND_ATTEMPTS: must be 1 or more"),  # the old name
        (
            {"MAIL_WORKER_TIMEOUT": "30", "RESET_WORKER_TIMEOUT": "90"},
            "Configuration error: MAIL_WORKER_TIMEOUT: set to '30', and its old name RESET_WORKER_TIMEOUT to '90'",
        ),
        (
            {"ADMINS_EMAIL_URL": f"smtp://ops:{SECRET}@h:port"},
            "Configuration error: ADMINS_EMAIL_URL: the port 'port' is not a number",
        ),
    ],
)
def test_bad_value_stops_start_up_with_one_line_and_exit_3(env, first_line):
    result = manage("check", env=env)
    assert (result.returncode, result.stdout) == (3, "")
    lines = result.stderr.splitlines()
    assert lines[0].startswith(first_line)
    assert len(lines) <= 2 and all(line.startswith("Hint: ") for line in lines[1:])
    assert SECRET not in result.stderr


def test_good_values_start(tmp_path):
    result = manage(
        "check",
        env={
            "CACHE_URL": f"diskcache://{tmp_path}",
            "RESET_RATE_PER_CLIENT": "100/5m",
            "RESET_RATE_PER_ADDRESS": "3/m, 6/h, 10/d",
            "TRUSTED_PROXY_COUNT": "1",
            "LOGIN_RATE_PER_CLIENT": "20/m,100/h",
            "LOGIN_RATE_PER_USERNAME": "3/15m",
            "MAIL_SEND_ATTEMPTS": "3",
            "MAIL_RETRY_DELAY": "0.5",
            "MAIL_WORKER_TIMEOUT": "20",
            "ADMINS_EMAIL_URL": "outbox://sent_emails/admins",
        },
    )
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("url", ["", "filecache://{tmp}", "redis://:p%5Bw@127.0.0.1:6379/1", "rediss://h:6380/0"])
def test_counter_stores_that_lose_nothing_start(url, tmp_path):
    result = manage("check", env={"CACHE_URL": url.format(tmp=tmp_path)})
    assert (result.returncode, result.stderr) == (0, "")


def test_values_read_from_the_environment():
    env = Env({"R": "5/m, 10/h", "N": " 2 ", "S": "0", "BAD_S": "-1", "BAD_R": "0/m", "EMPTY": " "})
    assert env.get("R", rates, ["1/d"]) == ["5/m", "10/h"]
    assert env.get("EMPTY", rates, ["1/d"]) == ["1/d"]  # empty is unset: the default
    assert env.int("N", 7, minimum=0) == 2
    assert env.seconds("S", 30.0) == 0
    with pytest.raises(ConfigError, match=r"BAD_S: '-1' is not a number of seconds \(0 or more\)"):
        env.seconds("BAD_S", 30.0)
    with pytest.raises(ConfigError, match="BAD_R: '0/m' is not a rate"):
        env.get("BAD_R", rates, ["1/d"])
