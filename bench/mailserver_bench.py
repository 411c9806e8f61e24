"""Messages received and saved per second by the mailserver library, against a bare aiosmtpd server that discards.

    .venv/bin/python -m bench.mailserver_bench [--messages 2000] [--rounds 3]

Both servers run in this process, one after the other, each in a thread of its own
(``mailserver.running``; aiosmtpd's ``Controller`` with a handler that
answers 250 and keeps nothing: the limit of the protocol in Python). The clients are
separate processes (1, 4 and 16 at once), each with one smtplib connection, sending
its share of ``--messages`` reset-sized messages (about 4 KB, text and HTML) one
after the other; they connect first and start together. The rate is messages over
the time from the first start to the last end; the best of ``--rounds`` rounds, the
two servers taking turns at going first.

Targets (issue 14): at least 1,000 messages a second saved with 4 clients, and at
least 0.6x the discarding server with the same clients. Mailpit states 200-300 a second.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import smtplib
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "127.0.0.1"
CLIENTS = (1, 4, 16)
TARGET_RATE, TARGET_RATIO = 1000, 0.6


def reset_like_message(number: int) -> bytes:
    import email.policy
    import email.utils
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Кинохаб <noreply@cinemahub.example>"
    message["To"] = f"user{number}@example.com"
    message["Subject"] = "Сброс пароля на cinemahub.example"
    message["Date"] = email.utils.formatdate(localtime=True)  # as Django's messages carry them
    message["Message-ID"] = email.utils.make_msgid(domain="cinemahub.example")
    link = f"https://cinemahub.example/users/reset/MTA{number}/c9x-0123456789abcdef0123456789abcdef/"
    text = ("Вы получили это письмо, потому что запросили сброс пароля.\n" * 8) + f"\n{link}\n"
    message.set_content(text)
    message.add_alternative(f"<html><body><p>{text}</p><a href='{link}'>{link}</a></body></html>", subtype="html")
    # CRLF line ends, as Django sends them: smtplib sends bytes as they are.
    return message.as_bytes(policy=email.policy.SMTP)


def client(port: int, count: int, first: int, barrier, results) -> None:
    """Connect, wait for the others, send ``count`` messages over the one connection; record start and end."""
    messages = [reset_like_message(first + number) for number in range(count)]
    with smtplib.SMTP(HOST, port, timeout=60) as connection:
        connection.ehlo()
        barrier.wait()
        started = time.perf_counter()
        for number, data in enumerate(messages):
            connection.sendmail("noreply@cinemahub.example", [f"user{first + number}@example.com"], data)
        results.put((started, time.perf_counter()))


def rate(port: int, clients: int, total: int) -> float:
    """Messages a second, ``total`` messages sent by ``clients`` processes at once."""
    # spawn: a fork would copy the server thread's locks, half held, into the clients.
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(clients), context.Queue()
    share = total // clients
    processes = [
        context.Process(target=client, args=(port, share, index * share, barrier, results)) for index in range(clients)
    ]
    for process in processes:
        process.start()
    times = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit(f"a client failed with exit code {process.exitcode}")
    return share * clients / (max(end for _, end in times) - min(start for start, _ in times))


@contextlib.contextmanager
def discarding_server():
    """aiosmtpd with a handler that keeps nothing."""
    from aiosmtpd.controller import Controller

    class Discard:
        async def handle_DATA(self, server, session, envelope):
            return "250 2.0.0 Ok: discarded"

    with socket.socket() as probe:  # aiosmtpd's Controller needs the port before it listens
        probe.bind((HOST, 0))
        port = probe.getsockname()[1]
    controller = Controller(Discard(), hostname=HOST, port=port, server_hostname="localhost", ready_timeout=10)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


@contextlib.contextmanager
def saving_server(folder: Path):
    from mailserver import Config, running

    with running(Config(folder=folder, port=0)) as server:
        yield server.port


def create_cost(folder: Path, count: int = 500) -> float:
    """Microseconds the disk takes to make one empty file in ``folder`` (each saved message makes two)."""
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for number in range(count):
        os.close(os.open(folder / f"probe-{number}", os.O_CREAT | os.O_WRONLY | os.O_EXCL))
    took = (time.perf_counter() - started) / count * 1e6
    for number in range(count):
        os.unlink(folder / f"probe-{number}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per measurement (default 2000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept (default 3)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    os.environ.update({"DJANGO_ENV_FILE": "", "DEBUG": "true"})
    import django

    django.setup()

    best = {(kind, clients): 0.0 for kind in ("saving", "discarding") for clients in CLIENTS}
    with tempfile.TemporaryDirectory(prefix="mailserver-bench-") as temp:
        for round_number in range(args.rounds):
            order = ("saving", "discarding") if round_number % 2 == 0 else ("discarding", "saving")
            for kind in order:
                folder = Path(temp) / f"round{round_number}"
                server = saving_server(folder) if kind == "saving" else discarding_server()
                with server as port:
                    for clients in CLIENTS:
                        best[kind, clients] = max(best[kind, clients], rate(port, clients, args.messages))
            print(
                f"round {round_number + 1}: making a file took {create_cost(Path(temp) / 'probe'):.0f} us", flush=True
            )
            saved = len(list((Path(temp) / f"round{round_number}").glob("*.eml")))
            if saved != sum(args.messages // clients * clients for clients in CLIENTS):
                raise SystemExit(f"round {round_number}: {saved} messages saved, not all that were sent")

    print(f"{'clients':>8} {'saved/s':>9} {'discarded/s':>12} {'ratio':>6}")
    for clients in CLIENTS:
        saving, discarding = best["saving", clients], best["discarding", clients]
        print(f"{clients:>8} {saving:>9.0f} {discarding:>12.0f} {saving / discarding:>6.2f}")
    saving, discarding = best["saving", 4], best["discarding", 4]
    rate_ok, ratio_ok = saving >= TARGET_RATE, saving / discarding >= TARGET_RATIO
    print(
        f"4 clients: {saving:.0f} saved/s (target >= {TARGET_RATE}) {'ok' if rate_ok else 'MISSED'}; "
        f"{saving / discarding:.2f}x the discarding server (target >= {TARGET_RATIO}) {'ok' if ratio_ok else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
