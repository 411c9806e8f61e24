"""core/mail/render.py: a series reuses the first message's bytes, and still arrives as Django builds each message."""

from core.mail.compose import compose_messages
from core.mail.probe import send_test_messages
from tests.smtp_servers import mailers_for


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
