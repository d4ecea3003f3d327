"""Calibration on simulated shop-floor series: AR(1) noise with and without a known effect.

The primary interval must cover the true effect in about 95 % of runs and, with no effect,
claim one in about 5 % of runs. 1,000 runs each for a 30 + 30 day pilot with ρ = 0.5.
"""

from __future__ import annotations

import numpy as np

from pilotline.pilot.stats import ar1_segmented_regression

RUNS = 1000


def _series(
    rng: np.random.Generator, effect: float, rho: float = 0.5, n: int = 60, k: int = 30
) -> np.ndarray:
    e = np.zeros(n)
    e[0] = rng.normal(0, 2 / np.sqrt(1 - rho**2))
    for i in range(1, n):
        e[i] = rho * e[i - 1] + rng.normal(0, 2)
    y = 60 + e
    y[k:] += effect
    return y


def test_interval_covers_a_known_effect_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(2026)
    hits = 0
    for _ in range(RUNS):
        est = ar1_segmented_regression(_series(rng, 3.0), intervention=30)
        hits += est.low <= 3.0 <= est.high
    assert 0.92 <= hits / RUNS <= 0.98, hits / RUNS


def test_false_positive_rate_with_no_effect_stays_near_5_percent() -> None:
    rng = np.random.default_rng(11)
    claims = 0
    for _ in range(RUNS):
        est = ar1_segmented_regression(_series(rng, 0.0), intervention=30)
        claims += not (est.low <= 0.0 <= est.high)
    assert claims / RUNS <= 0.08, claims / RUNS


def test_a_naive_t_test_would_claim_far_too_often() -> None:
    """The reason for all this: ignoring autocorrelation doubles or triples false alarms."""
    from scipy.stats import ttest_ind

    rng = np.random.default_rng(3)
    claims = sum(ttest_ind(*np.split(_series(rng, 0.0), 2)).pvalue < 0.05 for _ in range(RUNS))
    assert claims / RUNS > 0.12


def test_switchback_interval_is_calibrated_and_ignores_a_drift() -> None:
    """Alternating on/off days with AR(1) noise and a slow drift: ~95 % coverage of the effect."""
    from pilotline.pilot.stats import switchback

    rng = np.random.default_rng(7)
    on = [i % 2 == 0 for i in range(40)]
    hits = 0
    for _ in range(RUNS):
        y = _series(rng, 0.0, n=40, k=40)[:40] + 0.05 * np.arange(40) + 2.0 * np.array(on)
        est = switchback(y, on)
        hits += est.low <= 2.0 <= est.high
    assert 0.92 <= hits / RUNS <= 0.98, hits / RUNS
