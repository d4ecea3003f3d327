"""Filters and simplifications of an event log, as Ibis expressions over the events table.

Case-level filters keep or drop whole cases; event-level ones keep or drop single events. The
order of events within a case is never changed.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

import ibis

from pilotline.errors import InputError
from pilotline.map.analyses import SEP, _order

WindowMode = Literal["contained", "intersecting", "events"]


def _ts(value: dt.datetime) -> Any:
    if value.tzinfo is None:
        raise InputError("filter times need a time zone (e.g. 2026-03-02T00:00:00+00:00)")
    return ibis.literal(value.astimezone(dt.UTC).replace(tzinfo=None))


def time_window(
    t: Any, start: dt.datetime, end: dt.datetime, mode: WindowMode = "intersecting"
) -> Any:
    """Cases wholly inside ``[start, end)`` (contained), cases with any event in it
    (intersecting), or only the events in it (events)."""
    lo, hi = _ts(start), _ts(end)
    inside = (t.ts >= lo) & (t.ts < hi)
    if mode == "events":
        return t.filter(inside)
    per_case = t.group_by("case").aggregate(
        first=t.ts.min(), last=t.ts.max(), any_inside=inside.any()
    )
    if mode == "contained":
        keep = per_case.filter((per_case.first >= lo) & (per_case.last < hi))
    elif mode == "intersecting":
        keep = per_case.filter(per_case.any_inside)
    else:
        raise InputError(f"unknown window mode {mode!r}; use contained, intersecting or events")
    return t.semi_join(keep.select(k_case=keep.case), t.case == keep.case)


def attribute_values(t: Any, column: str, values: list[str], *, keep: bool = True) -> Any:
    """Cases with (``keep``) or without an event whose ``column`` is one of ``values``."""
    if column not in t.columns:
        raise InputError(f"the log has no attribute {column!r}; it has {list(t.columns)}")
    hits = t.filter(t[column].cast("string").isin(values)).select(h_case=t.case).distinct()
    if keep:
        return t.semi_join(hits, t.case == hits.h_case)
    return t.anti_join(hits, t.case == hits.h_case)


def activities(t: Any, *, keep: list[str] | None = None, drop: list[str] | None = None) -> Any:
    """Only the events of ``keep``, or all but those of ``drop``."""
    if keep:
        t = t.filter(t.activity.isin(keep))
    if drop:
        t = t.filter(~t.activity.isin(drop))
    return t


def top_variants(t: Any, *, k: int | None = None, coverage: float | None = None) -> Any:
    """Cases of the ``k`` most frequent variants, or of the most frequent variants, taken in
    order until together they cover at least the ``coverage`` share of cases."""
    per_case = t.group_by("case").aggregate(
        variant=t.activity.group_concat(SEP, order_by=_order(t))
    )
    counts = per_case.group_by("variant").aggregate(n=per_case.count())
    order = [ibis.desc(counts.n), counts.variant]
    ranked = counts.mutate(
        rank=ibis.row_number().over(ibis.window(order_by=order)),  # 0-based
        cum=counts.n.sum().over(ibis.cumulative_window(order_by=order)),
        total=counts.n.sum().over(ibis.window()),
    )
    if k is not None:
        chosen = ranked.filter(ranked.rank < k)
    elif coverage is not None:
        chosen = ranked.filter(
            (ranked.cum - ranked.n < coverage * ranked.total) | (ranked.rank == 0)
        )
    else:
        raise InputError("give the number of variants to keep or the share of cases to cover")
    keep = per_case.semi_join(chosen, per_case.variant == chosen.variant).select(
        k_case=per_case.case
    )
    return t.semi_join(keep, t.case == keep.k_case)


def group_activities(
    t: Any, *, mapping: dict[str, str] | None = None, pattern: str | None = None
) -> Any:
    """Rename activities: by a mapping, and/or to the first group of a regular expression
    (``'^(\\w+)'`` turns "Turning Q.C." and "Turning & Milling" into "Turning")."""
    activity = t.activity
    if mapping:
        activity = activity.substitute(mapping)
    if pattern:
        extracted = activity.re_extract(pattern, 1)
        activity = ibis.ifelse(extracted.isnull() | (extracted == ""), activity, extracted)
    return t.mutate(activity=activity)


def collapse_repeats(t: Any) -> Any:
    """Drop an event when the previous event of its case has the same activity (A, A, B → A, B)."""
    w = ibis.window(group_by=t.case, order_by=_order(t))
    marked = t.mutate(_prev=t.activity.lag().over(w))
    return marked.filter(marked._prev.isnull() | (marked._prev != marked.activity)).drop("_prev")
