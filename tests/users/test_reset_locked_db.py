"""A SQLite database locked for 8 s by another process: the reset request waits and succeeds.

The site runs as real gunicorn processes on a SQLite file (testsupport.site.Site), with
the project's default database options (no ``?timeout=`` in the URL). A second
process holds the write lock for 8 s, longer than SQLite's usual 5 s busy
timeout, while the form is posted.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from testsupport.site import Site

HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")  # the write lock, as a long write transaction holds it
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""


def test_a_reset_request_waits_for_a_locked_database_and_succeeds():
    with tempfile.TemporaryDirectory(prefix="locked-db-") as folder:
        db = Path(folder) / "db.sqlite3"
        with Site(Path(folder), {"DATABASE_URL": f"sqlite:///{db}", "EMAIL_URL": "dummymail://"}) as site:
            site.prepare(["anna@example.com"])
            site.start_server(workers=1)
            session, token = site.form_session()
            holder = subprocess.Popen(
                [sys.executable, "-c", HOLD_LOCK, str(db), "8"], stdout=subprocess.PIPE, text=True
            )
            try:
                assert holder.stdout.readline() == "locked\n"
                response = site.post_reset(session, token, "anna@example.com")
                # The lock was held for the whole 8 s, so the request waited for it.
                assert holder.wait(timeout=30) == 0
            finally:
                holder.kill()
                holder.wait()
                holder.stdout.close()
            assert response.status_code == 302  # not 500 "database is locked"
            assert response.headers["Location"] == "/users/password_reset/done/"
            assert site.count_tasks("users.tasks.request_password_reset") == 1  # the reset was queued
