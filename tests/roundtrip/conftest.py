"""The round trip's servers: a Dovecot mailbox of the tests' own (testsupport/dovecot.py), and the send function.

Dovecot is started once for the session and skipped, saying why, where it is not
installed (``scripts/ensure-services`` installs ``dovecot-imapd`` for ``make test``).
Each test starts its own receiving provider (testsupport/receiver.py) in front of it.
"""

import email.utils
import smtplib
from collections.abc import Callable

import pytest
from django.core.mail import EmailMessage

from core.mail.roundtrip import ROUNDTRIP_HEADER
from testsupport.dovecot import Dovecot
from testsupport.services import Unavailable


def _dovecot(**options):
    try:
        server = Dovecot(**options)
    except Unavailable as why:
        pytest.skip(str(why))
    with server:
        yield server


@pytest.fixture(scope="session")
def imap():
    """A Dovecot on 127.0.0.1 whose spam folder is ``Junk``, with the ``\\Junk`` special use."""
    yield from _dovecot()


@pytest.fixture(scope="session")
def imap_russian_spam():
    """A Dovecot whose spam folder is only known by its name, ``Спам`` (no special use)."""
    yield from _dovecot(spam="Спам", spam_flag=False)


class Sender:
    """``send(token)`` for ``roundtrip``: the test message through SMTP to the receiver, as the command builds it."""

    def __init__(self, receiver, to: str, *, extra_headers: dict | None = None):
        self.receiver = receiver
        self.to = to
        self.extra_headers = extra_headers or {}
        self.sent: list[str] = []  # the Message-IDs

    def __call__(self, token: str) -> str:
        message_id = email.utils.make_msgid(domain="example.org")
        message = EmailMessage(
            subject=f"Round trip {token}",
            body="A test message of sendtestmail --roundtrip.",
            from_email="site@example.org",
            to=[self.to],
            headers={"Message-ID": message_id, ROUNDTRIP_HEADER: token, **self.extra_headers},
        )
        with smtplib.SMTP(*self.receiver, timeout=5) as smtp:
            smtp.send_message(message.message())
        self.sent.append(message_id)
        return message_id


@pytest.fixture
def sender() -> Callable[..., Sender]:
    return Sender
