"""Hostile clients against a real ``manage.py mailserver`` process: bounded memory and time, the right replies,
never a partial message, and a stop in the middle of a DATA that leaves nothing behind."""

import base64
import resource
import signal
import smtplib
import socket
import time

import pytest

from tests.mailserver_process import mailserver
from testsupport.smtp_servers import LOGIN, LOGINS, PASSWORD, smtp_server

HOST = "127.0.0.1"
MIB = 1024 * 1024


def connect(port: int) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=10)
    assert reply(sock).startswith("220 ")
    return sock


def reply(sock: socket.socket) -> str:
    """One whole reply (every line of a multi-line one)."""
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            return data.decode()
        data += chunk
        last = data.rstrip(b"\r\n").rsplit(b"\r\n", 1)[-1]
        if data.endswith(b"\r\n") and len(last) >= 4 and last[3:4] == b" ":
            return data.decode()


def say(sock: socket.socket, line: bytes) -> str:
    sock.sendall(line + b"\r\n")
    return reply(sock)


def start_data(sock: socket.socket) -> None:
    assert say(sock, b"EHLO client").startswith("250")
    assert say(sock, b"MAIL FROM:<anna@example.com>").startswith("250")
    assert say(sock, b"RCPT TO:<boris@example.com>").startswith("250")
    assert say(sock, b"DATA").startswith("354")


def send_chunks(sock: socket.socket, chunk: bytes, total: int) -> None:
    for _ in range(total // len(chunk)):
        sock.sendall(chunk)


def nothing_saved(folder) -> bool:
    return not folder.exists() or not [path for path in folder.iterdir() if path.suffix in (".eml", ".part")]


def test_an_endless_command_line_is_refused_at_bounded_memory_and_the_session_goes_on(tmp_path):
    with mailserver("--path", str(tmp_path / "out")) as server:
        before = server.rss_kib()
        with connect(server.port) as sock:
            send_chunks(sock, b"A" * MIB, 64 * MIB)
            assert say(sock, b"").startswith("500")
            assert say(sock, b"NOOP").startswith("250")
        assert server.rss_kib() - before < 32 * 1024


def test_an_endless_line_in_data_is_refused_and_nothing_is_saved(tmp_path):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder)) as server:
        before = server.rss_kib()
        with connect(server.port) as sock:
            start_data(sock)
            send_chunks(sock, b"B" * MIB, 64 * MIB)
            assert say(sock, b"\r\n.").startswith("500 Line too long")
            assert say(sock, b"NOOP").startswith("250")
        assert server.rss_kib() - before < 32 * 1024
    assert nothing_saved(folder)


def test_a_message_over_the_limit_is_read_to_its_end_refused_and_not_kept(tmp_path):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder), "--max-size", str(MIB)) as server:
        before = server.rss_kib()
        with connect(server.port) as sock:
            start_data(sock)  # no SIZE= in MAIL FROM: the limit is found while reading
            send_chunks(sock, b"C" * 998 + b"\r\n", 64 * MIB)
            assert say(sock, b".").startswith("552")
        assert server.rss_kib() - before < 32 * 1024
    assert nothing_saved(folder)


def test_a_data_that_never_ends_is_hung_up_on_after_the_timeout_and_leaves_nothing(tmp_path):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder), "--timeout", "1") as server, connect(server.port) as sock:
        start_data(sock)
        sock.sendall(b"Subject: never finished\r\n\r\nhalf a message\r\n")
        started = time.monotonic()
        assert sock.recv(100) == b""  # the server closed the connection
        assert time.monotonic() - started < 10
    assert nothing_saved(folder)


def test_a_thousand_idle_connections_cost_bounded_memory_and_later_clients_are_served(tmp_path):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1100:
        pytest.skip(f"this machine allows {hard} open files")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1100), hard))
    idle = []
    try:
        with mailserver("--path", str(tmp_path / "out"), "--timeout", "60") as server:
            before = server.rss_kib()
            for _ in range(1000):
                idle.append(socket.create_connection((HOST, server.port), timeout=10))
            greetings = [sock.recv(200) for sock in idle]
            assert sum(greeting.startswith(b"220 ") for greeting in greetings) == 100  # max_connections
            assert all(greeting.startswith((b"220 ", b"421 ")) for greeting in greetings)
            assert server.rss_kib() - before < 64 * 1024
            for sock in idle:
                sock.close()
            # The idle clients gone, a new one is served at once.
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with socket.create_connection((HOST, server.port), timeout=10) as sock:
                    if sock.recv(200).startswith(b"220 "):
                        break
                time.sleep(0.1)
            else:
                raise AssertionError("no client was served after the idle ones went away")
    finally:
        for sock in idle:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_an_idle_client_is_hung_up_on_after_the_timeout(tmp_path):
    with mailserver("--path", str(tmp_path / "out"), "--timeout", "1") as server, connect(server.port) as sock:
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the server
        assert time.monotonic() - started < 10


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM])
def test_a_stop_during_data_leaves_no_partial_message_and_exits_0(tmp_path, number):
    folder = tmp_path / "out"
    with mailserver("--path", str(folder)) as server, connect(server.port) as sock:
        start_data(sock)
        sock.sendall(b"Subject: cut short\r\n\r\n" + b"D" * 998 + b"\r\n")
        code, _out, err = server.stop(number)
        assert sock.recv(100) == b""
    assert code == 0, err
    assert nothing_saved(folder)


def test_a_client_guessing_passwords_is_told_421_and_hung_up_on_after_three_failures():
    with smtp_server(logins=LOGINS) as server, smtplib.SMTP(server.host, server.port, timeout=10) as client:
        client.ehlo()
        guesses = [b"\0" + LOGIN.encode() + b"\0" + f"guess-{number}".encode() for number in range(3)]
        replies = [client.docmd("AUTH", "PLAIN " + base64.b64encode(guess).decode()) for guess in guesses]
        assert [code for code, _ in replies] == [535, 535, 421]
        assert replies[-1][1] == b"4.7.0 Too many failed logins, closing the connection"
        with pytest.raises(smtplib.SMTPServerDisconnected):
            client.docmd(
                "AUTH", "PLAIN " + base64.b64encode(b"\0" + LOGIN.encode() + b"\0" + PASSWORD.encode()).decode()
            )


def test_a_wrong_password_from_django_is_still_a_plain_535():
    """smtplib tries PLAIN and then LOGIN: two failures in one connection are no guessing."""
    with smtp_server(logins=LOGINS) as server, smtplib.SMTP(server.host, server.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPAuthenticationError) as caught:
            client.login(LOGIN, "wrong")
        assert caught.value.smtp_code == 535
        client.login(LOGIN, PASSWORD)  # the connection is still open: the right password gets in
