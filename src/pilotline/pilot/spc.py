"""Statistical process control charts with the Western Electric rules.

* **Individuals and moving range (I-MR)** – one value per point; sigma from the average moving
  range: σ = MR̄ / d₂(2), d₂(2) = 1.128; limits = centre ± 3σ. The moving-range chart's upper
  limit is D₄ · MR̄ = 3.267 MR̄. Each stage (before and, with ``phase1``, after a change) also
  gets its own centre and limits, for a stage chart.
* **X̄ chart** – one subgroup per point; σ = R̄ / d₂(n) (the average range of the subgroups, for
  their size n); limits for each subgroup = centre ± 3σ / √nᵢ.
* **p chart** – share of defectives per subgroup; limits = p̄ ± 3 √(p̄(1 − p̄) / nᵢ).

With ``phase1`` the centre and sigma come from the first N points only (the baseline), and the
later points are judged against them. Western Electric rules (flagged at the point that
completes the pattern, on the side it is on):

1. one point beyond 3σ;
2. two of three consecutive points beyond 2σ on the same side;
3. four of five consecutive points beyond 1σ on the same side;
4. eight consecutive points on the same side of the centre line.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pilotline.errors import InputError

#: d₂(n): expected range of n standard normal values (ASTM / Montgomery tables).
D2 = {
    2: 1.128,
    3: 1.693,
    4: 2.059,
    5: 2.326,
    6: 2.534,
    7: 2.704,
    8: 2.847,
    9: 2.970,
    10: 3.078,
    11: 3.173,
    12: 3.258,
    13: 3.336,
    14: 3.407,
    15: 3.472,
    16: 3.532,
    17: 3.588,
    18: 3.640,
    19: 3.689,
    20: 3.735,
    21: 3.778,
    22: 3.819,
    23: 3.858,
    24: 3.895,
    25: 3.931,
}

RULES = {
    1: "one point beyond 3 sigma",
    2: "two of three points beyond 2 sigma, same side",
    3: "four of five points beyond 1 sigma, same side",
    4: "eight points in a row on one side of the centre",
}


@dataclass
class Chart:
    kind: str
    center: float
    sigma: float
    lcl: float
    ucl: float
    points: list[dict[str, Any]] = field(default_factory=list)
    phase1: int | None = None
    stages: list[dict[str, Any]] = field(default_factory=list)
    moving_range: dict[str, Any] | None = None

    @property
    def signals(self) -> list[dict[str, Any]]:
        return [p for p in self.points if p["rules"]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "center": self.center,
            "sigma": self.sigma,
            "lcl": self.lcl,
            "ucl": self.ucl,
            "phase1": self.phase1,
            "points": self.points,
            "stages": self.stages,
            "moving_range": self.moving_range,
            "rules": {str(k): v for k, v in RULES.items()},
        }


def western_electric(
    values: Sequence[float], center: float, sigma: Sequence[float]
) -> list[list[int]]:
    """The rules that fire at each point; ``sigma`` is per point (σ, or σ/√n for subgroups)."""
    z = [(v - center) / s if s > 0 else 0.0 for v, s in zip(values, sigma, strict=True)]
    fired: list[list[int]] = []
    for i, zi in enumerate(z):
        rules = []
        side = 1 if zi > 0 else -1 if zi < 0 else 0
        if abs(zi) > 3:
            rules.append(1)
        if (
            side
            and i >= 2
            and side * zi > 2
            and sum(1 for w in z[i - 2 : i + 1] if side * w > 2) >= 2
        ):
            rules.append(2)
        if (
            side
            and i >= 4
            and side * zi > 1
            and sum(1 for w in z[i - 4 : i + 1] if side * w > 1) >= 4
        ):
            rules.append(3)
        if side and i >= 7 and all(side * w > 0 for w in z[i - 7 : i + 1]):
            rules.append(4)
        fired.append(rules)
    return fired


def _check(values: Sequence[float], what: str, minimum: int) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.size < minimum:
        raise InputError(f"an {what} needs at least {minimum} points; got {arr.size}")
    if not np.all(np.isfinite(arr)):
        bad = [i + 1 for i, v in enumerate(arr) if not math.isfinite(v)][:5]
        raise InputError(f"the {what} needs numbers; points {bad} are missing or not numbers")
    return arr


def _phase(n: int, phase1: int | None, minimum: int) -> int:
    if phase1 is None:
        return n
    if phase1 < minimum or phase1 > n:
        raise InputError(
            f"--phase1 must be between {minimum} and the number of points ({n}); got {phase1}"
        )
    return phase1


def individuals(
    values: Sequence[float], *, keys: Sequence[Any] | None = None, phase1: int | None = None
) -> Chart:
    """An individuals chart; ``keys`` label the points (default: 1-based row numbers)."""
    x = _check(values, "individuals chart", 3)
    base = _phase(x.size, phase1, 3)
    center = float(x[:base].mean())
    mr = np.abs(np.diff(x[:base]))
    sigma = float(mr.mean() / D2[2])
    rules = western_electric(x.tolist(), center, [sigma] * x.size)
    labels = list(keys) if keys is not None else list(range(1, x.size + 1))
    points = [
        {"key": k, "value": float(v), "rules": r, "phase": 1 if i < base else 2}
        for i, (k, v, r) in enumerate(zip(labels, x, rules, strict=True))
    ]
    mr_bar = float(mr.mean())
    moving = {
        "center": mr_bar,
        "ucl": 3.267 * mr_bar,  # D4(2)
        "points": [
            {"key": labels[i + 1], "value": float(v), "beyond": bool(v > 3.267 * mr_bar)}
            for i, v in enumerate(np.abs(np.diff(x)))
        ],
    }
    stages = [_stage(1, x[:base])] + ([_stage(2, x[base:])] if base < x.size else [])
    return Chart(
        "individuals",
        center,
        sigma,
        center - 3 * sigma,
        center + 3 * sigma,
        points,
        phase1,
        stages,
        moving,
    )


def _stage(number: int, x: np.ndarray) -> dict[str, Any]:
    """Centre and limits of one stage from its own points (before or after a change)."""
    sigma = float(np.abs(np.diff(x)).mean() / D2[2]) if x.size > 1 else 0.0
    c = float(x.mean())
    return {
        "stage": number,
        "points": int(x.size),
        "center": c,
        "sigma": sigma,
        "lcl": c - 3 * sigma,
        "ucl": c + 3 * sigma,
    }


def xbar(groups: Sequence[tuple[Any, Sequence[float]]], *, phase1: int | None = None) -> Chart:
    """An X̄ chart of subgroups ``(key, values)``; sigma from the average range."""
    if len(groups) < 2:
        raise InputError(f"an X-bar chart needs at least 2 subgroups; got {len(groups)}")
    sizes = [len(v) for _, v in groups]
    if min(sizes) < 2 or max(sizes) > 25:
        raise InputError(
            f"X-bar subgroups need 2 to 25 values each; sizes found: {sorted(set(sizes))}"
        )
    arrays = [_check(v, "X-bar chart subgroup", 2) for _, v in groups]
    base = _phase(len(groups), phase1, 2)
    means = np.array([a.mean() for a in arrays])
    center = float(means[:base].mean())
    sigma = float(np.mean([np.ptp(a) / D2[a.size] for a in arrays[:base]]))
    per_point = [sigma / math.sqrt(a.size) for a in arrays]
    rules = western_electric(means.tolist(), center, per_point)
    points = [
        {
            "key": k,
            "value": float(m),
            "n": a.size,
            "rules": r,
            "phase": 1 if i < base else 2,
            "lcl": center - 3 * s,
            "ucl": center + 3 * s,
        }
        for i, ((k, _), a, m, r, s) in enumerate(
            zip(groups, arrays, means, rules, per_point, strict=True)
        )
    ]
    typical = sigma / math.sqrt(float(np.median(sizes)))
    return Chart("xbar", center, sigma, center - 3 * typical, center + 3 * typical, points, phase1)


def p_chart(groups: Sequence[tuple[Any, int, int]], *, phase1: int | None = None) -> Chart:
    """A p chart of ``(key, defectives, inspected)``; limits vary with each subgroup's size."""
    if len(groups) < 2:
        raise InputError(f"a p chart needs at least 2 subgroups; got {len(groups)}")
    for key, d, n in groups:
        if n <= 0 or d < 0 or d > n:
            raise InputError(f"subgroup {key!r}: {d} defectives of {n} inspected is not possible")
    base = _phase(len(groups), phase1, 2)
    pbar = sum(d for _, d, _ in groups[:base]) / sum(n for _, _, n in groups[:base])
    sigmas = [math.sqrt(pbar * (1 - pbar) / n) for _, _, n in groups]
    shares = [d / n for _, d, n in groups]
    rules = western_electric(shares, pbar, sigmas)
    points = [
        {
            "key": k,
            "value": p,
            "n": n,
            "rules": r,
            "phase": 1 if i < base else 2,
            "lcl": max(0.0, pbar - 3 * s),
            "ucl": min(1.0, pbar + 3 * s),
        }
        for i, ((k, _, n), p, r, s) in enumerate(zip(groups, shares, rules, sigmas, strict=True))
    ]
    typical = float(np.median(sigmas))
    return Chart(
        "p",
        pbar,
        typical,
        max(0.0, pbar - 3 * typical),
        min(1.0, pbar + 3 * typical),
        points,
        phase1,
    )
