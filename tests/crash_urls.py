"""The project's URLs plus ``/crash/`` and ``/crash-url/``, pages that fail (tests only)."""

import os

from django.urls import path

from core.urls import urlpatterns as project_urlpatterns


def crash(request):
    raise RuntimeError("the test page failed on purpose")


def crash_quoting_a_url(request):
    """As a database or Redis client fails: its message quotes the URL, credentials included.

    The URL comes from the environment, so that the source line the report shows holds no secret.
    """
    raise ConnectionError(f"Error connecting to {os.environ['CRASH_URL']}: connection refused.")


urlpatterns = [*project_urlpatterns, path("crash/", crash), path("crash-url/", crash_quoting_a_url)]
