"""Sending test messages through a mailer pointed at a server, for the tests of core/mail's probe and explain."""

import pytest

from core.mail.compose import compose_messages
from core.mail.errors import MailProblem
from core.mail.probe import SendReport, send_test_messages
from testsupport.smtp_servers import LOGIN, PASSWORD

TO = "anna@example.com"


def send(settings, mailers, *recipients, sender=LOGIN, count=1, timeout=None) -> SendReport:
    settings.MAILERS = mailers
    messages = compose_messages(list(recipients) or [TO], subject="Test", from_email=sender, count=count)
    return send_test_messages(messages, timeout=timeout)


def failure(settings, mailers, *recipients, **kwargs) -> MailProblem:
    """The problem a send raises; it never holds the password."""
    with pytest.raises(MailProblem) as caught:
        send(settings, mailers, *recipients, **kwargs)
    problem = caught.value
    assert PASSWORD not in problem.message + problem.hint
    return problem
