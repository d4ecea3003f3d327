"""Process-mining analyses written once, as Ibis expressions over an events table.

The events table has ``case``, ``activity``, ``ts`` (UTC) and ``seq`` (file order). Order within a
case is ``(ts, seq)``: equal timestamps keep the file's order.
"""

from __future__ import annotations

from typing import Any

import ibis

SEP = "\x1f"  # joins activity names into a variant key; cannot occur in names read from files


def _order(t: Any) -> list[Any]:
    return [t.ts, t.seq]


def _seconds(ts: Any) -> Any:
    return ts.epoch_seconds().cast("float64")


def with_successor(t: Any) -> Any:
    """Each event with the next event of its case (activity and seconds until it), and position."""
    w = ibis.window(group_by=t.case, order_by=_order(t))
    return t.mutate(
        next_activity=t.activity.lead().over(w),
        gap_s=_seconds(t.ts.lead().over(w)) - _seconds(t.ts),
        prev_activity=t.activity.lag().over(w),
        position=ibis.row_number().over(w),
    )


def dfg(t: Any) -> Any:
    """Directly-follows pairs with count and time between them (mean, median, max, total)."""
    e = with_successor(t)
    e = e.filter(e.next_activity.notnull())
    return (
        e.group_by([e.activity.name("source"), e.next_activity.name("target")])
        .aggregate(
            count=e.count(),
            mean_s=e.gap_s.mean(),
            median_s=e.gap_s.median(),
            max_s=e.gap_s.max(),
            total_s=e.gap_s.sum(),
        )
        .order_by([ibis.desc("count"), "source", "target"])
    )


def cases(t: Any) -> Any:
    """One row per case: first and last activity, events, start, end and duration."""
    order = _order(t)
    return t.group_by("case").aggregate(
        events=t.count(),
        first_activity=t.activity.first(order_by=order),
        last_activity=t.activity.first(order_by=[t.ts.desc(), t.seq.desc()]),
        start=t.ts.min(),
        end=t.ts.max(),
        duration_s=_seconds(t.ts.max()) - _seconds(t.ts.min()),
        variant=t.activity.group_concat(SEP, order_by=order),
    )


def variants(t: Any) -> Any:
    """Variants (activity sequences) with their number of cases and mean case duration."""
    c = cases(t)
    return (
        c.group_by("variant")
        .aggregate(
            cases=c.count(),
            events=c.events.max(),
            mean_duration_s=c.duration_s.mean(),
            median_duration_s=c.duration_s.median(),
        )
        .order_by([ibis.desc("cases"), "variant"])
    )


def activities(t: Any) -> Any:
    """Per activity: events, cases it appears in, cases where it repeats (rework), resources."""
    per_case = t.group_by(["activity", "case"]).aggregate(n=t.count())
    rework = per_case.group_by("activity").aggregate(
        cases=per_case.count(),
        rework_cases=(per_case.n > 1).sum(),
        events=per_case.n.sum(),
    )
    return rework.order_by([ibis.desc("events"), "activity"])
