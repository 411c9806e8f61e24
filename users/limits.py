"""Rate limits on the password-reset request, sign-up, logins and the account pages, counted in the ``counters`` store.

Two budgets, each a list of rates such as ``5/m,10/h`` (settings
``RESET_RATE_PER_CLIENT`` and ``RESET_RATE_PER_ADDRESS``):

* per client address: over it the page answers 429 with ``Retry-After``;
* per target mailbox (``users.addresses.budget_key``: the mailbox the address
  reaches, without a ``+tag``), so that ``A@x.ru``, ``a@Ｘ.RU`` and ``a+1@x.ru``
  share one budget: over it the page answers as usual and no message is sent, so
  the limit reveals nothing about the address.

Sign-up and the resend of its confirmation have budgets of the same two kinds
(``SIGNUP_RATE_PER_CLIENT``/``_PER_ADDRESS``, ``SIGNUP_RESEND_RATE_PER_CLIENT``/``_PER_ADDRESS``),
answered the same way: 429 per client, silence per address. The change of address
(``EMAIL_CHANGE_RATE_PER_CLIENT``/``_PER_ADDRESS``) counts its per-client budget per
account too, since its page needs a login; per new address, silence.

Login attempts (settings ``LOGIN_RATE_PER_CLIENT``, ``LOGIN_RATE_PER_USERNAME``)
are counted per client and per username, normalised as the addresses, before
the password is checked; over a budget the login forms refuse without checking it
(``users.forms.ThrottledLoginMixin``). The password change page's guesses at the
current password (``PASSWORD_CHANGE_RATE_PER_CLIENT``, ``_PER_ACCOUNT``) are counted
per client and per account the same way, and refused the same way.

The counters live in the ``counters`` cache (core/counters.py), shared by every process of the site.
They are counted as django-ratelimit counts (a fixed window per rate, its end staggered by the key,
limited once the count passes the rate), which the project used before; but every rate of a budget
is counted in one round trip to the store (``core.counters.count_up``), where django-ratelimit's
``get_usage`` makes three per rate (``add``, then ``EXISTS`` and ``INCRBY``): a refused request
costs one round trip, not three, and an accepted reset two, not nine. IPv6 clients are counted per
/64, as django-ratelimit does.
The client address is ``REMOTE_ADDR``; ``X-Forwarded-For`` is read only when
``TRUSTED_PROXY_COUNT`` says how many proxies in front of the site append to it.
An IPv4 address in IPv6 form (``::ffff:10.1.0.1``) counts as the IPv4 address
(as an IPv6 address it would share one /64 with every other).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import re
import time
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import caches
from django.utils.translation import ngettext

from core.counters import ALIAS, count_up
from users.addresses import budget_key, mailbox

logger = logging.getLogger(__name__)

RATE = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)?([smhd])$")
CLIENT_GROUP = "password_reset:client"
ADDRESS_GROUP = "password_reset:address"
SIGNUP_CLIENT_GROUP = "signup:client"
SIGNUP_ADDRESS_GROUP = "signup:address"
RESEND_CLIENT_GROUP = "signup_resend:client"
RESEND_ADDRESS_GROUP = "signup_resend:address"
EMAIL_CHANGE_CLIENT_GROUP = "email_change:client"
EMAIL_CHANGE_USER_GROUP = "email_change:user"
EMAIL_CHANGE_ADDRESS_GROUP = "email_change:address"
LOGIN_CLIENT_GROUP = "login:client"
LOGIN_USERNAME_GROUP = "login:username"
PASSWORD_CHANGE_CLIENT_GROUP = "password_change:client"  # noqa: S105 (a counter's name)
PASSWORD_CHANGE_USER_GROUP = "password_change:user"  # noqa: S105
MAX_IP_LENGTH = 45  # the longest textual IPv6 address (IPv4-mapped form)


# ---------------------------------------------------------------- settings


def rates(value: str) -> list[str]:
    """``"5/m, 10/h"`` → ``["5/m", "10/h"]``: requests per second, minute, hour or day (``10/5m`` too)."""
    hint = "write it as 5/m or 5/m,10/h (requests per s, m, h or d)"
    found = [part.strip() for part in value.split(",") if part.strip()]
    if not found:
        raise ValueError("no rate given", hint)
    for rate in found:
        if not RATE.match(rate):
            raise ValueError(f"{rate!r} is not a rate", hint)
    return found


# ---------------------------------------------------------------- keys


def client_ip(request) -> str:
    """The client's address: ``REMOTE_ADDR``, or the entry the nearest trusted proxy added to X-Forwarded-For.

    With ``TRUSTED_PROXY_COUNT = n`` the n-th address from the right of
    ``X-Forwarded-For`` is the client (the entries left of it were written by
    the client itself and can be anything). With 0 the header is ignored. An
    entry that is not a plain IP address (``unknown``, ``1.2.3.4:5678``,
    ``[2001:db8::1]:443``, a zone ``%eth0``, non-ASCII digits...) falls back to
    ``REMOTE_ADDR``: counting a client never fails on a header.
    """
    count = settings.TRUSTED_PROXY_COUNT
    if count:
        header = request.META.get("HTTP_X_FORWARDED_FOR", "")
        forwarded = [part.strip() for part in header.rsplit(",", count)[-count:] if part.strip()]
        if len(forwarded) == count and (address := plain_ip(forwarded[0])):
            return address
    return plain_ip(request.META["REMOTE_ADDR"]) or request.META["REMOTE_ADDR"]


def plain_ip(text: str) -> str | None:
    """``text`` as a canonical IPv4 or IPv6 address, or None (ports, brackets, zones, names, junk).

    ``::ffff:10.1.0.1`` is ``10.1.0.1``: one client, whichever way the socket or a proxy wrote it.
    """
    if not text.isascii() or len(text) > MAX_IP_LENGTH:
        return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if getattr(address, "scope_id", None):
        return None  # fe80::1%eth0: a zone means nothing to us, and ip_network() refuses it
    return str(getattr(address, "ipv4_mapped", None) or address)


# ---------------------------------------------------------------- checks


@dataclass(frozen=True)
class Verdict:
    limited: bool
    retry_after: int = 0  # seconds until the exhausted window ends


PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
IPV6_PREFIX = 64  # an IPv6 client is its /64: one subscriber's network, where addresses are free to change
EXPIRY_MARGIN = 5  # seconds a counter outlives its window (a request at the very end still finds it)


def split(rate: str) -> tuple[int, int]:
    """``"5/m"`` → ``(5, 60)``; ``"10/5m"`` → ``(10, 300)``: how many requests in how many seconds."""
    count, multiple, unit = RATE.match(rate).groups()
    return int(count), PERIODS[unit] * int(multiple or 1)


def window_end(value: str, period: int, now: int) -> int:
    """When the current window of ``period`` seconds ends for the key ``value``: windows are fixed, and each
    key's are shifted by a hash of it, so that not every budget starts afresh at once."""
    end = now - now % period + zlib.crc32(value.encode()) % period
    return end + period if end < now else end


def counter_key(group: str, limit: int, period: int, value: str, end: int) -> str:
    return "rl:" + hashlib.sha256(f"{group}{limit}/{period}s{value}{end}POST".encode()).hexdigest()


def client_bucket(request) -> str:
    """What counts as one client: its address (``client_ip``); for IPv6, its /64."""
    address = ipaddress.ip_address(client_ip(request))
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)
    return str(address)


def _count(request, group: str, rates: list[str], key) -> Verdict:
    """Count one request against every rate of a budget (one round trip to the store); ``key`` is ``"ip"`` for
    the client, or a function of ``(group, request)`` giving the budget's key."""
    value = client_bucket(request) if key == "ip" else key(group, request)
    now = int(time.time())
    windows = []
    for rate in rates:
        limit, period = split(rate)
        end = window_end(value, period, now)
        windows.append((limit, end, counter_key(group, limit, period, value, end)))
    counts = count_up(caches[ALIAS], [(name, end - now + EXPIRY_MARGIN) for _, end, name in windows])
    waits = [max(end - now, 1) for (limit, end, _), count in zip(windows, counts, strict=True) if count > limit]
    if key == "ip" and any(count == limit + 1 for (limit, _, _), count in zip(windows, counts, strict=True)):
        # The first refusal of a window, once: Django's own line for each 429 is dropped (core.logging).
        logger.warning("Client %s over its %s budget (%s): refused for %d s", value, group, ",".join(rates), max(waits))
    return Verdict(True, max(waits)) if waits else Verdict(False)


def check_client(request, group: str = CLIENT_GROUP, rates: list[str] | None = None) -> Verdict:
    """Count one request of the client against a budget (the reset request's unless told)."""
    return _count(request, group, settings.RESET_RATE_PER_CLIENT if rates is None else rates, "ip")


def check_address(request, address: str, group: str = ADDRESS_GROUP, rates: list[str] | None = None) -> Verdict:
    """Count one request for the mailbox ``address`` reaches, ``+tag`` dropped (``users.addresses.budget_key``),
    against a budget (the reset request's unless told)."""
    key = budget_key(address)
    return _count(request, group, settings.RESET_RATE_PER_ADDRESS if rates is None else rates, lambda g, r: key)


def check_signup_client(request) -> Verdict:
    return check_client(request, SIGNUP_CLIENT_GROUP, settings.SIGNUP_RATE_PER_CLIENT)


def check_signup_address(request, address: str) -> Verdict:
    return check_address(request, address, SIGNUP_ADDRESS_GROUP, settings.SIGNUP_RATE_PER_ADDRESS)


def check_resend_client(request) -> Verdict:
    return check_client(request, RESEND_CLIENT_GROUP, settings.SIGNUP_RESEND_RATE_PER_CLIENT)


def check_resend_address(request, address: str) -> Verdict:
    return check_address(request, address, RESEND_ADDRESS_GROUP, settings.SIGNUP_RESEND_RATE_PER_ADDRESS)


def _worst(*verdicts: Verdict) -> Verdict:
    """Limited if any budget is used up, for as long as the longest wait."""
    limited = [verdict for verdict in verdicts if verdict.limited]
    return Verdict(True, max(verdict.retry_after for verdict in limited)) if limited else Verdict(False)


def _check_client_and_account(request, groups: tuple[str, str], client_rates: list[str], user_rates: list[str]):
    """The client's and the logged-in account's budgets; limited if either is used up."""
    key = str(request.user.pk)
    by_client = check_client(request, groups[0], client_rates)
    return _worst(by_client, _count(request, groups[1], user_rates, lambda group, request: key))


def check_email_change_client(request) -> Verdict:
    """Per client and per account, both ``EMAIL_CHANGE_RATE_PER_CLIENT``."""
    rates = settings.EMAIL_CHANGE_RATE_PER_CLIENT
    return _check_client_and_account(request, (EMAIL_CHANGE_CLIENT_GROUP, EMAIL_CHANGE_USER_GROUP), rates, rates)


def check_password_change(request) -> Verdict:
    """Count one guess at the current password (``/users/password_change/``), per client and per account."""
    return _check_client_and_account(
        request,
        (PASSWORD_CHANGE_CLIENT_GROUP, PASSWORD_CHANGE_USER_GROUP),
        settings.PASSWORD_CHANGE_RATE_PER_CLIENT,
        settings.PASSWORD_CHANGE_RATE_PER_ACCOUNT,
    )


def check_email_change_address(request, address: str) -> Verdict:
    return check_address(request, address, EMAIL_CHANGE_ADDRESS_GROUP, settings.EMAIL_CHANGE_RATE_PER_ADDRESS)


# ---------------------------------------------------------------- login


def _username_key(username: str):
    key = mailbox(username)
    return lambda group, request: key


def check_login(request, username: str) -> Verdict:
    """Count one login attempt against the client's and the username's budgets; whether either is used up.

    Every attempt is counted before the password is checked, so a burst of
    parallel guesses cannot all slip in before the first failure is counted.
    Existing and unknown usernames are counted alike, so the answer says
    nothing about whether an account exists.
    """
    by_client = _count(request, LOGIN_CLIENT_GROUP, settings.LOGIN_RATE_PER_CLIENT, "ip")
    by_username = _count(request, LOGIN_USERNAME_GROUP, settings.LOGIN_RATE_PER_USERNAME, _username_key(username))
    return _worst(by_client, by_username)


def in_words(seconds: int) -> str:
    """A wait in the active language: "45 seconds", "3 minutes", "2 hours".

    Not Django's ``timeuntil``: it says "0 minutes" for a wait under a minute, which
    is what a rate limit's wait usually is.
    """
    if seconds < 90:
        return ngettext("%(count)d second", "%(count)d seconds", seconds) % {"count": seconds}
    minutes = round(seconds / 60)
    if minutes < 90:
        return ngettext("%(count)d minute", "%(count)d minutes", minutes) % {"count": minutes}
    hours = round(minutes / 60)
    return ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours}
