"""The deliveries and worker beats the ``core`` app kept, copied into this app before ``core`` drops them.

Each old delivery was one account message: its account, site URL and options become the
payload the account kind reads (``users.tasks``); a second message of one request to one
account was told apart by ``:part`` after the request id, now by the key. Tasks still
waiting under the modules' old paths are renamed to the new ones, so none is lost.
"""

from django.core.management.color import no_style
from django.db import migrations

MOVED_TASKS = {
    "core.mail.tasks.send_delivery": "delivery.attempts.send_delivery",
    "core.mail.tasks.request_password_reset": "users.tasks.request_password_reset",
    "core.mail.tasks.request_signup": "users.tasks.request_signup",
    "core.mail.tasks.request_signup_confirmation": "users.tasks.request_signup_confirmation",
    "core.mail.tasks.request_notice": "users.tasks.request_notice",
    "core.mail.tasks.request_email_change": "users.tasks.request_email_change",
}
FIELDS = ("email", "status", "attempts", "last_error", "worker_id", "created_at", "updated_at", "next_attempt_at", "sent_at")


def copy(apps, schema_editor):
    OldDelivery = apps.get_model("core", "Delivery")
    OldBeat = apps.get_model("core", "WorkerBeat")
    Delivery = apps.get_model("delivery", "Delivery")
    WorkerBeat = apps.get_model("delivery", "WorkerBeat")
    TaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old in OldDelivery.objects.order_by("pk").iterator():
        request_id, _, part = old.request_id.partition(":")
        Delivery.objects.create(
            pk=old.pk,
            request_id=request_id,
            key=f"user:{old.user_id}" + (f":{part}" if part else ""),
            kind=(old.options or {}).get("kind", "reset"),
            payload={"user": old.user_id, "site_url": old.site_url, "options": old.options or {}},
            **{name: getattr(old, name) for name in FIELDS},
        )
    WorkerBeat.objects.bulk_create(
        WorkerBeat(**{field.attname: getattr(old, field.attname) for field in OldBeat._meta.fields})
        for old in OldBeat.objects.all()
    )
    for old_path, new_path in MOVED_TASKS.items():
        TaskResult.objects.filter(task_path=old_path).update(task_path=new_path)
    if Delivery.objects.exists():  # ids go on from the copied ones (PostgreSQL's sequence does not follow)
        for sql in schema_editor.connection.ops.sequence_reset_sql(no_style(), [Delivery]):
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [
        ("delivery", "0001_initial"),
        ("core", "0002_delivery_options"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(copy, migrations.RunPython.noop)]
