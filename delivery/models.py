"""The delivery queue's records: one row per delivery (of any kind of message), one per worker.

django-tasks-db keeps one row per task run; a delivery can take several runs
(retries, a worker that died). ``Delivery`` is what a person asks about ("was
the message sent?"): one row per message, its attempts and last error.
``WorkerBeat`` is when each ``db_worker`` process was last alive, so that an
attempt whose worker died can be picked up again (delivery.worker) and
``mailqueue`` can say whether anything is working the queue.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class Delivery(models.Model):
    """One message to one recipient, however many attempts it takes.

    Of any kind the site registers (``delivery.kinds``): a password reset, a sign-up
    confirmation, a security notice, a change of address... ``payload`` is what the
    kind needs to make the message again at each attempt, in plain JSON.
    """

    class Status(models.TextChoices):
        QUEUED = "queued"  # waiting for an attempt (next_attempt_at says when)
        SENDING = "sending"  # an attempt is under way (worker_id holds it)
        SENT = "sent"
        FAILED = "failed"  # given up; ADMINS were told

    # The task run that asked for it, and which of that run's messages this is (a request
    # run again after its worker died finds its deliveries instead of making new ones).
    request_id = models.CharField(max_length=64)
    key = models.CharField(max_length=64)
    kind = models.CharField(max_length=32)  # a name registered in delivery.kinds
    email = models.CharField(max_length=254)  # where it goes (what mailqueue shows)
    subject = models.CharField(max_length=255, blank=True)  # when known at queue time (a message queued whole)
    payload = models.JSONField(default=dict, blank=True)
    message = models.BinaryField(null=True, blank=True)  # a message queued whole: its bytes (delivery.stored)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)  # the failure table's sentence, the server's reply in it; no secret
    hint = models.TextField(blank=True)  # the failure table's hint for the last error: what to do about it
    worker_id = models.CharField(max_length=64, blank=True)  # the worker of the latest attempt
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["request_id", "key"], name="delivery_once_per_request_key")]
        indexes = [
            # mailqueue: the oldest waiting (queued by next_attempt_at), failures since (failed by updated_at).
            models.Index(fields=["status", "next_attempt_at"], name="delivery_status_next_ix"),
            models.Index(fields=["status", "updated_at"], name="delivery_status_updated_ix"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} to {self.email} ({self.status}, {self.attempts} attempts)"


class WorkerBeat(models.Model):
    """A ``db_worker`` process and when it was last alive (it writes this every few seconds)."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen = models.DateTimeField(default=timezone.now, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)  # a clean exit (nothing left running)

    def __str__(self) -> str:
        return f"worker {self.worker_id} on {self.hostname} (pid {self.pid})"
