"""core/counters.py: the counters' store loses no count, with the embedded default and with Redis.

Each test runs on both stores, built by the same function the settings use
(``counters_cache``): diskcache in a temporary folder, and a throwaway Redis
(the session's ``redis`` fixture, testsupport/services.py; skipped where redis-server is missing).
"""

import multiprocessing
import time

import pytest
from django.test import RequestFactory
from django.utils.module_loading import import_string

from core.counters import ALIAS, count_up, counters_cache
from tests.conftest import ROOT
from users.limits import check_address

ROUNDS = 150
FLOOD = 5000


@pytest.fixture(params=["embedded", "redis"])
def store(request, tmp_path) -> dict:
    """The CACHES entry of the counters, on a fresh store."""
    if request.param == "embedded":
        config = counters_cache(f"diskcache://{tmp_path}", ROOT)
    else:
        config = counters_cache(request.getfixturevalue("redis").url(0), ROOT)
    open_store(config).clear()
    return config


def open_store(config: dict):
    return import_string(config["BACKEND"])(config["LOCATION"], config)


def count(config: dict) -> None:
    cache = open_store(config)
    for _ in range(ROUNDS):
        count_up(cache, [("hits", 60)])


def test_a_counter_survives_a_flood_of_other_keys(settings, store):
    """A client rotating through 5,000 addresses does not push another address's counter out."""
    settings.CACHES = {**settings.CACHES, ALIAS: store}
    settings.RESET_RATE_PER_ADDRESS = ["5/h"]
    request = RequestFactory().post("/users/password_reset/", REMOTE_ADDR="127.0.0.1")
    assert [check_address(request, "anna@example.com").limited for _ in range(5)] == [False] * 5
    for i in range(FLOOD):
        check_address(request, f"flood{i}@example.com")
    assert check_address(request, "anna@example.com").limited
    assert check_address(request, "flood0@example.com").limited is False  # its second request of the hour


def test_concurrent_processes_lose_no_count(store):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=count, args=(store,)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert open_store(store).get("hits") == 4 * ROUNDS


def test_a_window_still_expires(store):
    cache = open_store(store)
    assert count_up(cache, [("hits", 1)]) == [1]
    assert count_up(cache, [("hits", 1)]) == [2]  # the count keeps the key's expiry
    deadline = time.monotonic() + 30  # the key goes after its second; one that kept no expiry would stay
    while cache.get("hits") is not None:
        assert time.monotonic() < deadline, "the counter outlived its 1 s window"
        time.sleep(0.05)
    assert count_up(cache, [("hits", 1)]) == [1]  # a new window


def test_every_rate_of_a_budget_is_one_round_trip_to_redis(settings, redis, monkeypatch):
    """django-ratelimit's get_usage made three per rate: add, EXISTS, INCRBY."""
    import redis as redis_library

    settings.CACHES = {**settings.CACHES, ALIAS: counters_cache(redis.url(0), ROOT)}
    settings.RESET_RATE_PER_ADDRESS = ["5/m", "10/h", "50/d"]
    sent = []
    original = redis_library.connection.Connection.send_packed_command
    monkeypatch.setattr(
        redis_library.connection.Connection,
        "send_packed_command",
        lambda self, *args, **kwargs: sent.append(1) or original(self, *args, **kwargs),
    )
    request = RequestFactory().post("/users/password_reset/", REMOTE_ADDR="127.0.0.1")
    check_address(request, "anna@example.com")  # the connection is made (its own commands, once)
    sent.clear()
    assert [check_address(request, "anna@example.com").limited for _ in range(5)] == [False] * 4 + [True]
    assert len(sent) == 5
