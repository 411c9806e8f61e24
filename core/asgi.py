"""ASGI entry point."""

import os
from pathlib import Path

from django.core.asgi import get_asgi_application

from core.mail.config import load_settings

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
load_settings(Path(__file__).resolve().parent.parent)  # the lessons' EMAIL_* lines in the settings stop here

application = get_asgi_application()
