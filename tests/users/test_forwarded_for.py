"""A malformed X-Forwarded-For never answers 5xx: the client is then its socket address (REMOTE_ADDR)."""

import pytest
from django.test import RequestFactory

from tests.users.test_reset_limits import reset  # noqa: F401
from users.limits import client_ip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters")]

MALFORMED = [
    "unknown",
    "1.2.3.4:5678",
    "_hidden",
    "[2001:db8::1]:443",
    "[2001:db8::1]",
    "",
    ",",
    ", , ,",
    "203.0.113.9, ",
    "fe80::1%eth0",
    "999.1.1.1",
    "203.0.113.0/24",
    "0x7f.0.0.1",
    "1.2.3.4 5.6.7.8",
    "x" * 7000,
    "203.0.113.9, " * 500 + "unknown",
    "１.２.３.４".encode(),  # full-width digits, sent as UTF-8 bytes
    "é".encode("latin-1"),
]


@pytest.mark.parametrize("header", MALFORMED, ids=lambda value: repr(value)[:30])
def test_a_malformed_entry_counts_against_the_socket_address(settings, reset, header):  # noqa: F811
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RESET_RATE_PER_CLIENT = ["2/d"]  # a day: no window can end mid-test
    assert [reset("a@example.com").status_code for _ in range(2)] == [302, 302]  # 127.0.0.1, no header
    refused = reset("a@example.com", {"X-Forwarded-For": header})
    assert refused.status_code == 429  # not a 500, and counted as 127.0.0.1: its budget is spent
    assert "Too many requests" in refused.text


def test_a_well_formed_entry_is_still_the_client(settings, reset):  # noqa: F811
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RESET_RATE_PER_CLIENT = ["1/d"]
    statuses = [reset("a@example.com", {"X-Forwarded-For": f"unknown, 2001:db8::{i}"}).status_code for i in (1, 1)]
    assert statuses == [302, 429]
    assert reset("a@example.com", {"X-Forwarded-For": "203.0.113.7"}).status_code == 302


@pytest.mark.parametrize(
    ("proxies", "header", "client"),
    [
        (1, "2001:DB8:0:0::1", "2001:db8::1"),  # canonical form: one budget however it is written
        (1, " 203.0.113.7 ", "203.0.113.7"),
        (2, "unknown, 10.0.0.2", "127.0.0.1"),
        (2, "203.0.113.7,, 10.0.0.2", "127.0.0.1"),  # an empty entry where a proxy's should be
        (1, "::FFFF:203.0.113.7", "203.0.113.7"),  # an IPv4 address in IPv6 form is the IPv4 address
    ],
)
def test_client_ip_reads_only_plain_addresses(settings, proxies, header, client):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=header)
    assert client_ip(request) == client


def test_ipv4_mapped_clients_each_have_their_own_budget(settings, reset):  # noqa: F811
    """``::ffff:10.1.0.N`` are N clients, not one IPv6 /64 (django-ratelimit's bucket for IPv6)."""
    settings.TRUSTED_PROXY_COUNT = 1
    settings.RESET_RATE_PER_CLIENT = ["1/d"]
    first = [reset("a@example.com", {"X-Forwarded-For": f"::ffff:10.1.0.{i}"}).status_code for i in range(1, 4)]
    assert first == [302, 302, 302]
    assert reset("a@example.com", {"X-Forwarded-For": "10.1.0.2"}).status_code == 429  # the same client as ::ffff:


def test_an_ipv4_mapped_socket_address_is_the_ipv4_address():
    request = RequestFactory().post("/", REMOTE_ADDR="::ffff:10.1.0.1")
    assert client_ip(request) == "10.1.0.1"
