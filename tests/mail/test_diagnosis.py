"""core/mail/diagnosis.py against real SMTP servers on 127.0.0.1, working and written to fail."""

import smtplib
import socket
import time

import pytest

from core.mail.compose import compose_messages
from core.mail.config import OUTBOX_BACKEND
from core.mail.diagnosis import (
    check_mailer,
    describe_mailer,
    explain,
    get_backend,
    send_test_messages,
)
from core.mail.errors import ExitCode, MailProblem
from tests.smtp_servers import (
    LOGIN,
    PASSWORD,
    POLICY,
    RECIPIENT_UNKNOWN,
    REFUSED_RECIPIENT,
    SENDER_NOT_OWNED,
    TOO_LARGE,
    Authenticator,
    DroppingSMTP,
    Handler,
    closed_port,
    mailers_for,
    silent_server,
    smtp_server,
)

TO = "anna@example.com"


def send(settings, mailers, *recipients, sender=LOGIN, count=1, timeout=None):
    settings.MAILERS = mailers
    messages = compose_messages(list(recipients) or [TO], subject="Test", from_email=sender, count=count)
    return send_test_messages(messages, timeout=timeout)


def failure(settings, mailers, *recipients, **kwargs) -> MailProblem:
    with pytest.raises(MailProblem) as caught:
        send(settings, mailers, *recipients, **kwargs)
    problem = caught.value
    assert PASSWORD not in problem.message + problem.hint
    return problem


# ---------------------------------------------------------------- working servers


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_sends_through_each_kind_of_server_with_login(settings, trusted_ca, security):
    with smtp_server(security=security, auth=Authenticator(), auth_required=True) as server:
        mailers = mailers_for(*server, ssl=security == "ssl", tls=security == "starttls", user=LOGIN, password=PASSWORD)
        report = send(settings, mailers)
    assert report.delivery == "sent" and report.accepted == [TO] and report.refused == {}
    assert report.mailer == {
        "alias": "default",
        "backend": "django.core.mail.backends.smtp.EmailBackend",
        "kind": "smtp",
        "host": server.host,
        "port": server.port,
        "security": security,
        "login": LOGIN,
        "timeout": 5.0,
    }
    [received] = server.messages
    assert received.mail_from == LOGIN and received.rcpt_tos == [TO]
    assert received.message()["Message-ID"] == report.message_ids[0]


def test_count_sends_numbered_messages_and_reports_the_rate(settings, smtp_sink):
    report = send(settings, mailers_for(*smtp_sink), count=5)
    assert [m.message()["Subject"] for m in smtp_sink.messages] == [f"Test ({n}/5)" for n in range(1, 6)]
    assert len(set(report.message_ids)) == 5 and report.per_second > 0


def test_a_series_arrives_as_django_would_build_each_message(settings, smtp_sink):
    """--count N reuses the first message's bytes; every message must still be the one Django builds."""
    settings.MAILERS = mailers_for(*smtp_sink)
    long_subject = "Проверка почты с длинной темой, которую надо переносить по строкам " * 2
    messages = compose_messages(
        ["Анна <anna@example.com>"],
        subject=long_subject.strip(),
        body="Привет!",
        html="<p>Привет</p>",
        from_email="Сайт <site@example.com>",
        attachments=[("отчёт.txt", "строка".encode(), "text/plain")],
        count=3,
    )
    send_test_messages(messages)
    for sent, received in zip(messages, smtp_sink.messages, strict=True):
        expected, got = sent.message(), received.message()
        for header in ("Subject", "Message-ID", "From", "To"):
            assert got[header] == expected[header]
        for kind in ("plain", "html"):  # sent with CRLF line ends, as SMTP wants
            assert got.get_body((kind,)).get_content().replace("\r\n", "\n") == expected.get_body((kind,)).get_content()
        [attachment] = got.iter_attachments()
        [original] = expected.iter_attachments()
        assert attachment.get_filename() == original.get_filename() == "отчёт.txt"
        assert attachment.get_content().replace("\r\n", "\n") == original.get_content()
    assert [m.message()["Subject"][-5:] for m in smtp_sink.messages] == ["(1/3)", "(2/3)", "(3/3)"]


def test_check_reads_capabilities_and_sends_nothing(settings, trusted_ca):
    with smtp_server(security="starttls", auth=Authenticator(), data_size_limit=1_000_000) as server:
        settings.MAILERS = mailers_for(*server, tls=True, user=LOGIN, password=PASSWORD)
        report = check_mailer(sender=LOGIN, recipients=[TO])
    assert report.logged_in and report.accepted == [TO] and server.messages == []
    assert report.capabilities["size_limit"] == 1_000_000
    assert report.capabilities["starttls"] is True
    assert set(report.capabilities["auth"]) == {"LOGIN", "PLAIN"}


def test_check_finds_a_refused_sender_without_sending(settings):
    with smtp_server(handler=Handler(refuse_sender=SENDER_NOT_OWNED)) as server:
        settings.MAILERS = mailers_for(*server)
        with pytest.raises(MailProblem) as caught:
            check_mailer(sender="site@other.example")
    assert caught.value.code == ExitCode.MESSAGE_REFUSED and server.messages == []


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


def test_ssl_client_on_a_plain_server(settings, smtp_sink):
    problem = failure(settings, mailers_for(*smtp_sink, ssl=True))
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message == f"{smtp_sink.host}:{smtp_sink.port} does not speak SSL: it answered in plain text."
    assert "smtp+tls://" in problem.hint


def test_starttls_not_offered(settings, smtp_sink):
    problem = failure(settings, mailers_for(*smtp_sink, tls=True))
    assert problem.code == ExitCode.UNREACHABLE
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
    with smtp_server(handler=Handler(refuse_sender=SENDER_NOT_OWNED)) as server:
        problem = failure(settings, mailers_for(*server, user=""), sender="site@other.example")
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message == f"{server.host}:{server.port} refused the sender site@other.example: {SENDER_NOT_OWNED}."
    assert "DEFAULT_FROM_EMAIL" in problem.hint


def test_one_recipient_refused_the_others_still_get_it(settings):
    with smtp_server(handler=Handler(refuse=(REFUSED_RECIPIENT,))) as server:
        report = send(settings, mailers_for(*server), TO, REFUSED_RECIPIENT)
    assert report.accepted == [TO]
    assert report.refused == {REFUSED_RECIPIENT: RECIPIENT_UNKNOWN}
    assert [m.rcpt_tos for m in server.messages] == [[TO]]
    problem = report.problem()
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message == (
        f"{server.host}:{server.port} refused some recipients: {REFUSED_RECIPIENT} ({RECIPIENT_UNKNOWN})."
    )


def test_every_recipient_refused(settings):
    with smtp_server(handler=Handler(refuse=(REFUSED_RECIPIENT, "ghost@example.com"))) as server:
        problem = failure(settings, mailers_for(*server), REFUSED_RECIPIENT, "ghost@example.com")
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message.startswith(f"{server.host}:{server.port} refused every recipient: {REFUSED_RECIPIENT} (")
    assert "ghost@example.com (550" in problem.message


@pytest.mark.parametrize(("reply", "hint"), [(TOO_LARGE, "too large"), (POLICY, "policy")])
def test_message_refused_after_data(settings, reply, hint):
    with smtp_server(handler=Handler(data_reply=reply)) as server:
        problem = failure(settings, mailers_for(*server))
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message == f"{server.host}:{server.port} refused the message after receiving it: {reply}."
    assert hint in problem.hint


def test_connection_dropped_in_the_middle_of_the_message(settings):
    with smtp_server(smtp_class=DroppingSMTP) as server:
        problem = failure(settings, mailers_for(*server))
    assert problem.code == ExitCode.UNREACHABLE
    assert problem.message == f"{server.host}:{server.port} closed the connection in the middle of sending the message."


# ---------------------------------------------------------------- configuration and describe_mailer


def test_describe_mailer_never_shows_the_password(settings):
    settings.MAILERS = mailers_for("smtp.example.com", 465, ssl=True, user=LOGIN, password=PASSWORD)
    description = describe_mailer()
    assert description["security"] == "ssl" and description["login"] == LOGIN
    assert PASSWORD not in repr(description)


def test_describe_mailer_of_a_file_backend(settings, tmp_path):
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(tmp_path)}}}
    assert describe_mailer() == {
        "alias": "default",
        "backend": OUTBOX_BACKEND,
        "kind": "file",
        "file_path": str(tmp_path),
    }


def test_unknown_alias_is_a_configuration_error(settings):
    with pytest.raises(MailProblem) as caught:
        describe_mailer("bulk")
    assert caught.value.code == ExitCode.CONFIG
    assert caught.value.message == "There is no mailer 'bulk' in MAILERS (configured: 'default')."


def test_ssl_and_starttls_both_on_is_a_configuration_error(settings):
    settings.MAILERS = mailers_for("smtp.example.com", 465, ssl=True, tls=True, password=PASSWORD)
    with pytest.raises(MailProblem) as caught:
        describe_mailer()
    assert caught.value.code == ExitCode.CONFIG
    assert caught.value.message.startswith("MAILERS['default']: The 'use_ssl' and 'use_tls' OPTIONS are incompatible")
    assert "EMAIL_USE_SSL" in caught.value.hint


def test_a_file_where_the_outbox_folder_should_be(settings, tmp_path):
    (tmp_path / "taken").write_text("")
    settings.MAILERS = {"default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(tmp_path / "taken")}}}
    with pytest.raises(MailProblem) as caught:
        describe_mailer()
    assert caught.value.code == ExitCode.CONFIG and "outbox://" in caught.value.hint


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
