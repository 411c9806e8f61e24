"""The kinds of message the queue carries, each registered by the app that owns it.

The queue itself knows none: an app registers, from its ``AppConfig.ready()``, each kind
it queues with how its message is sent at an attempt and what it is called when it is
lost. Account messages register theirs in ``users.apps``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Kind:
    """How one kind of message is sent, and what it is called."""

    name: str  # what Delivery.kind holds
    # Make the message again from the delivery and send it through the default mailer (raising what it raised).
    send: Callable[[object], None]
    # What it is called in the log (translated there) and in the mail to ADMINS: "Password reset message".
    title: str
    # Who it was for, in the mail to ADMINS: "user anna <anna@example.com> (id 5)".
    recipient: Callable[[object], str]
    # What can be done about a lost one besides ``mailqueue retry`` ("the user can ask for a new link").
    advice: str = ""


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    """Make ``kind`` known to the queue (an app's ``ready()`` calls this; again, it replaces itself)."""
    KINDS[kind.name] = kind


def kind_of(delivery) -> Kind:
    """The registered kind of ``delivery`` (LookupError naming it when no installed app registers it)."""
    try:
        return KINDS[delivery.kind]
    except KeyError:
        raise LookupError(f"no installed app registers the kind of message {delivery.kind!r}") from None
