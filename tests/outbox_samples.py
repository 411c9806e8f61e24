"""Messages for the outbox tests, written by the real backends (the project's and Django's)."""

from __future__ import annotations

import io
from email.message import MIMEPart
from pathlib import Path

from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.management import call_command

from core.mail.config import FILE_BACKEND, OUTBOX_BACKEND

RESET_LINK = "https://cinema.example/users/reset/MQ/c4v-0123456789abcdef/"
CYRILLIC_SUBJECT = "Восстановление пароля на «Киноцентре»"
DASHES = "-" * 79


def use_folders(settings, folder: Path) -> None:
    """``default`` saves .eml files to ``folder``; ``log`` is Django's file backend on the same folder."""
    settings.MAILERS = {
        "default": {"BACKEND": OUTBOX_BACKEND, "OPTIONS": {"file_path": str(folder)}},
        "log": {"BACKEND": FILE_BACKEND, "OPTIONS": {"file_path": str(folder)}},
        "memory": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"},
    }


def plain(subject: str, to: str = "to@example.com", body: str = "Body\n", **kwargs) -> EmailMessage:
    return EmailMessage(subject, body, "from@example.com", [to], **kwargs)


def cyrillic_reset() -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        CYRILLIC_SUBJECT,
        f"Здравствуйте, Анна!\nЧтобы задать новый пароль, откройте ссылку:\n{RESET_LINK}\n",
        "Киноцентр <noreply@cinema.example>",
        ["Анна Петрова <anna@example.com>"],
    )
    message.attach_alternative(f'<p>Здравствуйте, Анна!</p><p><a href="{RESET_LINK}">Новый пароль</a></p>', "text/html")
    return message


def with_inline_image() -> EmailMultiAlternatives:
    """The Cyrillic reset with an image its HTML shows inline (``logo.gif``, no attachment disposition)."""
    message = cyrillic_reset()
    image = MIMEPart()
    image.set_content(b"GIF89a", "image", "gif", disposition="inline", filename="logo.gif", cid="<logo>")
    message.attach(image)
    return message


def send(*messages, using: str = "default") -> list[str]:
    """Send through mailer ``using``; the names of the .eml files written (none for .log)."""
    backend = mail.mailers[using]
    backend.send_messages(list(messages))
    return [Path(path).name for path in getattr(backend, "written", [])]


def log_file(folder: Path, *messages) -> Path:
    """One Django ``.log`` file holding ``messages`` (one connection)."""
    before = set(folder.glob("*.log")) if folder.exists() else set()
    send(*messages, using="log")
    [path] = set(folder.glob("*.log")) - before
    return path


def run_outbox(*args) -> tuple[str, str]:
    """``manage.py outbox ARGS`` in this process: its stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("outbox", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()
