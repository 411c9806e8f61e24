"""core/mail/probe.py: sending and --check through real SMTP servers on 127.0.0.1, and the reports they make."""

import re

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from core.mail.compose import compose_messages
from core.mail.config import FILE_BACKEND
from core.mail.errors import ExitCode, MailProblem
from core.mail.probe import check_mailer, send_test_messages
from tests.mail.sending import TO, send
from testsupport.smtp_servers import (
    LOGIN,
    LOGINS,
    PASSWORD,
    RECIPIENT_UNKNOWN,
    REFUSED_RECIPIENT,
    SENDER_NOT_OWNED,
    mailers_for,
    refusal,
    smtp_server,
)

# ---------------------------------------------------------------- sending


@pytest.mark.parametrize("security", ["none", "starttls", "ssl"])
def test_sends_through_each_kind_of_server_with_login(settings, trusted_ca, security):
    with smtp_server(security=security, logins=LOGINS) as server:
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
        "ca_file": None,
    }
    [received] = server.messages
    assert received.mail_from == LOGIN and received.rcpt_tos == (TO,)
    assert received.message()["Message-ID"] == report.message_ids[0]


def test_count_sends_numbered_messages_and_reports_the_rate(settings, smtp_sink):
    report = send(settings, mailers_for(*smtp_sink), count=5)
    assert [m.message()["Subject"] for m in smtp_sink.messages] == [f"Test ({n}/5)" for n in range(1, 6)]
    assert len(set(report.message_ids)) == 5 and report.per_second > 0


BOUNDARY = re.compile(rb"={15}\d+==")  # the email package's random multipart boundaries


def test_each_message_arrives_as_djangos_smtp_backend_sends_it(settings, smtp_sink):
    """The envelope and bytes are what Django's own backend sends for the same message (Cyrillic, HTML, a file)."""
    settings.MAILERS = mailers_for(*smtp_sink)
    message = EmailMultiAlternatives(
        "Проверка почты с длинной темой, которую надо переносить по строкам " * 2,
        "Привет!",
        "Сайт <site@example.com>",
        ["Анна <anna@example.com>"],
        bcc=["hidden@example.com"],
        headers={"Message-ID": "<1@example.com>", "Date": "Sun, 22 Nov 2026 10:43:55 +0000"},
    )
    message.attach_alternative("<p>Привет</p>", "text/html")
    message.attach("отчёт.txt", "строка".encode(), "text/plain")
    send_test_messages([message])
    mail.mailers["default"].send_messages([message])
    ours, djangos = smtp_sink.messages
    assert (ours.mail_from, ours.rcpt_tos) == (djangos.mail_from, djangos.rcpt_tos)
    assert BOUNDARY.sub(b"B", ours.data) == BOUNDARY.sub(b"B", djangos.data)


def test_one_recipient_refused_the_others_still_get_it(settings):
    with smtp_server(fail=[refusal("rcpt", RECIPIENT_UNKNOWN, match=REFUSED_RECIPIENT)]) as server:
        report = send(settings, mailers_for(*server), TO, REFUSED_RECIPIENT)
    assert report.accepted == [TO]
    assert report.refused == {REFUSED_RECIPIENT: RECIPIENT_UNKNOWN}
    assert [m.rcpt_tos for m in server.messages] == [(TO,)]
    problem = report.problem()
    assert problem.code == ExitCode.MESSAGE_REFUSED
    assert problem.message == (
        f"{server.host}:{server.port} refused some recipients: {REFUSED_RECIPIENT} ({RECIPIENT_UNKNOWN})."
    )


# ---------------------------------------------------------------- --check


def test_check_reads_capabilities_and_sends_nothing(settings, trusted_ca):
    with smtp_server(security="starttls", logins=LOGINS, max_size=1_000_000) as server:
        settings.MAILERS = mailers_for(*server, tls=True, user=LOGIN, password=PASSWORD)
        report = check_mailer(sender=LOGIN, recipients=[TO])
    assert report.logged_in and report.accepted == [TO] and server.messages == []
    assert report.capabilities["size_limit"] == 1_000_000
    assert report.capabilities["starttls"] is True
    assert set(report.capabilities["auth"]) == {"LOGIN", "PLAIN"}


def test_check_finds_a_refused_sender_without_sending(settings):
    with smtp_server(fail=[refusal("mail", SENDER_NOT_OWNED)]) as server:
        settings.MAILERS = mailers_for(*server)
        with pytest.raises(MailProblem) as caught:
            check_mailer(sender="site@other.example")
    assert caught.value.code == ExitCode.MESSAGE_REFUSED and server.messages == []


# ---------------------------------------------------------------- the files a send wrote


def test_a_send_through_djangos_file_backend_reports_its_log_file(settings, tmp_path):
    settings.MAILERS = {"default": {"BACKEND": FILE_BACKEND, "OPTIONS": {"file_path": str(tmp_path)}}}
    report = send_test_messages(compose_messages([TO], subject="Test", from_email=LOGIN, count=2))
    [written] = tmp_path.glob("*.log")
    assert report.delivery == "saved" and report.files == [str(written)]
    assert written.read_bytes().count(b"Subject: Test (") == 2  # one file for the whole send


def test_a_send_through_the_outbox_reports_each_eml_file(settings, outbox_dir):
    report = send_test_messages(compose_messages([TO], subject="Test", from_email=LOGIN, count=2))
    assert report.delivery == "saved" and len(report.files) == 2
    assert sorted(report.files) == sorted(str(path) for path in outbox_dir.glob("*.eml"))
