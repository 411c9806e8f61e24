"""The database and environment a benchmark's processes run on: a SQLite file, or a PostgreSQL server of its own."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path

from testsupport.services import PostgreSQL


def database_url(servers: ExitStack, postgresql: bool) -> str:
    """``DATABASE_URL`` from the environment, or a PostgreSQL server started for the run (durable defaults, as
    the tests and bench.machines start it) when ``postgresql``; "" for a SQLite file per run."""
    if postgresql:
        return servers.enter_context(PostgreSQL(durable=True)).create_database("conn_max_age=60")
    return os.environ.get("DATABASE_URL", "")


def process_env(folder: Path, database_url: str = "", **variables: str) -> dict[str, str]:
    """A clean environment for ``manage.py`` processes: their own cache, database (SQLite in ``folder`` unless
    ``database_url``), no .env, and ``variables``."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", ""),
        "DJANGO_ENV_FILE": "",
        "DATABASE_URL": database_url or f"sqlite:///{folder / 'db.sqlite3'}?timeout=30",
        "CACHE_URL": f"diskcache://{folder / 'cache'}",
        **variables,
    }
