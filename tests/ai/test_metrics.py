"""The metrics against hand-worked examples (SKAB's outlier metrics, the NAB score)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from pilotline.ai.metrics import NabFile, delays, nab_raw, nab_score, rates, runs, scaled_sigmoid

STANDARD = (1.0, 0.11, 1.0)


def test_f1_far_mar_by_hand() -> None:
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0], dtype=bool)
    p = np.array([0, 1, 0, 0, 0, 1, 1, 1, 1, 0], dtype=bool)
    r = rates(y, p)
    assert (r.tp, r.fp, r.fn, r.tn) == (3, 2, 1, 4)
    assert r.f1 == pytest.approx(6 / 9)  # 2·3 / (2·3 + 2 + 1)
    assert r.far == pytest.approx(2 / 6)
    assert r.mar == pytest.approx(1 / 4)


def test_scaled_sigmoid_published_points() -> None:
    # NAB's docstring: -1 → 0.98661, -0.5 → 0.84828, 0 → 0, 1 → -0.98661, ≥ 3 → -1
    assert scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert scaled_sigmoid(-0.5) == pytest.approx(0.84828, abs=1e-5)
    assert scaled_sigmoid(0.0) == 0.0
    assert scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert scaled_sigmoid(3.0) == -1.0


def test_nab_null_is_0_and_perfect_is_100() -> None:
    files = [NabFile([(10, 19), (50, 59)], []), NabFile([(5, 9)], [])]
    assert nab_score(files) == {"standard": 0.0, "low_fp": 0.0, "low_fn": 0.0}
    perfect = [NabFile([(10, 19), (50, 59)], [10, 50]), NabFile([(5, 9)], [5])]
    assert nab_score(perfect) == {
        "standard": pytest.approx(100.0),
        "low_fp": pytest.approx(100.0),
        "low_fn": pytest.approx(100.0),
    }


def test_nab_early_and_late_detection_by_hand() -> None:
    # One window of 10 rows (10..19). A detection at row 12: position -(19 - 12 + 1)/10 = -0.8.
    early = 2 / (1 + math.exp(5 * -0.8)) - 1
    max_tp = 2 / (1 + math.exp(-5)) - 1
    assert nab_raw([(10, 19)], [12], weights=STANDARD) == pytest.approx(early / max_tp)
    # A late one at row 19 (the right edge): position -0.1, worth much less.
    late = (2 / (1 + math.exp(5 * -0.1)) - 1) / max_tp
    assert nab_raw([(10, 19)], [19], weights=STANDARD) == pytest.approx(late)
    assert late < early / max_tp
    # Both: only the best detection in a window counts.
    assert nab_raw([(10, 19)], [12, 19], weights=STANDARD) == pytest.approx(early / max_tp)
    # A detection before any window costs the whole false-positive weight, and the missed
    # window costs the false-negative weight.
    assert nab_raw([(10, 19)], [2], weights=STANDARD) == pytest.approx(-0.11 - 1.0)
    # One 5 rows after the window (width 10): position 5/9 past its edge.
    after = (2 / (1 + math.exp(5 * 5 / 9)) - 1) * 0.11
    assert nab_raw([(10, 19)], [12, 24], weights=STANDARD) == pytest.approx(early / max_tp + after)


def test_nab_normalised_score_of_one_early_detection() -> None:
    raw = nab_raw([(0, 9)], [0], weights=STANDARD)
    assert raw == pytest.approx(1.0)
    half = nab_score([NabFile([(0, 9), (20, 29)], [0])])["standard"]
    assert half == pytest.approx(50.0)  # (1 − 1 − (−2)) / (2 − (−2))


def test_runs_and_delays() -> None:
    flag = np.array([0, 1, 1, 0, 0, 1, 0, 1, 1, 1], dtype=bool)
    assert runs(flag) == [(1, 2), (5, 5), (7, 9)]
    seconds = np.arange(10, dtype=float) * 2.0
    assert delays([(1, 2), (7, 9)], [2, 8], seconds) == [2.0, 2.0]
