"""Benchmark-only settings: the project's own, with bench/urls.py (the site plus a minimal view).

Used by ``bench.machines`` through ``DJANGO_SETTINGS_MODULE=bench.settings``; the
product never loads it.
"""

import os

from core.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Django's own file backend for the stock reset view (bench/urls.py): what the first lesson's project
# writes with, into a folder of the run's own (one .log file per connection, no index).
MAILERS = {
    **MAILERS,  # noqa: F405
    "stock": {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": os.environ.get("BENCH_STOCK_FOLDER") or str(BASE_DIR / "bench" / "out" / "stock")},  # noqa: F405
    },
}
