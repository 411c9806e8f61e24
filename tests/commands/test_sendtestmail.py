"""manage.py sendtestmail: through call_command, and as a real process for exit codes and streams."""

import contextlib
import io
import json
import shutil
import time

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from tests.conftest import manage, read_eml, saved_messages
from testsupport.smtp_servers import (
    LOGIN,
    LOGINS,
    PASSWORD,
    RECIPIENT_UNKNOWN,
    REFUSED_RECIPIENT,
    SENDER_NOT_OWNED,
    TOO_LARGE,
    closed_port,
    env_for,
    mailers_for,
    refusal,
    silent_server,
    smtp_server,
)

TO = "anna@example.com"


def sendtestmail(*args, **options) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("sendtestmail", *args, stdout=stdout, stderr=stderr, **options)
    return stdout.getvalue(), stderr.getvalue()


def refused(*args, **options) -> CommandError:
    with pytest.raises(CommandError) as caught:
        sendtestmail(*args, **options)
    return caught.value


# ---------------------------------------------------------------- success, every backend


def test_sends_through_smtp_and_reports_what_a_person_needs(settings, smtp_with_login):
    settings.MAILERS = mailers_for(*smtp_with_login, user=LOGIN, password=PASSWORD)
    stdout, stderr = sendtestmail(TO, "--from", LOGIN, verbosity=3)
    host, port = smtp_with_login
    lines = stdout.splitlines()
    assert lines[0].startswith(f"Sent 1 message through {host}:{port} (no encryption) in ")
    assert f"  mailer      default: SMTP {host}:{port}, no encryption, login {LOGIN}" in lines
    assert f"  from        {LOGIN}" in lines and f"  to          {TO}" in lines
    [received] = smtp_with_login.messages
    assert f"  Message-ID  {received.message()['Message-ID']}" in lines
    assert PASSWORD not in stdout + stderr


def test_json_is_one_document_with_the_same_facts(settings, smtp_with_login):
    settings.MAILERS = mailers_for(*smtp_with_login, user=LOGIN, password=PASSWORD)
    stdout, _ = sendtestmail(TO, "--from", LOGIN, "--count", "3", "--json")
    document = json.loads(stdout)
    assert document["ok"] is True and document["count"] == 3 and document["accepted"] == [TO]
    assert document["mailer"]["login"] == LOGIN and document["per_second"] > 0
    assert len(smtp_with_login.messages) == 3


def test_check_reports_the_server_and_sends_nothing(settings, smtp_with_login):
    settings.MAILERS = mailers_for(*smtp_with_login, user=LOGIN, password=PASSWORD)
    stdout, _ = sendtestmail("--check", "--from", LOGIN, TO)
    assert stdout.startswith(f"Connected to {smtp_with_login.host}:{smtp_with_login.port} (no encryption), logged in")
    assert "login methods LOGIN PLAIN" in stdout and "nothing was sent" in stdout
    assert smtp_with_login.messages == []


def test_outbox_keeps_non_ascii_text_names_and_attachments_intact(outbox_dir, tmp_path):
    attachment = tmp_path / "отчёт.pdf"
    attachment.write_bytes(b"%PDF-1.4 test")
    stdout, _ = sendtestmail(
        "Анна Петрова <anna@example.com>",
        "--subject",
        "Проверка почты",
        "--body",
        "Привет, мир!",
        "--html",
        "<p>Привет</p>",
        "--from",
        "Сайт <site@example.com>",
        "--attach",
        str(attachment),
    )
    [message] = saved_messages(outbox_dir)
    assert message["Subject"] == "Проверка почты"
    assert message["To"].addresses[0].display_name == "Анна Петрова"
    assert message["From"].addresses[0].display_name == "Сайт"
    assert message.get_body(("plain",)).get_content().strip() == "Привет, мир!"
    assert "Привет" in message.get_body(("html",)).get_content()
    [part] = list(message.iter_attachments())
    assert (part.get_filename(), part.get_content_type(), part.get_content()) == (
        "отчёт.pdf",
        "application/pdf",
        b"%PDF-1.4 test",
    )
    [path] = outbox_dir.glob("*.eml")
    assert stdout.startswith("Saved 1 message in ") and f"  file        {path}" in stdout
    assert read_eml(path)["Message-ID"] in stdout


def test_memory_backend_says_nothing_left_the_process():
    stdout, _ = sendtestmail(TO)  # the test runner's mailer is locmem
    assert "nothing left the process" in stdout.splitlines()[0]
    assert [m.to for m in mail.outbox] == [[TO]]


def test_dummy_backend_says_nothing_left_the_process(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.dummy.EmailBackend"}}
    stdout, _ = sendtestmail(TO, "--json")
    document = json.loads(stdout)
    assert (document["delivery"], document["left_the_process"]) == ("discarded", False)


def test_console_backend_with_json_prints_the_message_on_stderr(settings):
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
    stdout, stderr = sendtestmail(TO, "--subject", "Console", "--json")
    assert json.loads(stdout)["delivery"] == "printed"
    assert "Subject: Console" in stderr


def test_admins_and_managers_are_recipients(settings):
    settings.ADMINS, settings.MANAGERS = ["Admin <admin@example.com>"], ["boss@example.com"]
    sendtestmail("--admins", "--managers")
    assert mail.outbox[0].to == ["Admin <admin@example.com>", "boss@example.com"]


# ---------------------------------------------------------------- bad input: named before connecting


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "No recipients: name at least one address, or pass --admins or --managers."),
        (("not-an-address",), "The recipient 'not-an-address' is not a valid email address."),
        ((TO, "--from", "site@"), "The sender (--from) 'site@' is not a valid email address."),
        ((TO, "--subject", "one\ntwo"), "The subject (--subject) contains the control character U+000A"),
        ((TO, "--attach", "/nonexistent/report.pdf"), "Cannot read the attachment /nonexistent/report.pdf: "),
        ((TO, "--body-file", "/nonexistent/body.txt"), "Cannot read the body file /nonexistent/body.txt: "),
        (("--admins",), "--admins was given, but ADMINS is empty."),
    ],
)
def test_bad_input_is_named_before_any_connection(settings, args, message):
    with silent_server() as (host, port):
        settings.MAILERS = mailers_for(host, port, timeout=30)  # connecting would hang for 30 s
        start = time.monotonic()
        error = refused(*args)
    assert time.monotonic() - start < 5
    assert error.returncode == 2
    assert str(error).startswith(message)
    assert "\nHint: " in str(error)


# ---------------------------------------------------------------- failures, as a real process


@contextlib.contextmanager
def ssl_server_with_plain_client():
    with smtp_server(security="ssl") as server:
        yield server, env_for(*server, user=LOGIN, password=PASSWORD, timeout=1)


@contextlib.contextmanager
def server_and_env(server_options=None, **env_options):
    if server_options is None:
        server = closed_port()
        yield server, env_for(*server, **{"user": LOGIN, "password": PASSWORD, **env_options})
        return
    with smtp_server(**server_options) as server:
        yield server, env_for(*server, **{"user": LOGIN, "password": PASSWORD, **env_options})


@contextlib.contextmanager
def silent():
    with silent_server() as server:
        yield server, env_for(*server, user=LOGIN, password=PASSWORD, timeout=30)


LOGIN_SERVER = {"logins": LOGINS}
REFUSE_RECIPIENT = refusal("rcpt", RECIPIENT_UNKNOWN, match=REFUSED_RECIPIENT)  # a --fail rule
FAILURES = {
    "connection refused": (lambda: server_and_env(), (), 4, "Nothing is listening at {where}"),
    "silent server, --timeout": (silent, ("--timeout", "1"), 4, "{where} did not answer within 1 s."),
    "port expects SSL": (ssl_server_with_plain_client, (), 4, "{where} did not answer within 1 s."),
    "SSL on a plain port": (lambda: server_and_env({}, ssl=True), (), 3, "{where} does not speak SSL"),
    "no STARTTLS": (lambda: server_and_env({}, tls=True), (), 3, "{where} does not offer STARTTLS."),
    "untrusted certificate": (
        lambda: server_and_env({"security": "ssl"}, ssl=True, trust=False),
        ("--timeout", "5"),
        4,
        "The certificate of {where} is not trusted",
    ),
    "login refused": (
        lambda: server_and_env({**LOGIN_SERVER, "fail": ["login:535"]}),
        (),
        5,
        f"{{where}} refused the login '{LOGIN}': 535",
    ),
    "login required": (
        lambda: server_and_env(LOGIN_SERVER, user="", password=""),
        (),
        5,
        "{where} requires a login, and none is configured",
    ),
    "no AUTH offered": (lambda: server_and_env({}), (), 5, "{where} offers no login (no AUTH)"),
    "sender refused": (
        lambda: server_and_env({**LOGIN_SERVER, "fail": [refusal("mail", SENDER_NOT_OWNED)]}),
        (),
        6,
        f"{{where}} refused the sender {LOGIN}: 553",
    ),
    "every recipient refused": (
        lambda: server_and_env({**LOGIN_SERVER, "fail": [refusal("rcpt", RECIPIENT_UNKNOWN, match=TO)]}),
        (),
        6,
        f"{{where}} refused every recipient: {TO} (550",
    ),
    "refused after DATA": (
        lambda: server_and_env({**LOGIN_SERVER, "fail": [refusal("data", TOO_LARGE)]}),
        (),
        6,
        "{where} refused the message after receiving it: 552",
    ),
    "dropped mid-message": (
        lambda: server_and_env({**LOGIN_SERVER, "fail": ["data:drop"]}),
        (),
        4,
        "{where} closed the connection in the middle of sending the message.",
    ),
}


@pytest.mark.parametrize("name", FAILURES)
def test_failure_gives_exit_code_one_line_and_hint_and_never_the_password(name):
    make, args, code, first_line = FAILURES[name]
    with make() as (server, env):
        # manage() fails the test if the process outlives its timeout: the command must not hang.
        result = manage("sendtestmail", TO, "--json", "--verbosity", "3", *args, env=env, timeout=30)
    where = f"{server.host}:{server.port}"
    assert result.returncode == code, result.stderr
    error, hint = result.stderr.splitlines()
    assert error.startswith("Error: " + first_line.format(where=where))
    assert hint.startswith("Hint: ")
    document = {"ok": False, "code": code, "error": error.removeprefix("Error: "), "hint": hint.removeprefix("Hint: ")}
    assert json.loads(result.stdout) == document
    assert PASSWORD not in result.stdout + result.stderr


def test_partial_refusal_reports_who_was_accepted_and_exits_6():
    with server_and_env({**LOGIN_SERVER, "fail": [REFUSE_RECIPIENT]}) as (server, env):
        result = manage("sendtestmail", TO, REFUSED_RECIPIENT, "--json", "--verbosity", "3", env=env)
    assert result.returncode == 6
    document = json.loads(result.stdout)
    assert document["accepted"] == [TO] and list(document["refused"]) == [REFUSED_RECIPIENT]
    assert result.stderr.startswith(f"Error: {server.host}:{server.port} refused some recipients: ")
    assert [m.rcpt_tos for m in server.messages] == [(TO,)]


def test_success_as_a_real_process_over_ssl_at_verbosity_3():
    with smtp_server(security="ssl", **LOGIN_SERVER) as server:
        result = manage(
            "sendtestmail", TO, "--verbosity", "3", env=env_for(*server, ssl=True, user=LOGIN, password=PASSWORD)
        )
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout.startswith(f"Sent 1 message through {server.host}:{server.port} (SSL) in ")
    assert PASSWORD not in result.stdout and len(server.messages) == 1


def test_check_as_a_real_process_with_starttls():
    with smtp_server(security="starttls", **LOGIN_SERVER) as server:
        env = env_for(*server, tls=True, user=LOGIN, password=PASSWORD)
        result = manage("sendtestmail", "--check", "--json", "--verbosity", "3", env=env)
    assert result.returncode == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["action"] == "check" and document["logged_in"] is True
    assert document["capabilities"]["starttls"] is True and server.messages == []
    assert PASSWORD not in result.stdout + result.stderr


def test_body_from_stdin_as_a_real_process(tmp_path):
    result = manage(
        "sendtestmail",
        TO,
        "--body-file",
        "-",
        env={"EMAIL_URL": f"outbox://{tmp_path}", "DEFAULT_FROM_EMAIL": "site@example.com"},
        input="Текст из stdin\n",
    )
    assert result.returncode == 0, result.stderr
    [message] = saved_messages(tmp_path)
    assert message.get_content().strip() == "Текст из stdin"


@pytest.mark.parametrize(
    ("args", "code", "stderr"),
    [
        (("--using", "bulk", TO), 3, "Error: There is no mailer 'bulk' in MAILERS"),
        (("--count", "0", TO), 2, "sendtestmail: error: argument --count: '0' must be between 1 and 10,000"),
        (("--timeout", "soon", TO), 2, "sendtestmail: error: argument --timeout: 'soon' is not a number of seconds"),
    ],
)
def test_usage_and_configuration_errors_as_a_real_process(tmp_path, args, code, stderr):
    result = manage("sendtestmail", *args, env={"EMAIL_URL": f"outbox://{tmp_path}"})
    assert result.returncode == code
    assert stderr in result.stderr and result.stdout == ""


# ---------------------------------------------------------------- unbounded input: refused, or streamed
# Under a cap on the process's memory: what today reads or builds without a bound fails with MemoryError.
MEMORY_MB = 256


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("--timeout", "1e999", "'1e999' must be between 0.001 and 3600"),
        ("--timeout", "nan", "'nan' must be between 0.001 and 3600"),
        ("--timeout", "inf", "'inf' must be between 0.001 and 3600"),
        ("--count", "100000000", "'100000000' must be between 1 and 10,000"),
    ],
)
def test_an_absurd_count_or_timeout_is_one_usage_error_before_anything_is_built(option, value, error):
    with silent_server() as (host, port):  # a timeout is used only by an SMTP mailer
        result = manage("sendtestmail", TO, option, value, env=env_for(host, port), memory_mb=MEMORY_MB)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.splitlines()[-1] == f"manage.py sendtestmail: error: argument {option}: {error}"


@pytest.mark.parametrize("option", ["--body-file", "--html-file", "--attach"])
def test_an_endless_file_is_refused_after_reading_one_byte_over_the_limit(tmp_path, option):
    result = manage(
        "sendtestmail", TO, option, "/dev/zero", env={"EMAIL_URL": f"outbox://{tmp_path}"}, memory_mb=MEMORY_MB
    )
    assert (result.returncode, result.stdout) == (2, "")
    what = {"--body-file": "body file", "--html-file": "HTML file", "--attach": "attachment"}[option]
    assert result.stderr.splitlines() == [
        f"Error: The {what} /dev/zero is larger than 32.0\xa0MB, the most a test message takes.",
        "Hint: Use a smaller file: providers refuse whole messages of 25 to 50 MB.",
    ]
    assert not list(tmp_path.glob("*.eml"))


def test_an_endless_stdin_is_refused_too(tmp_path):
    result = manage(
        "sendtestmail",
        TO,
        "--body-file",
        "-",
        env={"EMAIL_URL": f"outbox://{tmp_path}"},
        input="x" * (32 * 1024 * 1024 + 1),
    )
    assert result.returncode == 2
    assert result.stderr.startswith("Error: The body file - is larger than 32.0\xa0MB, the most a test message")


def test_a_series_is_saved_one_message_at_a_time_in_flat_memory(tmp_path):
    """150 messages of 2 MB: held at once they would need 300 MB, more than the process may have."""
    body = tmp_path / "body.txt"
    body.write_text(("A line of a large test message.\n" * 65536)[: 2 * 1024 * 1024])
    outbox = tmp_path / "outbox"
    env = {"EMAIL_URL": f"outbox://{outbox}", "DEFAULT_FROM_EMAIL": "site@example.com"}
    result = manage("sendtestmail", TO, "--body-file", str(body), "--count", "150", env=env, memory_mb=MEMORY_MB)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Saved 150 messages in ")
    assert len(list(outbox.glob("*.eml"))) == 150
    shutil.rmtree(outbox)  # 300 MB: not kept with the test's other files


def test_partial_refusal_in_text_lists_both_and_keeps_stderr_to_the_error(settings):
    with smtp_server(fail=[REFUSE_RECIPIENT]) as server:
        settings.MAILERS = mailers_for(*server)  # DEFAULT_FROM_EMAIL is the placeholder: a warning
        stdout, stderr = io.StringIO(), io.StringIO()
        with pytest.raises(CommandError) as caught:
            call_command("sendtestmail", TO, REFUSED_RECIPIENT, stdout=stdout, stderr=stderr)
    assert caught.value.returncode == 6 and stderr.getvalue() == ""
    assert f"  to          {TO}" in stdout.getvalue()
    assert f"  refused     {REFUSED_RECIPIENT}: 550" in stdout.getvalue()


def test_mail_check_findings_come_with_a_successful_report(settings, smtp_sink):
    settings.MAILERS = mailers_for(*smtp_sink)
    settings.DEFAULT_FROM_EMAIL = "webmaster@localhost"
    _, stderr = sendtestmail(TO)
    assert stderr.startswith("Warning: DEFAULT_FROM_EMAIL is still Django's placeholder")
    assert "(core.mail.W005)\nHint: " in stderr
    stdout, _ = sendtestmail(TO, "--json")
    assert [warning["id"] for warning in json.loads(stdout)["warnings"]] == ["core.mail.W005"]


def test_check_asks_about_admins_too_and_needs_no_recipient(settings, smtp_sink):
    settings.MAILERS = mailers_for(*smtp_sink)
    settings.ADMINS = ["ops@example.com"]
    stdout, _ = sendtestmail("--check", "--admins", "--from", LOGIN, "--json")
    assert json.loads(stdout)["accepted"] == ["ops@example.com"]
    stdout, _ = sendtestmail("--check", "--from", LOGIN, "--json")
    assert json.loads(stdout)["accepted"] == [] and smtp_sink.messages == []
