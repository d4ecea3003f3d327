"""The dashboard cache: one computation per period, stale values while it refreshes."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from pilotline.web.cache import Cache, FileVersion


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


def test_a_file_rewritten_within_one_clock_tick_is_seen_as_changed(tmp_path: Path) -> None:
    """Two writes of the same size in the same coarse mtime tick: the bytes tell them apart."""
    f = tmp_path / "v"
    f.write_bytes(b"aaaa")
    watch = FileVersion(f)
    assert watch.read() == (b"aaaa", True)
    assert watch.read() == (b"aaaa", False)
    st = os.stat(f)
    f.write_bytes(b"bbbb")
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns))  # the same time as before, to the nanosecond
    assert watch.read() == (b"bbbb", True)
    f.unlink()
    assert watch.read() == (None, True)
    assert watch.read() == (None, False)


def test_an_old_file_is_trusted_by_its_stat_until_it_changes(tmp_path: Path) -> None:
    f = tmp_path / "v"
    f.write_bytes(b"one")
    old = time.time_ns() - 10 * FileVersion.SETTLED_NS
    os.utime(f, ns=(old, old))
    watch = FileVersion(f)
    assert watch.read() == (b"one", True)
    assert watch.read() == (b"one", False)
    f.write_bytes(b"two")  # a new time: read again
    assert watch.read() == (b"two", True)


def test_warm_computes_only_what_is_missing() -> None:
    cache = Cache(ttl_s=60)
    calls: list[str] = []
    cache.warm("k", lambda: calls.append("warm") or 1)
    cache.warm("k", lambda: calls.append("again") or 2)
    assert cache.get("k", lambda: calls.append("get") or 3) == 1
    assert calls == ["warm"]


def test_stale_values_are_refreshed_one_at_a_time() -> None:
    """Many stale keys are served at once and refreshed one after another in the background,
    not by as many threads at once (which starved the request serving them)."""
    cache = Cache(ttl_s=0.01)
    running, most = [0], [0]
    lock = threading.Lock()

    def compute() -> int:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return 1

    for k in range(20):
        cache.get(k, compute)
    time.sleep(0.02)
    started = time.monotonic()
    assert [cache.get(k, compute) for k in range(20)] == [1] * 20
    assert time.monotonic() - started < 0.1  # stale values served without waiting
    deadline = time.monotonic() + 5
    while cache._refreshing and time.monotonic() < deadline:
        time.sleep(0.01)
    assert most[0] == 1 and not cache._refreshing
