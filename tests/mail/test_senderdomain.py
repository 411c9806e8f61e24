"""The sender's domain as a receiver sees it (core/mail/senderdomain.py), asked of a real DNS server on 127.0.0.1.

Every test starts testsupport/dns_server.py with the zone it needs and checks
what a person would read: each part's verdict, its sentence and its hint.
"""

import json
import re
import time

import dns.resolver
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from core.mail.config import parse_nameservers
from core.mail.senderdomain import check_sender_domain, dkim_txt_record, resolver_from
from testsupport.dns_server import dns_server, nothing_listening

FROM = "noreply@example.com"
OWN_SERVER = "192.0.2.10"  # mail.example.com: the site's own SMTP server
YANDEX = "77.88.21.158"  # smtp.yandex.ru
GMAIL = "142.250.150.108"  # smtp.gmail.com

# What every zone holds: the providers' servers and SPF records, the site's own server and MX.
PROVIDERS = {
    "smtp.yandex.ru": {"A": [YANDEX]},
    "_spf.yandex.net": {"TXT": ["v=spf1 ip4:77.88.0.0/18 ip4:5.45.198.0/23 ip6:2a02:6b8::/32 ~all"]},
    "smtp.gmail.com": {"A": [GMAIL]},
    "_spf.google.com": {"TXT": ["v=spf1 include:_netblocks.google.com ~all"]},
    "_netblocks.google.com": {"TXT": ["v=spf1 ip4:142.250.0.0/15 ~all"]},
    "gmail.com": {"TXT": ["v=spf1 redirect=_spf.google.com"], "MX": ["5 gmail-smtp-in.l.google.com"]},
    "_dmarc.gmail.com": {"TXT": ["v=DMARC1; p=none; sp=quarantine"]},
    "mail.example.com": {"A": [OWN_SERVER]},
    "dual.example.com": {"A": [OWN_SERVER], "AAAA": ["2001:db8::10"]},
    "mx.example.com": {"A": ["192.0.2.20"]},
}


def make_key(kind="rsa") -> bytes:
    key = ed25519.Ed25519PrivateKey.generate() if kind == "ed25519" else rsa.generate_private_key(65537, 2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


KEY = make_key()
OTHER_KEY = make_key()


def zone(spf=("v=spf1 ip4:192.0.2.10 -all",), dmarc=("v=DMARC1; p=none",), mx=("10 mx.example.com",), **more):
    """The example.com zone with its SPF, DMARC and MX records as given (None: no such record), and ``more``."""
    records = {name: dict(types) for name, types in PROVIDERS.items()}
    records["example.com"] = {"TXT": [*(spf or ()), "google-site-verification=abc"], "MX": list(mx or ())}
    if dmarc:
        records["_dmarc.example.com"] = {"TXT": list(dmarc)}
    for name, types in more.items():
        records[name.replace("__", ".").replace("_dot_", ".")] = types
    return records


def check(records, from_email=FROM, *, mailer_host="mail.example.com", login=None, **options):
    with dns_server(records) as server:
        return check_sender_domain(
            from_email,
            mailer_host=mailer_host,
            login=login,
            resolver=resolver_from(server.nameservers),
            **options,
        )


# ---------------------------------------------------------------- SPF


@pytest.mark.parametrize(
    ("record", "mailer_host"),
    [
        ("v=spf1 ip4:192.0.2.10 -all", "mail.example.com"),
        ("v=spf1 ip4:192.0.2.0/24 -all", OWN_SERVER),  # the SMTP host written as an address
        ("v=spf1 a:mail.example.com -all", "mail.example.com"),
        ("v=spf1 mx/24 -all", "mail.example.com"),  # mx.example.com is 192.0.2.20: the same /24
        ("v=spf1 ip4:192.0.2.10 ip6:2001:db8::/64 -all", "dual.example.com"),  # an A and an AAAA, both allowed
        ("v=spf1 a:dual.example.com -all", "dual.example.com"),
        ("v=spf1 include:_spf.example.net -all", "mail.example.com"),
        ("v=spf1 redirect=_spf.example.net", "mail.example.com"),
        ("v=spf1 exists:%{i}.spf.example.com ip4:192.0.2.10 -all", "mail.example.com"),  # a macro: not matching
    ],
)
def test_spf_passes_when_the_record_allows_every_address_of_the_smtp_host(record, mailer_host):
    more = {
        "_spf.example.net": {"TXT": ["v=spf1 include:_inner.example.net -all"]},
        "_inner.example.net": {"TXT": ["v=spf1 a:mail.example.com -all"]},
    }
    report = check({**zone(spf=[record]), **more}, mailer_host=mailer_host)
    assert report.spf.verdict == "pass", report.spf
    assert report.spf.words == f"The SPF record of example.com allows {mailer_host} to send its mail."
    assert report.spf.details["record"] == record
    assert {item["result"] for item in report.spf.details["evaluated"]} == {"pass"}
    if "%{" in record:
        assert "macros are not expanded" in report.spf.details["evaluated"][0]["notes"][0]


def test_spf_through_the_providers_include_passes_and_says_it_is_included():
    report = check(zone(spf=["v=spf1 include:_spf.yandex.net -all"]), mailer_host="smtp.yandex.ru")
    assert report.spf.verdict == "pass"
    assert report.spf.details["includes_provider"] is True
    assert report.spf.details["evaluated"][0]["matched"] == "include:_spf.yandex.net"


def test_gmails_nested_include_counts_as_included():
    more = {"_spf.example.org": {"TXT": ["v=spf1 include:_spf.google.com -all"]}}
    report = check({**zone(spf=["v=spf1 include:_spf.example.org -all"]), **more}, mailer_host="smtp.gmail.com")
    assert report.spf.details["includes_provider"] is True
    assert report.spf.verdict == "pass"  # smtp.gmail.com is in Google's netblocks, two includes down


def test_spf_fail_names_the_include_to_add_for_yandex():
    report = check(zone(spf=["v=spf1 ip4:192.0.2.10 -all"]), mailer_host="smtp.yandex.ru")
    assert report.spf.verdict == "fail"
    assert report.spf.words == (
        f"The SPF record of example.com does not allow smtp.yandex.ru ({YANDEX}) to send its mail: "
        "receivers get SPF fail."
    )
    assert report.spf.hint == (
        "Add include:_spf.yandex.net to the SPF record of example.com, before its all: "
        "v=spf1 ip4:192.0.2.10 include:_spf.yandex.net -all"
    )
    assert report.spf.details["includes_provider"] is False
    assert report.failed


def test_every_address_of_the_smtp_host_must_be_allowed():
    report = check(zone(spf=["v=spf1 ip4:192.0.2.10 -all"]), mailer_host="dual.example.com")
    assert report.spf.verdict == "fail"
    assert "(2001:db8::10)" in report.spf.words
    assert "ip4:192.0.2.10 ip6:2001:db8::10" in report.spf.hint


def test_spf_fail_for_an_unknown_server_names_its_address():
    report = check(zone(spf=["v=spf1 ip4:198.51.100.1 -all"]), mailer_host=OWN_SERVER)
    assert report.spf.verdict == "fail"
    assert "ip4:192.0.2.10" in report.spf.hint


def test_spf_softfail_and_neutral_warn():
    soft = check(zone(spf=["v=spf1 ip4:198.51.100.1 ~all"]))
    assert soft.spf.verdict == "warn" and "softfail" in soft.spf.words
    neutral = check(zone(spf=["v=spf1 ip4:198.51.100.1"]))
    assert neutral.spf.verdict == "warn" and "neutral" in neutral.spf.words
    assert not soft.failed and not neutral.failed


def test_no_spf_record_warns_with_the_line_to_publish():
    report = check(zone(spf=None), mailer_host="smtp.yandex.ru")
    assert report.spf.verdict == "warn"
    assert report.spf.words.startswith("example.com has no SPF record: receivers can't tell your server is allowed")
    assert report.spf.hint == "Publish a TXT record at example.com: v=spf1 include:_spf.yandex.net ~all"


def test_two_spf_records_fail():
    report = check(zone(spf=["v=spf1 ip4:192.0.2.10 -all", "v=spf1 include:_spf.yandex.net -all"]))
    assert report.spf.verdict == "fail"
    assert "more than one SPF record" in report.spf.words


def test_an_spf_record_that_cannot_be_read_fails_naming_the_term():
    report = check(zone(spf=["v=spf1 ipv4:192.0.2.10 -all"]))
    assert report.spf.verdict == "fail"
    assert "cannot be read at ipv4:192.0.2.10" in report.spf.words


def test_more_than_ten_lookups_is_a_permerror():
    includes = {f"_{n}.example.net": {"TXT": ["v=spf1 ?all"]} for n in range(11)}
    record = "v=spf1 " + " ".join(f"include:_{n}.example.net" for n in range(11)) + " ip4:192.0.2.10 -all"
    report = check({**zone(spf=[record]), **includes})
    assert report.spf.verdict == "fail"
    assert "needs more than 10 DNS lookups" in report.spf.words
    assert report.spf.details["evaluated"][0]["result"] == "permerror"


def test_an_include_loop_stops_at_the_lookup_limit():
    more = {"_a.example.net": {"TXT": ["v=spf1 include:_b.example.net"]}}
    more["_b.example.net"] = {"TXT": ["v=spf1 include:_a.example.net"]}
    report = check({**zone(spf=["v=spf1 include:_a.example.net -all"]), **more})
    assert report.spf.verdict == "fail" and "10 DNS lookups" in report.spf.words


def test_more_than_two_void_lookups_is_a_permerror():
    record = "v=spf1 a:gone1.example.net a:gone2.example.net a:gone3.example.net ip4:192.0.2.10 -all"
    report = check(zone(spf=[record]))
    assert report.spf.verdict == "fail"
    assert "more than two domains that have no records" in report.spf.words


def test_an_include_without_a_record_is_a_permerror():
    report = check(zone(spf=["v=spf1 include:nothing.example.net ip4:192.0.2.10 -all"]))
    assert report.spf.verdict == "fail"
    assert "names nothing.example.net (include:nothing.example.net), which has no SPF record" in report.spf.words


def test_without_an_smtp_host_spf_judges_only_the_record():
    report = check(zone(spf=["v=spf1 ip4:192.0.2.10 -all"]), mailer_host=None)
    assert report.spf.verdict == "none"
    assert "without an SMTP host this check cannot tell" in report.spf.words
    broken = check(zone(spf=["v=spf1 include:nothing.example.net -all"]), mailer_host=None)
    assert broken.spf.verdict == "fail"


def test_plus_all_warns():
    report = check(zone(spf=["v=spf1 +all"]))
    assert report.spf.verdict == "warn" and "any server in the world" in report.spf.words


# ---------------------------------------------------------------- DMARC


def test_dmarc_reject_with_nothing_aligned_fails():
    report = check(
        zone(spf=["v=spf1 include:_spf.yandex.net -all"], dmarc=["v=DMARC1; p=reject; rua=mailto:d@example.com"]),
        mailer_host="smtp.yandex.ru",
        login="you@yandex.ru",
    )
    assert report.spf.verdict == "pass"
    assert report.dmarc.verdict == "fail"
    assert "p=reject and neither SPF nor DKIM will align" in report.dmarc.words
    assert report.dmarc.hint.startswith("Send as an address of yandex.ru (the SMTP login's domain)")
    assert report.dmarc.details["envelope_domain"] == "yandex.ru"
    assert report.dmarc.details["rua"] == "mailto:d@example.com"


def test_dmarc_reject_passes_when_the_login_is_of_the_from_domain():
    report = check(
        zone(spf=["v=spf1 include:_spf.yandex.net -all"], dmarc=["v=DMARC1; p=reject"]),
        mailer_host="smtp.yandex.ru",
        login="noreply@example.com",
    )
    assert report.dmarc.verdict == "pass"
    assert report.dmarc.words == "The messages pass the DMARC policy p=reject of example.com: SPF aligned."


def test_dmarc_strict_spf_alignment_needs_the_same_domain():
    report = check(
        zone(spf=["v=spf1 ip4:192.0.2.10 -all"], dmarc=["v=DMARC1; p=reject; aspf=s"]),
        login="robot@mail.example.com",
    )
    assert report.dmarc.verdict == "fail"


def test_dmarc_reject_passes_with_a_matching_dkim_key():
    txt = dkim_txt_record(KEY)
    report = check(
        zone(
            spf=["v=spf1 include:_spf.yandex.net -all"],
            dmarc=["v=DMARC1; p=reject"],
            **{"s1._domainkey.example.com": {"TXT": [txt]}},
        ),
        mailer_host="smtp.yandex.ru",
        login="you@yandex.ru",
        dkim_selector="s1",
        dkim_private_key=KEY,
    )
    assert report.dkim.verdict == "pass"
    assert report.dmarc.verdict == "pass" and report.dmarc.words.endswith("DKIM aligned.")


@pytest.mark.parametrize(("dkim_domain", "aligned"), [("mail.example.com", True), ("example.net", False)])
def test_a_dkim_domain_of_its_own_is_checked_there_and_aligns_only_within_the_organization(dkim_domain, aligned):
    report = check(
        zone(
            spf=["v=spf1 include:_spf.yandex.net -all"],
            dmarc=["v=DMARC1; p=reject"],
            **{f"s1._domainkey.{dkim_domain}": {"TXT": [dkim_txt_record(KEY)]}},
        ),
        mailer_host="smtp.yandex.ru",
        login="you@yandex.ru",
        dkim_selector="s1",
        dkim_private_key=KEY,
        dkim_domain=dkim_domain,
    )
    assert report.dkim.verdict == "pass"  # the key is found where DKIM_DOMAIN says
    assert (report.dmarc.verdict == "pass") is aligned


def test_dmarc_none_passes_and_says_the_policy():
    report = check(zone(dmarc=["v=DMARC1; p=none"]))
    assert report.dmarc.verdict == "pass"
    assert (
        report.dmarc.words
        == "The DMARC policy of example.com is p=none: receivers report failures but deliver the mail."
    )


def test_dmarc_quarantine_unaligned_warns():
    report = check(zone(spf=["v=spf1 ip4:198.51.100.1 -all"], dmarc=["v=DMARC1; p=quarantine; pct=50"]))
    assert report.dmarc.verdict == "warn"
    assert "put the messages in spam" in report.dmarc.words
    assert report.dmarc.details["pct"] == 50


def test_no_dmarc_record_warns_with_the_record_to_publish():
    report = check(zone(dmarc=None))
    assert report.dmarc.verdict == "warn"
    assert report.dmarc.words.startswith("example.com has no DMARC record")
    assert report.dmarc.hint == (
        "Publish a TXT record at _dmarc.example.com: v=DMARC1; p=none; rua=mailto:postmaster@example.com"
    )


def test_a_subdomain_takes_the_organizational_domains_subdomain_policy():
    records = zone(dmarc=["v=DMARC1; p=none; sp=reject"])
    records["news.example.com"] = {"TXT": ["v=spf1 ip4:198.51.100.1 -all"], "MX": ["10 mx.example.com"]}
    report = check(records, "noreply@news.example.com")
    assert report.dmarc.details["found_at"] == "_dmarc.example.com"
    assert report.dmarc.details["policy"] == "reject"
    assert report.dmarc.verdict == "fail"


def test_the_organizational_domain_follows_the_public_suffix_list():
    """spb.ru is a public suffix, as co.uk is: news.example.spb.ru's policy is example.spb.ru's, never spb.ru's."""
    records = {
        **PROVIDERS,
        "news.example.spb.ru": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"], "MX": ["10 mx.example.com"]},
        "_dmarc.example.spb.ru": {"TXT": ["v=DMARC1; p=quarantine"]},
        "_dmarc.spb.ru": {"TXT": ["v=DMARC1; p=reject"]},
    }
    report = check(records, "noreply@news.example.spb.ru")
    assert report.dmarc.details["found_at"] == "_dmarc.example.spb.ru"
    assert report.dmarc.details["policy"] == "quarantine"


# ---------------------------------------------------------------- DKIM


def test_dkim_key_published_and_matching_passes():
    txt = dkim_txt_record(KEY)
    assert txt.startswith("v=DKIM1; k=rsa; p=MIIBIjAN") and len(txt) > 255  # split into strings by DNS
    report = check(zone(**{"mail._domainkey.example.com": {"TXT": [txt]}}), dkim_selector="mail", dkim_private_key=KEY)
    assert report.dkim.verdict == "pass"
    assert report.dkim.words == "The DKIM key at mail._domainkey.example.com matches the project's private key."


def test_an_ed25519_key_matches_too():
    key = make_key("ed25519")
    txt = dkim_txt_record(key)
    assert txt.startswith("v=DKIM1; k=ed25519; p=")
    report = check(zone(**{"ed._domainkey.example.com": {"TXT": [txt]}}), dkim_selector="ed", dkim_private_key=key)
    assert report.dkim.verdict == "pass"


def test_dkim_key_of_another_pair_fails():
    records = zone(**{"mail._domainkey.example.com": {"TXT": [dkim_txt_record(OTHER_KEY)]}})
    report = check(records, dkim_selector="mail", dkim_private_key=KEY)
    assert report.dkim.verdict == "fail"
    assert "is not the public half of the project's private key" in report.dkim.words
    assert report.dkim.hint.endswith(dkim_txt_record(KEY))


def test_dkim_key_missing_fails_with_the_record_to_publish():
    report = check(zone(), dkim_selector="mail", dkim_private_key=KEY)
    assert report.dkim.verdict == "fail"
    assert report.dkim.words == (
        "mail._domainkey.example.com has no DKIM key: receivers cannot check the project's signatures."
    )
    assert report.dkim.hint == f"Publish a TXT record at mail._domainkey.example.com: {dkim_txt_record(KEY)}"


def test_without_signing_dkim_is_not_judged_and_names_the_providers_selectors():
    report = check(zone())
    assert report.dkim.verdict == "none"
    assert "does not sign" in report.dkim.words
    assert "Yandex: mail, Gmail: google, Mail.ru: mail" in report.dkim.hint
    assert "sendtestmail --roundtrip" in report.dkim.hint


def test_a_private_key_that_is_not_a_key_fails_without_raising():
    report = check(zone(), dkim_selector="mail", dkim_private_key=b"not a key")
    assert report.dkim.verdict == "fail" and "cannot be read" in report.dkim.words


# ---------------------------------------------------------------- MX and the provider trap


def test_mx_present_passes_missing_or_null_warns():
    assert check(zone()).mx.verdict == "pass"
    missing = check(zone(mx=None))
    assert missing.mx.verdict == "warn"
    assert missing.mx.words == "example.com has no MX record: replies and bounces have nowhere to go."
    null = check(zone(mx=["0 ."]))
    assert null.mx.verdict == "warn" and "null MX" in null.mx.words


def test_a_gmail_address_sent_through_another_server_fails():
    report = check(zone(), "someone@gmail.com", mailer_host="smtp.yandex.ru", login="you@yandex.ru")
    assert report.mx.verdict == "fail"
    assert report.mx.words.startswith("Mail from gmail.com addresses must be sent through smtp.gmail.com")
    assert report.mx.hint.startswith("Send through smtp.gmail.com with that account's login")
    assert report.failed


def test_a_gmail_address_sent_through_gmail_is_no_trap():
    report = check(zone(), "someone@gmail.com", mailer_host="smtp.gmail.com", login="someone@gmail.com")
    assert report.mx.verdict == "pass"
    assert report.spf.verdict == "pass"  # gmail.com redirects to Google's record, which holds smtp.gmail.com
    assert report.spf.details["evaluated"][0]["matched"] == "redirect=_spf.google.com"


def test_a_domain_that_does_not_exist_fails():
    report = check(zone(), "noreply@nowhere.example")
    assert [report.spf.verdict, report.dmarc.verdict, report.mx.verdict] == ["fail"] * 3
    assert report.spf.words == "nowhere.example does not exist in DNS."


# ---------------------------------------------------------------- DNS that fails


def test_dns_unreachable_is_one_line_and_no_verdict():
    servers = nothing_listening()
    start = time.monotonic()
    report = check_sender_domain(FROM, mailer_host="smtp.yandex.ru", login=None, resolver=resolver_from(servers))
    elapsed = time.monotonic() - start
    assert elapsed < 10  # a hang guard; it takes one lookup timeout (2 s)
    assert report.dns_unreachable
    assert {part.verdict for part in report.parts} == {"none"}
    assert report.spf.words == f"DNS could not be reached at {servers}: the sender's domain was not checked."
    assert "\n" not in report.spf.words
    assert not report.failed
    json.dumps(report.as_dict())


def test_a_server_that_never_answers_is_unreachable_too():
    with dns_server(zone(), answer=False) as server:
        report = check_sender_domain(
            FROM, mailer_host=None, login=None, resolver=resolver_from(server.nameservers, 1.0), timeout=1.0
        )
    assert report.dns_unreachable and report.seconds < 5


def test_a_hostile_answer_stays_bounded():
    records = zone(
        spf=[
            "v=spf1 include:_loop.example.net "
            + " ".join(f"ip4:198.51.{n // 256}.{n % 256}" for n in range(1500))
            + " -all"
        ],
        **{
            "_loop.example.net": {"CNAME": ["_loop2.example.net"]},
            "_loop2.example.net": {"CNAME": ["_loop.example.net"]},
            "_dmarc.example.com": {"CNAME": ["_dmarc2.example.com"]},
            "_dmarc2.example.com": {"CNAME": ["_dmarc.example.com"]},
        },
    )
    records["example.com"]["TXT"].append("x" * 30000)  # an enormous TXT beside the SPF record
    start = time.monotonic()
    report = check(records)
    assert time.monotonic() - start < 10
    assert report.spf.verdict == "none"
    assert report.spf.words == "Could not look up _loop.example.net, which the SPF record of example.com names."
    assert report.dmarc.verdict == "none" and report.dmarc.words == "Could not look up the DMARC record of example.com."
    assert report.mx.verdict == "pass"


def test_the_report_is_json():
    document = json.loads(json.dumps(check(zone()).as_dict()))
    assert set(document) >= {"domain", "spf", "dmarc", "dkim", "mx", "dns_unreachable", "failed"}
    assert document["spf"]["verdict"] == "pass" and document["domain"] == "example.com"


# ---------------------------------------------------------------- DNS_NAMESERVERS


def test_nameservers_are_read_with_their_ports():
    assert parse_nameservers("1.1.1.1, 127.0.0.1:5353, [2606:4700:4700::1111]:53, 2001:db8::1") == [
        ("1.1.1.1", 53),
        ("127.0.0.1", 5353),
        ("2606:4700:4700::1111", 53),
        ("2001:db8::1", 53),
    ]
    resolver = resolver_from("127.0.0.1:5353", timeout=1.5)
    assert [(server.address, server.port) for server in resolver.nameservers] == [("127.0.0.1", 5353)]
    assert resolver.lifetime == 1.5


def test_empty_nameservers_is_the_systems_resolver():
    assert isinstance(resolver_from(""), dns.resolver.Resolver)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("dns.google", "'dns.google' is not an IP address"),
        ("127.0.0.1:0", "the port in '127.0.0.1:0' is not a number between 1 and 65535"),
        ("127.0.0.1:99999", "is not a number between 1 and 65535"),
        ("127.0.0.1:dns", "is not a number"),
        ("[::1", "is not an address with a port"),
        ("[::1]53", "is not an address with a port"),
        ("1.1.1.1, 8.8.8.300", "'8.8.8.300' is not an IP address"),
    ],
)
def test_bad_nameservers_are_refused_with_a_hint(text, problem):
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        resolver_from(text)
    assert raised.value.args[1].startswith("write IP addresses, like 1.1.1.1")


def test_a_term_naming_no_valid_domain_is_a_syntax_error():
    report = check(zone(spf=["v=spf1 include:nodots ip4:192.0.2.10 -all"]))
    assert report.spf.verdict == "fail"
    assert "cannot be read at include:nodots" in report.spf.words


def test_an_internationalized_domain_is_asked_in_idna():
    records = {"xn--e1afmkfd.xn--p1ai": {"TXT": ["v=spf1 ip4:192.0.2.10 -all"], "MX": ["10 mx.example.com"]}}
    report = check({**zone(), **records}, "noreply@пример.рф")
    assert report.domain == "xn--e1afmkfd.xn--p1ai"
    assert report.spf.verdict == "pass" and report.mx.verdict == "pass"
