"""Evaluate a pilot: the effect with an honest interval, diagnostics in plain words, and money."""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pilotline import clock
from pilotline.errors import InputError
from pilotline.measure import KPIS, Measure
from pilotline.pilot import counts, stats
from pilotline.pilot.money import effect_text, months_text, value_of
from pilotline.pilot.season import seasonal_terms
from pilotline.pilot.spc import individuals
from pilotline.pilot.spec import Metric, Pilot, Window
from pilotline.plant.model import Plant
from pilotline.store import Store

RATIO_KPIS = {k.key for k in KPIS if k.unit == "ratio"}


#: Proportion KPIs: how to count the "bad" parts behind each ratio, from a KPI row.
PROPORTIONS = {
    "scrap_ratio": lambda r: r["reject_count"] - r["rework_count"],
    "rework_ratio": lambda r: r["rework_count"],
    "quality_ratio": lambda r: r["reject_count"],
    "first_pass_yield": lambda r: r["reject_count"],
}


@dataclass
class Series:
    labels: list[str]
    dates: list[dt.date]
    values: np.ndarray
    unit_label: str  # "points" for ratios shown as percentages
    bad: np.ndarray | None = None  # for proportion KPIs: bad parts and all parts per period
    total: np.ndarray | None = None

    def window(self, w: Window) -> Series:
        keep = [i for i, d in enumerate(self.dates) if w.start <= d < w.end]
        return Series(
            [self.labels[i] for i in keep],
            [self.dates[i] for i in keep],
            self.values[keep],
            self.unit_label,
            None if self.bad is None else self.bad[keep],
            None if self.total is None else self.total[keep],
        )


class Sources:
    """Where metric series come from: the store (KPIs) and files."""

    def __init__(
        self, store: Store | None = None, plant: Plant | None = None, *, snapshot: bool = False
    ) -> None:
        """``snapshot=True`` for one evaluation of data that does not change meanwhile: daily
        rows are then read once per set of machines (an evaluation asks for the metric, the
        guardrails and the kept baseline over days one read covers, and a day's row is the same
        whatever range it is read in). Without it every series is read afresh."""
        self.store, self.plant, self.snapshot = store, plant, snapshot
        # Daily rows already read, per set of machines: (first day, day after the last, rows).
        self._days: dict[tuple[str, ...], tuple[dt.date, dt.date, list[dict[str, Any]]]] = {}

    def _rows(
        self, machines: list[str], unit: str, start: dt.date, end: dt.date
    ) -> list[dict[str, Any]]:
        assert self.store is not None and self.plant is not None
        tz = self.plant.tz

        def read(a: dt.date, b: dt.date) -> list[dict[str, Any]]:
            lo = dt.datetime.combine(a, dt.time(0), tz).astimezone(dt.UTC)
            hi = dt.datetime.combine(b, dt.time(0), tz).astimezone(dt.UTC)
            assert self.store is not None and self.plant is not None
            return Measure(self.store, self.plant).oee(
                start=lo, end=hi, by=f"site,{unit}", machines=machines or None
            )

        if unit != "day" or not self.snapshot:  # a shift or a week can straddle the range's ends
            return read(start, end)
        key = tuple(sorted(machines))
        held = self._days.get(key)
        if held is None or not (held[0] <= start and end <= held[1]):
            a, b = (start, end) if held is None else (min(start, held[0]), max(end, held[1]))
            held = (a, b, read(a, b))
            self._days[key] = held
        return [r for r in held[2] if start <= r["period_start"].astimezone(tz).date() < end]

    def series(self, metric: Metric, unit: str, start: dt.date, end: dt.date) -> Series:
        if metric.file is not None:
            return _file_series(metric, unit, start, end)
        if self.store is None or self.plant is None:
            raise InputError(
                f"metric {metric.label!r} is a KPI: it needs a data directory with a plant"
            )
        if metric.kpi not in {k.key for k in KPIS}:
            raise InputError(f"unknown KPI {metric.kpi!r}; choose one of {[k.key for k in KPIS]}")
        tz = self.plant.tz
        rows = self._rows(list(metric.machines or []), unit, start, end)
        scale = 100.0 if metric.kpi in RATIO_KPIS else 1.0
        gaps = [r for r in rows if r[metric.kpi] is None]
        if gaps:
            when = ", ".join(f"{r['period_start'].astimezone(tz):%a %d %b %H:%M}" for r in gaps[:5])
            raise InputError(
                f"{metric.label} has no value for {len(gaps)} period(s) ({when}…): no planned "
                "time with data. Narrow the windows or fill the data first."
            )
        labels = [
            r.get("shift_key") or f"{r['period_start'].astimezone(tz):%Y-%m-%d}" for r in rows
        ]
        dates = [r["period_start"].astimezone(tz).date() for r in rows]
        counter = PROPORTIONS.get(metric.kpi)
        return Series(
            labels,
            dates,
            np.array([r[metric.kpi] * scale for r in rows], dtype=float),
            "points" if scale == 100.0 else "",
            np.array([counter(r) for r in rows], dtype=float) if counter else None,
            np.array([r["total_count"] for r in rows], dtype=float) if counter else None,
        )


def _number(path: Path, row_no: int, column: str, raw: str) -> float:
    try:
        value = float(raw.strip())
    except ValueError:
        raise InputError(
            f"{path}, row {row_no}, column {column!r}: {raw!r} is not a number"
        ) from None
    if not math.isfinite(value):
        raise InputError(f"{path}, row {row_no}, column {column!r}: {raw!r} is not a number")
    return value


#: The period a date falls in, per unit, to find two rows for one period (shifts may share a date).
PERIOD_OF: dict[str, Callable[[dt.date], object]] = {
    "day": lambda d: d,
    "week": lambda d: tuple(d.isocalendar())[:2],
    "month": lambda d: (d.year, d.month),
}


def _file_series(metric: Metric, unit: str, start: dt.date, end: dt.date) -> Series:
    """One value per row of a CSV (a date column and a value column), in date order; with
    ``exposure_column`` the values are counts and the exposure (parts made, hours run) is read
    beside them. Two rows for one day, week or month (as ``unit`` says) are refused."""
    assert metric.file is not None and metric.column is not None
    path = Path(metric.file)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    labels, dates, values, exposure, rows = [], [], [], [], []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for col in (metric.date_column, metric.column, metric.exposure_column):
            if col and col not in (reader.fieldnames or []):
                raise InputError(f"{path}: no column {col!r}; the columns are {reader.fieldnames}")
        for row_no, row in enumerate(reader, start=2):
            try:
                day = dt.date.fromisoformat(row[metric.date_column].strip()[:10])
            except ValueError:
                raise InputError(
                    f"{path}, row {row_no}, column {metric.date_column!r}: "
                    f"{row[metric.date_column]!r} is not a date (expected 2026-03-02)"
                ) from None
            if not start <= day < end:
                continue
            values.append(_number(path, row_no, metric.column, row[metric.column]))
            if metric.exposure_column:
                exposure.append(
                    _number(path, row_no, metric.exposure_column, row[metric.exposure_column])
                )
            labels.append(row[metric.date_column].strip())
            dates.append(day)
            rows.append(row_no)
    order = sorted(range(len(dates)), key=lambda i: dates[i])
    period = PERIOD_OF.get(unit)
    if period is not None:
        seen: dict[object, int] = {}
        for i in order:
            key = period(dates[i])
            if key in seen:
                raise InputError(
                    f"{path}, rows {seen[key]} and {rows[i]}: two rows for the same {unit} "
                    f"({labels[i]}); unit = {unit!r} needs one row per {unit}"
                )
            seen[key] = rows[i]
    labels, dates = [labels[i] for i in order], [dates[i] for i in order]
    counts = np.array([values[i] for i in order], dtype=float)
    if metric.exposure_column:
        exp = np.array([exposure[i] for i in order], dtype=float)
        return Series(labels, dates, counts, "", counts, exp)
    return Series(labels, dates, counts, "")


def plan(pilot: Pilot, sources: Sources) -> dict[str, Any]:
    """What the pilot can detect: the minimum detectable effect for its length, and how long it
    would need to run to detect the target effect, allowing for autocorrelation."""
    base = sources.series(pilot.metric, pilot.unit, pilot.baseline.start, pilot.baseline.end)
    if base.values.size < 5:
        raise InputError(
            f"the baseline has {base.values.size} {pilot.unit}(s) of data; planning needs at least 5"
        )
    if np.ptp(base.values) == 0:
        raise InputError(
            f"{pilot.metric.label} is {base.values[0]:g} in every {pilot.unit} of the baseline: "
            "with no variation there is nothing to plan against"
        )
    per_day = base.values.size / max(pilot.baseline.days(), 1)
    pilot_points = max(2, round(per_day * pilot.pilot.days()))
    mde = stats.minimum_detectable_effect(base.values, pilot_points=pilot_points)
    out: dict[str, Any] = {
        "metric": pilot.metric.label,
        "unit": pilot.unit,
        "baseline_points": int(base.values.size),
        "baseline_mean": float(base.values.mean()),
        "pilot_points": pilot_points,
        **mde,
        "metric_unit": base.unit_label,
    }
    if pilot.target_effect:
        need = stats.points_for_effect(base.values, effect=pilot.target_effect)
        out["points_needed_for_target"] = need
        out["verdict"] = (
            f"The pilot can detect a change of {mde['mde']:.2f}{_u(base)} or more in {pilot.metric.label}; "
            + (
                f"the target of {pilot.target_effect:g}{_u(base)} needs about {need} {pilot.unit}s."
                if need
                else "the target is smaller than this baseline can ever show: lengthen the baseline."
            )
        )
    else:
        out["verdict"] = (
            f"The pilot can detect a change of {mde['mde']:.2f}{_u(base)} or more in "
            f"{pilot.metric.label} (autocorrelation ρ = {mde['rho']:.2f})."
        )
    return out


def _u(s: Series) -> str:
    return f" {s.unit_label}" if s.unit_label else ""


def evaluate(pilot: Pilot, sources: Sources, *, as_of: dt.date | None = None) -> dict[str, Any]:
    """The pilot's effect, its diagnostics, guardrails and value."""
    as_of = as_of or clock.now().date()
    end = min(pilot.pilot.end, as_of)
    if end <= pilot.pilot.start:
        raise InputError(
            f"the pilot starts on {pilot.pilot.start}; there is nothing to evaluate yet"
        )
    series = sources.series(pilot.metric, pilot.unit, pilot.baseline.start, end)
    base = series.window(pilot.baseline)
    during = series.window(Window(start=pilot.pilot.start, end=end))
    if base.values.size < 5 or during.values.size < 3:
        raise InputError(
            f"too few points: the baseline has {base.values.size} (needs 5) and the pilot "
            f"{during.values.size} (needs 3) {pilot.unit}s with data"
        )
    k = base.values.size
    all_dates = base.dates + during.dates
    raw = stats._series(
        np.concatenate([base.values, during.values]), f"metric {pilot.metric.label!r}", 0
    )
    exposure = None
    if pilot.metric.exposure_column and base.total is not None and during.total is not None:
        exposure = np.concatenate([base.total, during.total])
    elif np.ptp(raw) == 0:
        raise InputError(
            f"{pilot.metric.label} is {raw[0]:g} in every {pilot.unit}, before and during the "
            "pilot: with no variation there is no effect to estimate and no interval to give"
        )
    else:
        _check_baseline(raw[:k], pilot)
    extra, extra_names = seasonal_terms(
        all_dates,
        unit=pilot.unit,
        seasons=pilot.seasonality,
        yearly_pairs=pilot.yearly_harmonics,
    )
    slope = pilot.its_model == "level_and_slope"
    warnings_: list[str] = []
    primary: stats.Estimate | None = None
    if exposure is not None and pilot.design == "before_after":
        primary = counts.rate_ratio(
            raw, exposure, intervention=k, slope=slope, extra=extra, extra_names=extra_names
        )
    y = raw if exposure is None else raw / exposure  # counts are compared as rates
    unit_label = series.unit_label
    if exposure is not None:
        unit_label = f"{pilot.metric.column} per {pilot.metric.exposure_column}"
    its = stats.ar1_segmented_regression(
        y, intervention=k, slope=slope, extra=extra, extra_names=extra_names
    )
    hac = stats.segmented_regression(y, intervention=k, extra=extra, extra_names=extra_names)
    boot = stats.block_bootstrap_difference(y[:k], y[k:])
    estimates = [its, hac, boot]
    if (
        exposure is None
        and base.bad is not None
        and base.total is not None
        and during.bad is not None
        and during.total is not None
    ):
        prop = stats.proportions(
            int(base.bad.sum()),
            int(base.total.sum()),
            int(during.bad.sum()),
            int(during.total.sum()),
        )
        sign = -1.0 if pilot.metric.kpi in ("quality_ratio", "first_pass_yield") else 1.0
        lo, hi = sorted((sign * prop.low * 100, sign * prop.high * 100))
        estimates.append(
            stats.Estimate(
                "two proportions, pooled parts (assumes independent parts)",
                sign * prop.value * 100,
                lo,
                hi,
                prop.p_value,
            )
        )
    if its.details["rho"] > 0.6 and slope and exposure is None:
        warnings_.append(
            f"The metric is strongly autocorrelated from one {pilot.unit} to the next "
            f"(ρ ≈ {its.details['rho']:.2f}); even the corrected interval tends to be a little "
            "too narrow. A longer baseline or a control line helps."
        )
    if pilot.design == "control":
        assert pilot.control is not None
        ctrl = sources.series(pilot.control, pilot.unit, pilot.baseline.start, end)
        if ctrl.dates != series.dates:
            raise InputError(
                "the control line's periods do not match the pilot line's; "
                "both need data for the same shifts or days"
            )
        primary = stats.difference_in_differences(y, ctrl.values, intervention=k)
        ctrl_change = stats.block_bootstrap_difference(ctrl.values[:k], ctrl.values[k:])
        if ctrl_change.low > 0 or ctrl_change.high < 0:
            warnings_.append(
                f"The control line also changed ({ctrl_change.value:+.2f}{_u(series)}): "
                "something besides the pilot moved; the comparison only removes what both shared."
            )
        if abs(primary.details["pre_period_gap_slope"]) * k > 0.5 * abs(primary.value or 1):
            warnings_.append(
                "The two lines were drifting apart before the change (no parallel trend): "
                "read the difference-in-differences with care."
            )
    elif pilot.design == "switchback":
        assert pilot.switchback is not None
        if pilot.switchback.alternate:
            flags = [i % 2 == 0 for i in range(during.values.size)]
        else:
            on_days = set(pilot.switchback.on)
            flags = [d in on_days for d in during.dates]
        sb_extra, sb_names = seasonal_terms(
            during.dates,
            unit=pilot.unit,
            seasons=pilot.seasonality,
            yearly_pairs=pilot.yearly_harmonics,
        )
        if exposure is not None:
            primary = counts.switchback_rate_ratio(
                during.values, exposure[k:], flags, extra=sb_extra, extra_names=sb_names
            )
        else:
            primary = stats.switchback(during.values, flags, extra=sb_extra, extra_names=sb_names)
    elif pilot.design == "stepped":
        parts = []
        for step in pilot.stepped:
            one = pilot.metric.model_copy(update={"machines": [step.machine]})
            ms = sources.series(one, pilot.unit, pilot.baseline.start, end)
            m_extra, m_names = seasonal_terms(
                ms.dates,
                unit=pilot.unit,
                seasons=pilot.seasonality,
                yearly_pairs=pilot.yearly_harmonics,
            )
            cut = sum(1 for d in ms.dates if d < step.start)
            est = stats.ar1_segmented_regression(
                ms.values, intervention=cut, slope=slope, extra=m_extra, extra_names=m_names
            )
            est.details["machine"] = step.machine
            parts.append(est)
        primary = stats.pooled(parts, method="stepped roll-out (pooled per machine, AR(1) errors)")
        for part, step in zip(primary.details["parts"], pilot.stepped, strict=True):
            part["machine"] = step.machine
            part["start"] = step.start.isoformat()
        if primary.details["heterogeneity_p"] < 0.05:
            warnings_.append(
                "The machines disagree about the effect (heterogeneity p = "
                f"{primary.details['heterogeneity_p']:.3f}); look at each machine before rolling out."
            )
    if primary is None:
        primary = its
    else:
        estimates.insert(0, primary)
    # Diagnostics in plain words.
    if primary.details.get("scale") == "ratio":
        lb = stats.ljung_box(primary.details["residuals"])
        if lb < 0.05:
            warnings_.append(
                f"Neighbouring {pilot.unit}s' counts are correlated (Ljung–Box p = {lb:.3f}): the "
                "rate ratio's interval allows for counts that scatter more than chance, not for "
                "this, so it is too narrow; read it with care."
            )
    else:
        lb = stats.ljung_box(hac.details["residuals"])
        if lb < 0.05 and its.details["rho"] <= 0.6:
            warnings_.append(
                f"Neighbouring {pilot.unit}s are correlated (Ljung–Box p = {lb:.3f}): the primary "
                "interval allows for it; a naive before/after test would not."
            )
    trend_t = its.details["coefficients"]["trend"] / max(
        its.details["standard_errors"]["trend"], 1e-12
    )
    if abs(trend_t) > 2:
        warnings_.append(
            "The metric was already trending during the baseline; the trend is allowed for, "
            "but a change in trend is easy to over-read."
        )
    tail = max(2, k // 5)
    sd = float(np.std(y[:k], ddof=1)) or 1.0
    bad_tail = (y[k - tail : k].mean() - y[: k - tail].mean()) / sd
    worse = bad_tail < -1 if pilot.metric.direction == "increase" else bad_tail > 1
    if worse:
        warnings_.append(
            "The baseline ended in a bad spell: part of any improvement may be regression to the "
            "mean. A longer baseline or a control line would tell."
        )
    if y.size - k >= 6:
        half = (y.size - k) // 2
        first, second = y[k : k + half].mean() - y[:k].mean(), y[k + half :].mean() - y[:k].mean()
        if (
            abs(first) > 0
            and np.sign(first) == np.sign(its.value)
            and abs(second) < 0.5 * abs(first)
        ):
            warnings_.append(
                "The effect fades during the pilot (novelty?): the second half shows less than "
                "half the change of the first."
            )
    peeking = as_of < pilot.pilot.end or as_of < pilot.review_date
    if peeking:
        cs = stats.confidence_sequence(y[:k], y[k:])
        estimates.append(cs)
        warnings_.append(
            f"Early look: the pilot runs until {pilot.pilot.end} and is reviewed on "
            f"{pilot.review_date}. Use the always-valid interval of the difference "
            f"({effect_text(cs.low)} to {effect_text(cs.high)}{f' {unit_label}' if unit_label else ''}), "
            "which stays honest however often you look."
        )
    if not pilot.seasonality and pilot.unit == "day" and k >= 14:
        by_day: dict[int, list[float]] = {}
        for d, v in zip(base.dates, y[:k], strict=True):
            by_day.setdefault(d.weekday(), []).append(float(v))
        groups = [g for g in by_day.values() if len(g) >= 2]
        if len(groups) >= 2 and any(np.ptp(g) > 0 for g in groups):
            from scipy.stats import f_oneway

            if f_oneway(*groups).pvalue < 0.05:
                warnings_.append(
                    'The metric has a weekday rhythm; set seasonality = "weekday" in the pilot file.'
                )
    if "yearly" in pilot.seasonality and (all_dates[-1] - all_dates[0]).days < 365:
        warnings_.append(
            "The yearly rhythm is estimated from less than a year of data: it can absorb part "
            "of the change, or pass part of the season off as one. Two years of baseline help."
        )
    guardrails = [_guardrail(g, pilot, sources, end, warnings_) for g in pilot.guardrails]
    money = None
    if pilot.money:
        draws = _effect_draws(primary)
        money = value_of(
            draws,
            pilot.money,
            direction=pilot.metric.direction,
            periods_per_month=pilot.periods_per_month,
        )
    chart = individuals(y.tolist(), keys=base.labels + during.labels, phase1=k)
    verdict = _verdict(pilot, primary, unit_label, money)
    return {
        "title": pilot.title,
        "metric": pilot.metric.label,
        "unit": pilot.unit,
        "metric_unit": unit_label,
        "as_of": as_of.isoformat(),
        "fingerprint": pilot.fingerprint(),
        "baseline": {"points": k, "mean": float(y[:k].mean())},
        "pilot": {"points": int(y.size - k), "mean": float(y[k:].mean())},
        "effect": primary.as_dict() | {"residuals": None},
        "estimates": [_slim(e) for e in estimates],
        "guardrails": guardrails,
        "money": money,
        "warnings": warnings_,
        "verdict": verdict,
        "series": {"labels": series.labels, "values": y.tolist(), "intervention": k},
        "spc": chart.as_dict(),
    }


def _check_baseline(values: np.ndarray, pilot: Pilot) -> None:
    """Refuse a baseline without noise (a stuck sensor, a default value, a formula): it gives
    nothing to judge a change against, and the models would read its silence as certainty."""
    t = np.arange(values.size, dtype=float)
    line = np.polyval(np.polyfit(t, values, 1), t)
    scale = float(np.max(np.abs(values))) or 1.0
    if float(np.sqrt(np.mean((values - line) ** 2))) > 1e-9 * scale:
        return
    what = (
        f"is {values[0]:g} in every {pilot.unit} of the baseline"
        if np.ptp(values) == 0
        else "moves in an exact straight line through the baseline"
    )
    raise InputError(
        f"{pilot.metric.label} {what}: with no noise before the change there is nothing to "
        "judge a change against (a stuck sensor or a filled-in default?)"
    )


def _guardrail(
    g: Metric, pilot: Pilot, sources: Sources, end: dt.date, warnings_: list[str]
) -> dict[str, Any]:
    """A guardrail's change (a rate per exposure for counts), and a warning if it got worse."""
    gs = sources.series(g, pilot.unit, pilot.baseline.start, end)
    values = gs.values
    if g.exposure_column and gs.total is not None:
        if np.any(gs.total <= 0):
            raise InputError(
                f"guardrail {g.label}: the exposure is zero or negative in "
                f"{int(np.sum(gs.total <= 0))} period(s); a rate needs some in every period"
            )
        values = gs.values / gs.total
    cut = sum(1 for d in gs.dates if d < pilot.baseline.end)
    first = sum(1 for d in gs.dates if d < pilot.pilot.start)
    est = stats.block_bootstrap_difference(values[:cut], values[first:])
    harmed = est.high < 0 if g.direction == "increase" else est.low > 0
    if harmed:
        warnings_.append(
            f"Guardrail {g.label} got worse ({effect_text(est.value)}{_u(gs)}, interval "
            f"{effect_text(est.low)} to {effect_text(est.high)})."
        )
    return {
        "metric": g.label,
        "change": est.value,
        "low": est.low,
        "high": est.high,
        "harmed": harmed,
        "unit": gs.unit_label,
    }


def _effect_draws(est: stats.Estimate) -> np.ndarray:
    """Draws of the effect in the metric's units per period, for the money. A rate ratio becomes
    counts per period: (ratio − 1) × the counts expected without the change."""
    rng = np.random.default_rng(7)
    if est.details.get("scale") == "ratio":
        logs = rng.normal(est.details["log_ratio"], est.details["se"], 20_000)
        return np.asarray(np.expm1(logs) * est.details["expected_without_change_per_period"])
    se = (est.high - est.low) / (2 * 1.959964)
    return rng.normal(est.value, se, 20_000)


def _slim(e: stats.Estimate) -> dict[str, Any]:
    d = e.as_dict()
    for key in ("residuals", "draws"):
        d.pop(key, None)
    return d


def _verdict(
    pilot: Pilot, est: stats.Estimate, unit_label: str, money: dict[str, Any] | None
) -> str:
    ratio = est.details.get("scale") == "ratio"
    null = 1.0 if ratio else 0.0
    good = est.value > null if pilot.metric.direction == "increase" else est.value < null
    sure = est.low > null or est.high < null
    word = "up" if est.value > null else "down"
    how = "likely" if sure else "possibly"
    if ratio:
        text = (
            f"{unit_label} {how} {word} {abs(est.value - 1) * 100:.0f} % (rate ratio "
            f"{est.value:.2f}, 95 % interval {est.low:.2f} to {est.high:.2f})"
        )
    else:
        unit = f" {unit_label}" if unit_label else ""
        text = (
            f"{pilot.metric.label} {how} {word} {abs(est.value):.1f}{unit} "
            f"(95 % interval {est.low:.1f} to {est.high:.1f})"
        )
    if not sure:
        text += "; the interval includes no change"
    elif not good:
        text += "; that is the wrong direction"
    if money:
        pb = money["payback_months"]
        text += f"; payback {months_text(pb['median'])} ({months_text(pb['low'])} to {months_text(pb['high'])})"
    return text + "."
