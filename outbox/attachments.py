"""Saving a message's attachments as files: inside the chosen folder only, never replacing a file."""

from __future__ import annotations

import os
from pathlib import Path

from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem
from outbox.messages import Message

NAME_BYTES = 200  # file systems allow 255 bytes a name: room for a "-999" before the extension


def safe_filename(name: str, fallback: str) -> str:
    """A plain base name of at most ``NAME_BYTES`` bytes: no folders, no leading dots, no control characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(char for char in base if char.isprintable()).strip().lstrip(".").strip()
    if len(base.encode("utf-8", "surrogateescape")) > NAME_BYTES:
        stem, dot, ext = base.rpartition(".")
        if not dot or len(ext.encode()) > 20:
            stem, dot, ext = base, "", ""
        room = NAME_BYTES - len((dot + ext).encode())
        stem = stem.encode("utf-8", "surrogateescape")[:room].decode("utf-8", "ignore")
        base = stem + dot + ext
    return base or fallback


def save_attachments(message: Message, folder: str | os.PathLike) -> list[Path]:
    """Write the attachments and inline files as files directly in ``folder``; an existing file is never replaced."""
    target = Path(folder)

    def problem(error: OSError) -> MailProblem:
        return MailProblem(
            ExitCode.BAD_INPUT,
            _("Cannot write attachments to %(folder)s: %(reason)s.")
            % {"folder": target, "reason": (error.strerror or str(error)).lower()},
            _("choose another folder"),
        )

    try:
        target.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(target, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as error:
        raise problem(error) from None
    saved = []
    try:
        for number, attachment in enumerate(message.files, 1):
            base = safe_filename(attachment.name, f"attachment-{number}")
            stem, dot, ext = base.rpartition(".") if "." in base else (base, "", "")
            for attempt in range(1000):
                name = base if attempt == 0 else f"{stem}-{attempt}{dot}{ext}"
                try:  # O_EXCL: an existing file, or a link planted there, is never opened
                    fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dir_fd)
                except FileExistsError:
                    continue
                with open(fd, "wb") as stream:
                    stream.write(attachment.data)
                saved.append(target / name)
                break
    except OSError as error:
        raise problem(error) from None
    finally:
        os.close(dir_fd)
    return saved
