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
