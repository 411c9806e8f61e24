"""Settings of a server process that has a page which fails (tests/test_security.py).

Only the URLconf differs from the project's: everything else, the environment
included, is what a real server would run with.
"""

from core.settings import *  # noqa: F403

ROOT_URLCONF = "tests.crash_urls"
