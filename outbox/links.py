"""Whether the links of a saved message work: ``outbox show ID --links --check`` and the web outbox.

A link either points at this site or elsewhere. It is this site when its scheme,
host and port are ``SITE_URL``'s, when its host is one of ``ALLOWED_HOSTS``
(``django.http.request.validate_host``: ``.example.com`` covers the subdomains; a
``*`` says nothing about which host is this site, so then only ``SITE_URL`` and
the request's host decide), or when it is the host of the request a web view is
answering (``request_host``). With ``DEBUG`` on and no ``ALLOWED_HOSTS``, Django's
own defaults count (``.localhost``, ``127.0.0.1``, ``[::1]``).

A link of this site is resolved against the project's URLs (``django.urls.resolve``,
as a request for its path would be, ``APPEND_SLASH`` included). A password-reset
link (``password_reset_confirm``) is checked as ``PasswordResetConfirmView`` would
check it, without using it: the user its ``uidb64`` names is fetched and
``default_token_generator.check_token`` asked (a message made with another
``token_generator`` cannot be checked here). The token's time stamp, which the
token carries in the clear, tells an expired token from one that was used.

Links built for the wrong address are flagged with the setting that builds them
(``SITE_URL``): a placeholder host (example.com, .org, .net), this machine
(localhost, 127.0.0.1, ::1) while ``SITE_URL`` is a public address, ``http://``
while ``SITE_URL`` is ``https://``, a port other than ``SITE_URL``'s. A link of this
site to this machine is tried with a TCP connection (loopback only, nothing sent): no
server on its port, it opens nothing (``make run PORT=8417`` while ``SITE_URL`` says
8000). Another site is "elsewhere" and not checked, unless it looks like this site's
reset link.

Nothing here prints or raises on a bad link: every link gets one ``LinkCheck``,
whose texts are translated in the active language.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from urllib.parse import SplitResult, unquote_to_bytes, urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.http.request import split_domain_port, validate_host
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.utils.encoding import repercent_broken_unicode
from django.utils.http import base36_to_int, urlsafe_base64_decode
from django.utils.text import capfirst
from django.utils.translation import gettext as _

# kind
SITE = "site"  # this site's address
ELSEWHERE = "elsewhere"  # another host
MAIL = "mail"  # mailto:
OTHER = "other"  # not a web link (javascript:, tel:, a relative address)

RESET_URL_NAME = "password_reset_confirm"
# PasswordResetConfirmView.reset_url_token: the address a valid link redirects to. Not imported from
# django.contrib.auth.views, which loads the auth forms: `outbox` starts without them.
AFTER_REDIRECT_TOKEN = "set-password"  # noqa: S105 (no secret: the word Django puts in place of the token)
MAX_LENGTH = 4094  # gunicorn's default limit_request_line; nginx allows 8 KiB: past this, servers refuse it
PLACEHOLDERS = ("example.com", "example.org", "example.net")  # RFC 2606; django.contrib.sites' default Site
DEFAULT_PORTS = {"http": 80, "https": 443}
REFUSED_SCHEMES = {"javascript", "vbscript", "data", "file"}
SCHEME = re.compile(r"([a-z][a-z0-9+.-]*):", re.I)
LOCAL_CONNECT_TIMEOUT = 1.0  # seconds; on loopback a closed port refuses at once
UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True)
class LinkCheck:
    """The verdict on one link, in plain fields (``as_dict`` for JSON).

    ``verdict`` says what the link is, ``problem`` what is wrong with it ("" when
    ``ok``) and ``hint`` how to fix it. ``status`` is the same verdict for programs:
    one of ``STATUSES``.
    """

    url: str
    kind: str  # SITE, ELSEWHERE, MAIL or OTHER
    status: str
    ok: bool
    verdict: str
    problem: str = ""
    hint: str = ""
    url_name: str = ""  # the URL name it resolves to (password_reset_confirm), "" for none
    user: str = ""  # the username a reset link names, when there is such a user

    def as_dict(self) -> dict:
        return asdict(self)


STATUSES = {
    # ok
    "page": "a page of this site",
    "reset_valid": "a reset link whose token works now",
    "elsewhere": "another site, not checked",
    "mail": "an email address, not checked",
    "not_web": "not a web link, not checked",
    # not ok
    "reset_used": "the token was used, or the password, email or last login changed since",
    "reset_expired": "the token is older than PASSWORD_RESET_TIMEOUT",
    "reset_unknown_user": "the uidb64 part names no user",
    "reset_after_redirect": "the set-password/ address, which works only in the browser that opened the real link",
    "reset_elsewhere": "this site's reset path on another host",
    "no_page": "no page of this site has this path",
    "placeholder": "example.com, .org or .net",
    "local": "this machine's address while SITE_URL is public",
    "wrong_port": "SITE_URL's host with another port",
    "not_served": "this machine's address on a port where no server answers",
    "insecure": "http:// while SITE_URL is https://",
    "userinfo": "a user name before the host (user@host)",
    "relative": "no scheme and host",
    "refused_scheme": "javascript:, data:, vbscript: or file:, which mail programs refuse",
    "too_long": "longer than servers accept",
    "malformed": "not a readable address",
}


def check_links(links: list[str], *, request_host: str | None = None) -> list[LinkCheck]:
    """One ``LinkCheck`` per link, in order.

    ``request_host`` is ``request.get_host()`` of the page showing the links (a web
    view): links to that host are this site's too.
    """
    site = _Site.from_settings(request_host)
    return [_check(str(link), site) for link in links]


def check_link(link: str, *, request_host: str | None = None) -> LinkCheck:
    return check_links([link], request_host=request_host)[0]


# ---------------------------------------------------------------- this site


def _host(name: str) -> str:
    """``name`` as Django compares hosts: lower case, IDNA (punycode) for non-ASCII, IPv6 in brackets.

    Raises ValueError for a name no request could carry.
    """
    name = name.strip().lower().removesuffix(".")
    if not name:
        raise ValueError(name)
    if ":" in name.strip("[]"):
        ipaddress.IPv6Address(name.strip("[]").split("%")[0])  # ValueError
        return f"[{name.strip('[]')}]"
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(name) from None
    if not split_domain_port(name)[0]:
        raise ValueError(name)
    return name


def _pattern(pattern: str) -> str:
    """An ``ALLOWED_HOSTS`` entry with its host normalized as ``_host`` does (as written when it cannot be)."""
    dot = "." if pattern.startswith(".") else ""
    try:
        return dot + _host(pattern.removeprefix("."))
    except ValueError:
        return pattern.lower()


def is_local(host: str) -> bool:
    """localhost, a .localhost name, a loopback address or 0.0.0.0: this machine, whoever reads the mail."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def answers(host: str, port: int) -> bool:
    """Whether a server accepts a TCP connection at this machine's ``host`` (``is_local``) and ``port``.

    Only ever a loopback address: a .localhost name is localhost, as in browsers; 0.0.0.0 and [::] are
    this machine too.
    """
    address = host.strip("[]")
    if host == "localhost" or host.endswith(".localhost"):
        address = "localhost"
    elif ipaddress.ip_address(address).is_unspecified:
        address = "::1" if ":" in address else "127.0.0.1"
    try:
        socket.create_connection((address, port), timeout=LOCAL_CONNECT_TIMEOUT).close()
    except OSError:
        return False
    return True


def is_placeholder(host: str) -> bool:
    return any(host == name or host.endswith("." + name) for name in PLACEHOLDERS)


@dataclass(frozen=True)
class _Site:
    url: str  # SITE_URL, "" when not set
    scheme: str
    host: str
    port: int | None
    allowed: tuple[str, ...]  # ALLOWED_HOSTS patterns but "*"
    request: tuple[str, str] | None  # request_host's host and port ("" for none)

    @classmethod
    def from_settings(cls, request_host: str | None) -> _Site:
        url = getattr(settings, "SITE_URL", "") or ""
        scheme, host, port = "", "", None
        if url:
            try:
                parts = urlsplit(url)
                scheme, host = parts.scheme.lower(), _host(parts.hostname or "")
                port = parts.port or DEFAULT_PORTS.get(scheme)
            except ValueError:  # not from settings.py, which checks it: a test's or a caller's setting
                url, scheme, host, port = "", "", "", None
        patterns = list(settings.ALLOWED_HOSTS)
        if settings.DEBUG and not patterns:  # as HttpRequest.get_host
            patterns = [".localhost", "127.0.0.1", "[::1]"]
        allowed = tuple(_pattern(pattern) for pattern in patterns if pattern != "*")
        request = None
        if request_host:
            domain, request_port = split_domain_port(request_host)
            if domain:
                request = (_pattern(domain), request_port)
        return cls(url, scheme, host, port, allowed, request)

    @property
    def public(self) -> bool:
        return bool(self.url) and not is_local(self.host)

    def owns(self, scheme: str, host: str, port: int) -> bool:
        """Whether the link's host (and port where known) is this site's."""
        if self.url and host == self.host and (scheme, port) == (self.scheme, self.port):
            return True
        if self.url and host == self.host and scheme != self.scheme:
            return True  # this site, on the wrong scheme: flagged as insecure (or not), not as elsewhere
        if self.request and host == self.request[0] and (not self.request[1] or int(self.request[1]) == port):
            return True
        return bool(self.allowed) and validate_host(host, self.allowed)


# ---------------------------------------------------------------- one link


def _result(url, kind, status, verdict, problem="", hint="", url_name="", user="") -> LinkCheck:
    # A hint is a sentence, as MailProblem's are, however its msgid begins.
    return LinkCheck(url, kind, status, not problem, verdict, problem, capfirst(hint), url_name, user)


def _site_text(site: _Site) -> str:
    return site.url or _("not set")


def _check(url: str, site: _Site) -> LinkCheck:
    if len(url) > MAX_LENGTH:
        return _result(
            url,
            OTHER,
            "too_long",
            _("An address of %(length)d characters.") % {"length": len(url)},
            _("Servers refuse addresses longer than %(limit)d characters.") % {"limit": MAX_LENGTH},
            _("shorten the link in the template that made the message"),
        )
    scheme_match = SCHEME.match(url)
    scheme = scheme_match.group(1).lower() if scheme_match else ""
    if scheme == "mailto":
        return _result(url, MAIL, "mail", _("An email address; not checked."))
    if scheme in REFUSED_SCHEMES:
        return _result(
            url,
            OTHER,
            "refused_scheme",
            _("A %(scheme)s: link, not a web link.") % {"scheme": scheme},
            _("Mail programs do not open such links."),
            _("link to a page of the site instead"),
        )
    if not scheme and (url.startswith("/") or not url.strip()):
        return _result(
            url,
            OTHER,
            "relative",
            _("An address without a scheme and host."),
            _("In a message it leads nowhere: there is no page to be relative to."),
            _("build the link with SITE_URL (as users.reset does), not with reverse() alone"),
        )
    if scheme not in DEFAULT_PORTS:
        return _result(url, OTHER, "not_web", _("Not a web link; not checked."))
    return _check_web(url, scheme, site)


def _malformed(url: str, why: str) -> LinkCheck:
    return _result(
        url,
        OTHER,
        "malformed",
        _("A web address that cannot be read."),
        why,
        _("fix the template or the code that built the link"),
    )


def _check_web(url: str, scheme: str, site: _Site) -> LinkCheck:
    if UNSAFE_CHARACTERS.search(url):
        return _malformed(url, _("It holds spaces or control characters, which mail programs cut or refuse."))
    try:
        parts = urlsplit(url)
        raw_host = parts.hostname or ""
        port = parts.port or DEFAULT_PORTS[scheme]
    except ValueError:  # an unmatched [ or ], a port that is no number or too big
        return _malformed(url, _("Its host or port is not valid (an unmatched [ or ], or a bad port)."))
    if not raw_host:
        return _malformed(url, _("It has no host."))
    try:
        host = _host(raw_host)
    except ValueError:
        return _malformed(url, _("Its host %(host)r is not a valid host name.") % {"host": raw_host})

    path = _path(parts)
    match = _resolve(path)
    url_name = (match.url_name or "") if match else ""
    is_reset = url_name == RESET_URL_NAME
    values = {"host": host, "site": _site_text(site), "scheme": scheme}

    if not site.owns(scheme, host, port):
        if is_placeholder(host):
            return _result(
                url,
                ELSEWHERE,
                "placeholder",
                _("A link to %(host)s.") % values,
                _("%(host)s is a placeholder, not this site: the link was built without the site's address.") % values,
                _("set SITE_URL to the site's public address (it is %(site)s now) and send the message again") % values,
                url_name,
            )
        if is_local(host) and site.public:
            return _local(url, ELSEWHERE, values, url_name)
        if is_reset:
            return _result(
                url,
                ELSEWHERE,
                "reset_elsewhere",
                _("A password-reset link to %(host)s.") % values,
                _("It has this site's reset address, but on %(host)s, which is not this site.") % values,
                _(
                    "set SITE_URL to the site's public address (it is %(site)s now), or add %(host)s to "
                    "ALLOWED_HOSTS if it is this site"
                )
                % values,
                url_name,
            )
        return _result(url, ELSEWHERE, "elsewhere", _("A link to another site (%(host)s); not checked.") % values)

    # This site, or the site's own reset page at a placeholder or local address.
    if is_placeholder(host):
        return _result(
            url,
            SITE,
            "placeholder",
            _("A link to %(host)s.") % values,
            _("%(host)s is a placeholder address: no reader can open it.") % values,
            _("set SITE_URL to the site's public address (it is %(site)s now) and send the message again") % values,
            url_name,
        )
    if is_local(host) and site.public:
        return _local(url, SITE, values, url_name)
    if site.url and host == site.host and scheme == site.scheme and port != site.port:
        return _result(
            url,
            SITE,
            "wrong_port",
            _("A link to this site's host on port %(port)d.") % {"port": port},
            _("SITE_URL (%(site)s) says port %(expected)d.") % {**values, "expected": site.port},
            _("send the message again with the port of SITE_URL, or correct SITE_URL"),
            url_name,
        )
    if scheme == "http" and site.scheme == "https":
        return _result(
            url,
            SITE,
            "insecure",
            _("A link to this site over http://."),
            _(
                "The site is https:// (SITE_URL is %(site)s): over http:// the link, token and all, "
                "can be read on the way."
            )
            % values,
            _(
                "build links with SITE_URL; a message made in a web request uses the request's scheme: "
                "behind a proxy, set SECURE_PROXY_SSL_HEADER"
            ),
            url_name,
        )
    if parts.username is not None:
        return _result(
            url,
            SITE,
            "userinfo",
            _("A link to this site with a user name before the host."),
            _("Browsers warn about user@host addresses, and some refuse them."),
            _("drop the part before @ from the link"),
            url_name,
        )
    if is_local(host) and not answers(host, port):
        return _result(
            url,
            SITE,
            "not_served",
            _("A link to this machine, port %(port)d.") % {"port": port},
            _("No server answers at %(host)s:%(port)d: the link opens nothing.") % {**values, "port": port},
            _(
                "start the site on that port (make run PORT=%(port)d), or set SITE_URL to the address the site "
                "runs on (it is %(site)s now) and send the message again"
            )
            % {**values, "port": port},
            url_name,
        )
    if match is None:
        return _result(
            url,
            SITE,
            "no_page",
            _("A link to this site."),
            _("No page at this address: %(path)s matches none of the site's URLs.") % {"path": path},
            _(
                "check the template that built it against the URL names in core/urls.py "
                "(build links with reverse() or the url tag)"
            ),
        )
    if is_reset:
        return _check_reset(url, match.kwargs)
    name = match.view_name  # namespace:url_name, or the view's dotted path when it has no name
    return _result(url, SITE, "page", _("A page of this site (%(name)s).") % {"name": name}, url_name=url_name)


def _local(url: str, kind: str, values: dict, url_name: str) -> LinkCheck:
    return _result(
        url,
        kind,
        "local",
        _("A link to %(host)s, the computer it was made on.") % values,
        _("On the reader's computer it opens nothing: the site is %(site)s.") % values,
        _(
            "send the message again with SITE_URL (resetuser without --site-url), or from the site's public "
            "address rather than a page opened on %(host)s"
        )
        % values,
        url_name,
    )


def _path(parts: SplitResult) -> str:
    """The path as Django's handler gives it to the URL resolver: percent-decoded, broken UTF-8 kept as %XX."""
    return repercent_broken_unicode(unquote_to_bytes(parts.path or "/")).decode() or "/"


def _resolve(path: str):
    """The ResolverMatch of ``path``, or of ``path/`` where CommonMiddleware would add the slash; None for none."""
    if not path.startswith("/"):
        path = "/" + path
    try:
        return resolve(path)
    except Resolver404:
        pass
    if settings.APPEND_SLASH and not path.endswith("/"):
        try:
            return resolve(path + "/")
        except Resolver404:
            pass
    return None


# ---------------------------------------------------------------- password reset


def _reset_user(uidb64: str):
    """The user ``uidb64`` names, or None: as ``PasswordResetConfirmView.get_user``."""
    user_model = get_user_model()
    try:
        uid = urlsafe_base64_decode(uidb64).decode()
        return user_model._default_manager.get(pk=user_model._meta.pk.to_python(uid))
    except (TypeError, ValueError, OverflowError, user_model.DoesNotExist, ValidationError):
        return None


def token_expires(token: str) -> datetime | None:
    """When the token's time stamp (seconds since 2001-01-01, local time, in base 36) passes PASSWORD_RESET_TIMEOUT.

    The formula of ``PasswordResetTokenGenerator``; None when the token has no readable time stamp.
    """
    try:
        seconds = base36_to_int(token.split("-")[0])
        made = datetime(2001, 1, 1) + timedelta(seconds=seconds)
    except (ValueError, OverflowError):
        return None
    return timezone.localtime((made + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)).astimezone())


def _check_reset(url: str, kwargs: dict) -> LinkCheck:
    token, uidb64 = kwargs.get("token", ""), kwargs.get("uidb64", "")
    if token == AFTER_REDIRECT_TOKEN:
        return _result(
            url,
            SITE,
            "reset_after_redirect",
            _("The address the reset page redirects to (…/set-password/)."),
            _("It works only in the browser session that opened the real link, which holds the token."),
            _("mail the link with the token (reset_url of users.reset.reset_context)"),
            RESET_URL_NAME,
        )
    user = _reset_user(uidb64)
    if user is None:
        return _result(
            url,
            SITE,
            "reset_unknown_user",
            _("A password-reset link."),
            _("Its user part (%(uid)s) names no user of this site's database.") % {"uid": uidb64},
            _("the user was deleted, or the message was made with another database (DATABASE_URL): ask for a new link"),
            RESET_URL_NAME,
        )
    username = user.get_username()
    values = {"user": username}
    expires = token_expires(token)
    if default_token_generator.check_token(user, token):
        when = f"{expires:%Y-%m-%d %H:%M %Z}" if expires else "?"
        return _result(
            url,
            SITE,
            "reset_valid",
            _("A password-reset link for %(user)s; its token is valid until %(expires)s (checked, not used).")
            % {**values, "expires": when},
            url_name=RESET_URL_NAME,
            user=username,
        )
    new_link = _("ask for a new link: python manage.py resetuser %(user)s, or the form at /users/password_reset/")
    if expires is not None and expires < timezone.now():
        return _result(
            url,
            SITE,
            "reset_expired",
            _("A password-reset link for %(user)s.") % values,
            _("Its token expired at %(expires)s: PASSWORD_RESET_TIMEOUT (%(timeout)s s) passed.")
            % {"expires": f"{expires:%Y-%m-%d %H:%M %Z}", "timeout": settings.PASSWORD_RESET_TIMEOUT},
            new_link % values,
            RESET_URL_NAME,
            username,
        )
    return _result(
        url,
        SITE,
        "reset_used",
        _("A password-reset link for %(user)s.") % values,
        _(
            "Its token was used or is no longer valid: the password, email or last login of %(user)s changed "
            "since it was made (or SECRET_KEY did)."
        )
        % values,
        new_link % values,
        RESET_URL_NAME,
        username,
    )
