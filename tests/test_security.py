"""No report shows a URL's credentials or SECRET_KEY: the debug page, the error mail, diffsettings.

The server is ``manage.py runserver`` as a person runs it, with the secrets in
its environment (runserver copies the environment into every request's META),
and a page that fails: ``/crash/`` exists only in tests/crash_urls.py.
"""

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from urllib.parse import quote

import pytest
import requests
from django.views.debug import ExceptionReporter

from core.security import MASK, mask_text
from tests.conftest import ROOT, manage
from tests.smtp_servers import free_port, smtp_server

SMTP_PASSWORD = "TopSecretPw123"
ADMINS_PASSWORD = "AdminsSecret456"
OTHER_PASSWORD = "ServiceSecret789"
SECRET_KEY = "the-site-secret-key-" + "k" * 40
SECRETS = (SMTP_PASSWORD, ADMINS_PASSWORD, OTHER_PASSWORD, SECRET_KEY, "k" * 40)


def secret_environment(smtp_host: str, smtp_port: int, tmp_path) -> dict:
    login = quote("anna@example.com", safe="")
    return {
        "PATH": "",
        "DJANGO_ENV_FILE": "",
        "DJANGO_SETTINGS_MODULE": "tests.crash_settings",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        "ADMINS": "ops@example.com",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": f"filecache://{tmp_path / 'cache'}",
        "EMAIL_URL": f"smtp://{login}:{SMTP_PASSWORD}@{smtp_host}:{smtp_port}",
        "ADMINS_EMAIL_URL": f"smtp://ops:{ADMINS_PASSWORD}@{smtp_host}:{smtp_port}",
        # Any other URL with credentials, under a name Django's filter does not know.
        "BACKUP_TARGET": f"https://backup:{OTHER_PASSWORD}@127.0.0.1:9/store",
        "A_COPY_OF_THE_KEY": SECRET_KEY,
    }


@contextmanager
def running_server(env: dict):
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None:
                    pytest.fail(f"runserver stopped: {process.stderr.read()}")
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=10)


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_debug_page_hides_every_url_password_and_the_secret_key(tmp_path):
    with smtp_server(logins={"anna@example.com": SMTP_PASSWORD}) as server:
        env = {**secret_environment(server.host, server.port, tmp_path), "DEBUG": "true"}
        with running_server(env) as (url, process):
            page = requests.get(f"{url}/crash/", timeout=30)
            plain = requests.get(f"{url}/crash/", headers={"Accept": "text/plain"}, timeout=30)
        stderr = process.stderr.read()
    assert page.status_code == 500
    assert "the test page failed on purpose" in page.text  # it is the debug page
    assert "BACKUP_TARGET" in page.text and "EMAIL_URL" in page.text  # the variables are listed ...
    assert f"smtp://{MASK}@{server.host}:{server.port}" in page.text  # ... with their credentials hidden
    assert_no_secret(page.text)
    assert_no_secret(plain.text)
    assert_no_secret(stderr)


def test_error_mail_to_admins_hides_every_url_password_and_the_secret_key(tmp_path):
    with smtp_server(logins={"anna@example.com": SMTP_PASSWORD}) as server:
        env = {**secret_environment(server.host, server.port, tmp_path), "DEBUG": "false"}
        with running_server(env) as (url, process):
            page = requests.get(f"{url}/crash/", timeout=30)
            for _ in range(200):  # the mail is sent before the response, but the server may lag
                if server.messages:
                    break
                time.sleep(0.05)
        stderr = process.stderr.read()
    assert page.status_code == 500
    assert_no_secret(page.text)
    [received] = server.messages
    mail = received.message()
    body = mail.get_body(("plain",)).get_content()
    assert mail["To"] == "ops@example.com"
    assert "the test page failed on purpose" in body  # it is the error report
    assert "EMAIL_URL" in body and "BACKUP_TARGET" in body
    assert_no_secret(body)
    assert_no_secret(received.data.decode(errors="replace"))
    assert_no_secret(stderr)


def report_html(request) -> str:
    """The debug page of a failure (its source lines hold no secret: they are shown)."""
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        return ExceptionReporter(request, *sys.exc_info()).get_traceback_html()


def test_nested_settings_are_cleansed_by_value(settings, rf):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://:CachePw1@h:6379/0"}
    }
    settings.OTHER_DATABASES = {"other": {"NAME": "x", "URL": "postgres://u:DbPw2@h/x"}}
    settings.SOME_LIST = ["amqp://guest:QueuePw3@h//", ("ftp://a:FtpPw4@h",)]
    html = report_html(rf.get("/"))
    for secret in ("CachePw1", "DbPw2", "QueuePw3", "FtpPw4", settings.SECRET_KEY):
        assert secret not in html
    assert f"redis://{MASK}@h:6379/0" in html


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("smtp://anna%40example.com:pw@host:465", f"smtp://{MASK}@host:465"),
        ("smtp://me:4651/TailSecret@host", f"smtp://{MASK}@host"),  # an unencoded / in the password
        ("smtp://me:a#b?c@d@host:25", f"smtp://{MASK}@host:25"),
        ("redis://:pw@h:6379/0 and postgres://u:p@db/x", f"redis://{MASK}@h:6379/0 and postgres://{MASK}@db/x"),
        ("https://example.com/a?b=c", "https://example.com/a?b=c"),
        ("anna@example.com", "anna@example.com"),
    ],
)
def test_url_credentials_are_masked(text, shown):
    assert mask_text(text) == shown


def test_diffsettings_shows_stars_for_every_secret(tmp_path):
    env = {
        "SECRET_KEY": SECRET_KEY,
        "DEBUG": "false",
        "EMAIL_URL": f"smtp://anna%40example.com:{SMTP_PASSWORD}@127.0.0.1:2525",
        "ADMINS_EMAIL_URL": f"smtp://ops:{ADMINS_PASSWORD}@127.0.0.1:2525",
        "CACHE_URL": f"filecache://{tmp_path}",
    }
    for output in ("hash", "unified"):
        result = manage("diffsettings", "--output", output, env=env)
        assert result.returncode == 0, result.stderr
        assert "MAILERS" in result.stdout and "'password': '********'" in result.stdout
        assert f"SECRET_KEY = '{MASK}'" in result.stdout
        assert_no_secret(result.stdout + result.stderr)
    # Settings that only look like secrets by name are not reported as changed.
    assert "PASSWORD_RESET_TIMEOUT" not in manage("diffsettings", env=env).stdout


REDIS_PASSWORD = "RedisSecret321"


@pytest.mark.parametrize("debug", ["true", "false"])
def test_an_exception_quoting_a_url_hides_its_credentials(tmp_path, debug):
    """The exception's own text: on the debug page, in the error mail and in the log on stderr."""
    with smtp_server(logins={"anna@example.com": SMTP_PASSWORD}) as server:
        env = {
            **secret_environment(server.host, server.port, tmp_path),
            "DEBUG": debug,
            "CRASH_URL": f"redis://:{REDIS_PASSWORD}@127.0.0.1:6379/0",
        }
        with running_server(env) as (url, process):
            page = requests.get(f"{url}/crash-url/", timeout=30)
            plain = requests.get(f"{url}/crash-url/", headers={"Accept": "text/plain"}, timeout=30)
            for _ in range(200):  # the mail is sent before the response, but the server may lag
                if debug == "true" or len(server.messages) >= 2:
                    break
                time.sleep(0.05)
        stderr = process.stderr.read()
    assert page.status_code == 500
    shown = f"Error connecting to redis://{MASK}@127.0.0.1:6379/0: connection refused."
    reports = [stderr]
    if debug == "true":
        assert shown in page.text and shown in plain.text  # the message is there, its password is not
        reports += [page.text, plain.text]
    else:
        bodies = [received.message().get_body(("plain",)).get_content() for received in server.messages]
        crash_reports = [body for body in bodies if "ConnectionError at /crash-url/" in body]  # (and runserver's)
        assert crash_reports and all(shown in body for body in crash_reports)
        reports += [received.data.decode(errors="replace") for received in server.messages]
    assert "ConnectionError" in stderr  # the traceback is logged ...
    for report in reports:  # ... and no report holds the password
        assert REDIS_PASSWORD not in report
        assert_no_secret(report)
