"""A small cache for dashboard data: fresh enough for people, cheap under load.

Each key's value is recomputed at most every ``ttl_s`` seconds, in the background, while callers
keep getting the previous value (stale-while-revalidate); only the first callers for a key
wait, for one computation between them. Twenty people watching the overview cost one computation every few seconds, not twenty.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Hashable
from pathlib import Path
from typing import Any


class Cache:
    def __init__(self, ttl_s: float, *, max_keys: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._values: dict[Hashable, tuple[float, Any]] = {}
        self._refreshing: set[Hashable] = set()
        self._firsts: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self._generation = 0  # counts clear(): a value computed before one is not kept
        # One refresh at a time: twenty stale pilots must not start twenty threads that take the
        # interpreter from the request serving the stale values (the list took 11 s, not 0.5).
        self._refresh_slot = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        with self._lock:
            hit = self._values.get(key)
            stale = hit is None or time.monotonic() - hit[0] > self.ttl_s
            start = hit is not None and stale and key not in self._refreshing
            if start:
                self._refreshing.add(key)
        if hit is None:
            with self._first(key):  # one computation, however many callers are waiting for it
                with self._lock:
                    hit = self._values.get(key)
                if hit is None:
                    generation = self._generation
                    value = compute()
                    self._put(key, value, generation)
                    return value
                return hit[1]
        if start:
            threading.Thread(target=self._refresh, args=(key, compute), daemon=True).start()
        return hit[1]

    def warm(self, key: Hashable, compute: Callable[[], Any]) -> None:
        """Compute ``key``'s value now if there is none yet (a stale one is left to :meth:`get`):
        what a background pass calls so that nobody waits for a first open."""
        with self._lock:
            if key in self._values:
                return
        self.get(key, compute)

    def clear(self) -> None:
        """Forget every value, after a change they do not show; a refresh that began before
        is not kept."""
        with self._lock:
            self._values.clear()
            self._generation += 1

    def forget(self, match: Callable[[Any], bool]) -> None:
        """Forget the values whose keys ``match``, after a change only they show (the others are
        kept, and computed again when their time is up); a refresh that began before is not kept."""
        with self._lock:
            for key in [k for k in self._values if match(k)]:
                del self._values[key]
            self._generation += 1

    def _first(self, key: Hashable) -> threading.Lock:
        with self._lock:
            return self._firsts.setdefault(key, threading.Lock())

    def _refresh(self, key: Hashable, compute: Callable[[], Any]) -> None:
        try:
            with self._refresh_slot:
                generation = self._generation
                self._put(key, compute(), generation)
        finally:
            with self._lock:
                self._refreshing.discard(key)

    def _put(self, key: Hashable, value: Any, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if len(self._values) >= self.max_keys and key not in self._values:
                oldest = min(self._values, key=lambda k: self._values[k][0])
                del self._values[oldest]
                self._firsts.pop(oldest, None)
            self._values[key] = (time.monotonic(), value)


class FileVersion:
    """Tells, cheaply, whether a small file changed since it was last read.

    A file's time has the kernel's coarse resolution (a few milliseconds), so two writes in one tick
    can leave the same size, time and even inode: an unchanged ``stat`` is trusted only once the file
    was already older than :data:`SETTLED_NS` when it was seen; otherwise its bytes are compared.
    """

    SETTLED_NS = 100_000_000

    def __init__(self, path: Path) -> None:
        self.path = path
        self._trusted: tuple[int, int, int, int] | None = None
        self._content: bytes | None = None
        self._lock = threading.Lock()

    def read(self) -> tuple[bytes | None, bool]:
        """The file's bytes (None when it is missing), and whether they differ from the last read."""
        with self._lock:
            return self._read()

    def _read(self) -> tuple[bytes | None, bool]:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            changed = self._content is not None
            self._trusted, self._content = None, None
            return None, changed
        key = (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size)
        if key == self._trusted and self._content is not None:
            return self._content, False
        try:
            content = self.path.read_bytes()
        except FileNotFoundError:
            changed = self._content is not None
            self._trusted, self._content = None, None
            return None, changed
        changed = content != self._content
        self._content = content
        settled = time.time_ns() - st.st_mtime_ns > self.SETTLED_NS
        self._trusted = key if settled else None
        return content, changed
