"""Optional differential-privacy noise on a benchmark release (off unless ``dp_epsilon`` > 0).

The unit protected is one firm's figures for one month. Before the tables are built, each firm's
month is summed over its plants and every measure clipped to a stated bound (:class:`Privacy`),
so that one firm can change a sum by at most that bound. A firm's month enters 2³ = 8 cells of
its period's table (its own cell and the margins above it), in the count of firms and in every
measure, so the release's ε is split evenly over the 1 + len(MEASURES) quantities and each
published cell's value gets Laplace noise of scale 8 · bound / ε_quantity (a count's bound is 1).
That is pure ε-differential privacy of the published values for one firm-month per release, by
sequential composition; a firm's several months, and several releases of a cell whose firms or
figures changed, add their ε (the docs say so).

Suppression is decided on the clipped true values first; noise goes only on published cells,
after. KPIs are computed from the noisy sums (post-processing costs no privacy), so the noisy
cells no longer add up to their noisy margins.

Noise is reproducible from a cell's inputs (its firms and their figures), the noise settings and
a secret of the hub (HMAC-SHA-256 per cell and quantity): the coordinator can build a release
again and get the same figures, a cell whose firms and figures did not change keeps its noise in
later releases (nothing to average), and nobody without the secret can take the noise away.

Not covered: which cells are published is decided on the true values (suppression), so the
pattern of published cells is not differentially private; the noise protects the published
values, not whether a cell is published.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pilotline.errors import InputError

#: Cells a firm's month enters: its own and every margin above it (3 dimensions).
CELLS_PER_FIRM = 8
#: The smallest ε a release takes (below it the noise's scale overflows usefulness, and at
#: 1e-300 the figures themselves: Infinity).
MIN_EPSILON = 0.01
#: The largest ε a release takes.
MAX_EPSILON = 100.0
#: Ratios that cannot leave [0, 1] by definition (noise could push them out).
#: Performance too: a submission with more ideal output time than run time is refused.
UNIT_RATIOS = ("availability", "performance", "quality", "scrap_rate")


@dataclass(frozen=True)
class Privacy:
    """ε for one release, and the most one firm's month may add to each measure."""

    epsilon: float
    bounds: Mapping[str, float]

    def __post_init__(self) -> None:
        if not (math.isfinite(self.epsilon) and MIN_EPSILON <= self.epsilon <= MAX_EPSILON):
            raise InputError(f"dp_epsilon = {self.epsilon}: expected a number from {MIN_EPSILON} "
                             f"to {MAX_EPSILON:g} (smaller drowns every figure in noise)")  # fmt: skip
        for name, bound in self.bounds.items():
            if not (math.isfinite(bound) and bound > 0):
                raise InputError(f"privacy bound of {name} = {bound}: expected a positive number")

    def scales(self, measures: Sequence[str]) -> dict[str, float]:
        """Laplace scale per quantity: the count of firms, then each measure."""
        share = self.epsilon / (1 + len(measures))
        out = {"firms": CELLS_PER_FIRM / share}
        for m in measures:
            out[m] = CELLS_PER_FIRM * self.bounds[m] / share
        return out

    def clip(self, sums: Mapping[str, float]) -> dict[str, float]:
        """One firm's month, each measure at most its bound."""
        return {m: min(v, self.bounds[m]) for m, v in sums.items()}

    def statement(self, measures: Sequence[str]) -> dict[str, Any]:
        """What a release says of its noise (public: the scales give away nothing)."""
        return {
            "mechanism": "Laplace",
            "epsilon": self.epsilon,
            "unit": "one firm's figures for one month",
            "bounds": {m: self.bounds[m] for m in measures},
            "scales": self.scales(measures),
        }


def _draw(secret: bytes, label: str, scale: float) -> float:
    digest = hmac.new(secret, label.encode(), hashlib.sha256).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:16], "big"))
    return float(rng.laplace(0.0, scale))


def noisy(
    cell: Mapping[str, Any],
    *,
    privacy: Privacy,
    measures: Sequence[str],
    dims: Sequence[str],
    secret: bytes,
    inputs: str,
) -> dict[str, Any]:
    """The noisy firm count and sums of one published cell (never negative, counts whole)."""
    where = "|".join([inputs, str(cell["period"]), *(str(cell[d]) for d in dims)])
    scales = privacy.scales(measures)
    firms = max(0, round(cell["firms"] + _draw(secret, f"{where}|firms", scales["firms"])))
    sums = {
        m: max(0.0, float(cell["sums"][m]) + _draw(secret, f"{where}|{m}", scales[m]))
        for m in measures
    }
    return {"firms": firms, "sums": sums}


def ratios(kpis: Mapping[str, float | None]) -> dict[str, float | None]:
    """Ratios that are fractions by definition held in [0, 1], OEE recomputed from them."""
    out = dict(kpis)
    for name in UNIT_RATIOS:
        v = out.get(name)
        if v is not None:
            out[name] = min(1.0, max(0.0, v))
    a, p, q = out.get("availability"), out.get("performance"), out.get("quality")
    if "oee" in out:
        out["oee"] = a * p * q if a is not None and p is not None and q is not None else None
    return out
