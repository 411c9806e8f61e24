"""The outbox's dataclasses as JSON-ready dicts and sizes as people read them: one shape for
``outbox list --json``, ``outbox show --json`` and the web outbox's API."""

from __future__ import annotations

from datetime import tzinfo

from django.utils import timezone

from core.mail.outbox.messages import Message, Summary, Unreadable


def human_size(size: int) -> str:
    """``1536`` → ``1.5 KB``."""
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""  # not reached


def summary_document(item: Summary | Unreadable, tz: tzinfo | None = None) -> dict:
    """A list row; an unreadable file says why. Dates in ``tz``, the current time zone by default."""
    if isinstance(item, Unreadable):
        return {"id": item.id, "file": item.file, "index": item.index, "reason": item.reason}
    return {
        "id": item.id,
        "file": item.file,
        "index": item.index,
        "date": item.date.astimezone(tz or timezone.get_current_timezone()).isoformat() if item.date else None,
        "from": item.sender,
        "to": item.to,
        "cc": item.cc,
        "bcc": item.bcc,
        "subject": item.subject,
        "attachments": item.attachments,
        "size": item.size,
    }


def message_document(message: Message) -> dict:
    """One message in full: its row, headers, text, HTML, attachments (name, type, size) and links."""
    return {
        **summary_document(message.summary),
        "headers": [[name, value] for name, value in message.headers],
        "text": message.text,
        "text_from_html": message.text_from_html,
        "html": message.html,
        "attachments": [
            {"name": item.name, "content_type": item.content_type, "size": item.size} for item in message.attachments
        ],
        "links": message.links,
    }
