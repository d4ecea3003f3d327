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


def activity_context(t: Any) -> Any:
    """Per activity, what surrounds it: distinct predecessors and successors, time waited before
    it (since the previous event of the case) and after it (until the next), and self-loops."""
    e = with_successor(t)
    w = ibis.window(group_by=e.case, order_by=_order(e))
    e = e.mutate(
        wait_before_s=_seconds(e.ts) - _seconds(e.ts.lag().over(w)),
        context=e.prev_activity.fill_null("^") + SEP + e.next_activity.fill_null("$"),
    )
    per_context = e.group_by(["activity", "context"]).aggregate(n=e.count())
    dominant = per_context.group_by(per_context.activity.name("d_activity")).aggregate(
        dominant_context_events=per_context.n.max()
    )
    stats = e.group_by("activity").aggregate(
        events=e.count(),
        cases=e.case.nunique(),
        predecessors=e.prev_activity.nunique(),
        successors=e.next_activity.nunique(),
        contexts=e.context.nunique(),
        self_loops=(e.next_activity == e.activity).sum(),
        resources=e.resource.nunique(),
        median_wait_before_s=e.wait_before_s.median(),
        median_wait_after_s=e.gap_s.median(),
        total_wait_before_s=e.wait_before_s.sum(),
    )
    j = stats.join(dominant, stats.activity == dominant.d_activity)
    return j.drop("d_activity")


def resources(t: Any) -> Any:
    """Per resource: events, cases and activities handled."""
    r = t.filter(t.resource.notnull())
    return (
        r.group_by("resource")
        .aggregate(events=r.count(), cases=r.case.nunique(), activities=r.activity.nunique())
        .order_by([ibis.desc("events"), "resource"])
    )


def handovers(t: Any) -> Any:
    """How often work passes from one resource to another within a case."""
    w = ibis.window(group_by=t.case, order_by=_order(t))
    e = t.mutate(next_resource=t.resource.lead().over(w))
    e = e.filter(e.resource.notnull() & e.next_resource.notnull() & (e.resource != e.next_resource))
    return (
        e.group_by([e.resource.name("source"), e.next_resource.name("target")])
        .aggregate(count=e.count())
        .order_by([ibis.desc("count"), "source", "target"])
    )


def loopbacks(t: Any) -> Any:
    """Steps into an activity the case has already done: where work loops back (rework)."""
    w = ibis.window(group_by=t.case, order_by=_order(t))
    seen = ibis.window(group_by=[t.case, t.activity], order_by=_order(t))
    e = t.mutate(prev_activity=t.activity.lag().over(w), occurrence=ibis.row_number().over(seen))
    e = e.filter((e.occurrence > 0) & e.prev_activity.notnull())
    return (
        e.group_by([e.prev_activity.name("source"), e.activity.name("target")])
        .aggregate(count=e.count(), cases=e.case.nunique())
        .order_by([ibis.desc("count"), "source", "target"])
    )
