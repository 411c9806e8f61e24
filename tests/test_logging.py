"""Error mail to ADMINS never turns a logged error into a raised one."""

import logging

from core.logging import AdminEmailHandler
from tests.smtp_servers import closed_port, mailers_for


def test_a_mail_server_that_is_down_does_not_break_logging(settings, capsys):
    settings.ADMINS = ["ops@example.com"]
    host, port = closed_port()
    settings.MAILERS = mailers_for(host, port, timeout=2)
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /", None, None)
    AdminEmailHandler().handle(record)  # Django 6.1's own handler raises ConnectionRefusedError here
    assert "ConnectionRefusedError" in capsys.readouterr().err


def test_the_project_logs_django_errors_through_it():
    handlers = logging.getLogger("django").handlers
    assert [type(handler) for handler in handlers] == [AdminEmailHandler]
