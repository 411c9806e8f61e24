"""The reset pipeline on PostgreSQL and Redis, as on several machines: real servers, real processes, HTTP.

Two gunicorn processes stand for two web machines: they share the rate-limit
counters only through Redis (CACHE_URL) and the queue through PostgreSQL
(DATABASE_URL). Two ``db_worker --batch`` processes stand for two worker
machines. Everything is observed from outside: HTTP answers, ``manage.py``, and
the .eml files in the shared outbox folder.
"""

from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import saved_messages
from testsupport.site import Site

ENQUEUE = """
import sys
from users.tasks import enqueue_password_reset
for email in sys.stdin.read().split():
    enqueue_password_reset(email, "https://cinemahub.example")
"""


def recipients(outbox: Path) -> Counter:
    return Counter(message["To"] for message in saved_messages(outbox)) if outbox.exists() else Counter()


@pytest.fixture(scope="module")
def two_servers(postgres, redis, tmp_path_factory):
    """Two gunicorn processes of the site on one PostgreSQL database and one Redis."""
    folder = tmp_path_factory.mktemp("two-servers")
    outbox = folder / "outbox"
    env = {
        "DATABASE_URL": postgres.create_database(),
        "CACHE_URL": redis.url(0),
        "EMAIL_URL": f"outbox://{outbox}",
        "RESET_RATE_PER_ADDRESS": "3/h",
        "RESET_RATE_PER_CLIENT": "6/h",
    }
    (folder / "a").mkdir()
    (folder / "b").mkdir()
    with Site(folder / "a", env) as a, Site(folder / "b", env) as b:
        a.prepare(["anna@example.com"])
        a.start_server(workers=1)
        b.start_server(workers=1)
        yield a, b, outbox


@pytest.fixture
def servers(two_servers, redis):
    redis.flush()  # every test starts with no counters
    return two_servers


def test_one_address_gets_no_more_messages_than_its_limit_across_two_servers(servers):
    a, b, outbox = servers
    statuses = []
    for site in [a, b] * 3:  # six requests for one address, half to each server; the limit is 3 an hour
        session, token = site.form_session()
        statuses.append(site.post_reset(session, token, "anna@example.com").status_code)
    assert statuses == [302] * 6  # over the limit the page answers as usual
    before = recipients(outbox)["anna@example.com"]

    a.drain(workers=1)

    assert recipients(outbox)["anna@example.com"] - before == 3


def test_a_client_over_its_limit_gets_429_from_either_server(servers):
    a, b, _ = servers
    answers = []
    for i, site in enumerate([a, b] * 4):  # eight requests from one client; its limit is 6 an hour
        session, token = site.form_session()
        answers.append(site.post_reset(session, token, f"someone{i}@example.com"))
    assert [answer.status_code for answer in answers] == [302] * 6 + [429, 429]
    for refused in answers[6:]:
        assert "Too many requests" in refused.text
        assert int(refused.headers["Retry-After"]) > 0


@pytest.mark.timeout(300)
def test_two_workers_on_postgresql_deliver_500_queued_resets_exactly_once(postgres, tmp_path):
    emails = [f"user{i}@example.com" for i in range(500)]
    outbox = tmp_path / "outbox"
    env = {"DATABASE_URL": postgres.create_database(), "EMAIL_URL": f"outbox://{outbox}"}
    with Site(tmp_path, env) as site:
        site.prepare(emails)
        site.manage("shell", "-c", ENQUEUE, input="\n".join(emails))

        site.drain(workers=2)  # two db_worker --batch processes at once, until nothing is ready
        assert recipients(outbox) == Counter(emails)

        site.drain(workers=2)  # running them again sends nothing more
    assert len(list(outbox.glob("*.eml"))) == 500
    assert recipients(outbox) == Counter(emails)


SEND_MAIL = """
import sys
from django.core.mail import send_mail
for email in sys.stdin.read().split():
    send_mail("Новый комментарий к задаче", "К вашей задаче добавлен комментарий.", "noreply@task.local", [email])
"""


@pytest.mark.timeout(300)
def test_two_workers_on_postgresql_deliver_500_send_mail_messages_exactly_once(postgres, tmp_path):
    """The lessons' send_mail(), queued by the default mailer: two workers at once, every message once."""
    emails = [f"reader{i}@example.com" for i in range(500)]
    outbox = tmp_path / "outbox"
    env = {"DATABASE_URL": postgres.create_database(), "EMAIL_URL": f"outbox://{outbox}"}
    with Site(tmp_path, env) as site:
        site.manage("migrate", "--noinput", "-v0")
        site.manage("shell", "-c", SEND_MAIL, input="\n".join(emails))
        assert recipients(outbox) == Counter()  # queued, not sent

        site.drain(workers=2)
        site.drain(workers=2)  # again: nothing more
    assert recipients(outbox) == Counter(emails)
