"""DKIM signing (core/mail/dkim.py): what the project sends verifies against the key a real DNS server publishes.

The messages go through a real SMTP server on 127.0.0.1 and into the outbox; the
signatures are checked by dkimpy against testsupport/dns_server.py, as a receiver would.
"""

import json
import os
import stat
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from core.env import ConfigError, Env
from core.mail import dkim
from core.mail.config import CAFILE_SMTP_BACKEND
from core.mail.senderdomain import dkim_txt_record, resolver_from
from tests.conftest import manage
from tests.delivery.queue import drain
from tests.delivery.test_lesson_mail import QUEUE
from testsupport.dns_server import dns_server, nothing_listening
from testsupport.smtp_servers import mailers_for

KEY = dkim.make_private_key()


@pytest.fixture
def key_file(tmp_path) -> Path:
    path = tmp_path / "mail.pem"
    dkim.write_private_key(path, KEY)
    return path


@pytest.fixture
def signing(settings, key_file):
    settings.DKIM = {"KEY_FILE": str(key_file), "SELECTOR": "mail", "DOMAIN": ""}
    return settings.DKIM


@pytest.fixture
def published():
    with dns_server({"mail._domainkey.example.com": {"TXT": [dkim_txt_record(KEY)]}}) as server:
        yield resolver_from(server.nameservers)


def test_a_message_sent_through_smtp_is_signed_and_verifies(settings, signing, smtp_sink, published):
    settings.MAILERS = {"direct": dkim.signing_mailer(mailers_for(*smtp_sink, alias="direct")["direct"])}
    assert settings.MAILERS["direct"]["BACKEND"] == CAFILE_SMTP_BACKEND
    mail.send_mail("Привет", "Тело письма\n", "Site <noreply@example.com>", ["anna@example.org"], using="direct")
    [received] = smtp_sink.messages
    assert received.data.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com;")
    verification = dkim.verify(received.data, published)
    assert (verification.verdict, verification.domain, verification.selector) == ("pass", "example.com", "mail")


@pytest.mark.django_db(transaction=True)
def test_the_queue_signs_when_the_worker_sends_and_the_outbox_keeps_the_signed_bytes(
    settings, signing, outbox_dir, published
):
    settings.MAILERS = {"default": QUEUE, "direct": settings.MAILERS["default"]}  # queued, then the outbox
    message = mail.EmailMessage("Report", "Body", "noreply@example.com", ["anna@example.org"], bcc=["boss@x.org"])
    message.attach("report.csv", "a,b\n1,2\n", "text/csv")
    message.send()
    assert not outbox_dir.exists() or not list(outbox_dir.glob("*.eml"))
    drain()
    [saved] = outbox_dir.glob("*.eml")
    data = saved.read_bytes()
    assert dkim.verify(data, published).verdict == "pass"
    assert b"\nBcc: boss@x.org\n" in data  # kept by the outbox, outside the signed headers


def test_a_changed_message_or_another_key_fails(signing, published):
    data = dkim.sign(b"From: a@example.com\nTo: b@example.org\nSubject: Hi\n\nBody\n", signing)
    assert dkim.verify(data.replace(b"Body", b"B0dy"), published).verdict == "fail"
    other = dkim.sign(b"From: a@example.com\nSubject: Hi\n\nBody\n", {**signing, "SELECTOR": "old"})
    verification = dkim.verify(other, published)
    assert verification.verdict == "fail"
    assert "old._domainkey.example.com" in verification.words


def test_unsigned_and_dns_down_say_so(signing):
    unsigned = b"From: a@example.com\nSubject: Hi\n\nBody\n"
    resolver = resolver_from(nothing_listening(), timeout=0.5)
    assert dkim.verify(unsigned, resolver).verdict == "none"
    assert dkim.verify(dkim.sign(unsigned, signing), resolver).verdict == "unknown"


def test_without_the_settings_nothing_is_signed(settings, smtp_sink):
    settings.DKIM = None
    settings.MAILERS = mailers_for(*smtp_sink, alias="direct")
    mail.send_mail("Hi", "Body", "noreply@example.com", ["anna@example.org"], using="direct")
    assert b"DKIM-Signature" not in smtp_sink.messages[0].data


def env(**values) -> Env:
    return Env({name: str(value) for name, value in values.items()})


def test_settings_need_both_variables_and_a_usable_key(tmp_path, key_file):
    assert dkim.settings_from_env(env(), tmp_path) is None
    good = dkim.settings_from_env(env(DKIM_PRIVATE_KEY="mail.pem", DKIM_SELECTOR="mail"), tmp_path)
    assert good == {"KEY_FILE": str(key_file), "SELECTOR": "mail", "DOMAIN": ""}
    encrypted = tmp_path / "secret.pem"
    encrypted.write_bytes(b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n")
    huge = tmp_path / "huge.pem"
    huge.write_bytes(b"x" * (dkim.MAX_KEY_FILE + 1))
    cases = {
        "DKIM_SELECTOR: not set": env(DKIM_PRIVATE_KEY="mail.pem"),
        "DKIM_PRIVATE_KEY: not set": env(DKIM_SELECTOR="mail"),
        "DKIM_DOMAIN: set, but": env(DKIM_DOMAIN="example.com"),
        "is not a DNS name": env(DKIM_PRIVATE_KEY="mail.pem", DKIM_SELECTOR="mail;rm"),
        "cannot be read": env(DKIM_PRIVATE_KEY="missing.pem", DKIM_SELECTOR="mail"),
        "passphrase": env(DKIM_PRIVATE_KEY="secret.pem", DKIM_SELECTOR="mail"),
        "too large": env(DKIM_PRIVATE_KEY="huge.pem", DKIM_SELECTOR="mail"),
        "holds no PEM private key": env(DKIM_PRIVATE_KEY=os.devnull, DKIM_SELECTOR="mail"),
    }
    for words, given in cases.items():
        with pytest.raises(ConfigError) as error:
            dkim.settings_from_env(given, tmp_path)
        assert words in str(error.value), words
        assert KEY.decode()[40:80] not in str(error.value)


def test_dkimkey_writes_a_private_key_for_its_owner_only_and_prints_the_record(settings, tmp_path, capsys):
    settings.BASE_DIR = tmp_path
    call_command("dkimkey", "--selector", "s1", "--domain", "Пример.рф", "--json")
    document = json.loads(capsys.readouterr().out)
    path = tmp_path / ".dkim" / "s1.pem"
    assert document["key_file"] == ".dkim/s1.pem"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert document["record_name"] == "s1._domainkey.xn--e1afmkfd.xn--p1ai"
    assert document["record"] == dkim_txt_record(path.read_bytes())
    assert "DKIM_SELECTOR=s1" in document["env"]
    before = path.read_bytes()
    with pytest.raises(Exception, match="already exists"):
        call_command("dkimkey", "--selector", "s1", "--domain", "example.com")
    assert path.read_bytes() == before  # a key in use is never replaced


def test_outbox_show_says_whether_a_saved_signature_verifies(settings, signing, outbox_dir, capsys):
    zone = {"mail._domainkey.example.com": {"TXT": [dkim_txt_record(KEY)]}}
    mail.send_mail("Hi", "Body", "noreply@example.com", ["anna@example.org"])
    with dns_server(zone) as server:
        settings.DNS_NAMESERVERS = server.nameservers
        call_command("outbox", "show", "latest")
    assert "The DKIM signature verifies (d=example.com, s=mail)." in capsys.readouterr().out
    with dns_server({}) as server:  # the key is gone from DNS
        settings.DNS_NAMESERVERS = server.nameservers
        call_command("outbox", "show", "latest")
    out = capsys.readouterr().out
    assert "does not verify" in out


@pytest.mark.django_db
def test_the_web_outbox_says_it_too(settings, signing, outbox_dir, admin_client):
    mail.send_mail("Hi", "Body", "noreply@example.com", ["anna@example.org"])
    with dns_server({"mail._domainkey.example.com": {"TXT": [dkim_txt_record(KEY)]}}) as server:
        settings.DNS_NAMESERVERS = server.nameservers
        page = admin_client.get("/outbox/latest/")
    assert page.status_code == 200
    assert "The DKIM signature verifies (d=example.com, s=mail)." in page.content.decode()


def test_dkimkey_refuses_a_selector_that_is_no_dns_name(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    done = manage("dkimkey", "--selector", "mail;rm -rf", "--out", str(tmp_path / "k.pem"), "--json")
    assert done.returncode == 2
    assert json.loads(done.stdout)["error"] == "'mail;rm -rf' is not a DNS name."
    assert not (tmp_path / "k.pem").exists()


def test_dkimkey_wants_a_real_domain(settings, tmp_path):
    done = manage("dkimkey", "--out", str(tmp_path / "k.pem"), env={"DEFAULT_FROM_EMAIL": "webmaster@localhost"})
    assert done.returncode == 2
    assert "'localhost' is not a domain receivers can look up in DNS." in done.stderr
    assert "--domain example.com" in done.stderr
    assert not (tmp_path / "k.pem").exists()
