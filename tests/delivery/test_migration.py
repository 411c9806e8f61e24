"""delivery/migrations/0002: what the ``core`` app kept (deliveries, worker beats, waiting tasks) survives the move."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_tasks_db.models import DBTaskResult

from delivery.models import Delivery, WorkerBeat
from tests.conftest import manage
from users.tasks import enqueue_password_reset

pytestmark = pytest.mark.django_db(transaction=True)
BEFORE = [("core", "0002_delivery_options"), ("delivery", None)]  # the delivery app not yet there


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader


def test_deliveries_beats_and_waiting_tasks_are_carried_over():
    loader = migrate(BEFORE)
    old = loader.project_state([("core", "0002_delivery_options"), *loader.graph.leaf_nodes("users")]).apps
    anna = old.get_model("users", "User").objects.create(
        username="anna", email="anna@example.com", mailbox="anna@example.com"
    )
    OldDelivery = old.get_model("core", "Delivery")
    options = {"kind": "email_change_requested", "to": "anna@example.com", "language": "ru"}
    sent = OldDelivery.objects.create(
        request_id="r1", user_id=anna.pk, email=anna.email, site_url="https://x.example", status="sent", attempts=2
    )
    told = OldDelivery.objects.create(
        request_id="r1:old", user_id=anna.pk, email=anna.email, site_url="https://x.example", options=options
    )
    old.get_model("core", "WorkerBeat").objects.create(worker_id="w1", hostname="web1", pid=42)
    waiting = enqueue_password_reset("anna@example.com", "https://x.example")
    DBTaskResult.objects.filter(pk=waiting.id).update(task_path="core.mail.tasks.request_password_reset")

    migrate(loader.graph.leaf_nodes())

    moved = {delivery.pk: delivery for delivery in Delivery.objects.all()}
    assert (moved[sent.pk].request_id, moved[sent.pk].key, moved[sent.pk].kind) == ("r1", f"user:{anna.pk}", "reset")
    assert (moved[sent.pk].status, moved[sent.pk].attempts) == ("sent", 2)
    assert moved[sent.pk].payload == {"user": anna.pk, "site_url": "https://x.example", "options": {}}
    assert (moved[told.pk].request_id, moved[told.pk].key) == ("r1", f"user:{anna.pk}:old")
    assert (moved[told.pk].kind, moved[told.pk].payload["options"]) == ("email_change_requested", options)
    assert WorkerBeat.objects.get().hostname == "web1"
    assert DBTaskResult.objects.get(pk=waiting.id).task_path == "users.tasks.request_password_reset"
    # New ids go on after the copied ones.
    later = Delivery.objects.create(request_id="r2", key="user:1", kind="reset", email="b@example.com")
    assert later.pk > told.pk


OLD_ROW = """
from django.db import connection
from django.utils import timezone
from users.models import User
anna = User.objects.create_user("anna", "anna@example.com", "x-Passw0rd-1")
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO core_delivery (id, request_id, user_id, email, site_url, options, status, attempts, last_error,"
        " worker_id, created_at, updated_at, next_attempt_at) VALUES (7, 'r1', %s, 'anna@example.com',"
        " 'https://x.example', '{}', 'failed', 3, '', '', %s, %s, %s)",
        [anna.pk, *[timezone.now()] * 3],
    )
"""
NEW_ROW = """
from delivery.models import Delivery
print(Delivery.objects.create(request_id="r2", key="user:1", kind="reset", email="b@example.com").pk)
"""


def test_on_postgresql_the_copied_rows_keep_their_ids_and_new_ones_follow(postgres, tmp_path):
    env = {"DATABASE_URL": postgres.create_database(), "EMAIL_URL": f"outbox://{tmp_path}"}
    for step in (["migrate"], ["migrate", "core", "0002_delivery_options"], ["migrate", "delivery", "zero"]):
        assert manage(*step, "--noinput", "-v0", env=env).returncode == 0
    assert manage("shell", "-v0", "-c", OLD_ROW, env=env).returncode == 0
    assert manage("migrate", "--noinput", "-v0", env=env).returncode == 0
    result = manage("shell", "-v0", "-c", NEW_ROW, env=env)
    assert (result.returncode, result.stderr) == (0, "")
    assert int(result.stdout) == 8  # after 7, the copied one; PostgreSQL's sequence does not follow by itself
