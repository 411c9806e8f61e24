"""The internals of Django and of the libraries the project reads or writes where they have no public API:
one function per need, nothing else, and the only place in the project that touches them.

Each function names the private attribute or internal state it uses and why no public way exists.
tests/mail/test_django_internals.py runs each against the real library and fails, naming the
function, when a release renames or removes what it uses.
"""

from __future__ import annotations

import smtplib
import weakref

from django.tasks import TaskResultStatus
from django.utils import timezone


def file_backend_log(backend) -> str | None:
    """The ``.log`` file Django's file backend writes this instance's messages to; None before its first message.

    Django has no public API for this: the backend makes the name (time stamp and
    ``id(self)``) when its first message opens the file and keeps it in ``_fname``;
    its public ``stream`` is closed again, and forgotten, when the send ends.
    """
    return getattr(backend, "_fname", None)


def take_half_open_connection(backend) -> smtplib.SMTP | None:
    """The connection Django's SMTP backend left half open (connected, then STARTTLS or the login failed), detached.

    Django has no public API for this: ``open()`` keeps that connection in
    ``_partial_connection`` until the next ``open()`` or ``close()``, and both say
    QUIT and wait for the answer, which a server that stopped answering never
    gives. The caller closes the connection returned, without a word to the server.
    """
    connection = getattr(backend, "_partial_connection", None)
    if connection is not None:
        backend._partial_connection = None
    return connection


def requeue_running_task(task) -> bool:
    """Make django-tasks-db's RUNNING ``task`` (a ``DBTaskResult``) READY to run now, if it is still
    RUNNING under the same workers; whether it was.

    django-tasks-db has no public API for this: its ``DBTaskResult`` moves a task on by
    ``claim``, ``set_successful`` and ``set_failed`` only, and a worker killed outright
    leaves its task RUNNING for ever. What makes a task READY is the package's own
    ``status`` and ``run_after`` fields, written here in one conditional UPDATE so that
    two workers recovering the same task at once take it once.
    """
    from django_tasks_db.models import DBTaskResult  # a model: importable once the apps are loaded

    running = DBTaskResult.objects.running().filter(pk=task.pk, worker_ids=task.worker_ids)
    return bool(running.update(status=TaskResultStatus.READY, run_after=timezone.now()))


_redis_clients: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def redis_client(cache, key: str):
    """The redis-py client behind Django's own ``RedisCache`` for ``key`` (a key as made by the cache), to send
    several commands in one round trip (a pipeline); None for any other cache.

    Django has no public API for this: ``RedisCache`` keeps its ``RedisCacheClient`` in the
    private ``_cache``, whose ``get_client()`` chooses the server a key is written to.

    ``get_client()`` builds a new ``redis.Redis`` around the same connection pool at every call, and building
    one costs about 0.2 ms (redis-py fills its table of response callbacks): a quarter of a refused
    request. Writes always go to the first server, so the client is made once per ``RedisCacheClient`` (one
    per thread, as Django's caches are) and kept beside it, weakly; redis-py's clients are thread-safe.
    """
    from django.core.cache.backends.redis import RedisCache

    if not isinstance(cache, RedisCache):
        return None
    inner = cache._cache
    if (client := _redis_clients.get(inner)) is None:
        client = _redis_clients[inner] = inner.get_client(key, write=True)
    return client
