"""The real SMTP servers of tests/smtp_servers.py, as fixtures for the tests of the commands."""

from tests.smtp_servers import (  # noqa: F401 - fixtures
    smtp_refusing_login,
    smtp_sink,
    smtp_with_login,
    trusted_ca,
)
