"""Django's ``diffsettings``, with every secret shown as ``********``.

Django's command prints ``repr`` of each setting as it is: ``MAILERS`` with the
SMTP password, ``SECRET_KEY``, ``CACHES`` with a Redis password. Here a setting
is still compared by its real value, but shown through the exception reporter
filter (core.security), so a secret is hidden exactly as on the debug page and
in the error mail.
"""

from django.core.management.commands import diffsettings
from django.views.debug import get_default_exception_reporter_filter


class Shown(str):
    """A setting as printed (cleansed), compared by its real ``repr``."""

    real: str

    def __new__(cls, shown: str, real: str):
        value = super().__new__(cls, shown)
        value.real = real
        return value

    def __eq__(self, other):
        return isinstance(other, Shown) and self.real == other.real

    def __ne__(self, other):
        return not self == other

    __hash__ = str.__hash__


def cleansed_dict(module) -> dict[str, Shown]:
    """``diffsettings.module_to_dict``, each value shown cleansed."""
    cleanse = get_default_exception_reporter_filter().cleanse_setting
    result = {}
    for name in dir(module):
        if name.isupper():
            value = getattr(module, name)
            result[name] = Shown(repr(cleanse(name, value)), repr(value))
    return result


class Command(diffsettings.Command):
    def handle(self, **options):
        from django.conf import Settings, global_settings, settings

        # The settings module read as Django reads it (Django's command reads its private settings object).
        user_settings = cleansed_dict(Settings(settings.SETTINGS_MODULE))
        default_settings = cleansed_dict(Settings(options["default"]) if options["default"] else global_settings)
        output = {"hash": self.output_hash, "unified": self.output_unified}[options["output"]]
        return "\n".join(output(user_settings, default_settings, **options))
