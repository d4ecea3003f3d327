"""The one clock. Everything in Pilotline that needs "now" asks :func:`now`, so that a test, a
replay or a demo can set the time instead of reading the wall.

The clock is the wall clock unless it is set:

- in-process, with :func:`set_now` (frozen at an instant, or running on from it) or the
  :func:`fixed` context manager;
- for a whole process and its children, with the environment variable ``PILOTLINE_NOW``: an
  ISO 8601 instant with its UTC offset (``2026-03-04T10:00:00Z``). The clock then stands still at
  that instant; add ``+running`` (``2026-03-04T10:00:00Z+running``) to have it run on from there.

Times are always timezone-aware and in UTC; :func:`utc_naive` gives the store's form.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager

ENV = "PILOTLINE_NOW"
RUNNING = "+running"

_set_at: dt.datetime | None = None
_running = False
_mono0 = 0.0


def parse(text: str) -> tuple[dt.datetime, bool]:
    """``PILOTLINE_NOW``'s value → (instant in UTC, whether the clock runs on from it)."""
    running = text.endswith(RUNNING)
    value = text.removesuffix(RUNNING).strip()
    try:
        at = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            f"{ENV}={text!r} is not an ISO 8601 instant; expected e.g. 2026-03-04T10:00:00Z"
        ) from None
    if at.tzinfo is None:
        raise ValueError(f"{ENV}={text!r} has no UTC offset; add Z or +01:00")
    return at.astimezone(dt.UTC), running


def set_now(at: dt.datetime | None, *, running: bool = False) -> None:
    """Set the clock to ``at`` (aware), standing still or running on; ``None`` gives back the wall
    clock (or ``PILOTLINE_NOW`` when that is set)."""
    global _set_at, _running, _mono0
    if at is not None and at.tzinfo is None:
        raise ValueError("the clock is set with a timezone-aware instant")
    _set_at = None if at is None else at.astimezone(dt.UTC)
    _running = running
    _mono0 = time.monotonic()


def now() -> dt.datetime:
    """Now, timezone-aware in UTC."""
    if _set_at is not None:
        return _set_at + dt.timedelta(seconds=time.monotonic() - _mono0) if _running else _set_at
    env = os.environ.get(ENV)
    if env:
        at, running = parse(env)
        if not running:
            return at
        set_now(at, running=True)  # runs on from the first time it is read
        return now()
    return dt.datetime.now(dt.UTC)


def utc_naive() -> dt.datetime:
    """Now as the store keeps times: UTC without a zone."""
    return now().replace(tzinfo=None)


def timestamp() -> float:
    """Now in seconds since the epoch (for code that counts in POSIX time)."""
    return now().timestamp()


@contextmanager
def fixed(at: dt.datetime, *, running: bool = False) -> Iterator[None]:
    """The clock at ``at`` inside the block, and as it was afterwards."""
    saved = (_set_at, _running, _mono0)
    set_now(at, running=running)
    try:
        yield
    finally:
        _restore(*saved)


def _restore(at: dt.datetime | None, running: bool, mono0: float) -> None:
    global _set_at, _running, _mono0
    _set_at, _running, _mono0 = at, running, mono0


def now_us() -> int:
    """Now in whole microseconds since the epoch (for samples and buffers)."""
    if _set_at is None and not os.environ.get(ENV):
        return time.time_ns() // 1000
    return round(now().timestamp() * 1_000_000)
