"""Statistics fit for shop-floor data: a few dozen autocorrelated days, perhaps one control line.

Every function returns plain numbers with an interval, and none of them averages away the
autocorrelation that makes naive before/after comparisons overconfident. Data that cannot give
an honest interval — a constant series, a model that fits every point exactly, more terms than
points, values too large to square — is refused with an :class:`InputError` saying why, never
answered with a zero-width interval or a NaN.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pilotline.errors import InputError

Values = Sequence[float] | np.ndarray


@dataclass
class Estimate:
    """An effect with its interval: ``value`` in the metric's units (pilot minus baseline)."""

    method: str
    value: float
    low: float
    high: float
    p_value: float | None = None
    level: float = 0.95
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        numbers = [self.value, self.low, self.high]
        if not all(math.isfinite(x) for x in numbers) or (
            self.p_value is not None and not 0 <= self.p_value <= 1
        ):
            raise InputError(
                f"{self.method}: the data gave no finite estimate ({self.value:g}, interval "
                f"{self.low:g} to {self.high:g}); they are too extreme or too regular for it"
            )

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "p_value": self.p_value,
            "level": self.level,
            **self.details,
        }


def _series(values: Values, what: str, minimum: int) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    if not np.all(np.isfinite(x)):
        missing = int(np.sum(~np.isfinite(x)))
        raise InputError(
            f"the {what} has {missing} missing value(s); fill or drop those periods first"
        )
    if x.size < minimum:
        raise InputError(f"the {what} has {x.size} points; this needs at least {minimum}")
    if x.size and np.max(np.abs(x)) > LARGEST:
        raise InputError(
            f"the {what} has values as large as {np.max(np.abs(x)):.3g}; numbers beyond "
            f"{LARGEST:.0e} cannot be squared and summed in floating point: check the units"
        )
    return x


#: Larger values overflow when squared and summed (the largest double is about 1.8e308).
LARGEST = 1e100


def _check_fit(X: np.ndarray, names: list[str], what: str) -> None:
    """Refuse a model with more terms than the points can carry, or terms the data cannot tell
    apart (a weekday term on data from one weekday, two columns that are the same)."""
    n, p = X.shape
    if n - p < 3:
        raise InputError(
            f"the {what} has {n} points for {p} model terms ({', '.join(names)}); it needs at "
            f"least {p + 3}: lengthen the windows or drop the seasonality"
        )
    scaled = X / np.maximum(np.abs(X).max(axis=0), 1e-300)
    if np.linalg.matrix_rank(scaled) < p:
        raise InputError(
            f"the {what}'s model terms ({', '.join(names)}) cannot be told apart in these "
            "periods (a rhythm the data do not vary over, or a change with no periods on one "
            "side): drop the seasonality or lengthen the windows"
        )


def _checked_cov(cov: np.ndarray, what: str) -> np.ndarray:
    """A covariance matrix whose variances are positive: rounding can leave them at or below
    zero when part of the data has no noise (a baseline that is exactly a straight line)."""
    if not np.all(np.diag(cov) > 0) or not np.all(np.isfinite(cov)):
        raise InputError(
            f"the {what} is too regular for an honest interval: part of it has no noise at all "
            "(a baseline that is exactly flat or exactly a straight line?)"
        )
    return cov


def _check_noise(residuals: np.ndarray, values: np.ndarray, what: str) -> None:
    """Refuse a fit that leaves no noise: its interval would have zero width."""
    scale = float(np.max(np.abs(values))) or 1.0
    if float(np.sqrt(np.mean(residuals**2))) <= 1e-9 * scale:
        raise InputError(
            f"the {what} fits every point exactly (no noise is left), so no honest interval "
            "can be given: is the metric a constant or a formula of the date?"
        )


def lag1_autocorrelation(x: Values) -> float:
    """Lag-1 autocorrelation, clipped to [0, 0.95] (negative values do not help the sample size)."""
    a = np.asarray(x, dtype=float)
    if a.size < 3 or np.var(a) == 0:
        return 0.0
    d = a - a.mean()
    rho = float(np.sum(d[1:] * d[:-1]) / np.sum(d * d))
    return min(max(rho, 0.0), 0.95)


def effective_n(n: float, rho: float) -> float:
    """Effective sample size of n AR(1)-correlated points: n (1 − ρ) / (1 + ρ)."""
    return n * (1 - rho) / (1 + rho)


def two_sample_n(effect_size: float, *, alpha: float = 0.05, power: float = 0.8) -> float:
    """Points per group for a two-sided two-sample t-test (statsmodels' TTestIndPower)."""
    from statsmodels.stats.power import TTestIndPower

    return float(TTestIndPower().solve_power(effect_size=effect_size, alpha=alpha, power=power))


def minimum_detectable_effect(
    baseline: Values, *, pilot_points: int, alpha: float = 0.05, power: float = 0.8
) -> dict[str, float]:
    """Smallest before/after difference the pilot can detect, allowing for autocorrelation."""
    from scipy import stats as sps

    x = _series(baseline, "baseline", 5)
    rho = lag1_autocorrelation(x)
    sd = float(np.std(x, ddof=1))
    n1, n2 = effective_n(x.size, rho), effective_n(pilot_points, rho)
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    mde = z * sd * math.sqrt(1 / n1 + 1 / n2)
    return {
        "mde": mde,
        "sd": sd,
        "rho": rho,
        "effective_baseline_n": n1,
        "effective_pilot_n": n2,
        "naive_mde": z * sd * math.sqrt(1 / x.size + 1 / pilot_points),
    }


def points_for_effect(
    baseline: Values,
    *,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
    limit: int = 10_000,
) -> int | None:
    """How many pilot points are needed to detect ``effect``; None if the baseline is too short."""
    from scipy import stats as sps

    x = _series(baseline, "baseline", 5)
    rho = lag1_autocorrelation(x)
    sd = float(np.std(x, ddof=1))
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    need = (z * sd / abs(effect)) ** 2  # = 1/n1 + 1/n2 must fall below 1/need
    inv_n2 = 1 / need - 1 / effective_n(x.size, rho)
    if inv_n2 <= 0:
        return None
    n2_eff = 1 / inv_n2
    n2 = math.ceil(n2_eff * (1 + rho) / (1 - rho))
    return n2 if n2 <= limit else None


def segmented_regression(
    y: Values,
    *,
    intervention: int,
    season: Sequence[int] | None = None,
    extra: np.ndarray | None = None,
    extra_names: Sequence[str] | None = None,
    hac_lags: int | None = None,
    level: float = 0.95,
) -> Estimate:
    """Interrupted time series: y = a + b·t + c·after + d·(t − t₀)·after (+ seasonality), with
    Newey–West (HAC) standard errors; ``season`` labels each point (e.g. its weekday) for
    seasonal dummies, ``extra`` adds columns (e.g. :func:`season.seasonal_terms`). The effect is the mean difference over the pilot period
    between the fitted line and the baseline trend continued: c + d·mean(t − t₀)."""
    import statsmodels.api as sm
    from scipy import stats as sps

    values = _series(y, "series", 8)
    n = values.size
    if not 3 <= intervention <= n - 3:
        raise InputError(
            f"the series needs at least 3 points before and after the change; "
            f"it has {intervention} before and {n - intervention} after"
        )
    X, names, since = _design(n, intervention, season, extra=extra, extra_names=extra_names)
    _check_fit(X, names, "series")
    lags = hac_lags if hac_lags is not None else max(1, round(4 * (n / 100) ** (2 / 9)))
    fit = sm.OLS(values, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    _check_noise(fit.resid, values, "series")
    w = np.zeros(X.shape[1])
    w[2] = 1.0
    w[3] = float(np.mean(since[intervention:]))
    effect = float(w @ fit.params)
    cov = _checked_cov(fit.cov_params(), "series")
    se = float(math.sqrt(w @ cov @ w))
    zc = sps.norm.ppf(0.5 + level / 2)
    p = float(2 * sps.norm.sf(abs(effect) / se)) if se > 0 else 0.0
    return Estimate(
        "interrupted time series (HAC)",
        effect,
        effect - zc * se,
        effect + zc * se,
        p,
        level,
        {
            "se": se,
            "hac_lags": lags,
            "coefficients": dict(zip(names, map(float, fit.params), strict=True)),
            "standard_errors": dict(zip(names, map(float, np.sqrt(np.diag(cov))), strict=True)),
            "residuals": fit.resid.tolist(),
        },
    )


def _design(
    n: int,
    intervention: int,
    season: Sequence[int] | None,
    slope: bool = True,
    extra: np.ndarray | None = None,
    extra_names: Sequence[str] | None = None,
) -> tuple[np.ndarray, list[str], np.ndarray]:
    """Columns: constant, trend, level change, [slope change], [one dummy per season but the
    first], [extra regressors such as weekly harmonics]."""
    t = np.arange(n, dtype=float)
    after = (t >= intervention).astype(float)
    since = (t - intervention) * after
    columns = [np.ones(n), t, after] + ([since] if slope else [])
    names = ["const", "trend", "level_change"] + (["slope_change"] if slope else [])
    if season is not None:
        labels = np.asarray(season)
        for k in sorted(set(labels.tolist()))[1:]:
            columns.append((labels == k).astype(float))
            names.append(f"season_{k}")
    if extra is not None:
        for j in range(extra.shape[1]):
            columns.append(extra[:, j])
            names.append(extra_names[j] if extra_names else f"extra_{j}")
    return np.column_stack(columns), names, since


def ar1_segmented_regression(
    y: Values,
    *,
    intervention: int,
    season: Sequence[int] | None = None,
    slope: bool = False,
    extra: np.ndarray | None = None,
    extra_names: Sequence[str] | None = None,
    level: float = 0.95,
) -> Estimate:
    """Interrupted time series with AR(1) errors, for short shop-floor series.

    By default a level change on top of the baseline trend (``slope=True`` adds a change of slope,
    as :func:`segmented_regression` does, at the cost of a much wider interval), fitted by
    Prais–Winsten GLS with the residual autocorrelation corrected for its small-sample bias (ρ̂ + (1 + 3ρ̂ + p)/n,
    after Kendall), and a t interval on the effective degrees of freedom n(1 − ρ)/(1 + ρ) − p.
    Calibrated on simulated AR(1) series (tests/pilot/test_calibration.py): about 95 % coverage for
    ρ up to 0.5 with 20–30 points a side, about 91 % at ρ = 0.7.
    """
    values = _series(y, "series", 8)
    n = values.size
    if not 3 <= intervention <= n - 3:
        raise InputError(
            f"the series needs at least 3 points before and after the change; "
            f"it has {intervention} before and {n - intervention} after"
        )
    X, names, since = _design(n, intervention, season, slope, extra, extra_names)
    w = np.zeros(X.shape[1])
    w[2] = 1.0
    if slope:
        w[3] = float(np.mean(since[intervention:]))
    return _ar1_contrast(values, X, names, w, "interrupted time series (AR(1) errors)", level)


def _ar1_contrast(
    values: np.ndarray, X: np.ndarray, names: list[str], w: np.ndarray, method: str, level: float
) -> Estimate:
    """The contrast w·β of a regression with AR(1) errors: Prais–Winsten GLS with the residual
    autocorrelation corrected for its small-sample bias (after Kendall) and a t interval on the
    effective degrees of freedom n(1 − ρ)/(1 + ρ) − p."""
    from scipy import stats as sps

    _check_fit(X, names, "series")
    n, p = X.shape
    beta = np.linalg.lstsq(X, values, rcond=None)[0]
    r = values - X @ beta
    _check_noise(r, values, "series")
    denom = float(r @ r)
    raw = float(r[1:] @ r[:-1] / denom) if denom > 0 else 0.0
    rho = min(max(raw + (1 + 3 * raw + p) / n, 0.0), 0.95)
    scale = math.sqrt(1 - rho**2)
    ys = np.concatenate([[scale * values[0]], values[1:] - rho * values[:-1]])
    xs = np.vstack([scale * X[0], X[1:] - rho * X[:-1]])
    b, *_ = np.linalg.lstsq(xs, ys, rcond=None)
    res = ys - xs @ b
    s2 = float(res @ res) / max(n - p, 1)
    cov = s2 * np.linalg.pinv(xs.T @ xs)
    effect = float(w @ b)
    se = float(math.sqrt(max(w @ cov @ w, 0.0)))
    df = max(3.0, n * (1 - rho) / (1 + rho) - p)
    q = float(sps.t.ppf(0.5 + level / 2, df))
    p_value = float(2 * sps.t.sf(abs(effect) / se, df)) if se > 0 else 0.0
    return Estimate(
        method,
        effect,
        effect - q * se,
        effect + q * se,
        p_value,
        level,
        {
            "se": se,
            "rho": rho,
            "rho_raw": raw,
            "df": df,
            "coefficients": dict(zip(names, map(float, b), strict=True)),
            "standard_errors": dict(zip(names, map(float, np.sqrt(np.diag(cov))), strict=True)),
            "residuals": (values - X @ b).tolist(),
        },
    )


def switchback(
    y: Values,
    on: Sequence[bool],
    *,
    season: Sequence[int] | None = None,
    extra: np.ndarray | None = None,
    extra_names: Sequence[str] | None = None,
    level: float = 0.95,
) -> Estimate:
    """A switchback design: the change is switched on and off in turns (days, shifts, weeks).
    y = a + b·t + c·on (+ season), AR(1) errors; the effect is c. Because on and off periods
    alternate, slow drifts and the weekly rhythm cancel out instead of masquerading as effects."""
    values = _series(y, "series", 8)
    flags = np.asarray(on, dtype=float)
    if flags.size != values.size:
        raise InputError("the switchback schedule needs one on/off flag per period")
    n_on, n_off = int(flags.sum()), int(flags.size - flags.sum())
    if n_on < 3 or n_off < 3:
        raise InputError(
            f"a switchback needs at least 3 periods on and 3 off; it has {n_on} on and {n_off} off"
        )
    t = np.arange(values.size, dtype=float)
    columns, names = [np.ones(values.size), t, flags], ["const", "trend", "on"]
    if season is not None:
        labels = np.asarray(season)
        for k in sorted(set(labels.tolist()))[1:]:
            columns.append((labels == k).astype(float))
            names.append(f"season_{k}")
    if extra is not None:
        columns += [extra[:, j] for j in range(extra.shape[1])]
        names += list(extra_names) if extra_names else [f"extra_{j}" for j in range(extra.shape[1])]
    X = np.column_stack(columns)
    w = np.zeros(X.shape[1])
    w[2] = 1.0
    return _ar1_contrast(values, X, names, w, "switchback (AR(1) errors)", level)


def difference_in_differences(
    treated: Values,
    control: Values,
    *,
    intervention: int,
    hac_lags: int | None = None,
    level: float = 0.95,
) -> Estimate:
    """(pilot − baseline) on the treated line minus the same on the control line, from a
    regression of the treated − control gap on a before/after step, with HAC errors; plus an
    event-study of the gap per period relative to the change (to judge parallel trends)."""
    import statsmodels.api as sm
    from scipy import stats as sps

    a = _series(treated, "treated series", 6)
    b = _series(control, "control series", 6)
    if a.size != b.size:
        raise InputError(
            f"treated and control series must cover the same periods ({a.size} vs {b.size})"
        )
    if not 3 <= intervention <= a.size - 3:
        raise InputError(
            "difference-in-differences needs at least 3 periods before and after the change"
        )
    if np.array_equal(a, b):
        raise InputError(
            "the control line's values are the pilot line's, period for period: compare with "
            "a line the change did not touch"
        )
    gap = a - b
    after = (np.arange(a.size) >= intervention).astype(float)
    X = np.column_stack([np.ones(a.size), after])
    lags = hac_lags if hac_lags is not None else max(1, round(4 * (a.size / 100) ** (2 / 9)))
    fit = sm.OLS(gap, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})
    if float(np.sqrt(np.mean(fit.resid**2))) <= 1e-9 * (float(np.max(np.abs(gap))) or 1.0):
        raise InputError(
            "the gap between the pilot line and the control line is the same in every period "
            "before and after the change: with no noise, no honest interval can be given"
        )
    cov = _checked_cov(fit.cov_params(), "gap between the lines")
    effect, se = float(fit.params[1]), float(math.sqrt(cov[1, 1]))
    zc = sps.norm.ppf(0.5 + level / 2)
    base_gap = float(gap[:intervention].mean())
    event_study = [
        {"relative_period": int(i - intervention), "gap_minus_baseline": float(g - base_gap)}
        for i, g in enumerate(gap)
    ]
    pre = np.arange(intervention, dtype=float)
    pre_slope = float(np.polyfit(pre, gap[:intervention], 1)[0]) if intervention >= 3 else 0.0
    return Estimate(
        "difference in differences (HAC)",
        effect,
        effect - zc * se,
        effect + zc * se,
        float(2 * sps.norm.sf(abs(effect) / se)),
        level,
        {"se": se, "event_study": event_study, "pre_period_gap_slope": pre_slope},
    )


def block_bootstrap_difference(
    baseline: Values,
    pilot: Values,
    *,
    runs: int = 2000,
    block: int | None = None,
    level: float = 0.95,
    seed: int = 0,
) -> Estimate:
    """Difference of means (pilot − baseline) with a moving-block bootstrap interval, which keeps
    runs of neighbouring, correlated days together."""
    x = _series(baseline, "baseline", 3)
    y = _series(pilot, "pilot series", 3)
    rng = np.random.default_rng(seed)

    def resample(a: np.ndarray, size: int) -> np.ndarray:
        starts = rng.integers(0, a.size - size + 1, size=math.ceil(a.size / size))
        return np.concatenate([a[s : s + size] for s in starts])[: a.size]

    bx = block or max(1, round(x.size ** (1 / 3)))
    by = block or max(1, round(y.size ** (1 / 3)))
    draws = np.array([resample(y, by).mean() - resample(x, bx).mean() for _ in range(runs)])
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    effect = float(y.mean() - x.mean())
    p = float(2 * min(np.mean(draws <= 0), np.mean(draws >= 0)))
    return Estimate(
        "block bootstrap",
        effect,
        float(lo),
        float(hi),
        min(p, 1.0),
        level,
        {"block_lengths": [bx, by], "runs": runs, "draws": draws.tolist()},
    )


def proportions(
    bad_before: int, n_before: int, bad_after: int, n_after: int, *, level: float = 0.95
) -> Estimate:
    """Change in a rate (scrap, rejects): after − before, Newcombe interval and a z-test."""
    from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

    for bad, n, when in ((bad_before, n_before, "baseline"), (bad_after, n_after, "pilot")):
        if n <= 0 or not 0 <= bad <= n:
            raise InputError(f"{when}: {bad} of {n} is not a proportion")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, p = proportions_ztest([bad_after, bad_before], [n_after, n_before])
        lo, hi = confint_proportions_2indep(
            bad_after, n_after, bad_before, n_before, method="newcomb", alpha=1 - level
        )
    diff = bad_after / n_after - bad_before / n_before
    return Estimate(
        "two proportions (Newcombe)", float(diff), float(lo), float(hi), float(p), level
    )


def confidence_sequence(
    baseline: Values, pilot: Values, *, level: float = 0.95, rho: float = 1.0
) -> Estimate:
    """An always-valid interval for the difference of means, safe to look at every day (a normal
    mixture confidence sequence; Howard et al. 2021). Wider than a fixed-time interval: that is
    the price of peeking."""
    x = _series(baseline, "baseline", 3)
    y = _series(pilot, "pilot series", 2)
    sd = float(np.std(np.concatenate([x - x.mean(), y - y.mean()]), ddof=2))
    r = lag1_autocorrelation(np.concatenate([x - x.mean(), y - y.mean()]))
    n_eff = effective_n(1 / (1 / x.size + 1 / y.size), r)
    alpha = 1 - level
    v = sd**2 / n_eff if n_eff > 0 else float("inf")
    # Normal mixture boundary for a mean with variance v after "t" units of information.
    t = 1 / v if v > 0 else float("inf")
    half = (
        math.sqrt((t + rho) / t**2 * math.log((t + rho) / (rho * alpha**2)))
        if t != float("inf")
        else 0.0
    )
    effect = float(y.mean() - x.mean())
    return Estimate(
        "always-valid (confidence sequence)",
        effect,
        effect - half,
        effect + half,
        None,
        level,
        {"effective_n": n_eff},
    )


def ljung_box(residuals: Values, lags: int = 5) -> float:
    """p-value of the Ljung–Box test for autocorrelation left in the residuals."""
    from statsmodels.stats.diagnostic import acorr_ljungbox

    r = np.asarray(residuals, dtype=float)
    lags = max(1, min(lags, r.size // 4))
    return float(acorr_ljungbox(r, lags=[lags])["lb_pvalue"].iloc[0])


def pooled(estimates: Sequence[Estimate], *, method: str, level: float = 0.95) -> Estimate:
    """Inverse-variance pooled effect of several independent estimates (e.g. one per machine of a
    stepped roll-out), with Cochran's Q as a check that the machines agree."""
    from scipy import stats as sps

    if not estimates:
        raise InputError("nothing to pool")
    zc = sps.norm.ppf(0.5 + level / 2)
    ses = np.array([(e.high - e.low) / (2 * sps.norm.ppf(0.5 + e.level / 2)) for e in estimates])
    if np.any(ses <= 0):
        raise InputError("an estimate without uncertainty cannot be pooled")
    w = 1 / ses**2
    values = np.array([e.value for e in estimates])
    mean = float(np.sum(w * values) / np.sum(w))
    se = float(math.sqrt(1 / np.sum(w)))
    q = float(np.sum(w * (values - mean) ** 2))
    p_het = float(sps.chi2.sf(q, len(estimates) - 1)) if len(estimates) > 1 else 1.0
    p = float(2 * sps.norm.sf(abs(mean) / se))
    return Estimate(
        method,
        mean,
        mean - zc * se,
        mean + zc * se,
        p,
        level,
        {
            "se": se,
            "heterogeneity_q": q,
            "heterogeneity_p": p_het,
            "parts": [{"value": e.value, "low": e.low, "high": e.high} for e in estimates],
        },
    )
