"""What the round trip reads from a mailbox: the receiver's verdict, a bounce, folder names."""

import pytest

from core.mail.roundtrip import (
    authentication_hint,
    decode_mutf7,
    parse_authentication_results,
    parse_bounce,
    parse_list,
    spam_folder,
)
from testsupport.dovecot import mutf7
from testsupport.receiver import bounce

GMAIL = (
    "mx.google.com;\r\n       dkim=pass header.i=@example.org header.s=mail header.b=AbC;\r\n"
    "       spf=softfail (google.com: domain of transitioning site@example.org does not designate 192.0.2.1 as "
    "permitted sender; see the record) smtp.mailfrom=site@example.org;\r\n"
    "       dmarc=fail (p=QUARANTINE sp=NONE dis=QUARANTINE) header.from=example.org"
)


def test_a_gmail_verdict_folded_with_comments_holding_semicolons():
    found = parse_authentication_results(GMAIL)
    assert {name: entry["result"] for name, entry in found.items()} == {
        "dkim": "pass",
        "spf": "softfail",
        "dmarc": "fail",
    }
    assert (
        found["spf"]["reason"].startswith("google.com: domain of transitioning")
        and "see the record" in (found["spf"]["reason"])
    )
    assert found["dmarc"]["properties"] == {"header.from": "example.org"}
    hint = authentication_hint(found)
    assert "SPF softfail" in hint and "quarantine" in hint and "DKIM pass:" not in hint


def test_a_verdict_with_versions_reason_and_two_dkim_signatures():
    found = parse_authentication_results(
        'mx.test 1; dkim=fail reason="bad signature" header.d=a.example; dkim=pass header.d=b.example; '
        "spf/2=none; arc=none; nonsense; =; dmarc"
    )
    assert found["dkim"] == {"result": "pass", "reason": "", "properties": {"header.d": "b.example"}}
    assert found["spf"]["result"] == "none" and found["arc"]["result"] == "none"
    assert set(found) == {"dkim", "spf", "arc"}


@pytest.mark.parametrize("value", ["", "mx.test", "mx.test; none", "(((;;;", "x; spf=" + "(" * 5000])
def test_a_verdict_that_says_nothing_readable(value):
    assert isinstance(parse_authentication_results(value), dict)


ORIGINAL = b"From: site@example.org\r\nTo: nobody@example.test\r\nMessage-ID: <abc@example.org>\r\n\r\nhi\r\n"


def test_a_delivery_status_notification():
    assert parse_bounce(bounce(ORIGINAL, "site@example.org"), "<abc@example.org>") == {
        "status": "5.1.1",
        "diagnostic": "550 5.1.1 user unknown",
        "recipient": "nobody@example.test",
    }


def test_a_bounce_of_another_message_or_a_delay_is_no_bounce_of_this_one():
    report = bounce(ORIGINAL, "site@example.org")
    assert parse_bounce(report, "<other@example.org>") is None
    assert parse_bounce(report.replace(b"Action: failed", b"Action: delayed"), "<abc@example.org>") is None
    assert parse_bounce(ORIGINAL, "<abc@example.org>") is None  # the message itself


def test_a_bounce_in_words_only():
    words = (
        b"From: Mail Delivery System <Mailer-Daemon@mx.example>\r\nSubject: Mail delivery failed\r\n\r\n"
        b"  nobody@example.test\r\n    SMTP error from remote mail server after RCPT TO:\r\n"
        b"    550 5.1.1 <nobody@example.test>: Recipient address rejected\r\n\r\nMessage-ID: <abc@example.org>\r\n"
    )
    found = parse_bounce(words, "<abc@example.org>")
    assert found["status"] == "5.1.1" and found["diagnostic"].startswith("550 5.1.1")


@pytest.mark.parametrize("name", ["Спам", "Junk & Bulk", "Нежелательная почта", "a&b", "日本語"])
def test_modified_utf7_both_ways(name):
    assert decode_mutf7(mutf7(name)) == name


def test_modified_utf7_examples():
    assert decode_mutf7("&BCEEPwQwBDw-") == "Спам"
    assert decode_mutf7("&-") == "&" and decode_mutf7("&!!!-broken") == "&!!!-broken"


def test_the_spam_folder_by_flag_else_by_name():
    lines = [
        b'(\\HasNoChildren) "/" INBOX',
        b'(\\HasNoChildren \\Junk) "/" "Bulk Mail"',
        b'(\\HasNoChildren) "/" Spam',
        b'(\\Noselect) "/" "[Gmail]"',
    ]
    assert spam_folder(parse_list(lines)).name == "Bulk Mail"
    assert spam_folder(parse_list([lines[0], lines[2]])).name == "Spam"
    assert spam_folder(parse_list([b'() "." "INBOX.&BCEEPwQwBDw-"'])).name == "INBOX.Спам"
    assert spam_folder(parse_list([(b'() "/" {4}', b"Junk"), b""])).raw == "Junk"  # a name sent as a literal
    assert spam_folder(parse_list([lines[0], lines[3]])) is None
