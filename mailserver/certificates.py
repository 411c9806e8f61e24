"""The local certificate authority of ``mailserver --ssl`` / ``--starttls``: made once, kept, named.

On first use ``ensure(folder)`` makes a CA and a certificate signed by it for
``localhost``, ``127.0.0.1`` and ``::1``, and keeps them in ``folder`` (the project's
``.mailserver/``, which git ignores): ``ca.pem`` is what the site's SMTP mailer is
told to trust (``?ssl_cafile=`` or ``EMAIL_SSL_CAFILE``), for that mailer only;
``server.pem`` holds the server's certificate and key. Later runs reuse them, so a
``.env`` written once keeps working. Keys are readable by their owner only.

The certificates satisfy Python's strict verification (``VERIFY_X509_STRICT``, on
by default since 3.13): key usages, key identifiers, a critical basic constraint.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "ca.pem"
SERVER_NAME = "server.pem"
NAMES = ("localhost", "127.0.0.1", "::1")
LIFETIME = datetime.timedelta(days=825)  # the longest a server certificate is accepted by browsers and macOS


@dataclass(frozen=True)
class Certificates:
    ca_file: Path  # the CA's certificate (no key): what a client trusts
    server_file: Path  # the server's certificate and its key

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.server_file)
        return context


def ensure(folder: Path, names: tuple[str, ...] = NAMES) -> Certificates:
    """The certificates in ``folder``, made there first if either file is missing (OSError if it cannot be).

    ``names``: the host names and addresses the server's certificate is for (a test
    of a name mismatch makes one for another name, in a folder of its own).
    """
    folder = Path(folder)
    found = Certificates(folder / CA_NAME, folder / SERVER_NAME)
    if found.ca_file.is_file() and found.server_file.is_file():
        return found
    folder.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = _ca_certificate(ca_key)
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _server_certificate(server_key, ca_cert, ca_key, names)
    pem = serialization.Encoding.PEM
    key_pem = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    _write(found.server_file, server_cert.public_bytes(pem) + key_pem, private=True)
    # The CA's key is not kept: nothing else is ever signed with it, so nothing can be forged with it.
    _write(found.ca_file, ca_cert.public_bytes(pem), private=False)
    return found


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Write atomically (a reader never sees half a certificate), mode 0600 for a key."""
    temp = path.with_name(f".{path.name}.part")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as stream:
        stream.write(data)
    os.replace(temp, path)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mailserver (local rehearsal)"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _validity(builder: x509.CertificateBuilder) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return builder.not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + LIFETIME)


def _ca_certificate(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    public = key.public_key()
    builder = _validity(x509.CertificateBuilder()).subject_name(_name("mailserver local CA"))
    builder = (
        builder.issuer_name(_name("mailserver local CA"))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
    )
    return builder.sign(key, hashes.SHA256())


def _server_certificate(key, ca_cert: x509.Certificate, ca_key, names: tuple[str, ...]) -> x509.Certificate:
    alternative = [
        x509.IPAddress(ipaddress.ip_address(name)) if name[0].isdigit() or ":" in name else x509.DNSName(name)
        for name in names
    ]
    ca_identifier = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = _validity(x509.CertificateBuilder()).subject_name(_name(names[0]))
    builder = (
        builder.issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_identifier), critical=False)
    )
    return builder.sign(ca_key, hashes.SHA256())
