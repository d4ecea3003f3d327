"""Rhythms the pilot's models allow for, as regression columns: the weekday, a smooth weekly
rhythm, and a smooth yearly one.

A yearly rhythm is a few sine/cosine pairs of the time of year: for monthly data the month
(exactly twelve to a year), for days, shifts and weeks the date (365.2425 days to a year).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _pairs(phase: np.ndarray, pairs: int, name: str) -> tuple[list[np.ndarray], list[str]]:
    """``pairs`` harmonics of a phase measured in cycles (1.0 = one whole period)."""
    cols, names = [], []
    for k in range(1, pairs + 1):
        cols += [np.sin(2 * np.pi * k * phase), np.cos(2 * np.pi * k * phase)]
        names += [f"{name}_sin{k}", f"{name}_cos{k}"]
    return cols, names


def year_phase(dates: Sequence[dt.date], unit: str) -> np.ndarray:
    """The time of year of each period, in years since year 0 (only the fraction matters)."""
    if unit == "month":
        return np.array([(d.year * 12 + d.month - 1) / 12 for d in dates], dtype=float)
    return np.array([d.toordinal() / 365.2425 for d in dates], dtype=float)


def seasonal_terms(
    dates: Sequence[dt.date], *, unit: str, seasons: Sequence[str], yearly_pairs: int = 2
) -> tuple[np.ndarray | None, list[str]]:
    """Columns for the rhythms in ``seasons`` ("weekday", "harmonic" (weekly), "yearly"), and
    their names; ``None`` when there are none. Weekdays get one dummy each but the first seen."""
    cols: list[np.ndarray] = []
    names: list[str] = []
    if "weekday" in seasons:
        days = np.array([d.weekday() for d in dates])
        for k in sorted(set(days.tolist()))[1:]:
            cols.append((days == k).astype(float))
            names.append(f"weekday_{WEEKDAYS[k]}")
    if "harmonic" in seasons:
        c, n = _pairs(np.array([d.toordinal() % 7 for d in dates], dtype=float) / 7, 2, "week")
        cols += c
        names += n
    if "yearly" in seasons:
        c, n = _pairs(year_phase(dates, unit), yearly_pairs, "year")
        cols += c
        names += n
    return (np.column_stack(cols) if cols else None), names
