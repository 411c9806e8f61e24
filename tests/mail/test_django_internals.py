"""core/mail/django_internals.py against the real Django and django-tasks-db: each test fails, naming what
to update, when a release renames or removes a private attribute or internal state the project uses."""

import smtplib

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django_tasks_db.models import DBTaskResult

from core.mail.config import FILE_BACKEND
from core.mail.django_internals import (
    file_backend_log,
    redis_client,
    requeue_running_task,
    take_half_open_connection,
)
from delivery.attempts import send_delivery
from testsupport.smtp_servers import LOGIN, PASSWORD, mailers_for

UPDATE = "update core/mail/django_internals.py from Django's django/core/mail/backends/"


def test_file_backend_log_is_the_file_django_wrote(settings, tmp_path):
    settings.MAILERS = {"default": {"BACKEND": FILE_BACKEND, "OPTIONS": {"file_path": str(tmp_path)}}}
    backend = mail.mailers["default"]
    assert file_backend_log(backend) is None  # nothing written yet
    backend.send_messages([EmailMessage("Hello", "Body", "site@example.com", ["anna@example.com"])])
    [written] = tmp_path.glob("*.log")
    assert file_backend_log(backend) == str(written), (
        f"Django's file backend no longer keeps the name of its .log file in _fname: {UPDATE}filebased.py"
    )
    assert b"Subject: Hello" in written.read_bytes()


def test_a_refused_login_leaves_the_half_open_connection_to_take(settings, smtp_refusing_login):
    settings.MAILERS = mailers_for(*smtp_refusing_login, user=LOGIN, password=PASSWORD)
    backend = mail.mailers["default"]
    with pytest.raises(smtplib.SMTPAuthenticationError):
        backend.open()  # connected, then the login was refused
    connection = take_half_open_connection(backend)
    assert isinstance(connection, smtplib.SMTP) and connection.sock is not None, (
        f"Django's SMTP backend no longer keeps a half-open connection in _partial_connection: {UPDATE}smtp.py"
    )
    connection.close()
    assert take_half_open_connection(backend) is None  # taken: Django's close() has nothing left to say QUIT on
    assert backend.connection is None


@pytest.mark.django_db
def test_a_running_task_requeued_is_ready_for_the_package_s_workers():
    result = send_delivery.enqueue(delivery_id=1)
    task = DBTaskResult.objects.get(pk=result.id)
    task.claim("killed")  # as the package's worker takes it
    assert requeue_running_task(task), "requeue_running_task found no RUNNING task to requeue"
    assert list(DBTaskResult.objects.ready()) == [task], (
        "django-tasks-db no longer counts status READY and run_after now as ready: update requeue_running_task "
        "in core/mail/django_internals.py from django_tasks_db/models.py (DBTaskResult, DBTaskResultQuerySet.ready)"
    )
    assert not requeue_running_task(task)  # no longer running: a second worker recovering it takes nothing


@pytest.mark.django_db
def test_a_task_claimed_again_meanwhile_is_left_to_its_new_worker():
    task = DBTaskResult.objects.get(pk=send_delivery.enqueue(delivery_id=1).id)
    task.claim("killed")
    DBTaskResult.objects.get(pk=task.pk).claim("new")  # another worker recovered and took it first
    assert not requeue_running_task(task)
    assert not DBTaskResult.objects.ready().exists()


def test_redis_client_is_the_one_django_s_redis_cache_writes_through(redis, tmp_path):
    from diskcache import DjangoCache
    from django.core.cache.backends.redis import RedisCache

    cache = RedisCache(redis.url(0), {})
    client = redis_client(cache, cache.make_and_validate_key("k"))
    assert client is not None, "update core/mail/django_internals.py: redis_client (Django's RedisCache._cache)"
    assert redis_client(cache, cache.make_and_validate_key("other")) is client  # made once, not per call
    client.set(cache.make_and_validate_key("k"), 7)
    assert cache.get("k") == 7
    assert redis_client(DjangoCache(str(tmp_path), {}), "k") is None
