from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project package, installed as an app for its management commands."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core.mail import checks  # noqa: F401 - registers the mail system checks
