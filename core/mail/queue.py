"""Whether reset mail is flowing, and queueing failed deliveries again (``manage.py mailqueue``).

Counts come from ``core.models.Delivery`` (one row per message) and the request
tasks not yet run; "a worker was last seen" from the workers' heartbeats
(``core.models.WorkerBeat``, written by ``db_worker``). Mail is *stalled* when a
message due now has waited longer than ``max_wait`` seconds, or when no worker
has been seen for ``max_silence`` seconds: either way nothing will send it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Min
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from core.mail.errors import ExitCode, MailProblem
from core.mail.tasks import request_password_reset, send_delivery
from core.models import Delivery, WorkerBeat

DEFAULT_MAX_WAIT = 300.0  # seconds a due message may wait before mail counts as stalled
DEFAULT_MAX_SILENCE = 180.0  # seconds without any worker's heartbeat (they beat every RESET_WORKER_TIMEOUT / 4)
FAILURE_WINDOW = timedelta(hours=24)


def seconds_between(earlier: datetime | None, later: datetime) -> float | None:
    return None if earlier is None else max((later - earlier).total_seconds(), 0.0)


@dataclass
class QueueStatus:
    """The queue at one moment; ``problems`` empty means mail is flowing."""

    checked_at: datetime
    requests_waiting: int  # requests not yet looked at by a worker (their deliveries do not exist yet)
    queued: int  # deliveries due now, waiting for a worker
    scheduled: int  # deliveries waiting for the time of their next attempt (a retry)
    sending: int  # attempts under way
    oldest_waiting_since: datetime | None
    failed_24h: int
    sent_24h: int
    worker_last_seen: datetime | None
    worker_id: str = ""
    max_wait: float = DEFAULT_MAX_WAIT
    max_silence: float = DEFAULT_MAX_SILENCE
    problems: list[str] = field(default_factory=list)

    @property
    def oldest_wait(self) -> float | None:
        return seconds_between(self.oldest_waiting_since, self.checked_at)

    @property
    def worker_silence(self) -> float | None:
        return seconds_between(self.worker_last_seen, self.checked_at)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def problem(self) -> MailProblem | None:
        """Exit 7 with the reasons, or None when mail is flowing."""
        if self.healthy:
            return None
        silent = self.worker_silence is None or self.worker_silence > self.max_silence
        hint = (
            "start the worker: python manage.py db_worker (run it as a service beside the web server)"
            if silent
            else "the workers are not keeping up or cannot send: read their log, and run "
            "python manage.py sendtestmail you@example.com to test the mail server"
        )
        return MailProblem(ExitCode.UNHEALTHY, f"Mail is not flowing: {'; '.join(self.problems)}.", hint)

    def as_dict(self) -> dict:
        def iso(moment: datetime | None) -> str | None:
            return timezone.localtime(moment).isoformat() if moment else None

        return {
            "healthy": self.healthy,
            "checked_at": iso(self.checked_at),
            "requests_waiting": self.requests_waiting,
            "queued": self.queued,
            "scheduled": self.scheduled,
            "sending": self.sending,
            "oldest_waiting_seconds": self.oldest_wait,
            "failed_24h": self.failed_24h,
            "sent_24h": self.sent_24h,
            "worker_last_seen": iso(self.worker_last_seen),
            "worker_last_seen_seconds": self.worker_silence,
            "worker_id": self.worker_id or None,
            "max_wait": self.max_wait,
            "max_silence": self.max_silence,
            "problems": self.problems,
        }


def queue_status(*, max_wait: float = DEFAULT_MAX_WAIT, max_silence: float | None = None) -> QueueStatus:
    """Count the queue (a few indexed queries) and decide whether mail is flowing.

    ``max_silence`` defaults to 180 s, or RESET_WORKER_TIMEOUT if longer (workers
    beat every quarter of it, so a live worker is never reported silent).
    """
    if max_silence is None:
        max_silence = max(DEFAULT_MAX_SILENCE, settings.RESET_WORKER_TIMEOUT)
    now = timezone.now()
    queued = Delivery.objects.filter(status=Delivery.Status.QUEUED)
    due = queued.filter(next_attempt_at__lte=now).aggregate(oldest=Min("next_attempt_at"))
    due_count = queued.filter(next_attempt_at__lte=now).count()
    requests = DBTaskResult.objects.ready().filter(task_path=request_password_reset.module_path)
    oldest_request = requests.aggregate(oldest=Min("enqueued_at"))["oldest"]
    oldest = min((moment for moment in (due["oldest"], oldest_request) if moment), default=None)
    recent = Delivery.objects.filter(updated_at__gte=now - FAILURE_WINDOW)
    last_seen = WorkerBeat.objects.aggregate(last=Max("last_seen"))["last"]
    worker = WorkerBeat.objects.filter(last_seen=last_seen).values_list("worker_id", flat=True).first()
    status = QueueStatus(
        checked_at=now,
        requests_waiting=requests.count(),
        queued=due_count,
        scheduled=queued.count() - due_count,
        sending=Delivery.objects.filter(status=Delivery.Status.SENDING).count(),
        oldest_waiting_since=oldest,
        failed_24h=recent.filter(status=Delivery.Status.FAILED).count(),
        sent_24h=recent.filter(status=Delivery.Status.SENT).count(),
        worker_last_seen=last_seen,
        worker_id=worker or "",
        max_wait=max_wait,
        max_silence=max_silence,
    )
    if status.oldest_wait is not None and status.oldest_wait > max_wait:
        status.problems.append(f"a message has waited {status.oldest_wait:.0f} s (more than {max_wait:g} s)")
    if status.worker_silence is None:
        status.problems.append("no worker has ever been seen")
    elif status.worker_silence > max_silence:
        status.problems.append(f"no worker seen for {status.worker_silence:.0f} s (more than {max_silence:g} s)")
    return status


@dataclass
class Retried:
    """Deliveries queued again by ``retry``."""

    ids: list[int]


def retry(ids: list[int] | None = None, *, failed: bool = False) -> Retried:
    """Queue again the failed deliveries ``ids`` (or every failed one), each with a fresh set of attempts.

    Raises MailProblem(BAD_INPUT), queueing nothing, when an id names no
    delivery or one that has not failed.
    """
    if not ids and not failed:
        raise MailProblem(
            ExitCode.BAD_INPUT,
            "Say which deliveries to queue again.",
            "give their ids (python manage.py mailqueue lists failures) or --failed for every failed one",
        )
    with transaction.atomic():
        chosen = Delivery.objects.select_for_update().filter(status=Delivery.Status.FAILED)
        if ids:
            found = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
            for pk in ids:
                if pk not in found:
                    raise MailProblem(ExitCode.BAD_INPUT, f"No delivery with id {pk}.", "check the id")
                if found[pk] != Delivery.Status.FAILED:
                    raise MailProblem(
                        ExitCode.BAD_INPUT,
                        f"Delivery {pk} is {found[pk]}, not failed: only failed deliveries are queued again.",
                        "",
                    )
            chosen = chosen.filter(pk__in=ids)
        picked = sorted(chosen.values_list("pk", flat=True))
        now = timezone.now()
        Delivery.objects.filter(pk__in=picked).update(
            status=Delivery.Status.QUEUED, attempts=0, next_attempt_at=now, updated_at=now
        )
        for pk in picked:
            send_delivery.enqueue(delivery_id=pk)
    return Retried(picked)


def recent_failures(limit: int = 20) -> list[Delivery]:
    """The latest failed deliveries (for the command's listing)."""
    return list(Delivery.objects.filter(status=Delivery.Status.FAILED).order_by("-updated_at")[:limit])
