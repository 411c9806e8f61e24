"""``manage.py db_worker``: django-tasks-db's worker, same options, with a heartbeat.

The heartbeat lets the workers pick up a task whose worker was killed
(delivery.worker); ``core`` comes before ``django_tasks_db`` in INSTALLED_APPS,
so this command replaces the package's under the same name.
"""

import os

from django.utils.autoreload import DJANGO_AUTORELOAD_ENV
from django_tasks_db.management.commands import db_worker

from delivery.worker import heartbeat, keep_connections


class Command(db_worker.Command):
    help = db_worker.Command.help + " (with a heartbeat; tasks of a dead worker are run again)"

    def handle(self, *args, **options):
        keep_connections()
        if options["reload"] and not options["batch"] and os.environ.get(DJANGO_AUTORELOAD_ENV) != "true":
            # The reloader's first process only starts the worker's process (and again after each change).
            return super().handle(*args, **options)
        with heartbeat(options["worker_id"]):
            return super().handle(*args, **options)
