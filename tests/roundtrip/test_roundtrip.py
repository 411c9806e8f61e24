"""``roundtrip`` against a real Dovecot mailbox and a receiving provider that files, bounces or loses the message."""

import json
import socket
import threading
from contextlib import contextmanager

import pytest

from core.mail.errors import ExitCode
from core.mail.roundtrip import ImapTarget, imap_target_from_url, roundtrip
from testsupport.dovecot import Dovecot
from testsupport.receiver import BOUNCE, DROP, PASSING, Receiver
from testsupport.services import Unavailable
from testsupport.smtp_servers import HOST, closed_port, silent_server, trusted_ca_file

FAST = {"wait": 10, "poll": 0.1, "timeout": 5}


def plain(imap, **changes) -> ImapTarget:
    return imap_target_from_url(imap.url(scheme="imap+plain", **changes))


def seen(report) -> str:
    """Everything a person or a program sees of a report."""
    return " ".join([report.words, report.hint, repr(report), str(report.as_dict()), json.dumps(report.as_dict())])


def test_a_message_filed_in_the_inbox_is_found_with_the_receivers_verdict_and_then_deleted(imap, sender):
    forged = {"Authentication-Results": "evil.example; spf=pass; dkim=pass; dmarc=pass"}  # the sender's own, below
    with Receiver(imap, rule="INBOX") as smtp:
        send = sender(smtp, imap.user, extra_headers=forged)
        report = roundtrip(plain(imap), send, **FAST)
    assert (report.outcome, report.exit_code, report.folder) == ("inbox", ExitCode.DONE, "INBOX")
    results = report.authentication_results
    assert results["spf"]["result"] == "pass" and results["spf"]["properties"]["smtp.mailfrom"] == "site@example.org"
    assert results["dkim"]["result"] == "none"
    assert results["dmarc"] == {"result": "fail", "reason": "p=reject", "properties": {"header.from": "example.org"}}
    assert "arrived in INBOX" in report.words
    assert "DMARC fail" in report.hint and "DKIM none" in report.hint and "SPF pass" not in report.hint
    assert report.message_id == send.sent[0] and report.removed
    assert imap.messages("INBOX") == []
    document = report.as_dict()
    assert set(document) == {"outcome", "folder", "seconds", "authentication_results", "bounce"}
    assert document["bounce"] is None and document["seconds"] >= 0


def test_a_passing_verdict_gives_no_hint(imap, sender):
    with Receiver(imap, rule="INBOX", results=PASSING) as smtp:
        report = roundtrip(plain(imap), sender(smtp, imap.user), **FAST)
    assert report.outcome == "inbox" and report.hint == ""
    assert {name: found["result"] for name, found in report.authentication_results.items()} == {
        "spf": "pass",
        "dkim": "pass",
        "dmarc": "pass",
    }


def test_a_message_filed_later_is_waited_for(imap, sender):
    with Receiver(imap, rule="INBOX", delay=1.0) as smtp:
        report = roundtrip(plain(imap), sender(smtp, imap.user), **FAST)
    assert report.outcome == "inbox"
    assert report.seconds >= 1.0  # it was not there before the receiver filed it


def test_spam_is_found_in_the_folder_flagged_junk(imap, sender):
    with Receiver(imap, rule="Junk") as smtp:
        report = roundtrip(plain(imap), sender(smtp, imap.user), **FAST)
    assert (report.outcome, report.exit_code, report.folder) == ("spam", ExitCode.UNHEALTHY, "Junk")
    assert "spam folder Junk" in report.words and "DMARC fail" in report.hint
    assert imap.messages("Junk") == [] and report.removed


def test_spam_is_found_in_a_folder_only_named_spam_in_russian(imap_russian_spam, sender):
    imap = imap_russian_spam
    with Receiver(imap, rule="Спам", results=None) as smtp:
        report = roundtrip(plain(imap), sender(smtp, imap.user), **FAST)
    assert (report.outcome, report.folder) == ("spam", "Спам")  # decoded from modified UTF-7
    assert report.authentication_results == {} and "spam" in report.hint  # no verdict: the general hint
    assert imap.messages("Спам") == []


def test_without_a_message_id_the_token_in_the_subject_is_looked_for(imap, sender):
    with Receiver(imap, rule="INBOX") as smtp:
        send = sender(smtp, imap.user)
        report = roundtrip(plain(imap), lambda token: send(token) and "", **FAST)
    assert report.outcome == "inbox" and report.message_id == "" and imap.messages("INBOX") == []


def test_keep_leaves_the_message_in_the_mailbox(imap, sender):
    with Receiver(imap, rule="Junk") as smtp:
        report = roundtrip(plain(imap), sender(smtp, imap.user), keep=True, **FAST)
    assert report.outcome == "spam" and not report.removed
    kept = imap.messages("Junk")
    try:
        assert len(kept) == 1 and report.token.encode() in kept[0].read_bytes()
    finally:
        for path in kept:
            path.unlink()


def test_a_bounce_names_the_status_and_the_diagnostic_and_is_deleted(imap, sender):
    with Receiver(imap, rule=BOUNCE) as smtp:
        report = roundtrip(plain(imap), sender(smtp, "nobody@example.test"), **FAST)
    assert (report.outcome, report.exit_code) == ("bounced", ExitCode.MESSAGE_REFUSED)
    assert report.bounce == {
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 user unknown",
        "recipient": "nobody@example.test",
    }
    assert "5.1.1" in report.words and "nobody@example.test" in report.words
    assert "typo" in report.hint
    assert report.as_dict()["bounce"] == report.bounce
    assert imap.messages("INBOX") == [] and report.removed


def test_an_old_bounce_of_another_message_is_not_taken_for_this_ones(imap, sender):
    with Receiver(imap, rule=BOUNCE) as smtp:
        first = roundtrip(plain(imap), sender(smtp, "nobody@example.test"), keep=True, **FAST)
    with Receiver(imap, rule=DROP) as smtp:
        second = roundtrip(plain(imap), sender(smtp, imap.user), wait=0.5, poll=0.1)
    try:
        assert first.outcome == "bounced" and second.outcome == "not_arrived"
    finally:
        for path in imap.messages("INBOX"):
            path.unlink()


def test_a_message_that_never_arrives_is_reported_after_the_wait(imap, sender):
    with Receiver(imap, rule=DROP) as smtp:
        send = sender(smtp, imap.user)
        report = roundtrip(plain(imap), send, wait=1.5, poll=0.3)
        assert smtp.wait_filed(1, timeout=5) and smtp.filed[0].action == DROP
    assert (report.outcome, report.exit_code) == ("not_arrived", ExitCode.UNHEALTHY)
    assert "INBOX" in report.words and "Junk" in report.words and "1.5 s" in report.words
    assert report.hint and report.folder == "" and report.seconds is None
    assert report.message_id == send.sent[0]


def test_a_wrong_imap_password_is_a_report_that_never_shows_it_and_nothing_is_sent(imap, sender):
    wrong = "Wrong/P@ss#marker-9"
    with Receiver(imap) as smtp:
        send = sender(smtp, imap.user)
        report = roundtrip(plain(imap, password=wrong), send, **FAST)
    assert (report.outcome, report.exit_code) == ("imap_login_failed", ExitCode.LOGIN_REFUSED)
    assert imap.user in report.words and f"{HOST}:{imap.port}" in report.words
    assert "app password" in report.hint
    assert wrong not in seen(report) and "marker" not in seen(report)
    assert send.sent == []  # a mailbox that cannot be read gets no test message


def test_a_password_that_is_not_ascii_is_given_over_sasl_plain(sender):
    try:
        server = Dovecot(password="пароль-Grüße")
    except Unavailable as why:
        pytest.skip(str(why))
    with server as imap, Receiver(imap) as smtp:
        report = roundtrip(plain(imap), sender(smtp, imap.user), **FAST)
        wrong = roundtrip(plain(imap, password="пароль-wrong"), sender(smtp, imap.user), **FAST)
    assert report.outcome == "inbox"
    assert wrong.outcome == "imap_login_failed" and "пароль" not in seen(wrong)


def test_an_imap_server_nobody_listens_on_is_unreachable(sender):
    server = closed_port()
    target = ImapTarget(HOST, server.port, "anna@example.test", "secret-marker-1", "plain")
    report = roundtrip(target, sender(("127.0.0.1", 9), "x@example.test"), **FAST)
    assert (report.outcome, report.exit_code) == ("imap_unreachable", ExitCode.UNREACHABLE)
    assert f"{HOST}:{server.port}" in report.words and "993" in report.hint
    assert "secret-marker" not in seen(report)


def test_a_server_that_never_speaks_is_given_up_after_the_timeout(sender):
    with silent_server() as server:
        target = ImapTarget(HOST, server.port, "anna@example.test", "secret-marker-2", "plain")
        report = roundtrip(target, sender(server, "x@example.test"), wait=5, timeout=0.5)
    assert report.outcome == "imap_unreachable"
    assert "no answer within 0.5 s" in report.words


def test_imaps_and_starttls_with_the_test_ca(imap, sender):
    ca = f"?ssl_cafile={trusted_ca_file()}"
    for url in (imap.url(ssl=True) + ca, imap.url() + ca):
        with Receiver(imap, rule="INBOX") as smtp:
            report = roundtrip(imap_target_from_url(url), sender(smtp, imap.user), **FAST)
        assert report.outcome == "inbox", (url.split(":")[0], report.words)


def test_a_certificate_not_trusted_is_unreachable_with_a_hint(imap, sender):
    target = imap_target_from_url(imap.url(ssl=True))  # the system's CAs only
    report = roundtrip(target, sender(("127.0.0.1", 9), imap.user), **FAST)
    assert report.outcome == "imap_unreachable" and "certificate" in report.hint
    assert imap.password not in seen(report)


@contextmanager
def hostile_imap(answer: bytes):
    """A server that greets, accepts any login, and answers everything else with ``answer`` then OK."""
    listener = socket.create_server((HOST, 0))

    def serve():
        with listener:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection, connection.makefile("rb") as lines:
                connection.sendall(b"* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] hostile\r\n")
                for line in lines:
                    tag = line.split(b" ", 1)[0]
                    try:
                        if b" LOGIN " in line.upper():
                            connection.sendall(tag + b" OK logged in\r\n")
                        elif b" LOGOUT" in line.upper():
                            connection.sendall(b"* BYE\r\n" + tag + b" OK bye\r\n")
                            return
                        else:
                            connection.sendall(answer + b"\r\n" + tag + b" OK done\r\n")
                    except OSError:
                        return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()
        thread.join(10)


def test_a_server_announcing_a_huge_answer_is_not_read(sender):
    with hostile_imap(b'* LIST () "/" {2000000000}') as port:
        target = ImapTarget(HOST, port, "anna@example.test", "secret-marker-3", "plain")
        report = roundtrip(target, sender(("127.0.0.1", 9), "x@example.test"), **FAST)
    assert report.outcome == "imap_unreachable" and "too large" in report.words
    assert "\n" not in report.words


def test_a_server_answering_nonsense_is_one_line_and_gets_no_message(sender):
    with hostile_imap(b"* LIST \x00\xff garbage\x1b[31m (((") as port:
        target = ImapTarget(HOST, port, "anna@example.test", "secret-marker-4", "plain")
        send = sender(("127.0.0.1", 9), "x@example.test")
        report = roundtrip(target, send, **FAST)
    assert report.outcome == "imap_unreachable" and "folders cannot be read" in report.words
    assert report.words.isprintable() and send.sent == []
