"""Rate limits on the reset request, and the request only queueing the work, over real HTTP."""

import logging

import pytest
import requests
from django.test import RequestFactory
from django_tasks_db.models import DBTaskResult

from tests.conftest import saved_messages
from tests.delivery.queue import drain
from tests.users.test_reset_flow import LINK, csrf_post
from users.addresses import mailbox
from users.limits import client_ip
from users.models import User
from users.tasks import request_password_reset
from users.views import in_words, refusal_page

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("fresh_counters", "still_clock")]


@pytest.fixture
def anna():
    return User.objects.create_user("anna", "anna@example.com", "old-password-1")


@pytest.fixture
def reset(live_server):
    session = requests.Session()

    def post(email, headers=None, cookies=None):
        url = f"{live_server.url}/users/password_reset/"
        page = session.get(url)
        token = page.text.split('name="csrfmiddlewaretoken" value="', 1)[1].split('"', 1)[0]
        return session.post(
            url,
            data={"csrfmiddlewaretoken": token, "email": email},
            headers={"Referer": url, **(headers or {})},
            cookies=cookies,
            allow_redirects=False,
        )

    return post


def test_the_request_queues_the_work_and_sends_nothing_itself(live_server, outbox_dir, anna):
    done = csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "anna@example.com"})
    assert "Check your email" in done.text
    assert not outbox_dir.exists() or saved_messages(outbox_dir) == []  # answered, nothing sent yet
    drain()  # the worker sends it, with what the request knew: the address and the site's own URL
    [message] = saved_messages(outbox_dir)
    assert message["To"] == "anna@example.com"
    [link] = LINK.findall(message.get_body(("plain",)).get_content())
    assert link.startswith(f"{live_server.url}/users/reset/")


def test_unknown_address_queues_the_same_work(live_server, anna):
    csrf_post(requests.Session(), f"{live_server.url}/users/password_reset/", {"email": "nobody@example.com"})
    [queued] = DBTaskResult.objects.all()
    assert queued.task_path == request_password_reset.module_path


def test_over_the_client_limit_the_page_says_wait_with_429_and_retry_after(settings, reset, anna):
    settings.RESET_RATE_PER_CLIENT = ["3/m"]
    statuses = [reset(f"someone{i}@example.com").status_code for i in range(3)]
    assert statuses == [302, 302, 302]

    limited = reset("anna@example.com")
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert "<h1>Too many requests</h1>" in limited.text
    assert f"Please wait {limited.headers['Retry-After']} second" in limited.text
    assert DBTaskResult.objects.count() == 3  # nothing queued for the refused request


def test_a_flood_is_one_line_in_the_log_not_one_per_refusal(settings, reset, caplog):
    settings.RESET_RATE_PER_CLIENT = ["1/m"]
    assert [reset("a@example.com").status_code for _ in range(5)] == [302, 429, 429, 429, 429]
    lines = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
    [line] = lines  # Django's "Too Many Requests" for each 429 is dropped (core.logging.RefusalsLoggedOnce)
    assert line.startswith("Client 127.0.0.1 over its password_reset:client budget (1/m): refused for ")


def test_the_refusal_page_is_made_once_but_each_visitor_reads_it_in_their_language(settings, reset):
    settings.RESET_RATE_PER_CLIENT = ["1/h"]
    refusal_page.cache_clear()
    reset("a@example.com")
    english = reset("a@example.com")
    russian = reset("a@example.com", cookies={"django_language": "ru"})
    again = reset("a@example.com")
    assert [r.status_code for r in (english, russian, again)] == [429, 429, 429]
    assert "<h1>Too many requests</h1>" in english.text and '<html lang="en">' in english.text
    assert "<h1>Слишком много запросов</h1>" in russian.text and '<html lang="ru">' in russian.text
    assert "csrfmiddlewaretoken" not in english.text  # nothing of a visitor's own in a page shared by all
    if english.headers["Retry-After"] == again.headers["Retry-After"]:  # the same second: the same page
        assert refusal_page.cache_info().hits >= 1 and again.text == english.text


def test_an_hourly_client_limit_says_how_long_in_words(settings, reset):
    settings.RESET_RATE_PER_CLIENT = ["1/h"]
    reset("a@example.com")
    limited = reset("a@example.com")
    assert limited.status_code == 429
    seconds = int(limited.headers["Retry-After"])
    assert 1 <= seconds <= 3600
    assert f"Please wait {in_words(seconds)}, then" in limited.text


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (89, "89 seconds"),
        (90, "2 minutes"),
        (3599, "60 minutes"),
        (86400, "24 hours"),
    ],
)
def test_waiting_time_in_words(seconds, words):
    assert in_words(seconds) == words


def test_over_the_address_limit_the_page_is_the_usual_one_and_no_message_goes(settings, reset, outbox_dir, anna):
    """One budget per mailbox, whatever the letter case or Unicode form the address is typed in."""
    settings.RESET_RATE_PER_ADDRESS = ["2/d"]
    # IDNA turns the full-width domain into example.com: the same mailbox and budget, and anna's account.
    first = reset("anna@ｅｘａｍｐｌｅ.com")
    second = reset("anna@example.com")
    over = reset("ANNA@Example.COM")
    assert [r.status_code for r in (first, second, over)] == [302, 302, 302]
    assert {r.headers["Location"] for r in (first, second, over)} == {"/users/password_reset/done/"}
    drain()
    assert [m["To"] for m in saved_messages(outbox_dir)] == ["anna@example.com"] * 2
    assert reset("boris@example.com").status_code == 302  # another address has its own budget


@pytest.mark.parametrize("debug", [True, False])
def test_with_debug_on_the_console_says_why_a_reset_sent_nothing(settings, reset, outbox_dir, anna, caplog, debug):
    settings.DEBUG = debug
    settings.RESET_RATE_PER_ADDRESS = ["1/d"]
    answers = [reset("anna@example.com"), reset("anna@example.com"), reset("nobody@example.com")]
    assert {answer.headers["Location"] for answer in answers} == {"/users/password_reset/done/"}
    drain()
    notes = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    expected = [
        "Password reset for anna@example.com dropped: over RESET_RATE_PER_ADDRESS (1/d); nothing queued",
        "Password reset for nobody@example.com: no active account with a usable password has this address; "
        "nothing sent",
    ]
    assert notes == (expected if debug else [])
    assert len(saved_messages(outbox_dir)) == 1


def test_x_forwarded_for_is_ignored_unless_a_proxy_is_trusted(settings, reset):
    settings.RESET_RATE_PER_CLIENT = ["2/d"]
    spoofed = [reset("a@example.com", {"X-Forwarded-For": f"198.51.100.{i}"}).status_code for i in range(3)]
    assert spoofed == [302, 302, 429]


def test_behind_one_trusted_proxy_the_client_is_the_address_it_added(settings, reset):
    settings.RESET_RATE_PER_CLIENT = ["2/d"]
    settings.TRUSTED_PROXY_COUNT = 1
    # Different clients behind the proxy: each has its own budget.
    assert [reset("a@x.example", {"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(3)] == [302] * 3
    # One client writing anything to the left of what the proxy added: one budget.
    same = [reset("a@x.example", {"X-Forwarded-For": f"10.0.0.{i}, 203.0.113.50"}).status_code for i in range(3)]
    assert same == [302, 302, 429]


@pytest.mark.parametrize(
    ("proxies", "header", "client"),
    [
        (0, "198.51.100.7", "127.0.0.1"),
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "evil, 198.51.100.7", "198.51.100.7"),
        (2, "evil, 198.51.100.7, 10.0.0.2", "198.51.100.7"),
        (2, "198.51.100.7", "127.0.0.1"),  # fewer entries than proxies: not through them
        (1, "", "127.0.0.1"),
    ],
)
def test_client_ip(settings, proxies, header, client):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR=header)
    assert client_ip(request) == client


def test_addresses_are_normalised_by_unicode_form_and_case():
    assert mailbox(" ＡＮＮＡ@Example.COM ") == "anna@example.com"
    assert mailbox("STRASSE@x.de") == mailbox("straße@X.DE")
