"""The dashboard cache: one computation per period, stale values while it refreshes."""

from __future__ import annotations

import threading
import time

from pilotline.web.cache import Cache


def test_computes_once_then_serves_stale_while_refreshing() -> None:
    cache = Cache(ttl_s=0.05)
    calls: list[int] = []
    gate = threading.Event()

    def compute() -> int:
        calls.append(1)
        if len(calls) > 1:
            gate.wait(2)  # a slow refresh
        return len(calls)

    assert cache.get("k", compute) == 1
    assert [cache.get("k", compute) for _ in range(50)] == [1] * 50  # fresh: no recomputation
    assert len(calls) == 1
    time.sleep(0.06)
    assert [cache.get("k", compute) for _ in range(50)] == [1] * 50  # stale, refresh running
    assert len(calls) == 2  # one refresh, however many callers
    gate.set()
    deadline = time.monotonic() + 2
    while cache.get("k", compute) != 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_bounded_number_of_keys() -> None:
    cache = Cache(ttl_s=60, max_keys=3)
    for k in range(10):
        cache.get(k, lambda k=k: k)
    assert len(cache._values) == 3


def test_the_first_value_is_computed_once_for_many_waiting_callers() -> None:
    cache = Cache(ttl_s=60)
    calls: list[int] = []

    def slow() -> str:
        calls.append(1)
        time.sleep(0.2)
        return "value"

    results: list[str] = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", slow))) for _ in range(20)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["value"] * 20 and len(calls) == 1
