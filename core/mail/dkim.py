"""DKIM: the project signs what it sends, with dkimpy, when ``DKIM_PRIVATE_KEY`` and ``DKIM_SELECTOR`` are set.

``DKIM`` (the setting, from ``settings_from_env``) names the key file, the selector and
the domain (``DKIM_DOMAIN``; empty: each message's From domain). ``signed()`` turns a
Django message into a ``RawMessage`` holding the signed bytes; the project's SMTP backend
(``core.mail.backends``), the outbox (``outbox.backend``) and ``sendtestmail`` send those,
so every message that leaves through the mailer behind the queue (``"direct"``) is signed,
queued or not. The queue itself stores the unsigned bytes: a key changed while messages
wait signs them with the new key. Django's own file and console backends are not signed.

Signatures use relaxed/relaxed canonicalization, which survives the CRLF line ends of
SMTP and the LF ones of a saved file, and dkimpy's default list of signed headers.
The key is read from its file for each message, never kept in a setting, where the debug
page or ``diffsettings`` could show it. ``make_private_key()`` makes a key pair for
``manage.py dkimkey``; ``verify()`` checks a signature against DNS.
"""

from __future__ import annotations

import email.policy
import os
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses
from pathlib import Path

from django.conf import settings
from django.utils.encoding import punycode
from django.utils.translation import gettext as _

from core.env import ConfigError, Env
from core.mail.config import CAFILE_SMTP_BACKEND, SMTP_BACKEND
from core.mail.errors import ExitCode, MailProblem
from core.mail.raw import RawMessage, envelope_of

KEY_BITS = 2048  # what providers and RFC 8301 ask for; 1024 is the least receivers accept
MIN_KEY_BITS = 1024
CANONICALIZE = (b"relaxed", b"relaxed")
LABEL = r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)"
NAME = re.compile(rf"^{LABEL}(\.{LABEL})*$")
KEY_HINT = "make one with: python manage.py dkimkey --selector mail"
MAX_KEY_FILE = 64 * 1024  # a PEM key is a few KB; a bigger file is not one


def settings_from_env(env: Env, base_dir: Path) -> dict | None:
    """The ``DKIM`` setting: ``{"KEY_FILE", "SELECTOR", "DOMAIN"}``, or None when the project does not sign.

    Both ``DKIM_PRIVATE_KEY`` and ``DKIM_SELECTOR`` are needed; the key file must hold an RSA private
    key in PEM without a passphrase (checked now, so a broken key stops the site at start, not the worker).
    """
    key_file, selector, domain = (env.text(name) for name in ("DKIM_PRIVATE_KEY", "DKIM_SELECTOR", "DKIM_DOMAIN"))
    if not (key_file or selector):
        if domain:
            raise ConfigError("DKIM_DOMAIN", "set, but DKIM_PRIVATE_KEY and DKIM_SELECTOR are not", KEY_HINT)
        return None
    if not key_file:
        raise ConfigError("DKIM_PRIVATE_KEY", "not set, while DKIM_SELECTOR is", f"give the key's file; {KEY_HINT}")
    if not selector:
        raise ConfigError(
            "DKIM_SELECTOR", "not set, while DKIM_PRIVATE_KEY is", "the name the key is published under, like mail"
        )
    if not NAME.match(selector):
        raise ConfigError("DKIM_SELECTOR", f"{selector!r} is not a DNS name", "letters, digits and -, like mail")
    if domain:
        domain = ascii_domain(domain)
        if not NAME.match(domain):
            raise ConfigError("DKIM_DOMAIN", f"{domain!r} is not a domain name", "like example.com")
    path = Path(key_file).expanduser()
    path = path if path.is_absolute() else base_dir / path
    try:
        check_private_key(read_key(path))
    except OSError as error:
        raise ConfigError("DKIM_PRIVATE_KEY", f"{path} cannot be read ({error.strerror or error})", KEY_HINT) from None
    except ValueError as error:
        raise ConfigError("DKIM_PRIVATE_KEY", f"{path}: {error}", KEY_HINT) from None
    return {"KEY_FILE": str(path), "SELECTOR": selector, "DOMAIN": domain}


def ascii_domain(domain: str) -> str:
    """``пример.рф`` → ``xn--e1afmkfd.xn--p1ai``: the form DNS and the d= tag hold (Django's ``punycode``, as
    ``users.addresses`` writes domains); a name that cannot be encoded is left for the caller to refuse."""
    try:
        return punycode(domain.strip().rstrip(".")).lower()
    except UnicodeError:
        return domain


def headers(data: bytes):
    """The message's header fields only: the body (attachments, megabytes of them) is not parsed."""
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(data)


def read_key(path: Path) -> bytes:
    with path.open("rb") as file:
        data = file.read(MAX_KEY_FILE + 1)
    if len(data) > MAX_KEY_FILE:
        raise ValueError("is too large to be a private key")
    return data


def check_private_key(pem: bytes) -> None:
    """ValueError naming what is wrong when ``pem`` is not an RSA private key dkimpy can sign with."""
    from cryptography.hazmat.primitives import serialization  # here and below: only when DKIM is on
    from cryptography.hazmat.primitives.asymmetric import rsa

    if b"ENCRYPTED" in pem:
        raise ValueError("the key is protected by a passphrase, which the site cannot type")
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (TypeError, ValueError):
        raise ValueError("holds no PEM private key (-----BEGIN PRIVATE KEY-----)") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("is not an RSA key (dkimpy signs Ed25519 only with PyNaCl, which is not installed)")
    if key.key_size < MIN_KEY_BITS:
        raise ValueError(f"is a {key.key_size}-bit key; receivers ignore DKIM keys under {MIN_KEY_BITS} bits")


def make_private_key(bits: int = KEY_BITS) -> bytes:
    """A new RSA private key in PEM (PKCS#8), for ``manage.py dkimkey``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_private_key(path: Path, pem: bytes) -> None:
    """Write a new key file readable by its owner only; an existing file is never replaced."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)


def signing_mailer(mailer: dict) -> dict:
    """A ``MAILERS`` entry that signs: Django's SMTP backend becomes the project's (``core.mail.backends``)."""
    if mailer["BACKEND"] == SMTP_BACKEND:
        return {**mailer, "BACKEND": CAFILE_SMTP_BACKEND}
    return mailer


# ---------------------------------------------------------------- signing


def from_domain(data: bytes, fallback: str) -> str:
    """The domain of the message's From address (the one DMARC aligns with), else of ``fallback``."""
    header = headers(data)["From"] or ""
    addresses = [address for _, address in getaddresses([str(header)]) if "@" in address] or [fallback]
    return ascii_domain(addresses[0].rpartition("@")[2])


def sign(data: bytes, config: dict, fallback_sender: str = "") -> bytes:
    """``data`` with a DKIM-Signature header in front, in the line ends ``data`` uses."""
    import dkim  # dkimpy and dnspython: 80 ms to import, paid only where DKIM is used, not by every manage.py

    domain = config["DOMAIN"] or from_domain(data, fallback_sender)
    try:
        header = dkim.sign(
            data,
            config["SELECTOR"].encode(),
            domain.encode(),
            read_key(Path(config["KEY_FILE"])),
            canonicalize=CANONICALIZE,
        )
    except (OSError, ValueError, dkim.DKIMException) as error:
        raise MailProblem(
            ExitCode.CONFIG,
            _("The message could not be signed with the DKIM key %(path)s: %(error)s")
            % {"path": config["KEY_FILE"], "error": error},
            _("Check DKIM_PRIVATE_KEY, or unset DKIM_PRIVATE_KEY and DKIM_SELECTOR to send unsigned."),
        ) from None
    linesep = b"\r\n" if b"\r\n" in data[:4096] else b"\n"
    return header.replace(b"\r\n", linesep) + data


def signed(email_message):
    """The message as it leaves: signed (a ``RawMessage``) when ``DKIM`` is set, else itself."""
    config = getattr(settings, "DKIM", None)
    if not config:
        return email_message
    sender, recipients = envelope_of(email_message)
    data = email_message.message(policy=email.policy.SMTP).as_bytes()
    bcc = [str(address) for address in email_message.bcc]
    return RawMessage(sign(data, config, sender), sender, recipients, bcc, str(email_message.subject))


# ---------------------------------------------------------------- verifying


@dataclass(frozen=True)
class Verification:
    verdict: str  # "pass", "fail", "none" (not signed), "unknown" (DNS did not answer)
    words: str
    domain: str = ""
    selector: str = ""

    def as_dict(self) -> dict:
        return {"verdict": self.verdict, "words": self.words, "domain": self.domain, "selector": self.selector}


class _DnsDown(Exception):
    pass


def signature_tags(data: bytes) -> dict[str, str] | None:
    """d= and s= of the message's first DKIM-Signature, or None when it has none."""
    header = headers(data)["DKIM-Signature"]
    if header is None:
        return None
    tags = dict(part.strip().partition("=")[::2] for part in re.sub(r"\s+", "", str(header)).split(";") if part)
    return {"d": tags.get("d", ""), "s": tags.get("s", "")}


def verify(data: bytes, resolver, timeout: float = 2.0) -> Verification:
    """Whether the message's DKIM signature verifies against the key DNS publishes (through ``resolver``)."""
    import dkim  # as in sign()
    import dns.exception
    import dns.resolver

    tags = signature_tags(data)
    if tags is None:
        return Verification("none", _("The message is not signed with DKIM."))
    domain, selector = tags["d"], tags["s"]
    name = f"{selector}._domainkey.{domain}"

    def txt(qname: bytes, timeout: float = timeout) -> bytes:
        try:
            answer = resolver.resolve(qname.decode(), "TXT", search=False, lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return b""
        except dns.exception.DNSException:
            raise _DnsDown from None
        return b"".join(next(iter(answer)).strings)

    try:
        passed = dkim.verify(data, dnsfunc=txt)
    except _DnsDown:
        return Verification("unknown", _("DNS did not answer for %(name)s.") % {"name": name}, domain, selector)
    if passed:
        words = _("The DKIM signature verifies (d=%(domain)s, s=%(selector)s).")
        return Verification("pass", words % {"domain": domain, "selector": selector}, domain, selector)
    words = _(
        "The DKIM signature does not verify: the key at %(name)s is missing or differs, or the message was changed."
    )
    return Verification("fail", words % {"name": name}, domain, selector)


def saved_signature(data: bytes) -> Verification | None:
    """For a saved message (``outbox show``, the web outbox): None when it is not signed, else whether its
    signature verifies today against the DNS ``DNS_NAMESERVERS`` names (the system's by default)."""
    from core.mail.senderdomain import resolver_from  # dnspython: only for a signed message

    if signature_tags(data) is None:
        return None
    return verify(data, resolver_from(settings.DNS_NAMESERVERS))
