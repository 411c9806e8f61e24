"""PostgreSQL and Redis servers of their own, for the tests and the benchmarks.

Both come from Debian's packages (``scripts/ensure-services`` installs them for
``make test``). Each server listens on 127.0.0.1 only, on a free port, keeps its
data in a throwaway folder, and is stopped and its folder removed on exit:

    with PostgreSQL() as postgres, Redis() as redis:
        env = {"DATABASE_URL": postgres.create_database(), "CACHE_URL": redis.url(0)}

PostgreSQL's ``initdb`` refuses to run as root, so as root the cluster belongs
to Debian's ``postgres`` user (``nobody`` when there is none) and both
``initdb`` and ``postgres`` run as that user through ``setpriv``. The system's
own cluster (``pg_ctlcluster``, port 5432) is never touched.
"""

from __future__ import annotations

import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

from testsupport.smtp_servers import HOST, free_port  # the one loopback rule of every server the tests start

START_TIMEOUT = 60.0


class Unavailable(Exception):
    """The server's package is not installed (the tests needing it are skipped)."""


def postgres_bin() -> Path:
    """The newest ``/usr/lib/postgresql/N/bin`` holding ``initdb`` and ``postgres``."""
    found = [initdb.parent for initdb in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    found = [folder for folder in found if (folder / "postgres").exists()]
    if not found:
        raise Unavailable("PostgreSQL is not installed: apt-get install postgresql (make test does it as root)")
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)


def redis_server() -> str:
    if path := shutil.which("redis-server") or (Path("/usr/bin/redis-server").exists() and "/usr/bin/redis-server"):
        return path
    raise Unavailable("redis-server is not installed: apt-get install redis-server (make test does it as root)")


class _Server:
    """A server process started from a throwaway folder; a context manager."""

    name = "server"

    def __init__(self) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix=f"mailproof-{self.name}-"))
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def _spawn(self, command: list[str]) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def _wait_ready(self, ready) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}: {self._log_tail()}")
            try:
                ready()
                return
            except Exception:
                if time.monotonic() > deadline:
                    why = f"{self.name} did not answer in {START_TIMEOUT:g} s: {self._log_tail()}"
                    raise RuntimeError(why) from None
                time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"

    def stop(self, stop_signal: int = signal.SIGTERM) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(stop_signal)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self):
        raise NotImplementedError


class PostgreSQL(_Server):
    """A PostgreSQL cluster made with ``initdb``, run with ``postgres -D`` (password login over TCP).

    ``durable=False`` (the tests) turns fsync off: the data is thrown away anyway.
    The benchmark keeps PostgreSQL's defaults.
    """

    name = "postgresql"
    user = "postgres"

    def __init__(self, *, durable: bool = False) -> None:
        self.bin = postgres_bin()
        super().__init__()
        self.durable = durable
        self.password = secrets.token_urlsafe(16)
        self.data = self.folder / "data"
        self._names = itertools.count(1)

    def _as_owner(self) -> list[str]:
        """Run as the folder's owner: as root, an unprivileged user (initdb refuses root)."""
        if os.geteuid() != 0:
            return []
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = pwd.getpwnam("nobody")
        for path in (self.folder, *self.folder.rglob("*")):
            os.chown(path, account.pw_uid, account.pw_gid)
        if shutil.which("setpriv"):
            return ["setpriv", f"--reuid={account.pw_uid}", f"--regid={account.pw_gid}", "--clear-groups", "--"]
        return ["runuser", "-u", account.pw_name, "--"]

    def start(self) -> PostgreSQL:
        secret = self.folder / "pwfile"
        secret.write_text(self.password + "\n")
        secret.chmod(0o600)
        as_owner = self._as_owner()
        initdb = subprocess.run(
            [
                *as_owner,
                str(self.bin / "initdb"),
                f"--pgdata={self.data}",
                f"--username={self.user}",
                f"--pwfile={secret}",
                "--auth-host=scram-sha-256",
                "--auth-local=peer",
                "--encoding=UTF8",
                "--no-locale",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        secret.unlink()
        if initdb.returncode:
            raise RuntimeError(f"initdb failed: {initdb.stderr.strip()}")
        settings = {
            "listen_addresses": HOST,
            "port": str(self.port),
            "unix_socket_directories": "",  # TCP on loopback only
            "max_connections": "200",
        }
        if not self.durable:
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        options = [item for name, value in settings.items() for item in ("-c", f"{name}={value}")]
        self._spawn([*as_owner, str(self.bin / "postgres"), "-D", str(self.data), *options])
        self._wait_ready(lambda: self.connect("postgres").close())
        return self

    def stop(self, stop_signal: int = signal.SIGINT) -> None:  # SIGINT: PostgreSQL's fast shutdown
        super().stop(stop_signal)

    def connect(self, database: str):
        import psycopg

        return psycopg.connect(
            host=HOST, port=self.port, user=self.user, password=self.password, dbname=database, connect_timeout=5
        )

    def url(self, database: str, query: str = "") -> str:
        """A ``DATABASE_URL`` for ``database`` (``query``: django-environ options such as conn_max_age=60)."""
        return f"postgres://{self.user}:{self.password}@{HOST}:{self.port}/{database}" + (f"?{query}" if query else "")

    def create_database(self, query: str = "") -> str:
        """A new empty database; its ``DATABASE_URL``."""
        name = f"site_{next(self._names)}"
        with self.connect("postgres") as connection:
            connection.autocommit = True
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name, query)


class Redis(_Server):
    """``redis-server`` without persistence (``--save '' --appendonly no``), evicting nothing.

    ``password``: clients must give it (``requirepass``); ``url()`` holds it, percent-encoded.
    """

    name = "redis"

    def __init__(self, *, password: str = "") -> None:
        self.executable = redis_server()
        super().__init__()
        self.password = password

    def start(self) -> Redis:
        self._spawn(
            [
                self.executable,
                "--bind",
                HOST,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--maxmemory-policy",
                "noeviction",
                *(["--requirepass", self.password] if self.password else []),
            ]
        )
        self._wait_ready(lambda: self.client(0).ping())
        return self

    def client(self, db: int):
        import redis

        return redis.Redis(host=HOST, port=self.port, db=db, password=self.password or None, socket_timeout=5)

    def url(self, db: int = 0, password: str | None = None) -> str:
        """A ``CACHE_URL`` for database ``db`` (``password``: another one than the server's, to be refused)."""
        password = self.password if password is None else password
        credentials = f":{quote(password, safe='')}@" if password else ""
        return f"redis://{credentials}{HOST}:{self.port}/{db}"

    def flush(self) -> None:
        """Empty every database (each test starts with no counters)."""
        with self.client(0) as client:
            client.flushall()
