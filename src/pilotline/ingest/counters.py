"""Raw cumulative PLC counters → part increments, with wrap and reset handling.

A PLC counter only goes up, until it either *wraps* (a 16-bit counter goes from 65,535 to 0) or
is *reset* (set back to 0, often at shift start). Between two readings ``a`` then ``b``:

* ``b >= a``: ``b - a`` parts were made;
* ``b < a`` and the drop is more than half the counter's range (``bits`` known): it wrapped,
  ``b + 2**bits - a`` parts were made;
* any other drop: it was reset to 0 and counted up again, so ``b`` parts were made since the
  reset.

A 64-bit counter never wraps in practice (at a thousand parts a second it would take 292
million years); the store keeps readings up to 2**63 − 1, so with ``bits=64`` every drop is a
reset. The same function serves file imports and live connectors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Counter widths a PLC uses (live tag maps allow 8 bits too).
COUNTER_BITS = (8, 16, 32, 64)


@dataclass(frozen=True)
class CounterResult:
    increments: np.ndarray
    wraps: int
    resets: int


def counter_increments(
    values: np.ndarray, *, previous: int | None, bits: int | None
) -> CounterResult:
    """Increments for one machine's readings in time order; the first uses ``previous`` if known.

    Readings are whole numbers from 0 to 2**63 − 1 (and below 2**bits when ``bits`` is given);
    missing readings are left out by the caller, never passed as a number."""
    values = np.asarray(values, dtype=np.int64)
    if values.size == 0:
        return CounterResult(values.copy(), 0, 0)
    if bits is not None and bits not in COUNTER_BITS:
        raise ValueError(f"a counter has 8, 16, 32 or 64 bits, not {bits}")
    before = np.empty_like(values)
    before[1:] = values[:-1]
    before[0] = values[0] if previous is None else previous
    inc = values - before  # both in 0 … 2**63 − 1: the difference fits
    drop = inc < 0
    wrapped = np.zeros_like(drop)
    if bits and bits < 64:
        span = np.int64(1 << bits)
        wrapped = drop & ((before - values) > span // 2)
        inc[wrapped] = values[wrapped] + span - before[wrapped]
    reset = drop & ~wrapped
    inc[reset] = values[reset]
    return CounterResult(inc, int(wrapped.sum()), int(reset.sum()))
