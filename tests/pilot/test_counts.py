"""Counts per exposure: the rate ratio (quasi-Poisson, log exposure as offset) is the primary
estimate and the verdict, checked against statsmodels' GLM fitted here from scratch."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import statsmodels.api as sm

from pilotline.pilot import Sources, counts, evaluate, load_pilot
from tests.conftest import write

MONTHLY = """
title = "Autonomous maintenance on the filler"
owner = "Maintenance lead"
hypothesis = "If operators clean and inspect daily, stoppages per 1,000 cases fall by a third."
unit = "month"
seasonality = "yearly"
review_date = 2026-01-15
[baseline]
start = 2022-01-01
end = 2025-01-01
[pilot]
start = 2025-01-01
end = 2026-01-01
[metric]
file = "stops.csv"
column = "stops"
exposure_column = "cases"
direction = "decrease"
[money]
one_off = 5000
value_per_unit = 150
"""


def _monthly(path: Path, *, months: int = 48, change: int = 36, ratio: float = 0.7) -> dict:
    """Stoppages per month with a yearly rhythm (two harmonics), over-dispersed, with the rate
    multiplied by ``ratio`` from month ``change``."""
    rng = np.random.default_rng(2025)
    m = np.arange(months)
    cases = rng.integers(80_000, 120_000, months).astype(float)
    season = 0.25 * np.sin(2 * np.pi * m / 12) + 0.15 * np.cos(2 * np.pi * m / 12)
    season += 0.1 * np.sin(4 * np.pi * m / 12)
    mean = cases / 1000 * 2.0 * np.exp(season) * np.where(m >= change, ratio, 1.0)
    stops = rng.poisson(mean * rng.gamma(20, 1 / 20, months))  # more scatter than Poisson
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "stops", "cases"])
        for i in range(months):
            w.writerow([dt.date(2022 + i // 12, i % 12 + 1, 1).isoformat(), stops[i], cases[i]])
    return {"stops": stops.astype(float), "cases": cases, "m": m.astype(float)}


def _reference(data: dict, change: int, *, slope: bool = False) -> tuple:
    """statsmodels' quasi-Poisson GLM: trend, step (and slope), two yearly harmonic pairs."""
    m = data["m"]
    after = (m >= change).astype(float)
    cols = [np.ones_like(m), m, after] + ([(m - change) * after] if slope else [])
    for k in (1, 2):
        cols += [np.sin(2 * np.pi * k * m / 12), np.cos(2 * np.pi * k * m / 12)]
    fit = sm.GLM(
        data["stops"],
        np.column_stack(cols),
        family=sm.families.Poisson(),
        offset=np.log(data["cases"]),
    ).fit(scale="X2")
    return fit


def test_a_monthly_rate_ratio_with_a_yearly_rhythm_is_statsmodels_glm(tmp_path: Path) -> None:
    data = _monthly(tmp_path / "stops.csv")
    result = evaluate(
        load_pilot(write(tmp_path / "p.toml", MONTHLY)), Sources(), as_of=dt.date(2026, 2, 1)
    )
    ref = _reference(data, 36)
    low, high = np.exp(ref.conf_int()[2])
    eff = result["effect"]
    assert eff["method"] == "rate ratio (quasi-Poisson)"
    assert eff["value"] == pytest.approx(np.exp(ref.params[2]), rel=1e-9)
    assert eff["low"] == pytest.approx(low, rel=1e-9)
    assert eff["high"] == pytest.approx(high, rel=1e-9)
    assert eff["p_value"] == pytest.approx(ref.pvalues[2], rel=1e-6)
    assert eff["dispersion"] == pytest.approx(ref.scale, rel=1e-9)
    assert eff["low"] < 0.7 < eff["high"] < 1  # the true ratio, and a real fall
    assert {"year_sin1", "year_cos1", "year_sin2", "year_cos2"} <= set(eff["coefficients"])
    assert result["unit"] == "month" and result["baseline"]["points"] == 36
    assert result["verdict"].startswith(
        f"stops per cases likely down {(1 - eff['value']) * 100:.0f} % (rate ratio {eff['value']:.2f}"
    )
    # Money: the ratio turns into stoppages per month avoided, at 1 period per month.
    avoided = (1 - eff["value"]) * eff["expected_without_change_per_period"]
    assert result["money"]["monthly_net_value"]["median"] == pytest.approx(150 * avoided, rel=0.02)


def test_a_level_and_slope_change_is_the_ratio_at_the_pilots_mean_distance(tmp_path: Path) -> None:
    data = _monthly(tmp_path / "stops.csv")
    est = counts.rate_ratio(
        data["stops"],
        data["cases"],
        intervention=36,
        slope=True,
        extra=np.column_stack(
            [f(2 * np.pi * k * data["m"] / 12) for k in (1, 2) for f in (np.sin, np.cos)]
        ),
    )
    ref = _reference(data, 36, slope=True)
    w = np.zeros(ref.params.size)
    w[2], w[3] = 1.0, np.mean(np.arange(12))
    assert est.details["log_ratio"] == pytest.approx(w @ ref.params, rel=1e-9)
    assert est.details["se"] == pytest.approx(np.sqrt(w @ ref.cov_params() @ w), rel=1e-9)


def test_a_switchback_of_counts_is_the_glm_on_the_on_flag() -> None:
    rng = np.random.default_rng(3)
    n = 40
    on = np.arange(n) % 2 == 0
    parts = rng.integers(900, 1100, n).astype(float)
    defects = rng.poisson(parts * 0.02 * np.where(on, 0.6, 1.0)).astype(float)
    est = counts.switchback_rate_ratio(defects, parts, on.tolist())
    X = np.column_stack([np.ones(n), np.arange(n), on.astype(float)])
    ref = sm.GLM(defects, X, family=sm.families.Poisson(), offset=np.log(parts)).fit(scale="X2")
    assert est.value == pytest.approx(np.exp(ref.params[2]), rel=1e-9)
    assert (est.low, est.high) == pytest.approx(tuple(np.exp(ref.conf_int()[2])), rel=1e-9)


def test_the_verdict_follows_the_rate_not_the_raw_counts(tmp_path: Path) -> None:
    """More parts made, so more defects in all, but fewer per part: the verdict says down."""
    rng = np.random.default_rng(8)
    with (tmp_path / "stops.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "stops", "cases"])
        for i in range(48):
            cases = rng.integers(80_000, 90_000) * (2 if i >= 36 else 1)
            rate = 2.0 / 1000 * (0.7 if i >= 36 else 1.0)
            w.writerow(
                [
                    dt.date(2022 + i // 12, i % 12 + 1, 1).isoformat(),
                    rng.poisson(cases * rate),
                    cases,
                ]
            )
    spec = MONTHLY.replace('seasonality = "yearly"', 'seasonality = "none"')
    result = evaluate(
        load_pilot(write(tmp_path / "p.toml", spec)), Sources(), as_of=dt.date(2026, 2, 1)
    )
    assert result["effect"]["high"] < 1
    assert "likely down" in result["verdict"]
    (its,) = [
        e for e in result["estimates"] if e["method"].startswith("interrupted time series (AR")
    ]
    assert its["high"] < 0  # the secondary estimates are on the rate too, not on raw counts


def test_daily_counts_with_a_yearly_rhythm_are_statsmodels_glm(tmp_path: Path) -> None:
    """Two years of daily stoppages with a summer peak: the yearly terms are of the date."""
    rng = np.random.default_rng(17)
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(730)]
    ordinal = np.array([d.toordinal() for d in days], dtype=float)
    k = sum(d < dt.date(2025, 10, 1) for d in days)  # the pilot starts on 1 October 2025
    hours = rng.integers(14, 17, 730).astype(float)
    mean = hours * 0.3 * np.exp(0.4 * np.sin(2 * np.pi * ordinal / 365.2425))
    stops = rng.poisson(mean * np.where(np.arange(730) >= k, 0.8, 1.0))
    with (tmp_path / "stops.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "stops", "hours"])
        w.writerows(zip([d.isoformat() for d in days], stops, hours, strict=True))
    spec = (
        MONTHLY.replace('unit = "month"', 'unit = "day"')
        .replace("start = 2022-01-01\nend = 2025-01-01", "start = 2024-01-01\nend = 2025-10-01")
        .replace("start = 2025-01-01\nend = 2026-01-01", "start = 2025-10-01\nend = 2025-12-31")
        .replace('exposure_column = "cases"', 'exposure_column = "hours"')
    )
    result = evaluate(
        load_pilot(write(tmp_path / "p.toml", spec)), Sources(), as_of=dt.date(2026, 2, 1)
    )
    t = np.arange(730.0)
    after = (t >= k).astype(float)
    cols = [np.ones(730), t, after]
    for k in (1, 2):
        cols += [f(2 * np.pi * k * ordinal / 365.2425) for f in (np.sin, np.cos)]
    ref = sm.GLM(
        stops, np.column_stack(cols), family=sm.families.Poisson(), offset=np.log(hours)
    ).fit(scale="X2")
    eff = result["effect"]
    assert eff["value"] == pytest.approx(np.exp(ref.params[2]), rel=1e-8)
    assert (eff["low"], eff["high"]) == pytest.approx(tuple(np.exp(ref.conf_int()[2])), rel=1e-8)
    assert eff["low"] < 0.8 < eff["high"]
