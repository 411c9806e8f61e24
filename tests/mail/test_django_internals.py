"""core/mail/django_internals.py against Django's real backends: each test fails, naming what to update,
when a Django release renames or removes a private attribute the project reads."""

import smtplib

import pytest
from django.core import mail
from django.core.mail import EmailMessage

from core.mail.config import FILE_BACKEND
from core.mail.django_internals import file_backend_log, take_half_open_connection
from testsupport.smtp_servers import LOGIN, PASSWORD, mailers_for

UPDATE = "update core/mail/django_internals.py from Django's django/core/mail/backends/"


def test_file_backend_log_is_the_file_django_wrote(settings, tmp_path):
    settings.MAILERS = {"default": {"BACKEND": FILE_BACKEND, "OPTIONS": {"file_path": str(tmp_path)}}}
    backend = mail.mailers["default"]
    assert file_backend_log(backend) is None  # nothing written yet
    backend.send_messages([EmailMessage("Hello", "Body", "site@example.com", ["anna@example.com"])])
    [written] = tmp_path.glob("*.log")
    assert file_backend_log(backend) == str(written), (
        f"Django's file backend no longer keeps the name of its .log file in _fname: {UPDATE}filebased.py"
    )
    assert b"Subject: Hello" in written.read_bytes()


def test_a_refused_login_leaves_the_half_open_connection_to_take(settings, smtp_refusing_login):
    settings.MAILERS = mailers_for(*smtp_refusing_login, user=LOGIN, password=PASSWORD)
    backend = mail.mailers["default"]
    with pytest.raises(smtplib.SMTPAuthenticationError):
        backend.open()  # connected, then the login was refused
    connection = take_half_open_connection(backend)
    assert isinstance(connection, smtplib.SMTP) and connection.sock is not None, (
        f"Django's SMTP backend no longer keeps a half-open connection in _partial_connection: {UPDATE}smtp.py"
    )
    connection.close()
    assert take_half_open_connection(backend) is None  # taken: Django's close() has nothing left to say QUIT on
    assert backend.connection is None
