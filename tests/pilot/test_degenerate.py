"""Data that cannot give an honest answer is refused with the reason, never answered with a
confident number: constant metrics, a control line that is the pilot line, values too large to
compute with, too few points, empty exposure, missing cells, negative counts.

The named cases come from an attacker's review; the Hypothesis tests look for more."""

from __future__ import annotations

import csv
import datetime as dt
import math
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.errors import InputError, PilotlineError
from pilotline.pilot import Sources, evaluate, load_pilot, plan, stats
from pilotline.pilot.counts import rate_ratio
from pilotline.pilot.money import months_text
from tests.conftest import clock_env, write

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
START = dt.date(2026, 9, 1)

SPEC = """
title = "Probe"
owner = "Attacker"
hypothesis = "If we change nothing, nothing changes."
unit = "day"
review_date = 2026-10-01
{extra}
[baseline]
start = 2026-09-01
end = 2026-09-21
[pilot]
start = 2026-09-21
end = 2026-10-01
[metric]
file = "data.csv"
column = "value"
{metric}
[money]
one_off = 1000
value_per_unit = 10
"""


def _write(
    folder: Path,
    values: list[float] | np.ndarray,
    *,
    control: list[float] | np.ndarray | None = None,
    exposure: list[float] | np.ndarray | None = None,
    extra: str = "",
    metric: str = "",
    dates: list[dt.date] | None = None,
) -> Path:
    dates = dates or [START + dt.timedelta(days=i) for i in range(len(values))]
    with (folder / "data.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "value", "control", "exposure"])
        for i, day in enumerate(dates):
            w.writerow(
                [
                    day.isoformat(),
                    repr(float(values[i])),
                    repr(float(control[i])) if control is not None else 1.0,
                    repr(float(exposure[i])) if exposure is not None else 1.0,
                ]
            )
    if exposure is not None:
        metric += '\nexposure_column = "exposure"'
    if control is not None:
        extra += '\ndesign = "control"'
        metric += '\n[control]\nfile = "data.csv"\ncolumn = "control"'
    return write(folder / "pilot.toml", SPEC.format(extra=extra, metric=metric))


def _evaluate(path: Path) -> dict:
    return evaluate(load_pilot(path), Sources(), as_of=dt.date(2026, 10, 2))


def _noise(n: int = 30, seed: int = 1) -> np.ndarray:
    return np.round(100 + np.random.default_rng(seed).normal(0, 2, n), 3)


def _counts(n: int = 30, seed: int = 2) -> np.ndarray:
    return np.random.default_rng(seed).poisson(20, n).astype(float)


CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "a constant metric": (
        lambda d: _write(d, [100.0] * 30),
        r"value is 100 in every day, before and during the pilot: with no variation",
    ),
    "a control line that is the treated line": (
        lambda d: _write(d, _noise(), control=_noise()),
        "the control line's values are the pilot line's, period for period",
    ),
    "a control line a constant distance away": (
        lambda d: _write(d, _noise(), control=_noise() - 7.5),
        "the gap between the pilot line and the control line is the same",
    ),
    "values of 1e308": (
        lambda d: _write(d, [1e308 if i % 2 else -1e308 for i in range(30)]),
        r"values as large as 1e\+308; numbers beyond 1e\+100 cannot be squared",
    ),
    "a metric that is a formula of the date": (
        lambda d: _write(d, [50 + 0.5 * i + (3 if i >= 20 else 0) for i in range(30)]),
        "value moves in an exact straight line through the baseline: with no noise",
    ),
    "a baseline stuck at one value": (
        lambda d: _write(d, [*[7.0] * 20, *_noise(10)]),
        "value is 7 in every day of the baseline",
    ),
    "too few points": (
        lambda d: _write(d, _noise(22)),
        r"too few points: the baseline has 20 \(needs 5\) and the pilot 2",
    ),
    "more model terms than points": (
        lambda d: _write(
            d,
            _noise(9),
            dates=[START + dt.timedelta(days=i) for i in range(6)]
            + [dt.date(2026, 9, 21) + dt.timedelta(days=i) for i in range(3)],
            extra='seasonality = "weekday"',
        ),
        r"the series has 9 points for 9 model terms .*it needs at least 12",
    ),
    "an exposure that is all zero": (
        lambda d: _write(d, _counts(), exposure=[0.0] * 30),
        "the exposure is zero or negative in 30 of 30 periods",
    ),
    "negative counts": (
        lambda d: _write(d, np.where(np.arange(30) == 4, -3, _counts()), exposure=[500.0] * 30),
        r"the counts are negative in 1 period\(s\)",
    ),
    "no counts before the change": (
        lambda d: _write(d, [0.0] * 20 + [1, 0, 2, 0, 1, 0, 0, 1, 0, 1], exposure=[500.0] * 30),
        r"no counts at all before the change \(0 before, 6 with it\)",
    ),
    "no counts during the pilot": (
        lambda d: _write(d, np.r_[_counts(20), np.zeros(10)], exposure=[500.0] * 30),
        "no counts at all with the change",
    ),
    "counts that are a fixed share of the exposure": (
        lambda d: _write(d, 2 * (300 + 10 * np.arange(30.0)), exposure=300 + 10 * np.arange(30.0)),
        "fits every point exactly",
    ),
    "an empty cell": (
        lambda d: _write(d, [*_noise(7), math.nan, *_noise(22)]),
        r"row 9, column 'value': 'nan' is not a number",
    ),
    "an infinite cell": (
        lambda d: _write(d, [*_noise(3), math.inf, *_noise(26)]),
        r"row 5, column 'value': 'inf' is not a number",
    ),
    "an infinite exposure": (
        lambda d: _write(d, _counts(), exposure=[*[500.0] * 29, math.inf]),
        r"row 31, column 'exposure': 'inf' is not a number",
    ),
    "two rows for one day": (
        lambda d: _write(
            d, _noise(), dates=[START + dt.timedelta(days=min(i, 28)) for i in range(30)]
        ),
        r"rows 30 and 31: two rows for the same day \(2026-09-29\)",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_degenerate_data_is_refused_with_the_reason(tmp_path: Path, case: str) -> None:
    make, message = CASES[case]
    with pytest.raises(InputError, match=message):
        _evaluate(make(tmp_path))


def test_rows_out_of_order_are_put_in_date_order(tmp_path: Path) -> None:
    values = _noise()
    dates = [START + dt.timedelta(days=i) for i in range(30)]
    path = _write(tmp_path, values[::-1], dates=dates[::-1])
    assert _evaluate(path)["series"]["values"] == pytest.approx(values)


def test_two_rows_for_one_month_are_refused(tmp_path: Path) -> None:
    dates = [dt.date(2024 + i // 12, i % 12 + 1, 1) for i in range(30)]
    dates[5] = dt.date(2024, 5, 15)
    metric = load_pilot(_write(tmp_path, _noise(), dates=dates)).metric
    with pytest.raises(InputError, match=r"rows 6 and 7: two rows for the same month"):
        Sources().series(metric, "month", dt.date(2024, 1, 1), dt.date(2027, 1, 1))


def test_a_model_that_fits_every_point_is_refused() -> None:
    line = 50 + 0.5 * np.arange(30.0) + 3 * (np.arange(30) >= 20)
    with pytest.raises(InputError, match="fits every point exactly"):
        stats.ar1_segmented_regression(line, intervention=20)
    with pytest.raises(InputError, match="fits every point exactly"):
        stats.segmented_regression(line, intervention=20)


def test_terms_the_data_cannot_tell_apart_are_refused() -> None:
    after = (np.arange(30) >= 20).astype(float)
    rhythm = np.column_stack([after * 2.0])  # a "rhythm" that is on exactly during the pilot
    with pytest.raises(InputError, match=r"model terms \(const, trend, level_change, x\) cannot"):
        stats.ar1_segmented_regression(_noise(), intervention=20, extra=rhythm, extra_names=["x"])
    with pytest.raises(InputError, match="cannot be told apart"):
        rate_ratio(_counts(), np.full(30, 500.0), intervention=20, extra=rhythm)


def test_a_constant_baseline_cannot_be_planned(tmp_path: Path) -> None:
    path = _write(tmp_path, [100.0] * 20 + list(_noise(10)))
    with pytest.raises(InputError, match="100 in every day of the baseline"):
        plan(load_pilot(path), Sources())


def test_the_cli_prints_the_reason_without_a_traceback(tmp_path: Path) -> None:
    path = _write(tmp_path, [100.0] * 30)
    done = subprocess.run(
        [PILOTLINE, "pilot", "evaluate", str(path), "--as-of", "2026-10-02"],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", **clock_env(), "PILOTLINE_HOME": str(tmp_path / "home")},
        check=False,
    )
    assert done.returncode == 1
    assert "is 100 in every day" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "payback" not in done.stdout


def test_a_payback_of_centuries_is_not_printed_as_a_number() -> None:
    assert months_text(8910642189643539.0) == "over 100 years"
    assert months_text(math.inf) == "never"
    assert months_text(18) == "18 months"


# Property tests: whatever the numbers, the answer is finite and ordered, or a refusal.

SPECIAL = [0.0, -0.0, 1e-308, 5e-324, 1e100, 1e101, 1e150, 1e308, -1e308, 3.0, 100.0]
reasonable = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
value = st.one_of(reasonable, st.sampled_from(SPECIAL))
series = st.one_of(
    st.lists(value, min_size=30, max_size=30),
    st.tuples(value, st.integers(0, 29), value).map(
        lambda t: [t[0]] * t[1] + [t[2]] * (30 - t[1])  # constant, or a single step
    ),
)


def _assert_honest(result: dict) -> None:
    eff = result["effect"]
    assert all(math.isfinite(eff[k]) for k in ("value", "low", "high"))
    assert eff["low"] <= eff["value"] <= eff["high"]
    assert eff["low"] < eff["high"]
    assert eff["p_value"] is None or 0 <= eff["p_value"] <= 1
    for e in result["estimates"]:
        assert all(math.isfinite(e[k]) for k in ("value", "low", "high"))
    assert "nan" not in result["verdict"] and "inf" not in result["verdict"]
    money = result["money"]
    assert not math.isnan(money["payback_months"]["median"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=series,
    design=st.sampled_from(["", 'seasonality = "weekday"', 'its_model = "level_and_slope"']),
)
def test_any_series_gets_an_honest_answer_or_a_refusal(values: list[float], design: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), values, extra=design)
        try:
            result = _evaluate(path)
        except PilotlineError:
            return
        _assert_honest(result)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(treated=series, control=series)
def test_any_control_line_gets_an_honest_answer_or_a_refusal(
    treated: list[float], control: list[float]
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = _write(Path(folder), treated, control=control)
        try:
            result = _evaluate(path)
        except PilotlineError:
            return
        _assert_honest(result)


count = st.one_of(st.integers(0, 10_000).map(float), st.sampled_from([0.0, 1e100, 1e150, 0.5]))
exposure = st.one_of(
    st.floats(1e-3, 1e9, allow_nan=False), st.sampled_from([0.0, -1.0, 1e-300, 1e99, 5e-324])
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counts=st.lists(count, min_size=30, max_size=30),
    exposures=st.one_of(
        st.lists(exposure, min_size=30, max_size=30), exposure.map(lambda e: [e] * 30)
    ),
)
def test_any_counts_get_an_honest_rate_ratio_or_a_refusal(
    counts: list[float], exposures: list[float]
) -> None:
    try:
        est = rate_ratio(counts, exposures, intervention=20)
    except PilotlineError:
        return
    assert 0 < est.low <= est.value <= est.high < math.inf
    assert est.p_value is not None and 0 <= est.p_value <= 1


@settings(max_examples=80, deadline=None)
@given(values=st.lists(value, min_size=8, max_size=40), cut=st.integers(0, 40))
def test_the_ar1_model_on_any_series_is_honest_or_refuses(values: list[float], cut: int) -> None:
    try:
        est = stats.ar1_segmented_regression(values, intervention=cut)
    except PilotlineError:
        return
    assert est.low < est.value < est.high
