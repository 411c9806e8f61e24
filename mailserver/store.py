"""Saving a received message into the outbox, with its envelope, through the project's outbox backend.

The message gets three header fields in front of what the client sent, as a
receiving server adds them: ``Return-Path`` (the envelope's sender), ``Received``
(the client's address and HELO name, the login, the security, the time) and, for
envelope recipients that no To, Cc or Bcc names, ``Bcc``, so that ``outbox`` shows a
blind copy's recipient like every other (the backend keeps Django's Bcc the same way).
The file is written as the backend writes every message: atomically, and indexed.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from email.utils import format_datetime, localtime
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from outbox import headers
from outbox.backend import EmailBackend
from outbox.files import TEMP_PREFIX

RECEIVED_BY = "mailserver"


@dataclass(frozen=True)
class Received:
    """What one accepted message was: where it was saved and its envelope."""

    path: str
    mail_from: str
    rcpt_tos: tuple[str, ...]
    peer: str  # the client's address
    login: str  # "" without a login
    size: int  # bytes, as saved
    data: bytes = field(default=b"", repr=False)  # what the client sent, without the server's fields


def named_recipients(data: bytes) -> set[str]:
    """The addresses, case-folded, that the message's To, Cc and Bcc name."""
    block = headers.header_block(data[: headers.HEAD_LIMIT]) or b""
    named = set()
    for name, value in headers.fields(block):
        if name.lower() in ("to", "cc", "bcc"):
            named.update(address.casefold() for _, address in headers.addresses(value))
    return named


def _clean(text: str) -> str:
    """A value from the client, safe inside a header field: no line breaks or controls, ASCII."""
    return headers.CONTROL.sub("?", " ".join(str(text).split())).encode("ascii", "replace").decode()


def envelope_fields(*, mail_from: str, rcpt_tos, helo: str, peer: str, login: str, security: str, data: bytes) -> bytes:
    """The header fields a receiving server puts in front of the message."""
    with_what = {"ssl": "ESMTPS", "starttls": "ESMTPS", "none": "ESMTP"}[security] + ("A" if login else "")
    by_whom = f" (login {_clean(login)})" if login else ""
    recipients = ", ".join(f"<{_clean(address)}>" for address in rcpt_tos)
    lines = [
        f"Return-Path: <{_clean(mail_from)}>",
        f"Received: from {_clean(helo) or 'unknown'} ([{_clean(peer)}]){by_whom}\r\n"
        f"\tby {RECEIVED_BY} with {with_what}\r\n\tfor {recipients}; {format_datetime(localtime())}",
    ]
    named = named_recipients(data)
    hidden = [address for address in rcpt_tos if address.casefold() not in named]
    if hidden:
        lines.append("Bcc: " + ", ".join(_clean(address) for address in hidden))
    return ("\r\n".join(lines) + "\r\n").encode("ascii")


FROM_FIELD = re.compile(rb"^From:[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*", re.I | re.M)


def rewrite_from(data: bytes, login: str) -> bytes:
    """The message with its From replaced by the login, as Gmail sends a From that is not the account's."""
    block = headers.header_block(data[: headers.HEAD_LIMIT])
    if block is None:
        return data
    new_block, count = FROM_FIELD.subn(b"From: " + _clean(login).encode(), block, count=1)
    return new_block + data[len(block) :] if count else data


class Store:
    """Saves into one outbox folder through the outbox backend (one atomic, indexed ``.eml`` per message)."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        # An alias of its own: the backend checks the folder (made if missing, writable) as for a mailer.
        self.backend = EmailBackend(alias="mailserver", file_path=str(self.folder))
        self.try_writing()

    def try_writing(self) -> None:
        """Write a file and remove it, or ImproperlyConfigured: permissions are not the whole answer.

        Root may write anywhere by the permission bits, and still not into ``/sys/kernel``, a
        read-only mount or a full disk; the server would then answer 451 to every message.
        """
        try:
            fd, path = tempfile.mkstemp(dir=self.folder, prefix=TEMP_PREFIX, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(b"mailserver can write here\r\n")
            finally:
                os.unlink(path)
        except OSError as error:
            raise ImproperlyConfigured(error.strerror or str(error)) from None

    def save(self, data: bytes, **envelope) -> tuple[str, int]:
        """Save the message with its envelope fields; its path and size. OSError when the disk refuses."""
        saved = envelope_fields(data=data, **envelope) + data
        (path,) = self.backend.save(saved)
        return path, len(saved)
