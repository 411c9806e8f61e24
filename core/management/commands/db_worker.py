"""``manage.py db_worker``: django-tasks-db's worker, same options, with a heartbeat.

The heartbeat lets the workers pick up a task whose worker was killed
(core.mail.worker); ``core`` comes before ``django_tasks_db`` in INSTALLED_APPS,
so this command replaces the package's under the same name.
"""

from django_tasks_db.management.commands import db_worker

from core.mail.worker import HeartbeatWorker, keep_connections


class Command(db_worker.Command):
    help = db_worker.Command.help + " (with a heartbeat; tasks of a dead worker are run again)"

    def handle(self, *args, **options):
        keep_connections()
        original = db_worker.Worker
        db_worker.Worker = HeartbeatWorker  # the package's handle() builds the worker by this name
        try:
            return super().handle(*args, **options)
        finally:
            db_worker.Worker = original
