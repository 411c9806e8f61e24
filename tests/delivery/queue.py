"""Running the task queue inside a test, as `manage.py db_worker --batch` would."""

import time
import uuid

from django.tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from delivery.worker import heartbeat


def drain(worker_id: str = "tests") -> None:
    """Run every task that is ready now (and those it queues, if ready), then return.

    A new worker each time, as a restarted ``db_worker`` process would be. It
    beats and recovers stranded tasks once at start, as the command does; the
    heartbeat thread is left out (it would write beside the test's own connection).
    """
    with heartbeat(worker_id, heart=False):
        Worker(
            queue_names=["default"],
            excluded_queue_names=[],
            interval=0,
            batch=True,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=worker_id,
        ).run()


def drain_until_settled(rounds=8):
    """Drain, wait out the retry delay, drain again: each round a new worker, as after a restart."""
    for _ in range(rounds):
        drain(worker_id=uuid.uuid4().hex)
        if not DBTaskResult.objects.filter(status=TaskResultStatus.READY).exists():
            return
        time.sleep(0.25)
    raise AssertionError("the queue did not settle")
