"""Where the mailbox is: an IMAP URL read, or the provider's IMAP server found from its SMTP server."""

import pytest

from core.mail.roundtrip import ImapTarget, default_imap_target, imap_target_from_url

SECRET = "pa/ss#w@rd-marker"
ENCODED = "pa%2Fss%23w%40rd-marker"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            f"imaps://anna%40yandex.ru:{ENCODED}@imap.yandex.ru:993",
            ("imap.yandex.ru", 993, "anna@yandex.ru", SECRET, "ssl", None),
        ),
        (
            f"imaps://anna%40yandex.ru:{ENCODED}@imap.yandex.ru",
            ("imap.yandex.ru", 993, "anna@yandex.ru", SECRET, "ssl", None),
        ),
        ("imap://anna:pw@mail.example.com", ("mail.example.com", 143, "anna", "pw", "starttls", None)),
        ("IMAP://anna:pw@mail.example.com:1143/", ("mail.example.com", 1143, "anna", "pw", "starttls", None)),
        ("imap+plain://anna:pw@127.0.0.1:1143", ("127.0.0.1", 1143, "anna", "pw", "plain", None)),
        ("imap+plain://anna:pw@localhost", ("localhost", 143, "anna", "pw", "plain", None)),
        ("imap+plain://anna:pw@[::1]:1143", ("::1", 1143, "anna", "pw", "plain", None)),
        (
            "imaps://anna@example.com:pw@127.0.0.1:993?ssl_cafile=/tmp/ca.pem",
            ("127.0.0.1", 993, "anna@example.com", "pw", "ssl", "/tmp/ca.pem"),
        ),
    ],
)
def test_good_urls(url, expected):
    target = imap_target_from_url(url)
    assert (target.host, target.port, target.user, target.password, target.security, target.cafile) == expected


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("", "not an IMAP URL"),
        ("imap.yandex.ru", "not an IMAP URL"),
        (f"smtp+ssl://anna:{ENCODED}@smtp.yandex.ru:465", "unknown IMAP URL scheme 'smtp+ssl'"),
        (f"imap+plain://anna:{ENCODED}@imap.yandex.ru", "clear text"),
        (f"imap+plain://anna:{ENCODED}@10.0.0.1", "clear text"),
        ("imaps://imap.yandex.ru:993", "no login and password"),
        ("imaps://anna@imap.yandex.ru:993", "both a login and a password"),
        ("imaps://anna:@imap.yandex.ru:993", "both a login and a password"),
        (f"imaps://anna:{SECRET}@imap.yandex.ru:993", "unencoded"),
        ("imaps://anna:pa ss-marker@imap.yandex.ru:993", "white space"),
        (f"imaps://anna:{ENCODED}@imap.yandex.ru:99999", "port"),
        (f"imaps://anna:{ENCODED}@imap.yandex.ru:port", "port"),
        (f"imaps://anna:{ENCODED}@:993", "no host"),
        (f"imaps://anna:{ENCODED}@imap.yandex.ru/INBOX", "not a folder"),
        (f"imaps://anna:{ENCODED}@imap.yandex.ru?timeout=5", "unknown option 'timeout'"),
    ],
)
def test_bad_urls_are_one_sentence_and_a_hint_never_quoting_the_password(url, problem):
    with pytest.raises(ValueError) as raised:  # noqa: PT011 - the message is checked below
        imap_target_from_url(url)
    words = " ".join(str(arg) for arg in raised.value.args)
    assert problem in raised.value.args[0]
    assert len(raised.value.args) == 2 and raised.value.args[1]  # the hint
    assert "marker" not in words and "pa%2Fss" not in words


def test_the_password_is_in_no_repr_or_str():
    target = imap_target_from_url(f"imaps://anna%40yandex.ru:{ENCODED}@imap.yandex.ru")
    assert "marker" not in repr(target) and "marker" not in str(target) and "pa%2F" not in repr(target)
    assert str(target) == "ssl anna@yandex.ru@imap.yandex.ru:993"


def test_an_unknown_security_is_refused():
    with pytest.raises(ValueError, match="security"):
        ImapTarget("imap.example.com", 993, "anna", "pw", "tls")


@pytest.mark.parametrize(
    ("smtp_host", "imap_host"),
    [
        ("smtp.yandex.ru", "imap.yandex.ru"),
        ("smtp.yandex.com", "imap.yandex.ru"),
        ("SMTP.Yandex.RU.", "imap.yandex.ru"),
        ("smtp.gmail.com", "imap.gmail.com"),
        ("smtp.mail.ru", "imap.mail.ru"),
    ],
)
def test_the_imap_server_of_a_known_provider(smtp_host, imap_host):
    assert default_imap_target(smtp_host, "anna@x.ru", "app-pw") == ImapTarget(imap_host, 993, "anna@x.ru", "app-pw")


@pytest.mark.parametrize("smtp_host", ["smtp.example.com", "127.0.0.1", "", "yandex.ru", "smtp.gmail.com.evil.example"])
def test_no_imap_server_for_other_hosts(smtp_host):
    assert default_imap_target(smtp_host, "anna@x.ru", "app-pw") is None


def test_no_imap_server_without_a_login():
    assert default_imap_target("smtp.yandex.ru", "", "") is None
