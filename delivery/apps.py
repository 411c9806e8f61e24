from django.apps import AppConfig


class DeliveryConfig(AppConfig):
    """The delivery queue (``Delivery``, ``WorkerBeat``): every kind of message, attempted by ``db_worker``."""

    name = "delivery"
    verbose_name = "Mail delivery"

    def ready(self):
        from delivery import kinds, stored

        kinds.register(kinds.Kind(stored.KIND, stored.send, stored.TITLE, stored.recipient))
