"""What a person types to find messages, as the outbox's filters: ``outbox list --search`` and the web outbox's box.

``reset to:anna@example.com since:2h`` keeps the messages to that address of the
last two hours whose subject, sender or recipients hold the word ``reset``. Words
(and ``"quoted phrases"``) must all be found, in any letter case (Cyrillic too);
the prefixes are the command's other filters:

* ``to:ADDRESS``: the address is among To, Cc or Bcc (``--to``);
* ``from:TEXT``: the sender holds TEXT;
* ``subject:TEXT``: the subject holds TEXT;
* ``since:WHEN`` / ``before:WHEN``: ``2h``, ``7d``, ``2026-05-01``, ``2026-05-01T14:30`` (local time).

A word with another colon in it (``http://x``, ``a:b``) is an ordinary word. A prefix without
its value (``to:``, or ``since: 2h`` with a space) is bad input: it would otherwise find nothing.
"""

from __future__ import annotations

import re
import shlex
from datetime import datetime

from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem
from outbox.when import parse_when

PREFIX = re.compile(r"(to|from|subject|since|before):(.*)\Z", re.I | re.S)
FILTER = {"to": "to", "from": "sender", "subject": "subject", "since": "since", "before": "before"}
EXAMPLES = {
    "to": "to:anna@example.com",
    "from": "from:noreply",
    "subject": 'subject:"password reset"',
    "since": "since:2h",
    "before": "before:2026-05-01",
}
MAX_TERMS = 50  # a search box is no place for a thousand words; the rest are ignored


def parse_search(text: str | None, *, now: datetime | None = None) -> dict:
    """The ``Outbox.listing`` filters ``text`` asks for (``{}`` for none).

    Raises MailProblem (bad input) for a prefix without a value, or a ``since:``/``before:`` that is not a time.
    """
    filters: dict = {}
    words: list[str] = []
    for term in terms(text or "")[:MAX_TERMS]:
        match = PREFIX.match(term)
        if not match:
            words.append(term)
            continue
        prefix, value = match.group(1).lower(), match.group(2).strip()
        if not value:
            raise MailProblem(
                ExitCode.BAD_INPUT,
                _("The search's %(prefix)s is empty.") % {"prefix": f"{prefix}:"},
                _("write its value right after the colon, without a space: %(example)s")
                % {"example": EXAMPLES[prefix]},
            )
        name = FILTER[prefix]
        if name in ("since", "before"):
            filters[name] = parse_when(value, option=f"{prefix}:", now=now)
        else:
            filters[name] = value
    if words:
        filters["words"] = tuple(words)
    return filters


def active(filters: dict) -> dict:
    """The filters that filter: a None or an empty ``words`` is no filter."""
    return {key: value for key, value in filters.items() if value is not None and value != ()}


def terms(text: str) -> list[str]:
    """The words of ``text``, a quoted phrase as one; an unclosed quote is just a character."""
    try:
        found = shlex.split(text)
    except ValueError:  # No closing quotation
        found = text.split()
    return [term for term in found if term.strip()]
