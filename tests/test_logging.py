"""Error mail to ADMINS never turns a logged error into a raised one."""

import logging

import requests

from core.logging import AdminEmailHandler
from testsupport.smtp_servers import closed_port, mailers_for


def test_a_mail_server_that_is_down_does_not_break_logging(settings, capsys):
    settings.ADMINS = ["ops@example.com"]
    host, port = closed_port()
    settings.MAILERS = mailers_for(host, port, timeout=2)
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "Internal Server Error: /", None, None)
    AdminEmailHandler().handle(record)  # Django 6.1's own handler raises ConnectionRefusedError here
    assert "ConnectionRefusedError" in capsys.readouterr().err


def test_a_failing_page_gets_the_sites_error_page_while_the_error_mail_cannot_go(live_server, settings, capsys):
    """The site's logging as configured: the error mail fails, the visitor still gets Django's 500 page."""
    settings.DEBUG = False  # error mail is sent only with DEBUG off
    settings.ROOT_URLCONF = "tests.crash_urls"
    settings.ADMINS = ["ops@example.com"]
    host, port = closed_port()
    settings.MAILERS = mailers_for(host, port, timeout=2)
    page = requests.get(f"{live_server.url}/crash/", timeout=30)
    assert page.status_code == 500
    # Django's page, not the server's last resort ("A server error occurred") after the logging call raised.
    assert "<h1>Server Error (500)</h1>" in page.text
    assert "ConnectionRefusedError" in capsys.readouterr().err  # the failed error mail is said on stderr
