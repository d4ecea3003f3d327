"""How an alarm is judged: SKAB's outlier metrics and the Numenta Anomaly Benchmark (NAB) score.

* **F1, false-alarm rate, missed-alarm rate** (SKAB's outlier problem): every test row is a binary
  prediction against the ``anomaly`` label; FAR = FP / (FP + TN), MAR = FN / (FN + TP).
* **NAB score** (Lavin & Ahmad 2015, ``nab/sweeper.py``): each labelled window is worth
  ``tp_weight`` for a detection at its left edge, falling along a scaled sigmoid to 0 at its
  right edge (only the best detection in a window counts); each detection outside a window costs
  ``fp_weight`` times a sigmoid of its distance past the previous window (a full ``fp_weight``
  before any window or 3 window-lengths after); a window without a detection costs ``fn_weight``.
  Raw scores are summed over files and normalised so that the null detector scores 0 and a
  perfect one 100. A detection is the onset of an alarm, not every alarmed row. NAB's
  probationary period is not applied: the back-test scores only rows after the training window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: NAB's application profiles (``config/profiles.json``): weights of TP, FP and FN.
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, 0.11, 1.0),
    "low_fp": (1.0, 0.22, 1.0),
    "low_fn": (1.0, 0.11, 2.0),
}


@dataclass(frozen=True)
class Rates:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def f1(self) -> float:
        d = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / d if d else 0.0

    @property
    def far(self) -> float:
        """False-alarm rate: share of normal rows in alarm."""
        d = self.fp + self.tn
        return self.fp / d if d else 0.0

    @property
    def mar(self) -> float:
        """Missed-alarm rate: share of anomalous rows not in alarm."""
        d = self.fn + self.tp
        return self.fn / d if d else 0.0


def rates(label: NDArray[np.bool_], alarm: NDArray[np.bool_]) -> Rates:
    """Row-by-row confusion counts of ``alarm`` against ``label``."""
    y, p = np.asarray(label, dtype=bool), np.asarray(alarm, dtype=bool)
    return Rates(
        tp=int((y & p).sum()),
        fp=int((~y & p).sum()),
        fn=int((y & ~p).sum()),
        tn=int((~y & ~p).sum()),
    )


def scaled_sigmoid(position: float) -> float:
    """NAB's scaled sigmoid: 0.9866 at -1 (a window's left edge), 0 at 0, -1 from 3 on."""
    if position >= 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * position)) - 1.0


def runs(flag: NDArray[np.bool_]) -> list[tuple[int, int]]:
    """(first, last) row of each run of true values, last inclusive."""
    f = np.concatenate([[False], np.asarray(flag, dtype=bool), [False]])
    d = np.diff(f.astype(np.int8))
    return list(
        zip(np.flatnonzero(d == 1).tolist(), (np.flatnonzero(d == -1) - 1).tolist(), strict=True)
    )


def nab_raw(
    windows: Sequence[tuple[int, int]],
    detections: Sequence[int],
    *,
    weights: tuple[float, float, float],
) -> float:
    """NAB's raw score of one file: ``windows`` as (first, last) rows, ``detections`` as rows."""
    tp_w, fp_w, fn_w = weights
    max_tp = scaled_sigmoid(-1.0)
    best = [-fn_w] * len(windows)
    fp = 0.0
    starts = np.array([w[0] for w in windows], dtype=np.int64)
    ends = np.array([w[1] for w in windows], dtype=np.int64)
    for d in sorted(detections):
        k = int(np.searchsorted(starts, d, side="right")) - 1
        if k >= 0 and d <= ends[k]:
            width = ends[k] - starts[k] + 1
            s = scaled_sigmoid(-(ends[k] - d + 1) / width) * tp_w / max_tp
            best[k] = max(best[k], s)
            continue
        before = np.flatnonzero(ends < d)
        if len(before) == 0:
            position = 3.0
        else:
            p = int(before[-1])
            position = abs(int(ends[p]) - d) / max(int(ends[p] - starts[p]), 1)
        fp += scaled_sigmoid(position) * fp_w
    return float(sum(best) + fp)


@dataclass(frozen=True)
class NabFile:
    """One file's part of a NAB score: its windows and the detector's detections (rows)."""

    windows: list[tuple[int, int]]
    detections: list[int]


def nab_score(files: Sequence[NabFile]) -> dict[str, float]:
    """NAB scores (0 = null detector, 100 = perfect) per profile, summed over ``files``."""
    out = {}
    n = sum(len(f.windows) for f in files)
    for name, weights in PROFILES.items():
        tp_w, _, fn_w = weights
        raw = sum(nab_raw(f.windows, f.detections, weights=weights) for f in files)
        null, perfect = -fn_w * n, tp_w * n
        out[name] = 100.0 * (raw - null) / (perfect - null) if n else 0.0
    return out


def delays(
    windows: Sequence[tuple[int, int]], detections: Sequence[int], seconds: NDArray[np.float64]
) -> list[float]:
    """Seconds from each window's start to the first detection inside it (found windows only)."""
    det = np.sort(np.asarray(detections, dtype=np.int64))
    out = []
    for first, last in windows:
        k = int(np.searchsorted(det, first))
        if k < len(det) and det[k] <= last:
            out.append(float(seconds[det[k]] - seconds[first]))
    return out
