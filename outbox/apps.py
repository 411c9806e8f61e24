from django.apps import AppConfig


class OutboxConfig(AppConfig):
    """The outbox: the reader of saved messages, and its web pages at ``/outbox/`` with their template filters."""

    name = "outbox"
    verbose_name = "Outbox"
