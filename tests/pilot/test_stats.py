"""Statistics against reference values (statsmodels, R's pwr) and known constructions."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm

from pilotline.errors import InputError
from pilotline.pilot import counts, stats


def test_two_sample_power_matches_pwr_and_statsmodels() -> None:
    assert stats.two_sample_n(0.5, alpha=0.05, power=0.8) == pytest.approx(63.77, abs=0.01)


def test_hac_segmented_regression_against_statsmodels() -> None:
    rng = np.random.default_rng(5)
    y = 50 + 0.1 * np.arange(40) + rng.normal(0, 1, 40)
    y[20:] += 2
    est = stats.segmented_regression(y, intervention=20, hac_lags=3)
    t = np.arange(40.0)
    after = (t >= 20).astype(float)
    X = np.column_stack([np.ones(40), t, after, (t - 20) * after])
    ref = sm.OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": 3})
    assert est.details["coefficients"]["level_change"] == pytest.approx(ref.params[2])
    assert est.details["standard_errors"]["slope_change"] == pytest.approx(ref.bse[3])
    w = np.array([0, 0, 1, np.mean(np.arange(20))])
    assert est.value == pytest.approx(w @ ref.params)
    assert est.high - est.value == pytest.approx(
        1.959964 * np.sqrt(w @ ref.cov_params() @ w), rel=1e-5
    )


def test_autocorrelation_shrinks_the_effective_sample() -> None:
    assert stats.effective_n(30, 0.5) == pytest.approx(10.0)
    rng = np.random.default_rng(2)
    e = np.zeros(200)
    for i in range(1, 200):
        e[i] = 0.6 * e[i - 1] + rng.normal()
    plan = stats.minimum_detectable_effect(e[:100], pilot_points=100)
    assert 0.3 < plan["rho"] < 0.8  # estimated from 100 points of an AR(1) with ρ = 0.6
    assert plan["mde"] > 1.5 * plan["naive_mde"]
    need = stats.points_for_effect(e[:100], effect=plan["mde"])
    assert need is not None and abs(need - 100) <= 10


def test_difference_in_differences_removes_a_shared_shift() -> None:
    rng = np.random.default_rng(9)
    control = 60 + rng.normal(0, 1, 40)
    treated = 55 + rng.normal(0, 1, 40)
    control[20:] += 4  # something hit both lines
    treated[20:] += 4 + 2.5  # and the pilot added 2.5
    est = stats.difference_in_differences(treated, control, intervention=20)
    assert est.low < 2.5 < est.high
    assert len(est.details["event_study"]) == 40


def test_proportions_and_bootstrap_and_sequence() -> None:
    est = stats.proportions(60, 1000, 30, 1000)
    assert est.value == pytest.approx(-0.03) and est.high < 0
    x, y = np.full(20, 10.0) + np.arange(20) % 3, np.full(20, 12.0) + np.arange(20) % 3
    boot = stats.block_bootstrap_difference(x, y, runs=500)
    assert boot.value == pytest.approx(2.0) and boot.low > 0
    cs = stats.confidence_sequence(x, y)
    assert cs.low < boot.low and cs.high > boot.high  # always-valid costs width


def test_too_little_or_missing_data_is_refused() -> None:
    with pytest.raises(InputError, match="at least 3 points before and after"):
        stats.ar1_segmented_regression(np.arange(10.0), intervention=1)
    with pytest.raises(InputError, match="1 missing value"):
        stats.ar1_segmented_regression([1.0, 2.0, np.nan, 4, 5, 6, 7, 8, 9], intervention=4)


def test_count_outcomes_by_quasi_poisson_with_an_offset() -> None:
    rng = np.random.default_rng(8)
    parts = rng.integers(800, 1200, 40).astype(float)
    rate = np.where(np.arange(40) >= 20, 0.01, 0.02)  # defects per part halve
    defects = rng.poisson(parts * rate)
    est = counts.rate_ratio(defects, parts, intervention=20)
    t = np.arange(40.0)
    X = np.column_stack([np.ones(40), t, (t >= 20).astype(float)])
    ref = sm.GLM(defects, X, family=sm.families.Poisson(), offset=np.log(parts)).fit(scale="X2")
    assert est.value == pytest.approx(np.exp(ref.params[2]))
    assert est.details["se"] == pytest.approx(ref.bse[2])
    assert est.low < 0.5 < est.high and est.high < 1.0
