"""A DNS server on 127.0.0.1 for the tests: zones written as a dict or as zone text, answered over UDP and TCP.

The sender-domain check (core/mail/senderdomain.py) asks DNS about SPF, DMARC,
DKIM and MX; the tests give it this server's address as ``DNS_NAMESERVERS``, so
it asks real DNS questions over a real socket and gets real answers, never a mock::

    from testsupport.dns_server import dns_server

    zone = {"example.com": {"TXT": ["v=spf1 ip4:192.0.2.1 -all"], "MX": ["10 mx.example.com"]}}
    with dns_server(zone) as server:
        resolver = resolver_from(server.nameservers)  # "127.0.0.1:PORT"

It is dnslib's ``DNSServer`` (one UDP and one TCP listener on the same free port
of ``HOST``) with a resolver of its own that answers as an authoritative server
does: a name it holds with no record of the type asked is an empty NOERROR answer,
a name it does not hold is NXDOMAIN (dnslib's ``ZoneResolver`` says NXDOMAIN for
both), and CNAMEs are followed inside the zone, a loop included (the answer then
holds both CNAMEs, as a hostile server's would). A UDP answer over 1232 bytes is
sent truncated, so the client asks again over TCP as it does with a real server.
A TXT string longer than 255 bytes (a DKIM key) is split into 255-byte strings,
as DNS requires. ``answer=False`` makes a server that receives every question and
never answers (a timeout); a DNS server that cannot be reached is a ``free_port()``
with nothing listening (``nothing_listening()``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping

from dnslib import AAAA, CNAME, MX, QTYPE, RCODE, RR, TXT, A, DNSLabel, DNSRecord
from dnslib.server import BaseResolver, DNSHandler, DNSLogger, DNSServer

from testsupport.smtp_servers import HOST, free_port

# Record type → how a value written as text becomes dnslib's rdata.
RDATA = {
    "A": lambda text: A(text),
    "AAAA": lambda text: AAAA(text),
    "CNAME": lambda text: CNAME(text),
    "MX": lambda text: MX(text.split()[1], int(text.split()[0])),
    "TXT": lambda text: TXT(split_txt(text)),
}
UDP_LIMIT = 1232  # bytes: the EDNS size DNS flag day 2020 settled on; larger answers go over TCP


def split_txt(value: str | bytes | list) -> list[bytes]:
    """A TXT value as DNS carries it: strings of at most 255 bytes (a list is taken as strings already)."""
    if isinstance(value, list):
        return [part.encode() if isinstance(part, str) else part for part in value]
    data = value.encode() if isinstance(value, str) else value
    return [data[start : start + 255] for start in range(0, len(data), 255)] or [b""]


def records_of(zone: Mapping | str) -> list[RR]:
    """``{"name": {"TYPE": [value, ...]}}`` or zone text (``RR.fromZone``) → resource records."""
    if isinstance(zone, str):
        records = RR.fromZone(zone)
        for record in records:  # a long quoted string in zone text: split as DNS requires
            if record.rtype == QTYPE.TXT:
                record.rdata = TXT([part for data in record.rdata.data for part in split_txt(bytes(data))])
        return records
    return [
        RR(name, getattr(QTYPE, rtype), rdata=RDATA[rtype](value), ttl=60)
        for name, types in zone.items()
        for rtype, values in types.items()
        for value in values
    ]


class ZoneAnswers(BaseResolver):
    """Answers from the records as an authoritative server does (NXDOMAIN only for a name it does not hold)."""

    def __init__(self, records: list[RR]):
        self.records = records
        self.questions: list[tuple[str, str]] = []  # (name, type) of every question, for tests that count
        self.lock = threading.Lock()

    def resolve(self, request, handler):
        reply = request.reply()
        name, qtype = request.q.qname, request.q.qtype
        with self.lock:
            self.questions.append((str(name).rstrip("."), QTYPE[qtype]))
        seen = set()
        while name not in seen:  # CNAMEs inside the zone, a loop stopped where it closes
            seen.add(name)
            held = [record for record in self.records if record.rname == name]
            if not held:
                if not reply.rr:
                    reply.header.rcode = RCODE.NXDOMAIN
                break
            cnames = [record for record in held if record.rtype == QTYPE.CNAME]
            if cnames and qtype != QTYPE.CNAME:
                reply.add_answer(cnames[0])
                name = DNSLabel(cnames[0].rdata.label)
                continue
            for record in held:
                if record.rtype == qtype:
                    reply.add_answer(record)
            break
        return reply


class Handler(DNSHandler):
    """dnslib's handler, silent while the server is told not to answer; a UDP answer over ``UDP_LIMIT`` bytes is
    sent empty with the TC flag and the question (dnslib's ``truncate()`` drops the question too, and a client
    then takes the answer for another query's)."""

    def handle(self):
        if self.server.answering.is_set():
            super().handle()

    def get_reply(self, data):
        request = DNSRecord.parse(data)
        reply = self.server.resolver.resolve(request, self)
        packed = reply.pack()
        if self.protocol == "udp" and len(packed) > UDP_LIMIT:
            truncated = request.reply()
            truncated.header.tc = 1
            packed = truncated.pack()
        return packed


class Quiet(DNSLogger):
    """No log lines on the test run's output."""

    def __init__(self):
        super().__init__(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)


class DnsServer:
    """One UDP and one TCP listener on ``HOST:port`` answering from ``records`` (or never, ``answer=False``)."""

    def __init__(self, zone: Mapping | str = (), *, answer: bool = True, port: int | None = None):
        self.answers = ZoneAnswers(records_of(zone or {}))
        self.port = port or free_port()
        self.answering = threading.Event()
        if answer:
            self.answering.set()
        self.servers = [
            DNSServer(self.answers, address=HOST, port=self.port, tcp=tcp, logger=Quiet(), handler=Handler)
            for tcp in (False, True)
        ]
        for server in self.servers:
            server.server.answering = self.answering

    @property
    def nameservers(self) -> str:
        """The ``DNS_NAMESERVERS`` text naming this server."""
        return f"{HOST}:{self.port}"

    @property
    def questions(self) -> list[tuple[str, str]]:
        with self.answers.lock:
            return list(self.answers.questions)

    def start(self) -> DnsServer:
        for server in self.servers:  # a short poll: stop() returns at once, not after dnslib's half second
            server.thread = threading.Thread(target=server.server.serve_forever, args=(0.02,), daemon=True)
            server.thread.start()
        return self

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
            server.server.server_close()

    def __enter__(self) -> DnsServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


@contextlib.contextmanager
def dns_server(zone: Mapping | str = (), *, answer: bool = True) -> Iterator[DnsServer]:
    """A running ``DnsServer``, stopped at the end of the block."""
    with DnsServer(zone, answer=answer) as server:
        yield server


def nothing_listening() -> str:
    """The ``DNS_NAMESERVERS`` text of a port of ``HOST`` where no DNS server listens."""
    return f"{HOST}:{free_port()}"
