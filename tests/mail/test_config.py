"""The environment → MAILERS mapping, as a table."""

from pathlib import Path

import pytest

from core.env import Env
from core.mail.config import (
    OUTBOX_BACKEND,
    SMTP_BACKEND,
    ConfigError,
    addresses,
    default_from_email,
    ignored_variables,
    mailers_from_env,
    parse_site_url,
)

BASE = Path("/srv/project")
CONSOLE = "django.core.mail.backends.console.EmailBackend"
FILE = "django.core.mail.backends.filebased.EmailBackend"
MEMORY = "django.core.mail.backends.locmem.EmailBackend"
DUMMY = "django.core.mail.backends.dummy.EmailBackend"


def smtp(host, port, *, user="", password="", ssl=False, tls=False, timeout=10.0, **extra):
    return {
        "BACKEND": SMTP_BACKEND,
        "OPTIONS": {
            "host": host,
            "port": port,
            "username": user,
            "password": password,
            "use_ssl": ssl,
            "use_tls": tls,
            "timeout": timeout,
            **extra,
        },
    }


def default_of(env):
    return mailers_from_env(Env(env), BASE)["default"]


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            {}, {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": "/srv/project/sent_emails"}}, id="nothing"
        ),
        # EMAIL_URL, every scheme
        pytest.param({"EMAIL_URL": "smtp://mail.example.com"}, smtp("mail.example.com", 25), id="smtp"),
        pytest.param(
            {"EMAIL_URL": "smtp+tls://u%40gmail.com:app@smtp.gmail.com:587"},
            smtp("smtp.gmail.com", 587, user="u@gmail.com", password="app", tls=True),
            id="smtp+tls",
        ),
        pytest.param(
            {"EMAIL_URL": "smtps://u:p@smtp.example.com"},
            smtp("smtp.example.com", 587, user="u", password="p", tls=True),
            id="smtps-is-starttls-as-in-django-environ",
        ),
        pytest.param(
            {"EMAIL_URL": "smtp+ssl://me%40yandex.ru:app-pass@smtp.yandex.ru:465"},
            smtp("smtp.yandex.ru", 465, user="me@yandex.ru", password="app-pass", ssl=True),
            id="smtp+ssl-yandex",
        ),
        pytest.param(
            {"EMAIL_URL": "smtp+ssl://smtp.mail.ru"}, smtp("smtp.mail.ru", 465, ssl=True), id="ssl-default-port"
        ),
        pytest.param({"EMAIL_URL": "consolemail://"}, {"BACKEND": CONSOLE, "OPTIONS": {}}, id="console"),
        pytest.param({"EMAIL_URL": "memorymail://"}, {"BACKEND": MEMORY, "OPTIONS": {}}, id="memory"),
        pytest.param({"EMAIL_URL": "dummymail://"}, {"BACKEND": DUMMY, "OPTIONS": {}}, id="dummy"),
        pytest.param(
            {"EMAIL_URL": "filemail:///var/mail/out"},
            {"BACKEND": FILE, "OPTIONS": {"file_path": "/var/mail/out"}},
            id="filemail-absolute",
        ),
        pytest.param(
            {"EMAIL_URL": "filemail://mail/out"},
            {"BACKEND": FILE, "OPTIONS": {"file_path": "/srv/project/mail/out"}},
            id="filemail-relative",
        ),
        pytest.param(
            {"EMAIL_URL": "outbox://"},
            {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": "/srv/project/sent_emails"}},
            id="outbox-default-folder",
        ),
        pytest.param(
            {"EMAIL_URL": "outbox:///tmp/box"},
            {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": "/tmp/box"}},
            id="outbox-absolute",
        ),
        pytest.param(
            {"EMAIL_URL": "smtp://localhost:1025?timeout=3&ssl_certfile=/c.pem&ssl_keyfile=/k.pem"},
            smtp("localhost", 1025, timeout=3.0, ssl_certfile="/c.pem", ssl_keyfile="/k.pem"),
            id="url-options",
        ),
        # the separate variables
        pytest.param(
            {
                "EMAIL_HOST": "smtp.yandex.ru",
                "EMAIL_PORT": "465",
                "EMAIL_USE_SSL": "True",
                "EMAIL_HOST_USER": "me@yandex.ru",
                "EMAIL_HOST_PASSWORD": "app-pass",
            },
            smtp("smtp.yandex.ru", 465, user="me@yandex.ru", password="app-pass", ssl=True),
            id="variables-yandex",
        ),
        pytest.param(
            {"EMAIL_HOST": "smtp.gmail.com", "EMAIL_USE_TLS": "yes"},
            smtp("smtp.gmail.com", 587, tls=True),
            id="variables-tls-default-port",
        ),
        pytest.param(
            {"EMAIL_HOST": "localhost", "EMAIL_PORT": "1025", "EMAIL_TIMEOUT": "2.5"},
            smtp("localhost", 1025, timeout=2.5),
            id="variables-timeout",
        ),
        # EMAIL_BACKEND and EMAIL_FILE_PATH, the lessons' dotted paths
        pytest.param(
            {"EMAIL_BACKEND": FILE, "EMAIL_FILE_PATH": "sent_emails"},
            {"BACKEND": FILE, "OPTIONS": {"file_path": "/srv/project/sent_emails"}},
            id="backend-filebased-lesson",
        ),
        pytest.param(
            {"EMAIL_BACKEND": FILE},
            {"BACKEND": FILE, "OPTIONS": {"file_path": "/srv/project/sent_emails"}},
            id="backend-filebased-default-folder",
        ),
        pytest.param(
            {"EMAIL_BACKEND": FILE, "EMAIL_FILE_PATH": "/var/mail/out", "EMAIL_HOST": "smtp.yandex.ru"},
            {"BACKEND": FILE, "OPTIONS": {"file_path": "/var/mail/out"}},
            id="backend-filebased-ignores-smtp-variables",
        ),
        pytest.param(
            {"EMAIL_BACKEND": OUTBOX_BACKEND, "EMAIL_FILE_PATH": "box"},
            {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": "/srv/project/box"}},
            id="backend-outbox",
        ),
        pytest.param(  # its path before it moved into the outbox app, in an .env written then
            {"EMAIL_BACKEND": "core.mail.backends.EmailBackend", "EMAIL_FILE_PATH": "box"},
            {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": "/srv/project/box"}},
            id="backend-outbox-old-path",
        ),
        pytest.param(
            {"EMAIL_FILE_PATH": "box"},
            {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": "/srv/project/box"}},
            id="file-path-alone-is-the-outbox",
        ),
        pytest.param({"EMAIL_BACKEND": CONSOLE}, {"BACKEND": CONSOLE, "OPTIONS": {}}, id="backend-console"),
        pytest.param({"EMAIL_BACKEND": MEMORY}, {"BACKEND": MEMORY, "OPTIONS": {}}, id="backend-locmem"),
        pytest.param(
            {"EMAIL_BACKEND": DUMMY, "EMAIL_FILE_PATH": "box"}, {"BACKEND": DUMMY, "OPTIONS": {}}, id="backend-dummy"
        ),
        pytest.param(
            {
                "EMAIL_BACKEND": SMTP_BACKEND,
                "EMAIL_HOST": "smtp.yandex.ru",
                "EMAIL_PORT": "465",
                "EMAIL_USE_SSL": "True",
                "EMAIL_HOST_USER": "me@yandex.ru",
                "EMAIL_HOST_PASSWORD": "app-pass",
                "EMAIL_FILE_PATH": "sent_emails",  # left from the first lesson: not read by SMTP
            },
            smtp("smtp.yandex.ru", 465, user="me@yandex.ru", password="app-pass", ssl=True),
            id="backend-smtp-lesson",
        ),
        # precedence
        pytest.param(
            {"EMAIL_URL": "consolemail://", "EMAIL_BACKEND": FILE, "EMAIL_FILE_PATH": "box"},
            {"BACKEND": CONSOLE, "OPTIONS": {}},
            id="url-wins-over-email-backend",
        ),
        pytest.param(
            {"EMAIL_URL": "smtp://url.example.com:2525", "EMAIL_HOST": "var.example.com", "EMAIL_PORT": "25"},
            smtp("url.example.com", 2525),
            id="url-wins-over-variables",
        ),
        pytest.param(
            {"EMAIL_URL": "smtp://h", "EMAIL_TIMEOUT": "4"}, smtp("h", 25, timeout=4.0), id="timeout-applies-to-url"
        ),
        pytest.param(
            {"EMAIL_URL": "smtp://h?timeout=7", "EMAIL_TIMEOUT": "4"},
            smtp("h", 25, timeout=7.0),
            id="url-timeout-wins",
        ),
    ],
)
def test_environment_maps_onto_mailers(env, expected):
    assert default_of(env) == expected


# A password with every awkward character, in both forms.
AWKWARD = "p@ss:w/o#r%d with spaces"


def test_password_with_special_characters_in_url_form_when_percent_encoded():
    url = "smtp+ssl://me%40yandex.ru:p%40ss%3Aw%2Fo%23r%25d%20with%20spaces@smtp.yandex.ru:465"
    assert default_of({"EMAIL_URL": url})["OPTIONS"]["password"] == AWKWARD


def test_password_with_special_characters_in_variable_form_taken_as_is():
    env = {"EMAIL_HOST": "smtp.yandex.ru", "EMAIL_HOST_PASSWORD": AWKWARD}
    assert default_of(env)["OPTIONS"]["password"] == AWKWARD


def test_timeout_is_always_set():
    assert default_of({"EMAIL_HOST": "h"})["OPTIONS"]["timeout"] == 10.0
    assert default_of({"EMAIL_URL": "smtp://h"})["OPTIONS"]["timeout"] == 10.0


def test_file_path_relative_to_the_base_dir_not_the_working_directory(tmp_path):
    mailers = mailers_from_env(Env({"EMAIL_URL": "outbox://box"}), tmp_path)
    assert mailers["default"]["OPTIONS"]["file_path"] == str(tmp_path / "box")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"EMAIL_URL": "smpt://h"}, "EMAIL_URL: unknown scheme smpt://"),
        ({"EMAIL_URL": "h:25"}, "EMAIL_URL: unknown scheme h://"),
        ({"EMAIL_URL": "smtp://u:secret@h:abc"}, "EMAIL_URL: the port 'abc' is not a number"),
        ({"EMAIL_URL": "smtp://h:99999"}, "EMAIL_URL: the port '99999' is not a number between 1 and 65535"),
        ({"EMAIL_URL": "smtp://"}, "EMAIL_URL: no host in the URL"),
        ({"EMAIL_URL": "smtp+ssl://h?use_tls=1"}, "EMAIL_URL: SSL and STARTTLS are both on"),
        ({"EMAIL_URL": "smtp://h?tiemout=3"}, "EMAIL_URL: unknown option 'tiemout'"),
        ({"EMAIL_URL": "smtp://h?timeout=soon"}, "EMAIL_URL ?timeout: 'soon' is not a number of seconds"),
        ({"EMAIL_HOST": "h", "EMAIL_PORT": "smtp"}, "EMAIL_PORT: the port 'smtp' is not a number"),
        ({"EMAIL_HOST": "h", "EMAIL_PORT": "0"}, "EMAIL_PORT: the port 0 is not between 1 and 65535"),
        (
            {"EMAIL_HOST": "h", "EMAIL_USE_SSL": "1", "EMAIL_USE_TLS": "1"},
            "EMAIL_USE_SSL/EMAIL_USE_TLS: SSL and STARTTLS are both on",
        ),
        ({"EMAIL_HOST": "h", "EMAIL_USE_SSL": "maybe"}, "EMAIL_USE_SSL: 'maybe' is not true or false"),
        ({"EMAIL_HOST_USER": "me@yandex.ru"}, "EMAIL_HOST_USER: set, but EMAIL_HOST is not"),
        (
            {"EMAIL_BACKEND": "django.core.mail.backends.smtp"},
            "EMAIL_BACKEND: unknown backend 'django.core.mail.backends.smtp'",
        ),
        ({"EMAIL_BACKEND": SMTP_BACKEND}, "EMAIL_BACKEND: is the SMTP backend, but EMAIL_HOST is not set"),
        (
            {"EMAIL_BACKEND": FILE, "EMAIL_FILE_PATH": "BASE_DIR / 'sent_emails'"},
            "EMAIL_FILE_PATH: .env is not Python",
        ),
        ({"EMAIL_TIMEOUT": "0"}, "EMAIL_TIMEOUT: '0' is not a number of seconds more than 0"),
        ({"EMAIL_TIMEOUT": "ten"}, "EMAIL_TIMEOUT: 'ten' is not a number of seconds"),
    ],
)
def test_bad_values_name_the_variable(env, message):
    with pytest.raises(ConfigError) as caught:
        mailers_from_env(Env(env), BASE)
    assert str(caught.value).startswith(message)
    assert "secret" not in str(caught.value) and "secret" not in caught.value.hint


def test_unknown_backend_lists_the_accepted_values():
    with pytest.raises(ConfigError) as caught:
        mailers_from_env(Env({"EMAIL_BACKEND": "smtp"}), BASE)
    assert str(caught.value) == "EMAIL_BACKEND: unknown backend 'smtp'"
    assert all(backend in caught.value.hint for backend in (SMTP_BACKEND, FILE, CONSOLE, MEMORY, DUMMY))


def test_smtp_backend_without_a_host_says_what_to_set():
    with pytest.raises(ConfigError) as caught:
        mailers_from_env(Env({"EMAIL_BACKEND": SMTP_BACKEND, "EMAIL_HOST_PASSWORD": "secret"}), BASE)
    assert "Set EMAIL_HOST" in caught.value.hint and "secret" not in caught.value.hint


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("EMAIL_HOST_USER", ".env does not substitute names: DEFAULT_FROM_EMAIL=EMAIL_HOST_USER is the text"),
        ("$EMAIL_HOST_USER", "DEFAULT_FROM_EMAIL=$EMAIL_HOST_USER takes the value of EMAIL_HOST_USER, which is not"),
    ],
)
def test_an_address_that_names_a_variable_gets_a_hint(value, hint):
    with pytest.raises(ConfigError) as caught:
        default_from_email(Env({"DEFAULT_FROM_EMAIL": value}), mailers_from_env(Env({}), BASE))
    assert caught.value.hint.startswith(hint)
    assert caught.value.hint.endswith("or leave it unset to send from the SMTP login")


def test_file_path_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("not a folder")
    with pytest.raises(ConfigError, match=r"^EMAIL_URL: .*notes.txt exists and is not a directory"):
        mailers_from_env(Env({"EMAIL_URL": "filemail://notes.txt"}), tmp_path)


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DEFAULT_FROM_EMAIL": "Сайт <noreply@example.com>"}, "Сайт <noreply@example.com>"),
        ({"EMAIL_URL": "smtp+ssl://me%40yandex.ru:p@smtp.yandex.ru"}, "me@yandex.ru"),
        ({"EMAIL_URL": "smtp://apikey:p@smtp.example.com"}, "webmaster@localhost"),
        ({}, "webmaster@localhost"),
    ],
)
def test_default_from_email_falls_back_to_the_smtp_login_address(env, expected):
    assert default_from_email(Env(env), mailers_from_env(Env(env), BASE)) == expected


LESSON_TWO = {"EMAIL_HOST": "smtp.yandex.ru", "EMAIL_PORT": "465", "EMAIL_USE_SSL": "true", "EMAIL_HOST_USER": "a@b.ru"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        pytest.param(
            {"EMAIL_BACKEND": FILE, "EMAIL_FILE_PATH": "sent_emails", **LESSON_TWO},
            {
                "chosen_by": "EMAIL_BACKEND",
                "variables": ["EMAIL_HOST", "EMAIL_PORT", "EMAIL_USE_SSL", "EMAIL_HOST_USER"],
            },
            id="lesson-1-backend-left-beside-lesson-2",
        ),
        pytest.param(
            {"EMAIL_BACKEND": CONSOLE, "EMAIL_HOST": "h"},
            {"chosen_by": "EMAIL_BACKEND", "variables": ["EMAIL_HOST"]},
            id="console",
        ),
        pytest.param(
            {"EMAIL_URL": "outbox://sent_emails", "EMAIL_HOST": "h"},
            {"chosen_by": "EMAIL_URL", "variables": ["EMAIL_HOST"]},
            id="url-outbox",
        ),
        pytest.param({"EMAIL_BACKEND": SMTP_BACKEND, **LESSON_TWO}, {}, id="smtp-uses-them"),
        pytest.param(LESSON_TWO, {}, id="host-means-smtp"),
        pytest.param({"EMAIL_BACKEND": FILE, "EMAIL_FILE_PATH": "sent_emails"}, {}, id="lesson-1-alone"),
        pytest.param({}, {}, id="nothing"),
    ],
)
def test_smtp_variables_a_file_or_console_backend_overrides_are_named(env, expected):
    assert ignored_variables(Env(env), mailers_from_env(Env(env), BASE)) == expected


def test_address_lists_take_names_and_commas():
    assert addresses('Anna Admin <anna@example.com>, "Doe, John" <j@example.com>, ops@example.com') == [
        "Anna Admin <anna@example.com>",
        '"Doe, John" <j@example.com>',
        "ops@example.com",
    ]
    assert addresses("") == []


def test_address_list_with_a_bad_address_names_it():
    with pytest.raises(ConfigError, match="ADMINS: 'not-an-address' is not a valid email address"):
        Env({"ADMINS": "anna@example.com, not-an-address"}).get("ADMINS", addresses, [])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("https://cinemahub.example", "https://cinemahub.example"), ("http://localhost:8000/", "http://localhost:8000")],
)
def test_site_url(value, expected):
    assert parse_site_url("SITE_URL", value) == expected


@pytest.mark.parametrize("value", ["cinemahub.example", "ftp://x.example", "https://x.example/app", "https://"])
def test_bad_site_url(value):
    with pytest.raises(ConfigError, match="^SITE_URL: "):
        parse_site_url("SITE_URL", value)


# Passwords written into EMAIL_URL without percent-encoding (issue 11): each is
# refused with a hint to encode it, and no text of the credentials is echoed.
MALFORMED_CREDENTIALS = [
    pytest.param("smtp+ssl://anna%40example.com:Sup3r/Secret@smtp.example.com:465", "unencoded /, # or ?", id="slash"),
    pytest.param("smtp+ssl://anna%40example.com:Sup3r#Secret@smtp.example.com:465", "unencoded /, # or ?", id="hash"),
    pytest.param("smtp+ssl://anna%40example.com:12345?TailSecret@smtp.example.com:465", "/, # or ?", id="question"),
    pytest.param("smtp+ssl://me:4651/TailSecret@smtp.example.com:465", "unencoded /, # or ?", id="port-like"),
    pytest.param("smtp+ssl://anna%40example.com:Sup3r[Secret@smtp.example.com:465", "unencoded @, [ or ]", id="open"),
    pytest.param("smtp+ssl://anna%40example.com:Sup3r]Secret@smtp.example.com:465", "unencoded @, [ or ]", id="close"),
    pytest.param("smtp+ssl://anna%40example.com:Sup3r@Secret@smtp.example.com:465", "unencoded @, [ or ]", id="at"),
]


@pytest.mark.parametrize(("url", "problem"), MALFORMED_CREDENTIALS)
def test_unencoded_password_is_refused_with_a_hint_and_never_echoed(url, problem):
    from core.mail.config import mailer_from_url

    with pytest.raises(ConfigError) as caught:
        mailer_from_url(url, BASE, 10.0)
    error = caught.value
    assert problem in error.problem and "Percent-encode" in error.hint and "%2F" in error.hint
    for fragment in ("Sup3r", "Secret", "12345", "4651", "anna", "me:"):
        assert fragment not in str(error) + error.hint


@pytest.mark.parametrize(
    "env",
    [
        pytest.param({"EMAIL_URL": "smtp://anna%40example.com:p%C3%A4sswort@h:25"}, id="url-password"),
        pytest.param({"EMAIL_URL": "smtp://%C3%A4nna:password@h:25"}, id="url-login"),
        pytest.param({"EMAIL_URL": "smtp://anna:pässwort@h:25"}, id="url-unencoded"),
        pytest.param({"EMAIL_HOST": "h", "EMAIL_HOST_USER": "anna", "EMAIL_HOST_PASSWORD": "pässwort"}, id="variables"),
    ],
)
def test_non_ascii_login_or_password_is_a_configuration_error(env):
    with pytest.raises(ConfigError, match="SMTP logins must be ASCII") as caught:
        mailers_from_env(Env(env), BASE)
    assert "ä" not in str(caught.value) and "sswort" not in str(caught.value) + caught.value.hint


def test_unencoded_at_in_the_login_is_still_read():
    expected = smtp("h", 25, user="anna@example.com", password="pw")
    assert default_of({"EMAIL_URL": "smtp://anna@example.com:pw@h:25"}) == expected
