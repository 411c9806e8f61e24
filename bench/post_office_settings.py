"""Benchmark-only settings: the project's own, plus django-post-office (bench/drain_vs_post_office.py).

django-post-office is installed in ``bench/.post-office/`` by that benchmark, never in the
project's environment; it sends through ``"direct"``, the mailer the project's worker uses.
"""

from core.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "post_office"]  # noqa: F405
POST_OFFICE = {"DEFAULT_MAILER": "direct", "DEFAULT_PRIORITY": "medium"}
