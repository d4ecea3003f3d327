"""Counts per exposure — stoppages per 1,000 parts, defects per batch: the rate ratio.

A quasi-Poisson regression with log(exposure) as offset::

    log E[count] = log exposure + a + b·t + c·after (+ d·(t − t₀)·after) (+ seasonal terms)

with the dispersion from Pearson's χ² over the residual degrees of freedom (statsmodels'
``scale="X2"``), so counts that scatter more than Poisson get wider intervals. The effect is the
rate ratio exp(c), 1.0 being no change (with a slope change, the ratio at the pilot's mean
distance from the change, exp(c + d·mean(t − t₀))). A switchback replaces the step by the on/off
flag. The interval is Wald's on the log scale, as statsmodels gives it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from pilotline.errors import InputError
from pilotline.pilot.stats import Estimate, Values, _check_fit, _design, _series


def rate_ratio(
    counts: Values,
    exposure: Values,
    *,
    intervention: int,
    slope: bool = False,
    extra: np.ndarray | None = None,
    extra_names: Sequence[str] | None = None,
    level: float = 0.95,
) -> Estimate:
    """The change in counts per unit of exposure at ``intervention`` (the first pilot period)."""
    y, e = _counts(counts, exposure)
    n = y.size
    if not 3 <= intervention <= n - 3:
        raise InputError(
            f"the series needs at least 3 points before and after the change; "
            f"it has {intervention} before and {n - intervention} after"
        )
    X, names, since = _design(n, intervention, None, slope, extra, extra_names)
    w = np.zeros(X.shape[1])
    w[2] = 1.0
    if slope:
        w[3] = float(np.mean(since[intervention:]))
    changed = np.arange(n) >= intervention
    effect_columns = [2, 3] if slope else [2]
    return _fit(y, e, X, names, w, effect_columns, changed, "rate ratio (quasi-Poisson)", level)


def switchback_rate_ratio(
    counts: Values,
    exposure: Values,
    on: Sequence[bool],
    *,
    extra: np.ndarray | None = None,
    extra_names: Sequence[str] | None = None,
    level: float = 0.95,
) -> Estimate:
    """Counts per exposure with the change switched on and off: the ratio on/off, with a trend."""
    y, e = _counts(counts, exposure)
    flags = np.asarray(on, dtype=bool)
    if flags.size != y.size:
        raise InputError("the switchback schedule needs one on/off flag per period")
    t = np.arange(y.size, dtype=float)
    columns, names = [np.ones(y.size), t, flags.astype(float)], ["const", "trend", "on"]
    if extra is not None:
        columns += [extra[:, j] for j in range(extra.shape[1])]
        names += list(extra_names or [f"extra_{j}" for j in range(extra.shape[1])])
    X = np.column_stack(columns)
    w = np.zeros(X.shape[1])
    w[2] = 1.0
    return _fit(y, e, X, names, w, [2], flags, "switchback rate ratio (quasi-Poisson)", level)


def _counts(counts: Values, exposure: Values) -> tuple[np.ndarray, np.ndarray]:
    y = _series(counts, "counts", 6)
    e = _series(exposure, "exposure", 6)
    if y.size != e.size:
        raise InputError("counts and exposure must have one value per period each")
    if np.any(e <= 0):
        raise InputError(
            f"the exposure is zero or negative in {int(np.sum(e <= 0))} of {e.size} periods: "
            "a rate needs parts made or hours run in every period (drop the idle ones)"
        )
    if np.any(y < 0):
        raise InputError(f"the counts are negative in {int(np.sum(y < 0))} period(s)")
    return y, e


def _fit(
    y: np.ndarray,
    e: np.ndarray,
    X: np.ndarray,
    names: list[str],
    w: np.ndarray,
    effect_columns: list[int],
    changed: np.ndarray,
    method: str,
    level: float,
) -> Estimate:
    import statsmodels.api as sm
    from scipy import stats as sps
    from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

    _check_fit(X, names, "count series")
    before, after = float(y[~changed].sum()), float(y[changed].sum())
    if before == 0 or after == 0:
        side = "before the change" if before == 0 else "with the change"
        raise InputError(
            f"there are no counts at all {side} ({int(before)} before, {int(after)} with it): "
            "a rate ratio needs some events on both sides, so it cannot be estimated yet; "
            "run longer or count a more frequent event"
        )
    offset = np.log(e)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            fit = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
    except PerfectSeparationWarning:
        raise InputError(
            "the count model fits every point exactly (the counts are a fixed share of the "
            "exposure, or zero wherever a term is on), so no honest interval can be given"
        ) from None
    except (Warning, np.linalg.LinAlgError, ValueError) as exc:
        raise InputError(
            f"the count model could not be fitted to these data ({exc}); they are too extreme "
            "or too regular for a rate ratio"
        ) from None
    if not math.isfinite(fit.scale) or fit.scale <= 1e-9:
        raise InputError(
            "the count model fits every point exactly (no scatter is left), so no honest "
            "interval can be given: are the counts a fixed share of the exposure?"
        )
    b = float(w @ fit.params)
    se = float(math.sqrt(max(w @ fit.cov_params() @ w, 0.0)))
    zc = float(sps.norm.ppf(0.5 + level / 2))
    if not abs(b) + zc * se < 700:  # exp() of more overflows
        raise InputError(
            f"the rate ratio's logarithm is {b:.3g} ± {zc * se:.3g}: the counts are too extreme "
            "for this model (check the count and exposure columns)"
        )
    plain = X.copy()
    plain[:, effect_columns] = 0.0
    counterfactual = np.exp(plain @ fit.params + offset)[changed]
    return Estimate(
        method,
        math.exp(b),
        math.exp(b - zc * se),
        math.exp(b + zc * se),
        float(2 * sps.norm.sf(abs(b) / se)) if se > 0 else None,
        level,
        {
            "scale": "ratio",
            "log_ratio": b,
            "se": se,
            "dispersion": float(fit.scale),
            "coefficients": dict(zip(names, map(float, fit.params), strict=True)),
            "standard_errors": dict(zip(names, map(float, fit.bse), strict=True)),
            "counts_before": before,
            "counts_after": after,
            "expected_without_change_per_period": float(counterfactual.mean()),
            "residuals": fit.resid_pearson.tolist(),
        },
    )
