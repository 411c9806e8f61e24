"""core/mail/explain.py: every way a real server on 127.0.0.1 fails, as a send meets it, in one sentence and a hint."""

import smtplib
import socket
import time

import pytest

from core.mail.errors import ExitCode
from core.mail.explain import explain
from core.mail.mailers import get_backend
from tests.mail.sending import failure
from testsupport.smtp_servers import (
    LOGIN,
    PASSWORD,
    POLICY,
    RECIPIENT_UNKNOWN,
    REFUSED_RECIPIENT,
    SENDER_NOT_OWNED,
    TOO_LARGE,
    closed_port,
    mailers_for,
    refusal,
    silent_server,
    smtp_server,
)

# ---------------------------------------------------------------- cannot reach


def test_nothing_listening(settings):
    host, port = closed_port()
    problem = failure(settings, mailers_for(host, port))
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message == f"Nothing is listening at {host}:{port} (connection refused)."


def test_unknown_host(settings, monkeypatch):
    # The one stand-in of the suite: a real lookup would query the machine's DNS
    # server, and tests send traffic to loopback only. The resolver's own error is raised.
    def no_such_name(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    problem = failure(settings, mailers_for("mail.invalid", 25))
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message.startswith("Cannot find the mail server mail.invalid:25: the name 'mail.invalid'")


def test_silent_server_ends_at_the_timeout_given(settings):
    with silent_server() as (host, port):
        start = time.monotonic()
        problem = failure(settings, mailers_for(host, port, timeout=30), timeout=1)
        elapsed = time.monotonic() - start
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message == f"{host}:{port} did not answer within 1 s."
    assert "smtp+ssl://" in problem.hint
    assert elapsed < 5


def test_plain_client_on_an_ssl_port_times_out_with_the_ssl_hint(settings, trusted_ca):
    with smtp_server(security="ssl") as server:
        problem = failure(settings, mailers_for(*server, timeout=1))
    assert problem.code == ExitCode.UNREACHABLE
    assert "did not answer within 1 s" in problem.message and "smtp+ssl://" in problem.hint


def test_port_465_without_ssl_gets_the_direct_hint(settings):
    settings.MAILERS = mailers_for("127.0.0.1", 465)
    problem = explain(TimeoutError("timed out"), get_backend(), "connect")
    assert problem.message == "127.0.0.1:465 did not answer within 5 s."
    assert problem.hint == "Port 465 expects SSL from the first byte: use smtp+ssl:// (EMAIL_USE_SSL=true)."


def test_ssl_client_on_a_plain_server_is_a_setting_to_fix(settings, smtp_sink):
    problem = failure(settings, mailers_for(*smtp_sink, ssl=True))
    assert problem.code == ExitCode.CONFIG
    assert problem.message == f"{smtp_sink.host}:{smtp_sink.port} does not speak SSL: it answered in plain text."
    assert "smtp+tls://" in problem.hint


def test_starttls_not_offered_is_a_setting_to_fix(settings, smtp_sink):
    problem = failure(settings, mailers_for(*smtp_sink, tls=True))
    assert problem.code == ExitCode.CONFIG
    assert problem.message == f"{smtp_sink.host}:{smtp_sink.port} does not offer STARTTLS."


def test_certificate_from_an_unknown_authority(settings):  # no trusted_ca: the test CA is unknown
    with smtp_server(security="ssl") as server:
        problem = failure(settings, mailers_for(*server, ssl=True))
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message.startswith(f"The certificate of {server.host}:{server.port} is not trusted:")
    assert "unknown authority" in problem.hint


def test_certificate_for_another_name(settings, trusted_ca):
    with smtp_server(security="starttls", cert_names=("mail.example.com",)) as server:
        problem = failure(settings, mailers_for(*server, tls=True))
    assert problem.code == ExitCode.UNREACHABLE
    assert "is not trusted" in problem.message and "another name" in problem.hint


# ---------------------------------------------------------------- login


def test_login_refused_hints_at_app_passwords(settings, smtp_refusing_login):
    problem = failure(settings, mailers_for(*smtp_refusing_login, user=LOGIN, password=PASSWORD))
    host, port = smtp_refusing_login
    assert problem.code == ExitCode.LOGIN_REFUSED
    assert problem.message.startswith(f"{host}:{port} refused the login '{LOGIN}': 535")
    assert "app password" in problem.hint and "full address" in problem.hint


def test_login_that_is_not_an_address_is_pointed_out(settings, smtp_refusing_login):
    problem = failure(settings, mailers_for(*smtp_refusing_login, user="sender", password=PASSWORD))
    assert problem.hint.endswith("The login 'sender' is not a full address.")


def test_login_required_but_none_configured(settings, smtp_with_login):
    problem = failure(settings, mailers_for(*smtp_with_login))
    assert problem.code == ExitCode.LOGIN_REFUSED
    assert problem.message.startswith(f"{smtp_with_login.host}:{smtp_with_login.port} requires a login, and none")
    assert "EMAIL_HOST_USER" in problem.hint


def test_login_without_password_is_named(settings, smtp_with_login):
    problem = failure(settings, mailers_for(*smtp_with_login, user=LOGIN))
    assert problem.code == ExitCode.LOGIN_REFUSED
    assert "the login 'sender@example.com' is configured but its password is empty" in problem.message


def test_credentials_for_a_server_that_offers_no_login(settings, smtp_sink):
    problem = failure(settings, mailers_for(*smtp_sink, user=LOGIN, password=PASSWORD))
    assert problem.code == ExitCode.LOGIN_REFUSED
    assert problem.message == (
        f"{smtp_sink.host}:{smtp_sink.port} offers no login (no AUTH), but the login '{LOGIN}' is configured."
    )


# ---------------------------------------------------------------- the message


def test_sender_refused_hints_at_default_from_email(settings):
    with smtp_server(fail=[refusal("mail", SENDER_NOT_OWNED)]) as server:
        problem = failure(settings, mailers_for(*server, user=""), sender="site@other.example")
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message == f"{server.host}:{server.port} refused the sender site@other.example: {SENDER_NOT_OWNED}."
    assert "DEFAULT_FROM_EMAIL" in problem.hint


def test_every_recipient_refused(settings):
    addresses = (REFUSED_RECIPIENT, "ghost@example.com")
    with smtp_server(fail=[refusal("rcpt", RECIPIENT_UNKNOWN, match=address) for address in addresses]) as server:
        problem = failure(settings, mailers_for(*server), REFUSED_RECIPIENT, "ghost@example.com")
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message.startswith(f"{server.host}:{server.port} refused every recipient: {REFUSED_RECIPIENT} (")
    assert "ghost@example.com (550" in problem.message


@pytest.mark.parametrize(("reply", "hint"), [(TOO_LARGE, "too large"), (POLICY, "policy")])
def test_message_refused_after_data(settings, reply, hint):
    with smtp_server(fail=[refusal("data", reply)]) as server:
        problem = failure(settings, mailers_for(*server))
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message == f"{server.host}:{server.port} refused the message after receiving it: {reply}."
    assert hint in problem.hint


def test_connection_dropped_in_the_middle_of_the_message(settings):
    with smtp_server(fail=["data:drop"]) as server:
        problem = failure(settings, mailers_for(*server))
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message == f"{server.host}:{server.port} closed the connection in the middle of sending the message."


# ---------------------------------------------------------------- explain() itself


def test_explain_names_host_and_port_of_the_mailer(settings):
    settings.MAILERS = mailers_for("smtp.example.com", 587, tls=True, user=LOGIN, password=PASSWORD)
    reply = b"5.7.8 Error: authentication failed: " + PASSWORD.encode()  # a server that echoes it
    problem = explain(smtplib.SMTPAuthenticationError(535, reply), get_backend())
    assert problem.code == ExitCode.LOGIN_REFUSED
    assert problem.message.startswith("smtp.example.com:587 refused the login")
    assert PASSWORD not in problem.message and "********" in problem.message


def test_an_unknown_error_is_reported_as_a_bug(settings):
    settings.MAILERS = mailers_for("smtp.example.com", 587)
    problem = explain(RuntimeError("boom"), get_backend())
    assert problem.code == ExitCode.BUG
    assert problem.message == "Unexpected error with the mailer 'default': RuntimeError: boom"
    assert "--traceback" in problem.hint
