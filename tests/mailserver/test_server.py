"""The mailserver library in-process, with real smtplib clients on 127.0.0.1: what is saved, what is refused."""

import smtplib
import ssl
import time

import pytest

import outbox as ob
from mailserver import Config, Faults, certificates, running
from mailserver.profiles import GMAIL

MESSAGE = b"From: anna@example.com\r\nTo: boris@example.com\r\nSubject: Hello\r\n\r\nHi.\r\n"


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return certificates.ensure(tmp_path_factory.mktemp("mailserver-state"))


@pytest.fixture
def folder(tmp_path):
    return tmp_path / "outbox"


def serve(folder, **options):
    events = options.pop("events", [])
    return running(Config(folder=folder, port=0, timeout=5, on_event=events.append, **options))


def client(server, *, security="none", ca_file=None, timeout=5):
    # smtplib's own default context verifies nothing: the system's store is asked for explicitly.
    context = ssl.create_default_context(cafile=str(ca_file) if ca_file else None)
    if security == "ssl":
        return smtplib.SMTP_SSL(server.host, server.port, timeout=timeout, context=context)
    connection = smtplib.SMTP(server.host, server.port, timeout=timeout)
    if security == "starttls":
        connection.starttls(context=context)
    return connection


def saved(folder):
    return list(ob.Outbox(folder).listing(limit=None))


def raw(folder, summary) -> bytes:
    chunks = []
    ob.Outbox(folder).raw(summary.id, chunks.append)
    return b"".join(chunks)


def test_a_message_is_saved_into_the_outbox_with_its_envelope_and_a_blind_copy_shown(folder):
    with serve(folder) as server, client(server) as connection:
        connection.sendmail("anna@example.com", ["boris@example.com", "hidden@example.com"], MESSAGE)
    (summary,) = saved(folder)
    assert summary.subject == "Hello"
    assert summary.to == ["boris@example.com"] and summary.bcc == ["hidden@example.com"]
    head = raw(folder, summary).split(b"\r\n\r\n")[0]
    assert head.startswith(b"Return-Path: <anna@example.com>\r\nReceived: from ")
    assert b"([127.0.0.1])" in head and b"for <boris@example.com>, <hidden@example.com>" in head


def test_the_saved_file_is_indexed_as_the_backend_indexes_its_own(folder):
    with serve(folder) as server, client(server) as connection:
        connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
    assert (folder / ob.index.INDEX_NAME).read_text().count("\n") == 1


def test_starttls_and_ssl_are_trusted_through_the_ca_file_alone(folder, certs):
    for security in ("starttls", "ssl"):
        with serve(folder, security=security, certificates=certs) as server:
            with client(server, security=security, ca_file=certs.ca_file) as connection:
                connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
            with pytest.raises(ssl.SSLCertVerificationError):
                client(server, security=security)  # the system's store alone does not trust it
    assert len(saved(folder)) == 2
    assert all(b"with ESMTPS" in raw(folder, item) for item in saved(folder))


def test_with_logins_a_login_is_required_and_only_those_are_accepted(folder):
    events = []
    with serve(folder, logins={"anna@example.com": "app-pass"}, events=events) as server:
        with client(server) as connection:
            with pytest.raises(smtplib.SMTPSenderRefused) as caught:
                connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
            assert caught.value.smtp_code == 530
            with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
                connection.login("anna@example.com", "account-password")
            assert caught.value.smtp_code == 535
        with client(server) as connection:
            connection.login("ANNA@example.com", "app-pass")
            connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
    assert len(saved(folder)) == 1
    assert "login anna@example.com: 535 5.7.8 Authentication credentials invalid" in [e.text for e in events]
    assert not any("account-password" in event.text or "app-pass" in event.text for event in events)


def test_any_login_accepts_every_login_and_requires_none(folder):
    with serve(folder, any_login=True) as server:
        with client(server) as connection:
            connection.login("who@ever", "anything")
            connection.sendmail("who@ever", ["boris@example.com"], MESSAGE)
        with client(server) as connection:
            connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
    assert len(saved(folder)) == 2


def test_without_logins_no_login_is_offered(folder):
    with serve(folder) as server, client(server) as connection:
        connection.ehlo()
        assert not connection.has_extn("auth")


# ---------------------------------------------------------------- --fail rules


def test_data_first_refuses_the_first_messages_then_accepts(folder):
    with serve(folder, faults=Faults.parse(["data:451:first=2"])) as server, client(server) as connection:
        codes = []
        for _ in range(3):
            try:
                connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
                codes.append(250)
            except smtplib.SMTPDataError as error:
                codes.append(error.smtp_code)
    assert codes == [451, 451, 250]
    assert len(saved(folder)) == 1


def test_rcpt_match_refuses_only_the_matching_recipients(folder):
    faults = Faults.parse(["rcpt:550:match=*@blocked.example:text=5.1.1 No such user"])
    with serve(folder, faults=faults) as server, client(server) as connection:
        refused = connection.sendmail("anna@example.com", ["boris@example.com", "x@blocked.example"], MESSAGE)
    assert refused == {"x@blocked.example": (550, b"5.1.1 No such user")}
    assert [item.to for item in saved(folder)] == [["boris@example.com"]]


def test_mail_and_login_rules_give_their_reply(folder):
    faults = Faults.parse(["mail:553:match=anna@*", "login:454"])
    with serve(folder, faults=faults, any_login=True) as server, client(server) as connection:
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            connection.login("anna@example.com", "x")
        assert caught.value.smtp_code == 454
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:
            connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
        assert caught.value.smtp_code == 553
        connection.sendmail("boris@example.com", ["anna@example.com"], MESSAGE)
    assert len(saved(folder)) == 1


def test_connect_rules_refuse_or_drop_before_the_greeting(folder):
    with serve(folder, faults=Faults.parse(["connect:421:first=1", "connect:drop:every=2"])) as server:
        with pytest.raises(smtplib.SMTPConnectError) as caught:
            client(server)
        assert caught.value.smtp_code == 421
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client(server)  # the second connection: dropped without a word
        with client(server) as connection:  # the third: served
            connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)


def test_a_connect_delay_holds_the_greeting(folder):
    with (
        serve(folder, faults=Faults.parse(["connect:delay=1"])) as server,
        pytest.raises((TimeoutError, smtplib.SMTPServerDisconnected)),
    ):
        client(server, timeout=0.3)


def test_data_drop_hangs_up_mid_message_and_saves_nothing(folder):
    events = []
    with serve(folder, faults=Faults.parse(["data:drop:every=2"]), events=events) as server, client(server) as c:
        c.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
        with pytest.raises(smtplib.SMTPServerDisconnected):
            c.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
    assert len(saved(folder)) == 1
    assert [event.kind for event in events] == ["saved", "dropped"]


def test_a_data_delay_answers_late_and_is_announced(folder):
    events = []
    with serve(folder, faults=Faults.parse(["data:delay=0.5"]), events=events) as server, client(server) as c:
        started = time.monotonic()
        c.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
        assert time.monotonic() - started >= 0.5
    assert [event.kind for event in events] == ["delayed", "saved"]


# ---------------------------------------------------------------- size, Gmail's rewrite, a folder that fails


def test_a_message_over_the_size_limit_is_refused_and_nothing_is_saved(folder):
    with serve(folder, max_size=1000) as server, client(server) as connection:
        connection.ehlo()
        assert connection.esmtp_features["size"] == "1000"
        with pytest.raises(smtplib.SMTPSenderRefused) as caught:  # smtplib announces SIZE= in MAIL FROM
            connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE + b"x" * 2000)
        assert caught.value.smtp_code == 552
    assert saved(folder) == []


def test_gmail_replaces_a_sender_that_is_not_the_account(folder, certs):
    gmail = {"profile": GMAIL, "security": "ssl", "certificates": certs, "logins": {"you@gmail.com": "p"}}
    with serve(folder, **gmail) as server, client(server, security="ssl", ca_file=certs.ca_file) as connection:
        connection.login("you@gmail.com", "p")
        connection.sendmail("site@example.com", ["boris@example.com"], MESSAGE)
    (summary,) = saved(folder)
    assert summary.sender == "you@gmail.com"


def test_a_folder_that_cannot_be_written_is_a_temporary_failure_and_the_server_goes_on(folder):
    with serve(folder) as server, client(server) as connection:
        folder.chmod(0o500)
        try:
            if not _writable_by_root(folder):
                with pytest.raises(smtplib.SMTPDataError) as caught:
                    connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
                assert caught.value.smtp_code == 451 and b"Cannot save the message" in caught.value.smtp_error
        finally:
            folder.chmod(0o700)
        connection.sendmail("anna@example.com", ["boris@example.com"], MESSAGE)
    assert len(saved(folder)) == 1
    assert not [name for name in folder.iterdir() if name.suffix == ".part"]


def _writable_by_root(folder) -> bool:
    probe = folder / "probe"
    try:
        probe.write_text("")
    except PermissionError:
        return False
    probe.unlink()
    return True
