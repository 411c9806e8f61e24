"""The times the outbox's filters take: ``2h``, ``7d`` ago, or a local date or date-time."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from core.mail.errors import ExitCode, MailProblem

AGE = re.compile(r"(\d+)\s*(s|sec|m|min|h|d|w)\Z", re.I)
AGE_UNITS = {
    "s": "seconds",
    "sec": "seconds",
    "m": "minutes",
    "min": "minutes",
    "h": "hours",
    "d": "days",
    "w": "weeks",
}


def parse_when(text: str, *, option: str = "--since", now: datetime | None = None) -> datetime:
    """An aware datetime from ``2h``/``7d`` (ago), ``2026-05-01`` or ``2026-05-01T14:30`` (local time)."""
    value = text.strip()
    now = now or timezone.now()
    try:
        if match := AGE.match(value):
            return now - timedelta(**{AGE_UNITS[match.group(2).lower()]: int(match.group(1))})
        if len(value) == 10:
            moment = datetime.combine(date.fromisoformat(value), time())
        else:
            moment = datetime.fromisoformat(value.replace(" ", "T", 1))
    except (ValueError, OverflowError):  # not a date; an age before year 1
        raise MailProblem(
            ExitCode.BAD_INPUT,
            _("%(option)s %(text)r is not a date, a date-time or an age.") % {"option": option, "text": text},
            _("for example 2h, 30min, 7d, 2w, 2026-05-01 or 2026-05-01T14:30 (local time)"),
        ) from None
    return moment if moment.tzinfo else timezone.make_aware(moment)
