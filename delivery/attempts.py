"""Every message of the site off the request path: recorded, attempted, retried, never sent twice.

A page or a command queues a *request* (a task of the app that owns the message: a
password reset, a sign-up...). The worker (``manage.py db_worker``) runs it; the request
decides which messages it makes and hands them to ``deliver``, which records one
``Delivery`` per message and makes the first attempt at once, in the same task.

A failure is judged by the failure table (``core.mail.explain.RULES``), as
``sendtestmail`` judges it. A temporary one (server unreachable, disconnected, a
4xx reply) puts the delivery back in the queue and enqueues
``send_delivery(delivery_id)`` for the next attempt after a doubling delay; the
task itself ends normally, so an outage leaves one delivery with its attempts,
not a failed task row per attempt. After ``MAIL_SEND_ATTEMPTS`` attempts, or at
once on a permanent failure (a 5xx reply, settings that cannot work), the
delivery is failed and ``ADMINS`` are told through the ``admins`` mailer (never
the failing one), or in the log when there is none. The delivery's last error is
the table's sentence, the server's reply in it.

An attempt first claims its delivery with one conditional UPDATE, so a delivery
that was sent is never sent again, whoever runs it again. A worker killed during
an attempt leaves the delivery ``sending`` and its task ``RUNNING``; the other
workers notice the silence (``delivery.worker``) and run the task again.

Every task argument is plain JSON (address, URL, primary key).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import mail_admins
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.tasks import TaskContext, task
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django_tasks_db.models import DBTaskResult

from core.mail.errors import MailProblem
from core.mail.explain import explain
from core.mail.mailers import get_backend
from core.security import mask_text
from delivery.kinds import kind_of
from delivery.models import Delivery, WorkerBeat
from delivery.stored import KIND as STORED

logger = logging.getLogger(__name__)

ADMINS_MAILER = "admins"  # the MAILERS alias for telling ADMINS (ADMINS_EMAIL_URL)
LAST_ERROR_LENGTH = 1000
# Every task that queues a request (``request_task``): mailqueue counts those not yet run as waiting mail.
REQUEST_TASKS: set[str] = set()


class DeliveryFailed(Exception):
    """A message could not be delivered and will not be tried again."""


def request_task(function):
    """``@task(takes_context=True)`` for a task that asks for messages: ``mailqueue`` counts it while it waits."""
    made = task(takes_context=True)(function)
    REQUEST_TASKS.add(made.module_path)
    return made


@dataclass(frozen=True)
class Message:
    """One message a request asks for: its kind, where it goes, and what the kind needs to make it again."""

    key: str  # which of the request's messages it is (unique within the request): "user:5", "user:5:old"
    kind: str  # registered in delivery.kinds
    email: str
    payload: dict

    @classmethod
    def of(cls, delivery: Delivery) -> Message:
        return cls(delivery.key, delivery.kind, delivery.email, delivery.payload)


def retry_delay(attempt: int) -> float:
    """Seconds before attempt ``attempt + 1``: MAIL_RETRY_DELAY, doubled after each attempt."""
    return settings.MAIL_RETRY_DELAY * 2 ** (attempt - 1)


def judge(error: BaseException) -> MailProblem:
    """The failure table's row for what sending through the default mailer raised: what ``sendtestmail`` would
    say of it and whether another attempt may work (``retry``)."""
    try:
        return explain(error, get_backend())
    except MailProblem as unusable:  # the mailer cannot even be made: that is the problem then, not retried
        return unusable


def last_error(problem: MailProblem) -> str:
    """The table's sentence for the record, server's reply included, every secret masked: ``mailqueue``,
    the admin and the mail to ADMINS all show what is stored."""
    return mask_text(problem.message)[:LAST_ERROR_LENGTH]


def in_words(problem: MailProblem) -> str:
    """The sentence and the hint on one line, for the log (never the password)."""
    return problem.message + (f" Hint: {problem.hint}" if problem.hint else "")


def worker_of(context: TaskContext) -> str:
    ids = context.task_result.worker_ids
    return ids[-1] if ids else ""


def begun(context: TaskContext) -> list[Message]:
    """The messages this request recorded before, when it runs again after its worker died (else none)."""
    deliveries = Delivery.objects.filter(request_id=str(context.task_result.id)).order_by("pk")
    return [Message.of(delivery) for delivery in deliveries]


def deliver(context: TaskContext, messages: list[Message]) -> int:
    """One delivery per message, recorded and attempted at once in this task; how many (DeliveryFailed if one
    failed). Each is attempted, whether or not another failed. Run again, a request finds the deliveries it made.
    """
    request_id = str(context.task_result.id)
    worker = worker_of(context)
    failed = []
    for message in messages:
        delivery, claimed = record(request_id, message, worker)
        outcome = attempt_delivery(delivery.pk, worker, claimed=delivery if claimed else None)
        if outcome.failed:
            failed.append(outcome)
    if failed:
        raise DeliveryFailed("; ".join(outcome.text for outcome in failed))
    return len(messages)


def record(request_id: str, message: Message, worker_id: str) -> tuple[Delivery, bool]:
    """This request's delivery of ``message`` and whether its first attempt is ours.

    Made now with its first attempt claimed (one INSERT), or found, unclaimed,
    when the request runs a second time after its worker died.
    """
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(
                request_id=request_id,
                key=message.key,
                kind=message.kind,
                email=message.email,
                payload=message.payload,
                status=Delivery.Status.SENDING,
                attempts=1,
                worker_id=worker_id,
            )
            return delivery, True
    except IntegrityError:
        return Delivery.objects.get(request_id=request_id, key=message.key), False


@task(takes_context=True)
def send_delivery(context: TaskContext, *, delivery_id: int) -> str:
    """The next attempt at one delivery (a retry, or ``mailqueue retry``)."""
    outcome = attempt_delivery(delivery_id, worker_of(context))
    if outcome.failed:
        raise DeliveryFailed(outcome.text)
    return outcome.text


@dataclass(frozen=True)
class Outcome:
    """What one call of ``attempt_delivery`` did."""

    status: str  # a Delivery.Status, or "skipped" when there was nothing to do
    text: str

    @property
    def failed(self) -> bool:
        return self.status == Delivery.Status.FAILED


def alive_workers():
    """The ids of the workers alive now: seen within ``MAIL_WORKER_TIMEOUT``, not stopped (a subquery)."""
    cutoff = timezone.now() - timedelta(seconds=settings.MAIL_WORKER_TIMEOUT)
    return WorkerBeat.objects.filter(last_seen__gte=cutoff, stopped_at__isnull=True).values("pk")


def claimable() -> Q:
    """Deliveries an attempt may be taken of: queued, or being sent by a worker that is no longer alive (its
    attempt died with it)."""
    return Q(status=Delivery.Status.QUEUED) | (Q(status=Delivery.Status.SENDING) & ~Q(worker_id__in=alive_workers()))


def take(deliveries, worker_id: str) -> int:
    """Take the next attempt of each of ``deliveries`` that is still claimable: one conditional UPDATE, so two
    workers never both attempt a delivery and a sent or failed one is never attempted again."""
    return deliveries.filter(claimable()).update(
        status=Delivery.Status.SENDING, attempts=F("attempts") + 1, worker_id=worker_id, updated_at=timezone.now()
    )


def claim(delivery_id: int, worker_id: str) -> bool:
    """Take the next attempt of one delivery; False when there is none to take."""
    return bool(take(Delivery.objects.filter(pk=delivery_id), worker_id))


def attempt_delivery(delivery_id: int, worker_id: str = "", *, claimed: Delivery | None = None) -> Outcome:
    """Make one attempt at a delivery and record the outcome on it.

    ``claimed``: the delivery, when the caller has just made it with its attempt taken.
    """
    if claimed is None and not claim(delivery_id, worker_id):
        status = Delivery.objects.filter(pk=delivery_id).values_list("status", flat=True).first()
        return Outcome("skipped", f"already {status}" if status else "no such delivery")
    return attempt(claimed or Delivery.objects.get(pk=delivery_id))


# ---------------------------------------------------------------- messages queued whole, in batches

BATCH = 100  # messages one worker takes at a time


def due_stored():
    """Messages queued whole whose attempt is to be taken now: never attempted and due, or held by a dead worker."""
    waiting = Q(status=Delivery.Status.QUEUED, attempts=0, next_attempt_at__lte=timezone.now())
    orphaned = Q(status=Delivery.Status.SENDING) & ~Q(worker_id__in=alive_workers())
    return Delivery.objects.filter(waiting | orphaned, kind=STORED)


def claim_due(worker_id: str, limit: int = BATCH) -> list[Delivery]:
    """Take the first attempt of up to ``limit`` messages queued whole (``delivery.backend``) and due, and the
    attempts dead workers held of such messages; the deliveries this worker got (two workers asking at once
    never get the same one)."""
    candidates = due_stored().order_by("pk")
    with transaction.atomic():
        ids = list(candidates.select_for_update(skip_locked=True).values_list("pk", flat=True)[:limit])
        take(Delivery.objects.filter(pk__in=ids), worker_id)
    return list(Delivery.objects.filter(pk__in=ids, status=Delivery.Status.SENDING, worker_id=worker_id).order_by("pk"))


def queue_sending() -> None:
    """Make sure a ``send_due`` task is waiting (one is enough: it sends everything due, in batches)."""
    if not DBTaskResult.objects.ready().filter(task_path=send_due.module_path).exists():
        send_due.enqueue()


def sweep() -> None:
    """A ``send_due`` task for messages that wait without one: stored while the last one was already running
    and committed after it looked, or held by a worker that died (the workers' heartbeat calls this, so they
    wait one beat at most)."""
    if due_stored().exists():
        queue_sending()


@task(takes_context=True)
def send_due(context: TaskContext) -> str:
    """Send the messages queued whole that are due, ``BATCH`` at a time, until none is left; while more wait,
    another ``send_due`` is queued so that a second worker shares them."""
    worker = worker_of(context)
    sent, failed = 0, []
    while batch := claim_due(worker):
        if len(batch) == BATCH:
            queue_sending()
        for delivery in batch:
            outcome = attempt(delivery)
            sent += outcome.status == Delivery.Status.SENT
            if outcome.failed:
                failed.append(outcome.text)
    if failed:
        raise DeliveryFailed("; ".join(failed))
    return f"{sent} sent"


def attempt(delivery: Delivery) -> Outcome:
    """The attempt just taken of ``delivery``: send it, and record what happened on it."""
    attempts = settings.MAIL_SEND_ATTEMPTS
    if delivery.attempts > attempts:  # the last attempt's worker died during it
        stopped = "the worker of the last attempt stopped during it"
        stopped += f"; before that: {delivery.last_error}" if delivery.last_error else ""
        return give_up(delivery, gave_up(attempts), stopped)
    try:
        kind_of(delivery).send(delivery)
    except Exception as error:
        problem = judge(error)
        if problem.retry and delivery.attempts < attempts:
            return schedule_retry(delivery, problem)
        what = gave_up(delivery.attempts) if problem.retry else _("refused, not retried")
        return give_up(delivery, what, last_error(problem), said=in_words(problem), hint=mask_text(problem.hint))
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.SENT, sent_at=now, updated_at=now, last_error="", hint=""
    )
    return Outcome(Delivery.Status.SENT, "sent")


def gave_up(attempts: int) -> str:
    return ngettext("gave up after %(count)d attempt", "gave up after %(count)d attempts", attempts) % {
        "count": attempts
    }


def schedule_retry(delivery: Delivery, problem: MailProblem) -> Outcome:
    """Back to the queue, and a task for the next attempt when its time comes."""
    delay = retry_delay(delivery.attempts)
    when = timezone.now() + timedelta(seconds=delay)
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.QUEUED,
        next_attempt_at=when,
        updated_at=timezone.now(),
        last_error=last_error(problem),
        hint=mask_text(problem.hint),
    )
    send_delivery.using(run_after=when).enqueue(delivery_id=delivery.pk)
    logger.warning(
        _("%(message)s to %(email)s not sent (attempt %(attempt)d of %(attempts)d; trying again in %(delay)s s): ")
        % {
            "message": _(kind_of(delivery).title),
            "email": delivery.email,
            "attempt": delivery.attempts,
            "attempts": settings.MAIL_SEND_ATTEMPTS,
            "delay": f"{delay:g}",
        }
        + in_words(problem)
    )
    return Outcome(Delivery.Status.QUEUED, f"attempt {delivery.attempts} failed; next in {delay:g} s")


def give_up(delivery: Delivery, what: str, error: str, *, said: str = "", hint: str = "") -> Outcome:
    """Record the delivery as failed and tell ADMINS (``said``: the error in sendtestmail's words, for the log)."""
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED, updated_at=timezone.now(), last_error=error, hint=hint
    )
    tell_admins(delivery, what, error, said=said)
    return Outcome(Delivery.Status.FAILED, f"{kind_of(delivery).title} (delivery {delivery.pk}) not delivered ({what})")


def tell_admins(delivery: Delivery, what: str, error: str, *, said: str = "") -> None:
    """Report a lost message: in the log (one line), and to ADMINS through the ``admins`` mailer."""
    kind = kind_of(delivery)
    subject = f"{kind.title} not delivered to {delivery.email}"
    advice = f"{kind.advice}, or queue it again with" if kind.advice else "Queue it again with"
    body = (
        f"The {kind.title[0].lower()}{kind.title[1:]} for {kind.recipient(delivery)} "
        f"was not delivered: {what}.\nLast error: {error}\n\n"
        f"Check the mail server and the MAILERS settings. {advice}: "
        f"python manage.py mailqueue retry {delivery.pk}"
    )
    logger.error(
        _("%(message)s not delivered to %(email)s (%(what)s): %(error)s")
        % {"message": _(kind.title), "email": delivery.email, "what": what, "error": said or error}
    )
    if not settings.ADMINS or ADMINS_MAILER not in settings.MAILERS:
        return
    try:
        mail_admins(subject, body, using=ADMINS_MAILER)
    except Exception:
        logger.exception("Could not tell ADMINS through the %r mailer either", ADMINS_MAILER)
