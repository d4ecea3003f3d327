"""Filters and simplifications of an event log, as Ibis expressions over the events table.

Case-level filters keep or drop whole cases; event-level ones keep or drop single events. The
order of events within a case is never changed. A filter that needs figures of the whole log
(the variants' ranking) takes the :class:`~pilotline.map.summary.Miner` as ``miner``; ``where``
passes it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

import ibis

from pilotline.errors import InputError
from pilotline.map.analyses import _order

if TYPE_CHECKING:
    from pilotline.map.summary import Miner

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


def top_variants(
    t: Any, *, miner: Miner, k: int | None = None, coverage: float | None = None
) -> Any:
    """Cases of the ``k`` most frequent variants, or of the most frequent variants, taken in
    order until together they cover at least the ``coverage`` share of cases.

    The variants are ranked as ``miner.variants()`` lists them (most cases first, equal counts by
    their activities' code points), so the same on every engine: the ranking is made here from
    one row per variant, and only the chosen example cases go back to the engine, where every
    case with the same variant key is kept (no ordered aggregation per case, which Spark lacks).
    """
    if k is None and coverage is None:
        raise InputError("give the number of variants to keep or the share of cases to cover")
    if k is not None and k < 1:
        raise InputError(f"--top-variants must be 1 or more, not {k}")
    if coverage is not None and not 0 < coverage <= 1:
        raise InputError(f"--coverage is a share of cases above 0 and at most 1, not {coverage}")
    ranked = miner.variants()
    if k is not None:
        chosen = ranked[:k]
    else:
        assert coverage is not None
        total = sum(r["cases"] for r in ranked)
        chosen, covered = [], 0
        for r in ranked:
            if chosen and covered >= coverage * total:
                break
            chosen.append(r)
            covered += r["cases"]
    c = miner.case_keys()
    examples = c.filter(c.case.isin([r["example_case"] for r in chosen]))
    ex = examples.select(x1=examples.vk1, x2=examples.vk2)
    keep = c.semi_join(ex, [c.vk1 == ex.x1, c.vk2 == ex.x2]).select(k_no=c.case_no)
    return t.semi_join(keep, t.case_no == keep.k_no)


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


#: Filters that rename activities: their activities are numbered again after them.
RENAMING: frozenset[Callable[..., Any]] = frozenset({group_activities})
