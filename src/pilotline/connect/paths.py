"""Small path expressions into JSON payloads (``data.values[0].state``; a leading ``$.`` is allowed),
and reading times from payloads."""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class Missing(LookupError):
    """The payload has nothing at the path."""


def compile_path(path: str) -> tuple[str | int, ...]:
    text = path.strip()
    if text.startswith("$"):
        text = text[1:].lstrip(".")
    steps: list[str | int] = []
    pos = 0
    while pos < len(text):
        if text[pos] == ".":
            pos += 1
            continue
        m = _STEP.match(text, pos)
        if not m:
            raise ValueError(f"cannot read the path {path!r} at character {pos + 1}")
        steps.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
        pos = m.end()
    return tuple(steps)


def extract(doc: Any, steps: tuple[str | int, ...]) -> Any:
    for step in steps:
        try:
            doc = doc[step]
        except (KeyError, IndexError, TypeError):
            raise Missing(".".join(map(str, steps))) from None
    return doc


#: Times a reading may carry: from 1970 to the end of 9999 (what the store's timestamps hold).
LATEST_US = 253_402_300_799_999_999


def timestamp_us(raw: Any) -> int:
    """An ISO 8601 time with offset, or epoch seconds / milliseconds / microseconds → UTC µs,
    from 1970 to 9999 (else :class:`ValueError`)."""
    us = _timestamp_us(raw)
    if not 0 <= us <= LATEST_US:
        raise ValueError(f"{raw!r:.40} is not a time from 1970 to 9999")
    return us


def _timestamp_us(raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValueError(f"not a time: {raw!r}")
    if isinstance(raw, int | float):
        value = float(raw)  # OverflowError for a whole number beyond a float's range
        if not math.isfinite(value):
            raise ValueError(f"not a time: {raw!r}")
        if value < 1e11:
            return round(value * 1_000_000)
        if value < 1e14:
            return round(value * 1_000)
        return int(value)
    if isinstance(raw, str):
        try:
            moment = dt.datetime.fromisoformat(raw.strip())
        except ValueError:
            raise ValueError(f"not an ISO 8601 time: {raw!r}") from None
        if moment.tzinfo is None:
            raise ValueError(f"{raw!r} has no UTC offset; send e.g. 2026-03-02T06:00:00Z")
        return (moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)) // dt.timedelta(microseconds=1)
    raise ValueError(f"not a time: {type(raw).__name__}")
