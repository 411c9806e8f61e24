from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The project package, installed as an app for its management commands."""

    name = "core"
    verbose_name = "Core"

    def ready(self):
        from core import checks  # noqa: F401 - registers the project's system checks
        from core.mail import checks as mail_checks  # noqa: F401 - and the mail ones
