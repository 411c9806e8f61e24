"""The timing, outage, drain and web outbox benchmarks at a small size: they do what they must (no times asserted)."""

import pytest

from bench import drain, outage, timing, web_outbox_bench


def test_timing_bench_delivers_one_message_per_existing_address():
    result = timing.run(n=5, delay=0.05)
    assert result["requests"] == 10
    assert (result["delivered"], result["addresses_with_one_message"], result["unexpected"]) == (5, 5, [])


def test_timing_bench_on_the_sign_up_page_sends_each_address_one_message():
    result = timing.run(n=5, delay=0.05, page="signup")
    assert result["requests"] == 10
    # 5 "your address already has an account" and 5 confirmations, nothing else
    assert (result["delivered"], result["addresses_with_one_message"], result["unexpected"]) == (10, 10, [])


def test_outage_bench_delivers_everything_once_after_the_server_returns():
    result = outage.run(n=5, retry_delay=0.3)
    assert result["statuses"] == [302]
    assert result["failed_attempts_during_outage"] >= 5
    assert (result["delivered"], result["addresses_with_one_message"]) == (5, 5)
    assert (result["deliveries"], result["failed_deliveries"]) == (5, 0)  # one record each, however many attempts


def test_mann_whitney_p_value_matches_the_textbook():
    # U = 0 for two samples of 3: the normal approximation with continuity correction gives 0.0809.
    assert round(timing.mann_whitney_p([1, 2, 3], [4, 5, 6]), 4) == 0.0809
    assert timing.mann_whitney_p([1, 2, 3, 4], [1, 2, 3, 4]) == 1.0


def test_drain_bench_delivers_every_queued_reset_once_on_both_paths():
    result = drain.run(n=20, workers=2)
    assert (result["drained"], result["sent_records"], result["looped"]) == (20, 20, 20)
    assert result["database"] == "sqlite"


@pytest.mark.django_db
def test_web_outbox_bench_measures_pages_that_show_what_they_must(tmp_path):
    result = web_outbox_bench.run(tmp_path, messages=300, search_messages=200, rounds=1, attachment=100_000)
    assert result["list"]["rows"] == 50  # a full first page, on the big folder as on the small one
    search = result["search"]
    assert search["web_rows"] == search["command_rows"] == search["expected"] == 1
    assert result["message"]["shows"] and result["message"]["file_size"] > 100_000
    assert all(seconds > 0 for case in ("list", "search", "message") for seconds in result[case]["warm"])
