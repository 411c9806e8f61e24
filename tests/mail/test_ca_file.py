"""One more CA for one mailer: ``?ssl_cafile=`` / ``EMAIL_SSL_CAFILE``, against the mailserver library's real TLS."""

import io
import json
import ssl
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from core.env import Env
from core.mail.config import CAFILE_SMTP_BACKEND, SMTP_BACKEND, ConfigError, mailers_from_env
from core.mail.errors import MailProblem
from core.mail.mailers import describe_mailer
from core.mail.probe import send_test_messages
from mailserver import Config, certificates, running


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return certificates.ensure(tmp_path_factory.mktemp("mailserver-state"))


@pytest.fixture(scope="module")
def other_certs(tmp_path_factory):
    """Another mailserver's CA: it signed nothing the server presents."""
    return certificates.ensure(tmp_path_factory.mktemp("other-state"))


def default_of(env, base):
    return mailers_from_env(Env(env), base)["default"]


# ---------------------------------------------------------------- configuration


def test_the_url_option_is_a_path_relative_to_the_project_and_chooses_the_project_backend(certs):
    base = Path(certs.ca_file).parent.parent
    relative = Path(certs.ca_file).relative_to(base)
    mailer = default_of({"EMAIL_URL": f"smtp+ssl://127.0.0.1:1465?ssl_cafile={relative}"}, base)
    assert mailer["BACKEND"] == CAFILE_SMTP_BACKEND
    assert mailer["OPTIONS"]["ssl_cafile"] == str(certs.ca_file) and mailer["OPTIONS"]["use_ssl"]


def test_the_separate_variable_does_the_same(certs):
    env = {
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": "1587",
        "EMAIL_USE_TLS": "true",
        "EMAIL_SSL_CAFILE": str(certs.ca_file),
    }
    mailer = default_of(env, Path("/srv/project"))
    assert mailer["BACKEND"] == CAFILE_SMTP_BACKEND and mailer["OPTIONS"]["ssl_cafile"] == str(certs.ca_file)


def test_without_a_ca_file_the_mailer_is_djangos_own_backend():
    assert default_of({"EMAIL_URL": "smtp+ssl://smtp.yandex.ru:465"}, Path("/srv"))["BACKEND"] == SMTP_BACKEND


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda folder: folder / "missing.pem", "does not exist"),
        (lambda folder: folder, "is not a file"),
        (lambda folder: write(folder / "notes.txt", "just text\n"), "holds no CA certificate"),
        (lambda folder: write(folder / "cut.pem", "-----BEGIN CERTIFICATE-----\nMIIB\n"), "holds no CA certificate"),
        (lambda folder: write(folder / "binary.pem", b"\xff\xfe\x00garbage"), "holds no CA certificate"),
    ],
)
@pytest.mark.parametrize("form", ["url", "variable"])
def test_a_ca_file_that_is_not_one_is_a_configuration_error_naming_the_variable(tmp_path, make, words, form):
    path = make(tmp_path)
    env = (
        {"EMAIL_URL": f"smtp+ssl://127.0.0.1:1465?ssl_cafile={path}"}
        if form == "url"
        else {"EMAIL_HOST": "127.0.0.1", "EMAIL_USE_SSL": "true", "EMAIL_SSL_CAFILE": str(path)}
    )
    with pytest.raises(ConfigError) as caught:
        default_of(env, tmp_path)
    assert words in str(caught.value)
    assert ("EMAIL_URL ?ssl_cafile" if form == "url" else "EMAIL_SSL_CAFILE") in str(caught.value)


def test_a_ca_file_variable_without_a_host_is_named():
    with pytest.raises(ConfigError, match="EMAIL_SSL_CAFILE"):
        default_of({"EMAIL_SSL_CAFILE": "ca.pem"}, Path("/srv"))


def write(path, content):
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


# ---------------------------------------------------------------- real TLS


def smtp_mailer(server, *, ca_file=None):
    options = {
        "host": server.host,
        "port": server.port,
        "use_ssl": server.config.security == "ssl",
        "use_tls": server.config.security == "starttls",
        "timeout": 5,
    }
    if ca_file:
        return {"BACKEND": CAFILE_SMTP_BACKEND, "OPTIONS": {**options, "ssl_cafile": str(ca_file)}}
    return {"BACKEND": SMTP_BACKEND, "OPTIONS": options}


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_the_mailer_with_the_ca_file_sends_and_a_mailer_without_it_in_the_same_process_does_not(
    settings, tmp_path, certs, security
):
    with running(Config(folder=tmp_path / "box", port=0, security=security, certificates=certs)) as server:
        settings.MAILERS = {"trusting": smtp_mailer(server, ca_file=certs.ca_file), "plain": smtp_mailer(server)}
        assert mail.send_mail("Hi", "Body.", "a@example.com", ["b@example.com"], using="trusting") == 1
        # The CA went into that mailer's context only: the system's store and other mailers are untouched.
        with pytest.raises(ssl.SSLCertVerificationError):
            mail.send_mail("Hi", "Body.", "a@example.com", ["b@example.com"], using="plain")
        assert mail.send_mail("Again", "Body.", "a@example.com", ["b@example.com"], using="trusting") == 1
    assert server.handler.saved == 2


def test_the_context_still_trusts_the_systems_authorities(settings, certs):
    settings.MAILERS = {
        "default": {"BACKEND": CAFILE_SMTP_BACKEND, "OPTIONS": {"host": "x", "ssl_cafile": certs.ca_file}}
    }
    context = mail.mailers["default"].ssl_context
    system = ssl.create_default_context().cert_store_stats()["x509_ca"]
    assert context.cert_store_stats()["x509_ca"] == system + 1
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_a_ca_that_did_not_sign_the_servers_certificate_is_explained_with_its_file(
    settings, tmp_path, certs, other_certs
):
    with running(Config(folder=tmp_path / "box", port=0, security="ssl", certificates=certs)) as server:
        settings.MAILERS = {"default": smtp_mailer(server, ca_file=other_certs.ca_file)}
        with pytest.raises(MailProblem) as caught:
            send_test_messages([mail.EmailMessage("Hi", "Body.", "a@example.com", ["b@example.com"])], "default")
    assert "is not trusted" in caught.value.message
    assert str(other_certs.ca_file) in caught.value.hint


def test_sendtestmail_reports_the_ca_file_it_used(settings, tmp_path, certs):
    with running(Config(folder=tmp_path / "box", port=0, security="ssl", certificates=certs)) as server:
        settings.MAILERS = {"default": smtp_mailer(server, ca_file=certs.ca_file)}
        assert describe_mailer()["ca_file"] == str(certs.ca_file)
        text, document = io.StringIO(), io.StringIO()
        call_command("sendtestmail", "b@example.com", "--from", "a@example.com", stdout=text)
        call_command("sendtestmail", "b@example.com", "--from", "a@example.com", "--json", stdout=document)
    assert f"also trusts the CA in {certs.ca_file}" in text.getvalue()
    assert json.loads(document.getvalue())["mailer"]["ca_file"] == str(certs.ca_file)
