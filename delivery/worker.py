"""The task worker's heartbeat, and picking up attempts whose worker died.

django-tasks-db marks a task RUNNING when a worker takes it and never looks at
it again: a worker killed outright (SIGKILL, out of memory, power loss) leaves
it so for ever. Here every ``db_worker`` writes a heartbeat (``WorkerBeat``)
every ``MAIL_WORKER_TIMEOUT / 4`` seconds from a thread of its own, so it
beats during a long SMTP conversation too, and the same thread runs
``recover_stranded``: a task RUNNING under a worker silent for longer than
``MAIL_WORKER_TIMEOUT`` is made READY again and another worker runs it. The
mail tasks are safe to run again (delivery.attempts: a delivery is claimed
before each attempt and a sent one is never sent again).

The workers watch each other because they are what is always running where the
queue is: no cron job or extra service is needed, and with one worker, its
replacement picks up what the killed one held as soon as it starts and the
timeout has passed.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks_db.models import DBTaskResult

from core.mail.django_internals import requeue_running_task
from delivery.attempts import sweep
from delivery.models import WorkerBeat

logger = logging.getLogger(__name__)


def beat_interval() -> float:
    """Seconds between heartbeats: four beats fit in the timeout."""
    return max(settings.MAIL_WORKER_TIMEOUT / 4, 0.1)


def beat(worker_id: str, *, stopped: bool = False) -> None:
    """Record that ``worker_id`` is alive now (or has stopped cleanly)."""
    now = timezone.now()
    fields = {"last_seen": now, "stopped_at": now if stopped else None}
    if not WorkerBeat.objects.filter(pk=worker_id).update(**fields):
        WorkerBeat.objects.create(
            worker_id=worker_id, hostname=socket.gethostname(), pid=os.getpid(), started_at=now, **fields
        )


@dataclass(frozen=True)
class Recovered:
    """A task made READY again because its worker went silent."""

    task_id: str
    task_path: str
    worker_id: str


def recover_stranded(timeout: float | None = None) -> list[Recovered]:
    """Make READY again every task RUNNING under a worker not seen for ``timeout`` seconds."""
    timeout = settings.MAIL_WORKER_TIMEOUT if timeout is None else timeout
    cutoff = timezone.now() - timedelta(seconds=timeout)
    running = list(DBTaskResult.objects.running().filter(started_at__lt=cutoff).only("id", "task_path", "worker_ids"))
    if not running:
        return []
    owners = {task.worker_ids[-1] for task in running if task.worker_ids}
    alive = set(
        WorkerBeat.objects.filter(pk__in=owners, last_seen__gte=cutoff, stopped_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    recovered = []
    for task in running:
        owner = task.worker_ids[-1] if task.worker_ids else ""
        if owner in alive:
            continue
        if requeue_running_task(task):  # only if still under the same worker: two recovering at once count once
            recovered.append(Recovered(str(task.pk), task.task_path, owner))
            logger.warning(
                _(
                    "Task %(task)s (%(path)s) was running under worker %(worker)s, not seen for over %(timeout)s s: "
                    "queued again"
                )
                % {"task": task.pk, "path": task.task_path, "worker": owner or "?", "timeout": f"{timeout:g}"}
            )
    return recovered


class Heart(threading.Thread):
    """Beats, and recovers what silent workers left, until stopped."""

    def __init__(self, worker_id: str):
        super().__init__(name=f"heartbeat-{worker_id}", daemon=True)
        self.worker_id = worker_id
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            while not self.stopping.wait(beat_interval()):
                try:
                    close_old_connections()
                    beat(self.worker_id)
                    recover_stranded()
                    sweep()
                except Exception:  # a locked or unreachable database: try again at the next beat
                    logger.exception(_("Heartbeat of worker %(worker)s failed") % {"worker": self.worker_id})
        finally:
            connections.close_all()

    def stop(self) -> None:
        self.stopping.set()
        self.join()


def keep_connections() -> None:
    """Keep this process's database connections open between tasks (checked before reuse).

    The package's loop calls ``close_old_connections()`` around every task, which
    with Django's default ``CONN_MAX_AGE = 0`` closes the connection each time: a
    new connection per task, and on SQLite in WAL mode a checkpoint at each close.
    That was the largest single cost of a worker (profiled: ~1 ms of ~8 ms per
    message). A worker is one long-lived process, so it keeps its connections
    (health-checked before reuse, so a restarted database server is reconnected).
    """
    for alias in connections:
        connections[alias].settings_dict.update(CONN_MAX_AGE=None, CONN_HEALTH_CHECKS=True)


@contextmanager
def heartbeat(worker_id: str, *, heart: bool = True) -> Iterator[None]:
    """Beat and recover stranded tasks as the block starts, from a thread of its own while it runs
    (``heart=False``: at the start only, for tests running a worker inside their own process),
    and record a clean stop as it ends."""
    beat(worker_id)
    recover_stranded()
    sweep()
    thread = Heart(worker_id) if heart else None
    if thread:
        thread.start()
    try:
        yield
    finally:
        if thread:
            thread.stop()
        beat(worker_id, stopped=True)
