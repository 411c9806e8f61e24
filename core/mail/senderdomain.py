"""The sender's domain as a receiver sees it: SPF, DMARC, DKIM and MX of the From address's domain, judged.

``check_sender_domain`` asks DNS what a receiving server asks about a message
from ``noreply@example.com`` sent through the site's SMTP host, and returns a
``DomainReport``: one ``Part`` for each of SPF, DMARC, DKIM and MX with a verdict
(``pass``, ``warn``, ``fail``, or ``none`` when it could not be judged), one
sentence, a hint and the details (the record, the policy, the addresses evaluated).
It never raises for DNS: a lookup that fails is a part's ``none``, a resolver that
cannot be reached at all is ``dns_unreachable`` with one sentence for every part,
and the whole check is bounded in time (each lookup ``timeout``, the check
``BUDGET`` times that).

``resolver_from`` makes the resolver from ``DNS_NAMESERVERS`` (IP addresses with
an optional port, or the system's resolver).

SPF is evaluated here (RFC 7208's check_host: ip4, ip6, a, mx, include, exists,
redirect, all, qualifiers, the limits of 10 DNS lookups and 2 void lookups) by a
small evaluator over dnspython, for each address of the SMTP host. Not pyspf
2.0.14 (2020): it calls dnspython's deprecated ``dns.resolver.query`` through the
process-wide resolver, so it can neither use the port ``DNS_NAMESERVERS`` names
nor run without a DeprecationWarning (the project allows none). Not checkdmarc:
it parses records but does not evaluate them for an address, and brings about 25
packages. Macros (``%{i}``) are not expanded: a term holding one is taken as not
matching, and the details say so. ``ptr`` (deprecated by RFC 7208) never matches.

DKIM is checked for the key the project signs with: ``dkim_private_key`` is the
PEM private key (RSA or Ed25519); its public half is derived here (``cryptography``)
and compared with the key published at ``<selector>._domainkey.<domain>``.
``dkim_txt_record`` gives the TXT value to publish for a private key.
"""

from __future__ import annotations

import base64
import functools
import ipaddress
import re
import time
from dataclasses import asdict, dataclass, field
from email.utils import parseaddr

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.utils.translation import gettext as _

from core.mail.config import parse_nameservers

__all__ = ["DomainReport", "Part", "check_sender_domain", "dkim_txt_record", "resolver_from"]

VERDICTS = ("pass", "warn", "fail", "none")
BUDGET = 3  # the whole check's time: this many lookup timeouts, however many lookups it makes

# Providers: their SMTP servers, the SPF domain their servers are in, and the From domains that must go through them.
PROVIDERS = {
    "yandex": {
        "servers": ("smtp.yandex.ru", "smtp.yandex.com"),
        "spf": "_spf.yandex.net",
        "domains": ("yandex.ru", "ya.ru", "yandex.com"),
    },
    "gmail": {
        "servers": ("smtp.gmail.com",),
        "spf": "_spf.google.com",
        "domains": ("gmail.com", "googlemail.com"),
    },
    "mailru": {
        "servers": ("smtp.mail.ru",),
        "spf": "_spf.mail.ru",
        "domains": ("mail.ru", "bk.ru", "inbox.ru", "list.ru"),
    },
}
STRANGER = ipaddress.ip_address("203.0.113.254")  # RFC 5737's TEST-NET-3: no real server sends from it


# ---------------------------------------------------------------- the resolver


def resolver_from(nameservers: str, timeout: float = 2.0) -> dns.resolver.Resolver:
    """A resolver asking the servers of ``nameservers`` (``DNS_NAMESERVERS``), or the system's when it is empty;
    each lookup is given up after ``timeout`` seconds. A bad entry raises ``ValueError(problem, hint)``. A system
    with no resolver configured gets one with no servers: every check then says DNS could not be reached."""
    servers = parse_nameservers(nameservers or "")
    if servers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(address, port) for address, port in servers]
    else:
        try:
            resolver = dns.resolver.Resolver(configure=True)
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.resolver.Resolver(configure=False)
    resolver.timeout = resolver.lifetime = timeout
    resolver.retry_servfail = False
    return resolver


def servers_text(resolver: dns.resolver.Resolver) -> str:
    """The resolver's servers as ``DNS_NAMESERVERS`` writes them (``127.0.0.1:5353``, ``[::1]:53``)."""
    named = []
    for server in resolver.nameservers:
        address = getattr(server, "address", str(server))
        port = getattr(server, "port", 53)
        named.append(f"[{address}]:{port}" if ":" in address else f"{address}:{port}")
    return ", ".join(named) or "(none configured)"


# ---------------------------------------------------------------- the report


@dataclass
class Part:
    """One thing a receiver checks: its verdict ("pass", "warn", "fail", "none"), one sentence, a hint, details."""

    name: str
    verdict: str
    words: str
    hint: str = ""
    details: dict = field(default_factory=dict)


@dataclass
class DomainReport:
    """The From domain as a receiver sees it; ``as_dict()`` is what ``--json`` shows under ``sender_domain``."""

    domain: str
    spf: Part
    dmarc: Part
    dkim: Part
    mx: Part
    dns_unreachable: bool = False
    nameservers: str = ""
    seconds: float = 0.0

    @property
    def parts(self) -> list[Part]:
        return [self.spf, self.dmarc, self.dkim, self.mx]

    @property
    def failed(self) -> bool:
        return any(part.verdict == "fail" for part in self.parts)

    def as_dict(self) -> dict:
        return {
            "domain": self.domain,
            "dns_unreachable": self.dns_unreachable,
            "nameservers": self.nameservers,
            "failed": self.failed,
            "seconds": round(self.seconds, 3),
            **{part.name: asdict(part) for part in self.parts},
        }


# ---------------------------------------------------------------- DNS lookups


class NoDomain(Exception):
    """NXDOMAIN: the name does not exist."""


class LookupFailed(Exception):
    """No answer: a timeout, SERVFAIL, a broken answer (a CNAME loop), or the check's time is up."""

    def __init__(self, name: str, unreachable: bool = False):
        super().__init__(name)
        self.name = name
        self.unreachable = unreachable


class Lookups:
    """The check's DNS questions: each answer kept (a name asked twice is asked once), each lookup at most
    ``timeout`` seconds and all of them at most ``BUDGET`` times that."""

    def __init__(self, resolver: dns.resolver.Resolver, timeout: float):
        self.resolver = resolver
        self.timeout = timeout
        self.deadline = time.monotonic() + BUDGET * timeout
        self.answers: dict[tuple[str, str], list | BaseException] = {}

    def ask(self, name: str, rdtype: str) -> list:
        """The records of ``rdtype`` at ``name`` (empty when it has none); raises NoDomain or LookupFailed."""
        key = (name.lower().rstrip("."), rdtype)
        if key not in self.answers:
            try:
                self.answers[key] = self._ask(*key)
            except (NoDomain, LookupFailed) as error:
                self.answers[key] = error
        answer = self.answers[key]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    def _ask(self, name: str, rdtype: str) -> list:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise LookupFailed(name)
        try:
            qname = dns.name.from_text(name)
            answer = self.resolver.resolve(
                qname, rdtype, search=False, raise_on_no_answer=False, lifetime=min(self.timeout, left)
            )
        except dns.resolver.NXDOMAIN:
            raise NoDomain(name) from None
        except dns.resolver.LifetimeTimeout:
            raise LookupFailed(name, unreachable=True) from None
        except dns.resolver.NoNameservers as error:
            errors = error.kwargs.get("errors") or []
            unreachable = all(isinstance(item[3], OSError | dns.exception.Timeout) for item in errors)
            raise LookupFailed(name, unreachable=unreachable) from None
        except (dns.exception.DNSException, ValueError, UnicodeError):
            raise LookupFailed(name) from None
        return list(answer.rrset or [])

    def txt(self, name: str) -> list[str]:
        return [b"".join(record.strings).decode("utf-8", "replace") for record in self.ask(name, "TXT")]

    def addresses(self, name: str, version: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        return [ipaddress.ip_address(record.address) for record in self.ask(name, "A" if version == 4 else "AAAA")]


# ---------------------------------------------------------------- SPF (RFC 7208)


class SpfError(Exception):
    """permerror or temperror, with why: "lookups", "voids", "syntax", "include" (no record there), "dns"."""

    def __init__(self, result: str, why: str, term: str = "", name: str = ""):
        super().__init__(f"{result}: {why} {term}".strip())
        self.result, self.why, self.term, self.name = result, why, term, name


@dataclass
class Term:
    text: str
    qualifier: str  # "+", "-", "~", "?"
    mechanism: str
    domain: str = ""
    cidr4: int = 32
    cidr6: int = 128
    network: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None


@dataclass
class SpfRecord:
    terms: list[Term]
    redirect: str = ""


QUALIFIED = {"+": "pass", "-": "fail", "~": "softfail", "?": "neutral"}
LOOKING_UP = ("a", "mx", "ptr", "include", "exists")  # the mechanisms that count toward the 10 lookups
MECHANISM = re.compile(r"([+\-~?]?)(all|include|a|mx|ptr|ip4|ip6|exists)(?=$|[:/])(.*)", re.I)
MODIFIER = re.compile(r"([a-z][a-z0-9_.\-]*)=(.*)", re.I)
DOMAIN_CIDR = re.compile(r"(?::([^/]+))?(?:/(\d{1,3}))?(?://(\d{1,3}))?")


def spf_records(texts: list[str]) -> list[str]:
    return [text for text in texts if text.lower() == "v=spf1" or text.lower().startswith("v=spf1 ")]


def parse_spf(record: str) -> SpfRecord:
    """One ``v=spf1`` record → its terms; a term that cannot be read raises SpfError("permerror", "syntax")."""
    terms, redirect = [], None
    for text in record.split()[1:]:
        found = MECHANISM.fullmatch(text)
        if found is None:
            modifier = MODIFIER.fullmatch(text)
            if modifier is None:
                raise SpfError("permerror", "syntax", text)
            if modifier[1].lower() == "redirect":
                if redirect is not None or not modifier[2]:
                    raise SpfError("permerror", "syntax", text)
                redirect = modifier[2]
            continue  # exp= and unknown modifiers change nothing here
        qualifier, mechanism, rest = found[1] or "+", found[2].lower(), found[3]
        term = Term(text, qualifier, mechanism)
        if mechanism == "all":
            if rest:
                raise SpfError("permerror", "syntax", text)
        elif mechanism in ("include", "exists"):
            if not rest.startswith(":") or len(rest) < 2:
                raise SpfError("permerror", "syntax", text)
            term.domain = rest[1:]
        elif mechanism in ("ip4", "ip6"):
            try:
                term.network = ipaddress.ip_network(rest[1:], strict=False) if rest.startswith(":") else None
            except ValueError:
                term.network = None
            if term.network is None or term.network.version != int(mechanism[2]):
                raise SpfError("permerror", "syntax", text)
        else:  # a, mx, ptr
            parts = DOMAIN_CIDR.fullmatch(rest)
            if parts is None or (mechanism == "ptr" and (parts[2] or parts[3])):
                raise SpfError("permerror", "syntax", text)
            term.domain = parts[1] or ""
            term.cidr4 = int(parts[2]) if parts[2] else 32
            term.cidr6 = int(parts[3]) if parts[3] else 128
            if term.cidr4 > 32 or term.cidr6 > 128:
                raise SpfError("permerror", "syntax", text)
        if term.domain and not valid_domain(term.domain):
            raise SpfError("permerror", "syntax", text)
        terms.append(term)
    if redirect and not valid_domain(redirect):
        raise SpfError("permerror", "syntax", "redirect=" + redirect)
    return SpfRecord(terms, redirect or "")


def valid_domain(text: str) -> bool:
    """A domain DNS can be asked about (a macro is left to the evaluator, which does not expand it)."""
    if "%" in text:
        return True
    try:
        return len(dns.name.from_text(text).labels) > 2  # at least two labels besides the root
    except (dns.exception.DNSException, UnicodeError, ValueError):
        return False


@dataclass
class SpfRun:
    """One check_host for one address: the lookups counted across every include and redirect."""

    lookups: Lookups
    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    count: int = 0
    voids: int = 0
    notes: list[str] = field(default_factory=list)

    def looked_up(self, term: str) -> None:
        self.count += 1
        if self.count > 10:
            raise SpfError("permerror", "lookups", term)

    def void(self, term: str) -> None:
        self.voids += 1
        if self.voids > 2:
            raise SpfError("permerror", "voids", term)

    def check_host(self, domain: str, term: str = "") -> tuple[str, str]:
        """RFC 7208's check_host → (result, the term that decided it, "" when none matched)."""
        try:
            records = spf_records(self.lookups.txt(domain))
        except NoDomain:
            records = []
        except LookupFailed as error:
            raise SpfError("temperror", "dns", term, error.name) from None
        if not records:
            return "none", ""
        if len(records) > 1:
            raise SpfError("permerror", "records", term or domain, domain)
        record = parse_spf(records[0])
        for mechanism in record.terms:
            if mechanism.mechanism in LOOKING_UP:
                self.looked_up(mechanism.text)
            if self.matches(mechanism, domain):
                return QUALIFIED[mechanism.qualifier], mechanism.text
        if record.redirect:
            self.looked_up("redirect=" + record.redirect)
            if "%" in record.redirect:
                self.notes.append(f"redirect={record.redirect}: macros are not expanded, not followed")
                return "neutral", ""
            result, _decided = self.check_host(record.redirect, "redirect=" + record.redirect)
            if result == "none":
                raise SpfError("permerror", "include", "redirect=" + record.redirect, record.redirect)
            return result, "redirect=" + record.redirect
        return "neutral", ""

    def matches(self, term: Term, domain: str) -> bool:
        if term.mechanism == "all":
            return True
        if term.mechanism in ("ip4", "ip6"):
            return self.ip.version == term.network.version and self.ip in term.network
        if term.mechanism == "ptr":
            self.notes.append(f"{term.text}: ptr is deprecated (RFC 7208) and not evaluated")
            return False
        target = term.domain or domain
        if "%" in target:
            self.notes.append(f"{term.text}: macros are not expanded, taken as not matching")
            return False
        if term.mechanism == "include":
            result, _decided = self.check_host(target, term.text)
            if result == "none":
                raise SpfError("permerror", "include", term.text, target)
            return result == "pass"
        if term.mechanism == "exists":
            return bool(self.ask(term, lambda: self.lookups.addresses(target, 4)))
        hosts = [target]
        if term.mechanism == "mx":
            exchanges = self.ask(term, lambda: self.lookups.ask(target, "MX"))
            if len(exchanges) > 10:
                raise SpfError("permerror", "lookups", term.text)
            hosts = [str(record.exchange).rstrip(".") for record in exchanges if str(record.exchange) != "."]
        prefix = term.cidr4 if self.ip.version == 4 else term.cidr6
        for host in hosts:
            found = self.ask(term, lambda host=host: self.lookups.addresses(host, self.ip.version))
            if any(self.ip in ipaddress.ip_network(f"{address}/{prefix}", strict=False) for address in found):
                return True
        return False

    def ask(self, term: Term, lookup) -> list:
        """A mechanism's lookup: no records or no such name is a void lookup; a failure is temperror."""
        try:
            found = lookup()
        except NoDomain:
            found = []
        except LookupFailed as error:
            raise SpfError("temperror", "dns", term.text, error.name) from None
        if not found:
            self.void(term.text)
        return found


def spf_for(lookups: Lookups, domain: str, ip) -> dict:
    """check_host for one address, as the details show it."""
    run = SpfRun(lookups, ip)
    try:
        result, decided = run.check_host(domain)
        problem = {}
    except SpfError as error:
        result, decided = error.result, ""
        problem = {"why": error.why, "term": error.term, "name": error.name}
    return {
        "address": str(ip),
        "result": result,
        "matched": decided,
        "lookups": run.count,
        "void_lookups": run.voids,
        **({"problem": problem} if problem else {}),
        **({"notes": run.notes} if run.notes else {}),
    }


def provider_of_server(host: str | None) -> str:
    host = (host or "").lower().rstrip(".")
    return next((name for name, known in PROVIDERS.items() if host in known["servers"]), "")


def includes_domain(lookups: Lookups, domain: str, wanted: str) -> bool:
    """Whether the SPF record of ``domain`` includes (or redirects to) ``wanted``, directly or through includes."""
    queue, seen = [domain], set()
    while queue and len(seen) < 20:
        name = queue.pop(0).lower().rstrip(".")
        if name in seen:
            continue
        seen.add(name)
        try:
            records = spf_records(lookups.txt(name))
            record = parse_spf(records[0]) if len(records) == 1 else SpfRecord([])
        except (NoDomain, LookupFailed, SpfError):
            continue
        targets = [term.domain for term in record.terms if term.mechanism == "include"] + [record.redirect]
        for target in filter(None, targets):
            if target.lower().rstrip(".") == wanted:
                return True
            queue.append(target)
    return False


def with_term(record: str, term: str) -> str:
    """The record with ``term`` added before its ``all`` (or its redirect=), else at the end."""
    words = record.split()
    at = next(
        (i for i, word in enumerate(words) if re.fullmatch(r"[+\-~?]?all", word, re.I) or word.startswith("redirect=")),
        len(words),
    )
    return " ".join([*words[:at], term, *words[at:]])


def check_spf(lookups: Lookups, domain: str, mailer_host: str | None) -> Part:
    provider = provider_of_server(mailer_host)
    details: dict = {"mailer_host": mailer_host}
    try:
        records = spf_records(lookups.txt(domain))
    except LookupFailed:
        return Part("spf", "none", _("Could not look up the SPF record of %(domain)s.") % {"domain": domain})
    details["records"] = records
    addresses, host_problem = [], None
    if mailer_host:
        try:
            addresses = [ipaddress.ip_address(mailer_host.strip("[]"))]
        except ValueError:
            for version in (4, 6):
                try:
                    addresses += lookups.addresses(mailer_host, version)
                except NoDomain:
                    break
                except LookupFailed:
                    host_problem = "lookup"
    details["addresses"] = [str(address) for address in addresses]
    terms = [f"include:{PROVIDERS[provider]['spf']}"] if provider else [f"ip{ip.version}:{ip}" for ip in addresses]
    if provider:
        details["provider_spf"] = PROVIDERS[provider]["spf"]
    if not records:
        if provider:
            details["includes_provider"] = False
        suggested = "v=spf1 " + " ".join(terms or ["include:_spf.yandex.net"]) + " ~all"
        hint = (
            _("Publish a TXT record at %(domain)s: %(record)s") % {"domain": domain, "record": suggested}
            if terms
            else _("Publish a TXT record at %(domain)s naming the servers that send its mail, for Yandex: %(record)s")
            % {"domain": domain, "record": suggested}
        )
        return Part(
            "spf",
            "warn",
            _("%(domain)s has no SPF record: receivers can't tell your server is allowed to send its mail.")
            % {"domain": domain},
            hint,
            details,
        )
    if len(records) > 1:
        return Part(
            "spf",
            "fail",
            _("%(domain)s has more than one SPF record: receivers take that as an error (permerror).")
            % {"domain": domain},
            _("Merge them into one TXT record that starts with v=spf1."),
            details,
        )
    record = records[0]
    details["record"] = record
    try:
        parse_spf(record)
    except SpfError as error:
        return Part(
            "spf",
            "fail",
            _("The SPF record of %(domain)s cannot be read at %(term)s: receivers take it as an error (permerror).")
            % {"domain": domain, "term": error.term},
            _("Fix or remove %(term)s in the SPF record of %(domain)s.") % {"domain": domain, "term": error.term},
            details,
        )
    if provider:
        details["includes_provider"] = includes_domain(lookups, domain, PROVIDERS[provider]["spf"])
    stranger = spf_for(lookups, domain, STRANGER)
    details["any_server"] = stranger["result"]
    evaluated = details["evaluated"] = [spf_for(lookups, domain, ip) for ip in addresses] or [stranger]
    broken = next((item for item in evaluated if item["result"] == "permerror"), None)
    if broken:
        return broken_spf(domain, broken["problem"], details)
    if not mailer_host or host_problem or not addresses:
        if not mailer_host:
            words = _(
                "The SPF record of %(domain)s is valid; without an SMTP host this check cannot tell whether "
                "your server is allowed."
            )
        elif host_problem:
            words = _("Could not look up the addresses of %(host)s, so SPF cannot be checked for it.")
        else:
            words = _("%(host)s has no addresses in DNS, so SPF cannot be checked for it.")
        return Part("spf", "none", words % {"domain": domain, "host": mailer_host}, "", details)
    worst = next(
        (
            item
            for result in ("fail", "softfail", "neutral", "none", "temperror")
            for item in evaluated
            if item["result"] == result
        ),
        None,
    )
    values = {"domain": domain, "host": mailer_host}
    if worst is None:
        if stranger["result"] == "pass":
            return Part(
                "spf",
                "warn",
                _(
                    "The SPF record of %(domain)s lets any server in the world send its mail; receivers give it "
                    "no weight."
                )
                % values,
                _("End the record with ~all or -all instead of +all."),
                details,
            )
        return Part(
            "spf", "pass", _("The SPF record of %(domain)s allows %(host)s to send its mail.") % values, "", details
        )
    address = worst["address"]
    values["server"] = mailer_host if mailer_host == address else f"{mailer_host} ({address})"  # name (address)
    if worst["result"] == "temperror":
        values["name"] = worst["problem"]["name"]
        return Part(
            "spf",
            "none",
            _("Could not look up %(name)s, which the SPF record of %(domain)s names.") % values,
            "",
            details,
        )
    term = " ".join(terms)
    hint = _("Add %(term)s to the SPF record of %(domain)s, before its all: %(record)s") % {
        "term": term,
        "domain": domain,
        "record": with_term(record, term),
    }
    if worst["result"] == "fail":
        words = _("The SPF record of %(domain)s does not allow %(server)s to send its mail: receivers get SPF fail.")
        return Part("spf", "fail", words % values, hint, details)
    if worst["result"] == "softfail":
        words = _(
            "The SPF record of %(domain)s does not allow %(server)s: receivers get softfail and may "
            "put its mail in spam."
        )
    else:
        words = _(
            "The SPF record of %(domain)s says nothing about %(server)s: receivers get neutral, which proves nothing."
        )
    return Part("spf", "warn", words % values, hint, details)


def broken_spf(domain: str, problem: dict, details: dict) -> Part:
    values = {"domain": domain, "term": problem["term"], "name": problem["name"]}
    if problem["why"] == "lookups":
        words = _(
            "The SPF record of %(domain)s needs more than 10 DNS lookups: receivers stop at 10 and take it as an "
            "error (permerror)."
        )
        hint = _("Replace some include:, a and mx terms with the ip4: and ip6: addresses they stand for.")
    elif problem["why"] == "voids":
        words = _(
            "The SPF record of %(domain)s names more than two domains that have no records: receivers take it as "
            "an error (permerror)."
        )
        hint = _("Remove the terms that name domains without records, like %(term)s.")
    elif problem["why"] == "include":
        words = _(
            "The SPF record of %(domain)s names %(name)s (%(term)s), which has no SPF record: receivers take it as "
            "an error (permerror)."
        )
        hint = _("Fix or remove %(term)s in the SPF record of %(domain)s.")
    else:
        words = _("The SPF record of %(domain)s is broken at %(term)s: receivers take it as an error (permerror).")
        hint = _("Fix or remove %(term)s in the SPF record of %(domain)s.")
    return Part("spf", "fail", words % values, hint % values, details)


# ---------------------------------------------------------------- DMARC (RFC 7489)


@functools.cache
def public_suffixes():
    """The Public Suffix List (publicsuffixlist's copy), read once (50 ms) and only by a check that needs it."""
    from publicsuffixlist import PublicSuffixList

    return PublicSuffixList()


def organizational(domain: str) -> str:
    """The organizational domain (RFC 7489 3.2): the public suffix and one label more. ``mail.example.spb.ru`` is
    ``example.spb.ru`` (spb.ru is a public suffix, as co.uk is); a domain that is itself a suffix stays as it is."""
    domain = domain.lower().rstrip(".")
    return public_suffixes().privatesuffix(domain) or domain


def aligned(one: str, other: str, mode: str) -> bool:
    """DMARC identifier alignment: strict is the same domain, relaxed the same organizational domain."""
    one, other = one.lower().rstrip("."), other.lower().rstrip(".")
    return one == other if mode == "s" else organizational(one) == organizational(other)


def dmarc_tags(record: str) -> dict[str, str]:
    tags = {}
    for item in record.split(";"):
        name, equals, value = item.partition("=")
        if equals:
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def dmarc_records(texts: list[str]) -> list[str]:
    return [text for text in texts if re.match(r"v\s*=\s*DMARC1\s*(;|$)", text, re.I)]


def check_dmarc(
    lookups: Lookups, domain: str, *, spf: Part, dkim: Part, mailer_host: str | None, login: str | None
) -> Part:
    org = organizational(domain)
    suggested = f"v=DMARC1; p=none; rua=mailto:postmaster@{domain}"
    publish = _("Publish a TXT record at %(name)s: %(record)s") % {"name": f"_dmarc.{domain}", "record": suggested}
    records, found_at = [], ""
    for name in dict.fromkeys([f"_dmarc.{domain}", f"_dmarc.{org}"]):
        try:
            records = dmarc_records(lookups.txt(name))
        except NoDomain:
            records = []
        except LookupFailed:
            return Part("dmarc", "none", _("Could not look up the DMARC record of %(domain)s.") % {"domain": domain})
        if records:
            found_at = name
            break
    details: dict = {"found_at": found_at, "records": records}
    if not records:
        words = _(
            "%(domain)s has no DMARC record: receivers decide alone what to do with its mail that fails SPF and "
            "DKIM, and you get no reports."
        )
        return Part("dmarc", "warn", words % {"domain": domain}, publish, details)
    if len(records) > 1:
        return Part(
            "dmarc",
            "warn",
            _("%(name)s has more than one DMARC record: receivers ignore them all.") % {"name": found_at},
            _("Keep one TXT record that starts with v=DMARC1."),
            details,
        )
    tags = dmarc_tags(records[0])
    policy = tags.get("p", "").lower()
    if found_at != f"_dmarc.{domain}" and tags.get("sp"):
        policy = tags["sp"].lower()
    if policy not in ("none", "quarantine", "reject") and "rua" in tags and not tags.get("p"):
        policy = "none"  # RFC 7489 6.6.3: a record with reports but no policy is p=none
    pct = tags.get("pct", "100")
    login_domain = (login or "").rpartition("@")[2].lower() if "@" in (login or "") else ""
    envelope = login_domain or domain
    evaluated = spf.details.get("evaluated", []) if spf.details.get("addresses") else []  # the SMTP host's
    spf_passed = bool(evaluated) and all(item["result"] == "pass" for item in evaluated)  # +all too: it passes
    spf_aligned = spf_passed and aligned(envelope, domain, tags.get("aspf", "r").lower()[:1])
    # The project signs with d= the From domain, or DKIM_DOMAIN: aligned when that is of the same organization.
    adkim = tags.get("adkim", "r").lower()[:1]
    dkim_aligned = dkim.verdict == "pass" and aligned(dkim.details.get("domain", domain), domain, adkim)
    details.update(
        record=records[0],
        policy=policy,
        subdomain_policy=tags.get("sp", ""),
        adkim=adkim,
        aspf=tags.get("aspf", "r"),
        pct=int(pct) if pct.isdigit() else pct,
        rua=tags.get("rua", ""),
        envelope_domain=envelope,
        spf_aligned=spf_aligned,
        dkim_aligned=dkim_aligned,
    )
    if policy not in ("none", "quarantine", "reject"):
        words = _("The DMARC record at %(name)s has no valid p= policy: receivers ignore it.")
        return Part("dmarc", "warn", words % {"name": found_at}, publish, details)
    values = {"domain": domain, "policy": policy}
    if policy == "none":
        words = _("The DMARC policy of %(domain)s is p=none: receivers report failures but deliver the mail.")
        return Part("dmarc", "pass", words % values, "", details)
    if spf_aligned or dkim_aligned:
        values["how"] = " + ".join(name for name, ok in (("SPF", spf_aligned), ("DKIM", dkim_aligned)) if ok)
        words = _("The messages pass the DMARC policy p=%(policy)s of %(domain)s: %(how)s aligned.")
        return Part("dmarc", "pass", words % values, "", details)
    if not mailer_host:
        words = _(
            "The DMARC policy of %(domain)s is p=%(policy)s; without an SMTP host this check cannot tell whether "
            "the messages will pass it."
        )
        return Part("dmarc", "warn", words % values, "", details)
    if login_domain and not aligned(login_domain, domain, tags.get("aspf", "r").lower()[:1]):
        hint = _(
            "Send as an address of %(login_domain)s (the SMTP login's domain), or sign the messages with DKIM "
            "for %(domain)s."
        ) % {"login_domain": login_domain, "domain": domain}
    else:
        hint = _("Make the SPF record of %(domain)s allow the SMTP server, or sign the messages with DKIM for it.") % {
            "domain": domain
        }
    if policy == "reject":
        words = _(
            "The DMARC policy of %(domain)s is p=reject and neither SPF nor DKIM will align with it: receivers "
            "will refuse the messages."
        )
        return Part("dmarc", "fail", words % values, hint, details)
    words = _(
        "The DMARC policy of %(domain)s is p=quarantine and neither SPF nor DKIM will align with it: receivers "
        "will put the messages in spam."
    )
    return Part("dmarc", "warn", words % values, hint, details)


# ---------------------------------------------------------------- DKIM (RFC 6376)


def public_key_of(private_key_pem: bytes):
    """The public half of a PEM private key (RSA or Ed25519); ValueError for anything else."""
    try:
        key = serialization.load_pem_private_key(private_key_pem, password=None)
    except (TypeError, ValueError, UnsupportedAlgorithm) as error:
        raise ValueError("not a PEM private key without a password") from error
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise ValueError("not an RSA or Ed25519 key")
    return key.public_key()


def dkim_key_text(public_key) -> tuple[str, str]:
    """(k=, p=) of a public key as DKIM publishes it: RSA as DER SubjectPublicKeyInfo, Ed25519 as its 32 bytes."""
    if isinstance(public_key, ed25519.Ed25519PublicKey):
        raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return "ed25519", base64.b64encode(raw).decode()
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return "rsa", base64.b64encode(der).decode()


def dkim_txt_record(private_key_pem: bytes) -> str:
    """The TXT value to publish at ``<selector>._domainkey.<domain>`` for a PEM private key (RSA or Ed25519):
    ``v=DKIM1; k=rsa; p=...``. Raises ValueError for a key that is not one of those."""
    kind, data = dkim_key_text(public_key_of(private_key_pem))
    return f"v=DKIM1; k={kind}; p={data}"


def published_key(kind: str, data: str):
    """The public key a DKIM record's k= and p= hold; ValueError when it cannot be read."""
    raw = base64.b64decode(re.sub(r"\s", "", data), validate=True)
    if kind == "ed25519":
        return ed25519.Ed25519PublicKey.from_public_bytes(raw)
    try:
        return serialization.load_der_public_key(raw)
    except ValueError:  # a bare RSAPublicKey (PKCS#1), which some publish
        return serialization.load_pem_public_key(
            b"-----BEGIN RSA PUBLIC KEY-----\n" + base64.encodebytes(raw) + b"-----END RSA PUBLIC KEY-----\n"
        )


def same_key(one, other) -> bool:
    if isinstance(one, ed25519.Ed25519PublicKey) and isinstance(other, ed25519.Ed25519PublicKey):
        return dkim_key_text(one) == dkim_key_text(other)
    if isinstance(one, rsa.RSAPublicKey) and isinstance(other, rsa.RSAPublicKey):
        return one.public_numbers() == other.public_numbers()
    return False


def check_dkim(lookups: Lookups, domain: str, selector: str | None, private_key: bytes | None) -> Part:
    if not (selector and private_key):
        return Part(
            "dkim",
            "none",
            _("The project does not sign its messages with DKIM, so DMARC can count only on SPF."),
            _(
                "Providers sign the mail sent through their servers with their own selectors (Yandex: mail, "
                "Gmail: google, Mail.ru: mail); sendtestmail --roundtrip shows whether a signature passed."
            ),
            {"signing": False},
        )
    name = f"{selector}._domainkey.{domain}"
    details: dict = {"signing": True, "selector": selector, "name": name, "domain": domain}
    try:
        ours = public_key_of(private_key)
    except ValueError:
        return Part(
            "dkim",
            "fail",
            _("The project's DKIM private key cannot be read: it must be an RSA or Ed25519 key in PEM."),
            "",
            details,
        )
    expected = details["expected"] = dkim_txt_record(private_key)
    values = {"name": name, "record": expected}
    try:
        records = [text for text in lookups.txt(name) if "p=" in text]
    except NoDomain:
        records = []
    except LookupFailed:
        return Part("dkim", "none", _("Could not look up the DKIM key at %(name)s.") % values, "", details)
    publish = _("Publish a TXT record at %(name)s: %(record)s") % values
    if not records:
        words = _("%(name)s has no DKIM key: receivers cannot check the project's signatures.")
        return Part("dkim", "fail", words % values, publish, details)
    details["record"] = records[0]
    tags = dmarc_tags(records[0])
    if not tags.get("p"):
        words = _("The DKIM key at %(name)s is revoked (empty p=): every signature fails.")
        return Part("dkim", "fail", words % values, publish, details)
    try:
        theirs = published_key(tags.get("k", "rsa").lower(), tags["p"])
    except (ValueError, TypeError, UnsupportedAlgorithm):
        theirs = None
    if theirs is None or not same_key(ours, theirs):
        words = _(
            "The DKIM key at %(name)s is not the public half of the project's private key: every signature fails."
        )
        hint = _("Publish the key that matches the private key at %(name)s: %(record)s")
        return Part("dkim", "fail", words % values, hint % values, details)
    return Part("dkim", "pass", _("The DKIM key at %(name)s matches the project's private key.") % values, "", details)


# ---------------------------------------------------------------- MX, and the provider trap


def check_mx(lookups: Lookups, domain: str, from_email: str, mailer_host: str | None) -> Part:
    host = (mailer_host or "").lower().rstrip(".")
    for provider in PROVIDERS.values():
        if domain in provider["domains"] and host not in provider["servers"]:
            values = {"domain": domain, "server": provider["servers"][0], "from_email": from_email, "host": host}
            details = {"provider_servers": list(provider["servers"]), "mailer_host": mailer_host}
            hint = _(
                "Send through %(server)s with that account's login and app password, or send as an address of "
                "your own domain."
            )
            if not mailer_host:
                words = _(
                    "Mail from %(domain)s addresses must be sent through %(server)s: when the site sends for real, "
                    "it has to send through it."
                )
                return Part("mx", "warn", words % values, hint % values, details)
            words = _(
                "Mail from %(domain)s addresses must be sent through %(server)s: its strict DMARC policy makes "
                "receivers refuse or put in spam %(from_email)s sent through %(host)s."
            )
            return Part("mx", "fail", words % values, hint % values, details)
    values = {"domain": domain}
    try:
        records = sorted(lookups.ask(domain, "MX"), key=lambda record: record.preference)
    except LookupFailed:
        return Part("mx", "none", _("Could not look up the MX records of %(domain)s.") % values)
    except NoDomain:
        records = []
    hosts = [str(record.exchange).rstrip(".") for record in records]
    details = {"hosts": [f"{record.preference} {host or '.'}" for record, host in zip(records, hosts, strict=True)]}
    hint = _("Publish an MX record for %(domain)s naming the server that receives its mail.") % values
    if not records:
        words = _("%(domain)s has no MX record: replies and bounces have nowhere to go.")
        return Part("mx", "warn", words % values, hint, details)
    if hosts == [""]:
        words = _("%(domain)s says it receives no mail (null MX): replies and bounces are lost.")
        return Part("mx", "warn", words % values, hint, details)
    values["hosts"] = ", ".join(hosts[:3])
    words = _("%(domain)s receives mail at %(hosts)s: replies and bounces have somewhere to go.")
    return Part("mx", "pass", words % values, "", details)


# ---------------------------------------------------------------- the whole check


def domain_of(from_email: str) -> str:
    """The From address's domain in ASCII (IDNA) and lower case; ValueError when it has none."""
    address = parseaddr(from_email)[1] or from_email
    domain = address.rpartition("@")[2].strip().rstrip(".").lower()
    if "@" not in address or not domain:
        raise ValueError(f"{from_email!r} has no domain")
    try:
        return dns.name.from_text(domain).to_text(omit_final_dot=True)
    except (dns.exception.DNSException, UnicodeError, ValueError):
        raise ValueError(f"{from_email!r} has no valid domain") from None


def check_sender_domain(
    from_email: str,
    *,
    mailer_host: str | None,
    login: str | None,
    resolver: dns.resolver.Resolver,
    dkim_selector: str | None = None,
    dkim_private_key: bytes | None = None,
    dkim_domain: str | None = None,
    timeout: float = 2.0,
) -> DomainReport:
    """What a receiver learns from DNS about mail from ``from_email`` sent through ``mailer_host`` (None for a
    mailer that sends nothing: file, console) with the SMTP ``login``, signed with DKIM when ``dkim_selector`` and
    ``dkim_private_key`` (PEM) are given. Never raises for DNS; ValueError for an address with no domain."""
    start = time.monotonic()
    domain = domain_of(from_email)
    lookups = Lookups(resolver, timeout)
    report = DomainReport(domain, *(Part(name, "none", "") for name in ("spf", "dmarc", "dkim", "mx")))
    report.nameservers = servers_text(resolver)
    try:
        lookups.txt(domain)
        missing = False
    except NoDomain:
        missing = True
    except LookupFailed as error:
        missing = False
        if error.unreachable:
            report.dns_unreachable = True
            words = _("DNS could not be reached at %(servers)s: the sender's domain was not checked.") % {
                "servers": report.nameservers
            }
            hint = _("Check DNS_NAMESERVERS, or the network.")
            for part in report.parts:
                part.words, part.hint = words, hint
            report.seconds = time.monotonic() - start
            return report
    report.dkim = check_dkim(lookups, dkim_domain or domain, dkim_selector, dkim_private_key)
    if missing:
        words = _("%(domain)s does not exist in DNS.") % {"domain": domain}
        hint = _("Check the domain of the From address (DEFAULT_FROM_EMAIL, or --from).")
        report.spf, report.dmarc, report.mx = (Part(name, "fail", words, hint) for name in ("spf", "dmarc", "mx"))
        if report.dkim.verdict == "fail":
            report.dkim = Part("dkim", "fail", words, hint, report.dkim.details)
    else:
        report.spf = check_spf(lookups, domain, mailer_host)
        report.dmarc = check_dmarc(
            lookups, domain, spf=report.spf, dkim=report.dkim, mailer_host=mailer_host, login=login
        )
        report.mx = check_mx(lookups, domain, from_email, mailer_host)
    report.seconds = time.monotonic() - start
    return report
