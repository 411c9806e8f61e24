"""core/cache.py: the file cache holding the rate-limit counters counts right across processes."""

import multiprocessing
import time

import pytest

from core.cache import FileBasedCache

ROUNDS = 150


def count(folder: str) -> None:
    cache = FileBasedCache(folder, {})
    for _ in range(ROUNDS):
        if not cache.add("hits", 1, 60):
            cache.incr("hits")


def test_concurrent_processes_lose_no_count(tmp_path):
    context = multiprocessing.get_context("spawn")
    processes = [context.Process(target=count, args=(str(tmp_path),)) for _ in range(4)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]
    assert FileBasedCache(str(tmp_path), {}).get("hits") == 4 * ROUNDS


def test_incr_keeps_the_expiry_of_the_window(tmp_path):
    cache = FileBasedCache(str(tmp_path), {"TIMEOUT": 300})
    cache.add("hits", 1, 0.5)
    assert cache.incr("hits") == 2
    time.sleep(0.6)
    assert cache.get("hits") is None  # Django's own incr would have kept it for the default 300 s


def test_incr_of_a_missing_key_fails_as_in_django(tmp_path):
    with pytest.raises(ValueError, match="nothing"):
        FileBasedCache(str(tmp_path), {}).incr("nothing")
