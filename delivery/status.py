"""Whether the site's mail is flowing, and queueing failed deliveries again (``manage.py mailqueue``).

Counts come from ``Delivery`` (one row per message) and the request tasks not yet
run (every ``delivery.attempts.request_task``, whichever app queues it: resets,
sign-ups, confirmations, notices, changes of address); "a worker was last seen"
from the workers' heartbeats (``WorkerBeat``, written by ``db_worker``). Mail is not flowing when:

- a message (or a request) due now has waited longer than ``max_wait`` seconds;
- no worker has been seen for ``max_silence`` seconds: nothing will send it;
- mail is *failing*: a delivery of the last 24 hours failed or waits for a
  retry, and no message has been sent since that delivery was made (its first
  attempt is made when it is made). A server that is down, or a login refused
  after a password change, fails every delivery: unhealthy from the first
  failure. One address refused while other mail goes out is no outage: a message
  sent after it was made clears it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy
from django_tasks_db.models import DBTaskResult

from core.mail.errors import ExitCode, MailProblem
from delivery.attempts import REQUEST_TASKS, send_delivery
from delivery.kinds import kind_of
from delivery.models import Delivery, WorkerBeat

DEFAULT_MAX_WAIT = 300.0  # seconds a due message may wait before mail counts as stalled
DEFAULT_MAX_SILENCE = 180.0  # seconds without any worker's heartbeat (they beat every MAIL_WORKER_TIMEOUT / 4)
FAILURE_WINDOW = timedelta(hours=24)
# The largest delivery id the database can hold (a larger one would overflow the query).
MAX_DELIVERY_ID = connection.ops.integer_field_range(Delivery._meta.pk.get_internal_type())[1]
STATUS_WORDS = {  # "Delivery 5 is sent, not failed"
    Delivery.Status.QUEUED: pgettext_lazy("delivery", "queued"),
    Delivery.Status.SENDING: pgettext_lazy("delivery", "being sent"),
    Delivery.Status.SENT: pgettext_lazy("delivery", "sent"),
    Delivery.Status.FAILED: pgettext_lazy("delivery", "failed"),
}


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
    last_sent: datetime | None = None
    # Failing: deliveries made since the last message was sent (in the window) that failed / wait for a retry.
    failing_failed: int = 0
    failing_retrying: int = 0
    last_error: str = ""  # the latest error of those deliveries
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
    def silent(self) -> bool:
        return self.worker_silence is None or self.worker_silence > self.max_silence

    @property
    def failing(self) -> bool:
        return bool(self.failing_failed or self.failing_retrying)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def problem(self) -> MailProblem | None:
        """Exit 7 with the reasons, or None when mail is flowing."""
        if self.healthy:
            return None
        if self.silent:
            hint = _("start the worker: python manage.py db_worker (run it as a service beside the web server)")
        elif self.failing:
            hint = _(
                "Run python manage.py sendtestmail you@example.com: it says why the mail server refuses or cannot "
                "be reached, and how to fix it; then python manage.py mailqueue retry --failed sends the failed again"
            )
        else:
            hint = _(
                "the workers are not keeping up or cannot send: read their log, and run "
                "python manage.py sendtestmail you@example.com to test the mail server"
            )
        message = _("Mail is not flowing: %(problems)s.") % {"problems": "; ".join(self.problems)}
        return MailProblem(ExitCode.UNHEALTHY, message, hint)

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
            "last_sent": iso(self.last_sent),
            "failing_failed": self.failing_failed,
            "failing_retrying": self.failing_retrying,
            "last_error": self.last_error or None,
            "max_wait": self.max_wait,
            "max_silence": self.max_silence,
            "problems": self.problems,
        }


def queue_status(*, max_wait: float = DEFAULT_MAX_WAIT, max_silence: float | None = None) -> QueueStatus:
    """Count the queue (a few indexed queries) and decide whether mail is flowing.

    ``max_silence`` defaults to 180 s, or MAIL_WORKER_TIMEOUT if longer (workers
    beat every quarter of it, so a live worker is never reported silent).
    """
    if max_silence is None:
        max_silence = max(DEFAULT_MAX_SILENCE, settings.MAIL_WORKER_TIMEOUT)
    now = timezone.now()
    queued = Delivery.objects.filter(status=Delivery.Status.QUEUED)
    due = queued.filter(next_attempt_at__lte=now).aggregate(oldest=Min("next_attempt_at"))
    due_count = queued.filter(next_attempt_at__lte=now).count()
    requests = DBTaskResult.objects.ready().filter(task_path__in=REQUEST_TASKS)
    oldest_request = requests.aggregate(oldest=Min("enqueued_at"))["oldest"]
    oldest = min((moment for moment in (due["oldest"], oldest_request) if moment), default=None)
    recent = Delivery.objects.filter(updated_at__gte=now - FAILURE_WINDOW)
    last_seen = WorkerBeat.objects.aggregate(last=Max("last_seen"))["last"]
    worker = WorkerBeat.objects.filter(last_seen=last_seen).values_list("worker_id", flat=True).first()
    # A sent delivery's updated_at is its sent_at: the (status, updated_at) index finds the latest.
    last_sent = Delivery.objects.filter(status=Delivery.Status.SENT).aggregate(last=Max("updated_at"))["last"]
    # Failing: deliveries failed or waiting for a retry (an attempt failed), made since the last message sent.
    failing = recent.filter(Q(status=Delivery.Status.FAILED) | Q(status=Delivery.Status.QUEUED, attempts__gt=0))
    if last_sent:
        failing = failing.filter(created_at__gt=last_sent)
    failing_counts = failing.aggregate(
        failed=Count("pk", filter=Q(status=Delivery.Status.FAILED)),
        retrying=Count("pk", filter=Q(status=Delivery.Status.QUEUED)),
    )
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
        last_sent=last_sent,
        failing_failed=failing_counts["failed"],
        failing_retrying=failing_counts["retrying"],
        max_wait=max_wait,
        max_silence=max_silence,
    )
    if status.oldest_wait is not None and status.oldest_wait > max_wait:
        status.problems.append(
            _("a message has waited %(waited).0f s (more than %(limit)s s)")
            % {"waited": status.oldest_wait, "limit": f"{max_wait:g}"}
        )
    if status.worker_silence is None:
        status.problems.append(_("no worker has ever been seen"))
    elif status.silent:
        status.problems.append(
            _("no worker seen for %(silence).0f s (more than %(limit)s s)")
            % {"silence": status.worker_silence, "limit": f"{max_silence:g}"}
        )
    if status.failing:
        status.last_error = failing.order_by("-updated_at").values_list("last_error", flat=True).first()
        status.problems.append(failing_problem(status))
    return status


def failing_problem(status: QueueStatus) -> str:
    """Why mail is failing: "1 delivery failed, 2 deliveries wait for a retry, and no message has been sent..."."""
    counts = []
    if status.failing_failed:
        counts.append(
            ngettext("%(count)d delivery failed", "%(count)d deliveries failed", status.failing_failed)
            % {"count": status.failing_failed}
        )
    if status.failing_retrying:
        counts.append(
            ngettext(
                "%(count)d delivery waits for a retry", "%(count)d deliveries wait for a retry", status.failing_retrying
            )
            % {"count": status.failing_retrying}
        )
    total = status.failing_failed + status.failing_retrying
    return ngettext(
        "%(failures)s, and no message has been sent since it was made (last error: %(error)s)",
        "%(failures)s, and no message has been sent since they were made (last error: %(error)s)",
        total,
    ) % {"failures": ", ".join(counts), "error": status.last_error.rstrip(".")}  # a sentence, in brackets


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
            _("Say which deliveries to queue again."),
            _("give their ids (python manage.py mailqueue lists failures) or --failed for every failed one"),
        )
    with transaction.atomic():
        chosen = Delivery.objects.select_for_update().filter(status=Delivery.Status.FAILED)
        if ids:
            found = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "status"))
            for pk in ids:
                if pk not in found:
                    raise MailProblem(
                        ExitCode.BAD_INPUT, _("No delivery with id %(id)d.") % {"id": pk}, _("check the id")
                    )
                if found[pk] != Delivery.Status.FAILED:
                    raise MailProblem(
                        ExitCode.BAD_INPUT,
                        _("Delivery %(id)d is %(status)s, not failed: only failed deliveries are queued again.")
                        % {"id": pk, "status": STATUS_WORDS[found[pk]]},
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
    """The latest failed deliveries (for the command's listing); never their messages' bytes."""
    return list(
        Delivery.objects.filter(status=Delivery.Status.FAILED)
        .defer("message", "payload")
        .order_by("-updated_at")[:limit]
    )


def oldest_waiting(limit: int = 10) -> list[Delivery]:
    """The deliveries waiting longest (queued or being sent), oldest first; never their messages' bytes."""
    waiting = Delivery.objects.filter(status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING])
    return list(waiting.defer("message", "payload").order_by("created_at")[:limit])


def what(delivery: Delivery) -> str:
    """What a person knows the message by: its subject, else its kind's name ("Password reset message")."""
    return delivery.subject or _(kind_of(delivery).title)
