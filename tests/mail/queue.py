"""Running the task queue inside a test, as `manage.py db_worker --batch` would."""

from django_tasks_db.management.commands.db_worker import Worker


def drain(worker_id: str = "tests") -> None:
    """Run every task that is ready now (and those it queues, if ready), then return.

    A new ``Worker`` each time, as a restarted ``db_worker`` process would be.
    """
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
