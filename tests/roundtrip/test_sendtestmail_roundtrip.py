"""``manage.py sendtestmail --roundtrip`` and ``--check``'s sender domain, run as a person runs them.

A real process sends through the receiving provider (testsupport/receiver.py), which
files the message into Dovecot's Inbox or Junk or bounces it; the command reads the
mailbox over IMAP. ``--check`` asks a real DNS server on 127.0.0.1 (DNS_NAMESERVERS).
"""

import json

import pytest

from tests.conftest import manage
from testsupport.dns_server import dns_server
from testsupport.receiver import BOUNCE, PASSING, Receiver

FROM = "site@example.org"


def run(receiver, imap, *args, imap_url=None, **env):
    variables = {
        "EMAIL_URL": f"smtp://{receiver.host}:{receiver.port}",
        "DEFAULT_FROM_EMAIL": FROM,
        "IMAP_URL": imap_url or imap.url(scheme="imap+plain"),
        **env,
    }
    return manage("sendtestmail", "--roundtrip", "--wait", "15", "--timeout", "5", *args, env=variables)


def test_in_the_inbox_exit_0_with_the_receivers_verdict(imap):
    with Receiver(imap, rule="INBOX", results=PASSING) as receiver:
        done = run(receiver, imap)
    assert done.returncode == 0, done.stderr
    assert "arrived in INBOX after" in done.stdout
    assert "spf=pass, dkim=pass, dmarc=pass" in done.stdout
    assert imap.messages("INBOX") == []  # removed afterwards


def test_in_spam_exit_7_says_which_folder_and_why(imap):
    with Receiver(imap, rule="Junk") as receiver:  # DMARC fails (p=reject), DKIM none
        done = run(receiver, imap, "--json", "--keep")
    assert done.returncode == 7
    document = json.loads(done.stdout)
    assert (document["outcome"], document["folder"], document["code"]) == ("spam", "Junk", 7)
    assert document["authentication_results"]["dmarc"]["result"] == "fail"
    assert "DMARC fail" in document["hint"] or "spam" in document["error"]
    assert len(imap.messages("Junk")) == 1  # --keep
    for path in imap.folder_path("Junk").glob("*/*"):
        path.unlink()


def test_a_bounce_is_the_recipients_refusal_exit_6(imap):
    with Receiver(imap, rule=BOUNCE) as receiver:
        done = run(receiver, imap)
    assert done.returncode == 6, done.stdout + done.stderr
    assert "5.1.1" in done.stderr


def test_a_wrong_imap_password_exit_5_and_never_shows_it(imap):
    with Receiver(imap) as receiver:
        done = run(receiver, imap, imap_url=imap.url(scheme="imap+plain", password="Wrong-Secret-42"))
    assert done.returncode == 5
    assert "Wrong-Secret-42" not in done.stdout + done.stderr
    assert imap.messages("INBOX") == []  # nothing was sent to a mailbox that cannot be read


def test_no_mailbox_to_read_says_how_to_name_one(imap):
    with Receiver(imap) as receiver:
        done = manage("sendtestmail", "--roundtrip", env={"EMAIL_URL": f"smtp://{receiver.host}:{receiver.port}"})
    assert done.returncode == 2
    assert "IMAP_URL" in done.stderr


@pytest.mark.parametrize(
    ("spf", "code", "shown"),
    [
        ("v=spf1 ip4:127.0.0.1 -all", 0, "SPF   ok"),
        ("v=spf1 ip4:192.0.2.1 -all", 7, "SPF   FAIL"),
    ],
)
def test_check_judges_the_sender_domain_in_the_dns_it_is_told(smtp_sink, spf, code, shown):
    zone = {
        "example.org": {"TXT": [spf], "MX": ["10 mx.example.org"]},
        "_dmarc.example.org": {"TXT": ["v=DMARC1; p=none"]},
    }
    with dns_server(zone) as server:
        env = {
            "EMAIL_URL": f"smtp://{smtp_sink.host}:{smtp_sink.port}",
            "DEFAULT_FROM_EMAIL": FROM,
            "DNS_NAMESERVERS": server.nameservers,
        }
        done = manage("sendtestmail", "--check", env=env)
        as_json = manage("sendtestmail", "--check", "--json", env=env)
    assert done.returncode == code, done.stderr
    assert "Sender domain example.org" in done.stdout
    assert shown in done.stdout
    [report] = json.loads(as_json.stdout)["sender_domain"]
    assert report["spf"]["verdict"] == ("pass" if code == 0 else "fail")


def test_check_of_a_server_on_this_machine_leaves_the_domain_alone_unless_told(smtp_sink):
    done = manage("sendtestmail", "--check", env={"EMAIL_URL": f"smtp://{smtp_sink.host}:{smtp_sink.port}"})
    assert done.returncode == 0
    assert "Sender domain not checked" in done.stdout


def test_a_mailer_that_sends_nothing_out_cannot_make_a_round_trip(tmp_path):
    done = manage("sendtestmail", "--roundtrip", env={"EMAIL_URL": f"outbox://{tmp_path}"})
    assert done.returncode == 2
    assert "sends nothing out (outbox.backend.EmailBackend)" in done.stderr
    assert "EMAIL_URL" in done.stderr


def test_a_bad_imap_option_is_said_in_the_commands_language(smtp_sink):
    env = {"EMAIL_URL": f"smtp://{smtp_sink.host}:{smtp_sink.port}", "LANGUAGE_CODE": "ru"}
    done = manage("sendtestmail", "--roundtrip", "--imap", "imap+plain://a:Secret-9@example.com", env=env)
    assert done.returncode == 2
    assert "IMAP без TLS к example.com передал бы пароль открытым текстом" in done.stderr
    assert "Secret-9" not in done.stderr
    started = manage("check", env={"IMAP_URL": "ftp://x"})  # at start-up, before any language: English
    assert "IMAP_URL: unknown IMAP URL scheme 'ftp'" in started.stderr
