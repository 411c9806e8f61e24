"""No report shows a URL's credentials or SECRET_KEY: the debug page, the error mail, diffsettings.

The server is ``manage.py runserver`` as a person runs it, with the secrets in
its environment (runserver copies the environment into every request's META),
and a page that fails: ``/crash/`` exists only in tests/crash_urls.py.
"""

import html
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.views.debug import ExceptionReporter

from core.security import MASK, mask_text
from tests.conftest import REDIS_PASSWORD, ROOT, manage
from testsupport.smtp_servers import free_port, smtp_server

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
def running_server(env: dict, *, gunicorn: bool = False):
    """``manage.py runserver``, or gunicorn (which, unlike runserver, starts without a database)."""
    port = free_port()
    if gunicorn:
        command = [str(Path(sys.executable).with_name("gunicorn")), "core.wsgi:application", f"--bind=127.0.0.1:{port}"]
    else:
        command = [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"]
    process = subprocess.Popen(
        command,
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


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("password=Pg/S3cret#x dbname=cinema", f"password={MASK} dbname=cinema"),  # psycopg's conninfo
        ("Pg%2FS3cret%23x, Pg%2fS3cret%23x, Pg/S3cret%23x", f"{MASK}, {MASK}, {MASK}"),  # encoded, any case or mix
        ("'Gm ail\\tapp pw' Gm+ail%09app+pw", f"'{MASK}' {MASK}"),  # a repr's \t; + for a space
        ("auth_args=['default', 'pw'] pwd pw2 refused", f"auth_args=['default', '{MASK}'] pwd pw2 refused"),
        ("'e' refused example", f"'{MASK}' refused example"),  # short: only a word of its own
    ],
)
def test_configured_passwords_are_masked_by_value_in_every_form(settings, text, shown):
    settings.MAILERS = {
        "default": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"password": "Pg/S3cret#x"}},
        "other": {"BACKEND": "django.core.mail.backends.smtp.EmailBackend", "OPTIONS": {"password": "Gm ail\tapp pw"}},
    }
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://:pw@h/0"}
    }
    settings.SECRET_KEY_FALLBACKS = ["e"]
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


CRASH_URL_PASSWORD = "RedisSecret321"


@pytest.mark.parametrize("debug", ["true", "false"])
def test_an_exception_quoting_a_url_hides_its_credentials(tmp_path, debug):
    """The exception's own text: on the debug page, in the error mail and in the log on stderr."""
    with smtp_server(logins={"anna@example.com": SMTP_PASSWORD}) as server:
        env = {
            **secret_environment(server.host, server.port, tmp_path),
            "DEBUG": debug,
            "CRASH_URL": f"redis://:{CRASH_URL_PASSWORD}@127.0.0.1:6379/0",
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
        assert CRASH_URL_PASSWORD not in report
        assert_no_secret(report)


# ---------------------------------------------------------------- configured credentials, by value (issue 23)
# A database or Redis client quotes its password in its own words (psycopg's conninfo
# "... password=Pg/S3cret#x ...", redis-py's auth_args ('pw',)), in frame variables and
# in exception text: no URL shape to find. Every password the settings hold is hidden
# by its value, decoded and percent-encoded.

DATABASE_PASSWORD = "Pg/S3cret#x"


def forms(password: str) -> set[str]:
    """How a password can be written: as it is, percent-encoded, escaped for HTML or in a repr."""
    return {password, quote(password, safe=""), html.escape(password), repr(password)[1:-1]}


def assert_never_shown(password: str, reports: list[str]) -> None:
    for report in reports:
        for form in forms(password):
            assert form not in report
        assert_no_secret(report)


def reports_of_a_failing_reset(env: dict, server, *, gunicorn: bool = False) -> list[str]:
    """Post the reset form to a site that fails: the page (HTML and text) or the error mail to ADMINS, and the log."""
    with running_server(env, gunicorn=gunicorn) as (url, process):
        form = requests.get(f"{url}/users/password_reset/", timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)
        pages = [
            requests.post(
                f"{url}/users/password_reset/",
                data={"csrfmiddlewaretoken": token, "email": "anna@example.com"},
                cookies={"csrftoken": form.cookies["csrftoken"]},  # a Secure cookie with DEBUG off: sent by hand
                headers={"Accept": accept},
                timeout=30,
            )
            for accept in ("text/html", "text/plain")
        ]
        if env["DEBUG"] == "false":
            assert server.wait_for("saved", timeout=30)  # the mail is sent before the response; the server may lag
    stderr = process.stderr.read()
    assert [page.status_code for page in pages] == [500, 500]
    reports = [stderr, *(page.text for page in pages)]
    if env["DEBUG"] == "true":
        return reports
    for received in server.messages:
        mail = received.message()
        assert mail["To"] == "ops@example.com"
        reports += [received.data.decode(errors="replace")]
        reports += [part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"]
    return reports


def failure_shown(reports: list[str], *words: str) -> None:
    """The failure is reported (page or mail) with the words that name it: the masking hid no more than secrets."""
    assert any(all(word in report for word in words) for report in reports[1:])


@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_database_password_is_hidden_when_the_database_cannot_be_reached(tmp_path, debug):
    closed = free_port()  # nothing listens there: psycopg fails, quoting its conninfo
    with smtp_server(logins={"anna@example.com": SMTP_PASSWORD}) as server:
        env = {
            **secret_environment(server.host, server.port, tmp_path),
            "DEBUG": debug,
            "DATABASE_URL": f"postgres://dbuser:{quote(DATABASE_PASSWORD, safe='')}@127.0.0.1:{closed}/cinema",
        }
        reports = reports_of_a_failing_reset(env, server, gunicorn=True)
    failure_shown(reports, "OperationalError")
    if debug == "true":  # the page shows each frame's variables (the text report and the mail do not)
        failure_shown(reports, "conninfo", f"password={MASK}")
    assert_never_shown(DATABASE_PASSWORD, reports)


@pytest.mark.parametrize(
    ("password", "db", "debug", "error"),
    [
        (REDIS_PASSWORD, 99, "true", "DB index is out of range"),  # the right password, a database that is not
        (REDIS_PASSWORD, 99, "false", "DB index is out of range"),
        ("Wrong/Pass#1", 0, "true", "AuthenticationError"),
        ("pw", 0, "true", "AuthenticationError"),  # short: hidden where it stands as a word of its own
    ],
)
def test_a_redis_password_is_hidden_whether_right_or_wrong(tmp_path, redis_with_password, password, db, debug, error):
    with smtp_server(logins={"anna@example.com": SMTP_PASSWORD}) as server:
        env = {
            **secret_environment(server.host, server.port, tmp_path),
            "DEBUG": debug,
            "CACHE_URL": redis_with_password.url(db, password=password),
        }
        reports = reports_of_a_failing_reset(env, server)
    failure_shown(reports, error)
    if debug == "true":
        failure_shown(reports, "auth_args", html.escape(f"{MASK!r}]"))  # redis-py: [user, password]
    if len(password) < 8:
        for report in reports:
            assert f"'{password}'" not in report and f"={password} " not in report and f":{password}@" not in report
        assert_no_secret("".join(reports))
    else:
        assert_never_shown(password, reports)


GMAIL_APP_PASSWORD = "abcd efgh ijkl mnop"  # as Gmail shows it


@pytest.mark.parametrize("variable", ["EMAIL_URL", "ADMINS_EMAIL_URL", "DATABASE_URL", "CACHE_URL"])
@pytest.mark.parametrize("password", [GMAIL_APP_PASSWORD, "abcd\tefgh"])
def test_white_space_in_a_url_password_is_a_configuration_error(variable, password):
    scheme = {"DATABASE_URL": "postgres", "CACHE_URL": "redis"}.get(variable, "smtp+ssl")
    env = {variable: f"{scheme}://you%40gmail.com:{password}@127.0.0.1:465/0", "SECRET_KEY": SECRET_KEY}
    result = manage("check", env=env)
    assert result.returncode == 3
    first, hint = result.stderr.splitlines()
    assert first == (
        f"Configuration error: {variable}: the login or password holds white space (the URL cannot be read as written)"
    )
    assert hint.startswith("Hint: Percent-encode the login and password in the URL: a space as %20, ")
    assert "Gmail shows its app password in groups of four: the spaces may simply be removed" in hint
    for form in forms(password) | set(password.split()):
        assert form not in result.stdout + result.stderr


@pytest.mark.parametrize("password", [GMAIL_APP_PASSWORD, "abcd\tefgh ijkl"])
@pytest.mark.parametrize("debug", ["true", "false"])
def test_a_password_with_spaces_is_hidden_whole(tmp_path, password, debug):
    """EMAIL_HOST_PASSWORD takes it as written; a copy under a name Django's filter does not know is hidden too."""
    with smtp_server(logins={"you@gmail.com": password}) as server:
        env = secret_environment(server.host, server.port, tmp_path)
        del env["EMAIL_URL"]
        env |= {
            "DEBUG": debug,
            "EMAIL_HOST": server.host,
            "EMAIL_PORT": str(server.port),
            "EMAIL_HOST_USER": "you@gmail.com",
            "EMAIL_HOST_PASSWORD": password,
            "GMAIL_APP_CODE": password,
        }
        with running_server(env) as (url, process):
            pages = [
                requests.get(f"{url}/crash/", headers={"Accept": accept}, timeout=30)
                for accept in ("text/html", "text/plain")
            ]
            if debug == "false":
                assert server.wait_for("saved", timeout=30)
        reports = [process.stderr.read(), *(page.text for page in pages)]
    reports += [received.data.decode(errors="replace") for received in server.messages]
    reports += [received.message().get_body(("plain",)).get_content() for received in server.messages]
    failure_shown(reports, "the test page failed on purpose", "GMAIL_APP_CODE")
    assert_never_shown(password, reports)
