"""The outbox's dataclasses as JSON-ready dicts: one shape for ``outbox list --json``,
``outbox show --json`` and the web outbox's API."""

from __future__ import annotations

from datetime import tzinfo

from django.utils import timezone

from outbox.messages import Attachment, Message, Summary, Unreadable


def summary_document(item: Summary | Unreadable, tz: tzinfo | None = None) -> dict:
    """A list row; an unreadable file says why. Dates in ``tz``, the current time zone by default."""
    if isinstance(item, Unreadable):
        return {"id": item.id, "file": item.file, "index": item.index, "reason": item.reason}
    return {
        "id": item.id,
        "file": item.file,
        "index": item.index,
        "date": item.date.astimezone(tz or timezone.get_current_timezone()).isoformat() if item.date else None,
        "date_from_file": item.date_from_file,  # no readable Date header: "date" is the file's time
        "from": item.sender,
        "to": item.to,
        "cc": item.cc,
        "bcc": item.bcc,
        "subject": item.subject,
        "attachments": item.attachments,
        "size": item.size,
    }


def message_document(message: Message) -> dict:
    """One message in full: its row, headers, text, HTML, attachments and inline files (name, type, size), links."""
    return {
        **summary_document(message.summary),
        "headers": [[name, value] for name, value in message.headers],
        "text": message.text,
        "text_from_html": message.text_from_html,
        "html": message.html,
        "attachments": files_document(message.attachments),
        "inline": files_document(message.inline),
        "links": message.links,
    }


def files_document(files: list[Attachment]) -> list[dict]:
    return [{"name": item.name, "content_type": item.content_type, "size": item.size} for item in files]
