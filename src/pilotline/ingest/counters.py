"""Raw cumulative PLC counters → part increments, with wrap and reset handling.

A PLC counter only goes up, until it either *wraps* (a 16-bit counter goes from 65,535 to 0) or
is *reset* (set back to 0, often at shift start). Between two readings ``a`` then ``b``:

* ``b >= a``: ``b - a`` parts were made;
* ``b < a`` and the drop is more than half the counter's range (``bits`` known): it wrapped,
  ``b + 2**bits - a`` parts were made;
* any other drop: it was reset, and ``b`` parts were made since the reset.

The same function serves file imports and live connectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CounterResult:
    increments: np.ndarray
    wraps: int
    resets: int


def counter_increments(
    values: np.ndarray, *, previous: int | None, bits: int | None
) -> CounterResult:
    """Increments for one machine's readings in time order; the first uses ``previous`` if known."""
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        return CounterResult(values.copy(), 0, 0)
    before = np.empty_like(values)
    before[1:] = values[:-1]
    before[0] = values[0] if previous is None else previous
    inc = values - before
    drop = inc < 0
    wrapped = np.zeros_like(drop)
    if bits:
        span = np.int64(1) << np.int64(bits)
        wrapped = drop & ((before - values) > span // 2)
        inc[wrapped] = values[wrapped] + span - before[wrapped]
    reset = drop & ~wrapped
    inc[reset] = values[reset]
    return CounterResult(inc, int(wrapped.sum()), int(reset.sum()))
