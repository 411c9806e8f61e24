from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """The delivery queue (``Delivery``, ``WorkerBeat``): every kind of message, attempted by ``db_worker``."""

    name = "delivery"
    verbose_name = "Mail delivery"
