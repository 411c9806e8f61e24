"""core/mail/render.py: a series reuses the first message's bytes only where all but Subject and Message-ID agree."""

import re
from email.utils import make_msgid

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives

from core.mail.compose import compose_messages
from core.mail.probe import send_test_messages
from testsupport.smtp_servers import mailers_for

DATE = "Sun, 22 Nov 2026 10:43:55 +0000"  # fixed, so that two renderings of one message are the same bytes
BOUNDARY = re.compile(rb"={15}\d+==")  # the email package's random multipart boundaries


def test_a_series_arrives_as_django_would_build_each_message(settings, smtp_sink):
    """--count N reuses the first message's bytes; every message must still be the one Django builds."""
    settings.MAILERS = mailers_for(*smtp_sink)
    long_subject = "Проверка почты с длинной темой, которую надо переносить по строкам " * 2
    messages = list(
        compose_messages(
            ["Анна <anna@example.com>"],
            subject=long_subject.strip(),
            body="Привет!",
            html="<p>Привет</p>",
            from_email="Сайт <site@example.com>",
            attachments=[("отчёт.txt", "строка".encode(), "text/plain")],
            count=3,
        )
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


class WithPriority(EmailMultiAlternatives):
    """A message with a field the project has never heard of, as a new Django release (or a subclass) may add."""

    priority = "normal"

    def message(self, **kwargs):
        message = super().message(**kwargs)
        message["X-Priority"] = self.priority
        return message


def a_pair(cls=EmailMultiAlternatives):
    """Two messages of one series: the same but for Subject and Message-ID (and one Date)."""
    pair = []
    for number in (1, 2):
        message = cls(
            f"Проверка ({number}/2)",
            "Привет!",
            "Сайт <site@example.com>",
            ["Анна <anna@example.com>"],
            headers={"Message-ID": make_msgid(domain="example.com"), "Date": DATE},
        )
        message.attach_alternative("<p>Привет</p>", "text/html")
        message.attach("отчёт.txt", "строка".encode(), "text/plain")
        pair.append(message)
    return pair


def set_field(name, value):
    return lambda message: setattr(message, name, value)


DIFFERENCES = {
    "from_email": set_field("from_email", "Другой <other@example.com>"),
    "to": set_field("to", ["Борис <boris@example.com>"]),
    "cc": set_field("cc", ["cc@example.com"]),
    "bcc": set_field("bcc", ["hidden@example.com"]),  # the envelope only
    "reply_to": set_field("reply_to", ["reply@example.com"]),
    "body": set_field("body", "Другой текст"),
    "alternatives": lambda message: message.attach_alternative("<p>Ещё</p>", "text/html"),
    "attachments": lambda message: message.attach("второй.txt", "другое", "text/plain"),
    "extra_headers": lambda message: message.extra_headers.update({"X-Tag": "second"}),
    "content_subtype": set_field("content_subtype", "html"),
    "encoding": set_field("encoding", "koi8-r"),
    "a field Django may add": set_field("priority", "high"),
}


@pytest.mark.parametrize("field", DIFFERENCES)
def test_a_message_differing_in_any_other_field_is_built_anew(settings, smtp_sink, field):
    """Reused bytes would carry the first message's value of that field: what arrives must be what Django sends."""
    settings.MAILERS = mailers_for(*smtp_sink)
    first, second = a_pair(WithPriority)
    DIFFERENCES[field](second)
    send_test_messages([first, second])
    mail.mailers["default"].send_messages([second])  # Django's own SMTP backend, to the same server
    ours, djangos = smtp_sink.messages[1], smtp_sink.messages[2]
    assert (ours.mail_from, ours.rcpt_tos) == (djangos.mail_from, djangos.rcpt_tos)
    assert BOUNDARY.sub(b"BOUNDARY", ours.data) == BOUNDARY.sub(b"BOUNDARY", djangos.data), field


def test_a_message_of_another_class_is_built_anew(settings, smtp_sink):
    settings.MAILERS = mailers_for(*smtp_sink)
    [first, _], [_, second] = a_pair(), a_pair(WithPriority)
    send_test_messages([first, second])
    assert [m.message()["X-Priority"] for m in smtp_sink.messages] == [None, "normal"]
