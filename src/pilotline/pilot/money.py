"""What the effect is worth: payback and ROI as intervals, carrying the effect's uncertainty."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pilotline.pilot.spec import Money


def value_of(
    draws: np.ndarray, money: Money, *, direction: str, periods_per_month: float
) -> dict[str, Any]:
    """Payback (months) and ROI over the horizon from draws of the effect (metric units per
    period); ``periods_per_month`` is the pilot's (``Pilot.periods_per_month``)."""
    sign = 1.0 if direction == "increase" else -1.0
    monthly = sign * draws * money.value_per_unit * periods_per_month - money.running_per_month
    months = money.horizon_months
    cost = money.one_off + money.running_per_month * months
    gain = monthly * months + money.running_per_month * months  # gross value over the horizon
    roi = (gain - cost) / cost if cost > 0 else np.full_like(draws, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        payback = np.where(monthly > 0, money.one_off / monthly, np.inf)

    def q(a: np.ndarray, p: float) -> float:
        finite = np.where(np.isfinite(a), a, np.finfo(float).max)  # "never" sorts last
        value = float(np.quantile(finite, p, method="lower"))
        return math.inf if value == np.finfo(float).max else value

    return {
        "currency": money.currency,
        "monthly_net_value": {
            "median": q(monthly, 0.5),
            "low": q(monthly, 0.025),
            "high": q(monthly, 0.975),
        },
        "payback_months": {
            "median": q(payback, 0.5),
            "low": q(payback, 0.025),
            "high": q(payback, 0.975),
        },
        "roi": {"median": q(roi, 0.5), "low": q(roi, 0.025), "high": q(roi, 0.975)},
        "probability_of_loss": float(np.mean(monthly * months < money.one_off)),
        "horizon_months": months,
    }


def months_text(value: float) -> str:
    if not math.isfinite(value):
        return "never"
    if value > 1200:
        return "over 100 years"
    if value < 1:
        return f"{value * 30:.0f} days"
    return f"{value:.0f} months" if value >= 1.5 else "1 month"


def effect_text(x: float, ratio: bool = False) -> str:
    """An estimate for a table: a rate ratio as is (1 = no change); a difference signed, with
    the decimals its size needs (rates per part are small)."""
    if ratio:
        return f"{x:.3f}"
    return f"{x:+.2f}" if x == 0 or abs(x) >= 0.1 else f"{x:+.3g}"
