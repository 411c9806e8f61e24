"""Benchmark-only settings: the project's own, with bench/urls.py (the site plus a minimal view).

Used by ``bench.machines`` through ``DJANGO_SETTINGS_MODULE=bench.settings``; the
product never loads it.
"""

from core.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
