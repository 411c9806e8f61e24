"""core/mail/mailers.py: which mailer MAILERS makes, and what a report shows of it (never the password)."""

import pytest

from core.mail.config import OUTBOX_BACKEND
from core.mail.errors import ExitCode, MailProblem
from core.mail.mailers import describe_mailer
from testsupport.smtp_servers import LOGIN, PASSWORD, mailers_for


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
    assert caught.value.message == "There is no mailer 'bulk' in MAILERS (configured: 'default', 'direct')."


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
