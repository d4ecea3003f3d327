"""Process-mining analyses written once, as Ibis expressions over an events table.

The events table has ``case``, ``activity``, ``ts`` (UTC) and the order columns of
:mod:`pilotline.map.log`: ``seq`` (the log's order, each case's events consecutive), ``case_no``
and ``pos`` (position within the case). The heavy analyses use ``case_no`` and ``pos`` so that
they are hash aggregations and equality joins, not sorts per case.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.datatypes as dt

SEP = "\x1f"  # joins activity names into a variant key; cannot occur in names read from files


def _order(t: Any) -> list[Any]:
    return [t.ts, t.seq]


def _seconds(ts: Any) -> Any:
    return ts.epoch_seconds().cast(dt.float64)


def with_successor(t: Any) -> Any:
    """Each event with the next event of its case (activity and seconds until it), and position."""
    w = ibis.window(group_by=t.case, order_by=_order(t))
    return t.mutate(
        next_activity=t.activity.lead().over(w),
        gap_s=_seconds(t.ts.lead().over(w)) - _seconds(t.ts),
        prev_activity=t.activity.lag().over(w),
        position=ibis.row_number().over(w),
    )


def successors(t: Any, *, resources: bool = False) -> Any:
    """Each event joined to the next event of its case: ``activity``, ``next_activity``, ``gap_s``
    (and, with ``resources``, who did each).

    Uses the log's invariant (``case_no`` and ``pos``, see :mod:`pilotline.map.log`), so the next
    event is the one at ``pos + 1`` in the same case: an equality join on integers, which every
    engine runs in parallel, instead of a window sorted per case. Only the columns needed are
    carried through the join, which keeps its hash table small.
    """
    extra_a = {"a_resource": t.resource} if resources else {}
    extra_b = {"next_resource": t.resource} if resources else {}
    a = t.select(a_no=t.case_no, a_pos=t.pos, activity=t.activity, a_ts=t.ts, **extra_a)
    b = t.select(b_no=t.case_no, b_pos=t.pos, next_activity=t.activity, b_ts=t.ts, **extra_b)
    j = a.join(b, [a.a_no == b.b_no, b.b_pos == a.a_pos + 1])
    out = {
        "activity": j.activity,
        "next_activity": j.next_activity,
        "gap_s": _seconds(j.b_ts) - _seconds(j.a_ts),
    }
    if resources:
        out |= {"resource": j.a_resource, "next_resource": j.next_resource}
    return j.select(**out)


def _named(t: Any, names: Any, code: str, name: str) -> Any:
    """Join the activity name for the code column ``code`` as ``name``."""
    n = names.select(**{f"{code}__code": names.a, name: names.activity})
    return t.join(n, t[code] == n[f"{code}__code"]).drop(f"{code}__code")


def dfg(t: Any, names: Any) -> Any:
    """Directly-follows pairs with count and time between them (mean, median, max, total).

    ``t`` has the activity numbers ``a`` and ``names`` maps them to names (``a``, ``activity``):
    the engine groups integers and joins the names to the few pairs at the end."""
    # Times between events in whole microseconds: exact sums, the same answers on every path,
    # and an exact median of integers is about twice as fast as one of floats.
    if "next_a" in t.columns:  # found when the log was ordered (see store.load_parquet_log)
        f = t.filter(t.next_a.notnull())
        e = f.select(src=f.a, dst=f.next_a, us=f.next_gap_us)
    else:
        a = t.select(a_no=t.case_no, a_pos=t.pos, a_code=t.a, a_ts=t.ts)
        b = t.select(b_no=t.case_no, b_pos=t.pos, b_code=t.a, b_ts=t.ts)
        j = a.join(b, [a.a_no == b.b_no, b.b_pos == a.a_pos + 1])
        # two epochs' rounding errors (< 0.3 µs together) vanish in the rounding
        us = ((_seconds(j.b_ts) - _seconds(j.a_ts)) * 1e6).round().cast(dt.int64)
        e = j.select(src=j.a_code, dst=j.b_code, us=us)
    g = e.group_by(["src", "dst"]).aggregate(
        count=e.count(),
        mean_s=e.us.mean() / 1e6,
        median_s=e.us.median() / 1e6,
        max_s=e.us.max() / 1e6,
        total_s=e.us.sum() / 1e6,
    )
    g = _named(_named(g, names, "src", "source"), names, "dst", "target")
    return g.select("source", "target", "count", "mean_s", "median_s", "max_s", "total_s").order_by(
        [ibis.desc("count"), "source", "target"]
    )


def cases(t: Any, names: Any, case_ids: Any, activities: int) -> Any:
    """One row per case: events, first and last activity, start, end, duration and a variant key.

    Relies on the event log's invariant (see :mod:`pilotline.map.log`): ``case_no`` numbers the
    cases and ``pos`` is each event's position in its case, so one hash aggregation does it, with
    no sort per case. The variant key is a pair of sums of two 31-bit parts of the hash of
    (activity number, position): equal sequences get equal keys, and two different sequences
    share a key with a probability of about 2⁻⁶², so it is safe to count variants by it. ``case_ids`` maps
    ``case_no`` to the case id (``case``); ``activities`` is the number of activity numbers.
    """
    h = _step(t, activities).hash()
    # The last event is the one with no next event when the ordering pass found successors;
    # otherwise the one at the highest position.
    last = t.a.max(where=t.next_a.isnull()) if "next_a" in t.columns else t.a.argmax(t.pos)
    out = t.group_by("case_no").aggregate(
        events=t.count(),
        first_a=t.a.min(where=t.pos == 0),  # every case's positions start at 0
        last_a=last,
        start=t.ts.min(),
        end=t.ts.max(),
        vk1=(h % _MOD).sum(),
        vk2=((h >> 31) % _MOD).sum(),
    )
    out = _named(_named(out, names, "first_a", "first_activity"), names, "last_a", "last_activity")
    ids = case_ids.select(id_no=case_ids.case_no, case=case_ids.case)
    out = out.join(ids, out.case_no == ids.id_no)
    return out.select(
        "case",
        "case_no",
        "events",
        "first_activity",
        "last_activity",
        "start",
        "end",
        duration_s=_seconds(out.end) - _seconds(out.start),
        vk1=out.vk1,
        vk2=out.vk2,
    )


_MOD = 2_147_483_647  # keeps each hash below 2**31, so sums fit 64 bits on every engine


def _step(t: Any, activities: int) -> Any:
    """(activity number, position) as one integer, distinct for every pair and as small as it
    can be (``pos × activities + a``): hashing one integer is much cheaper than hashing a
    struct, and small integers hash well everywhere — PostgreSQL folds a 64-bit integer's two
    halves together before hashing it, so ``a × 2³² + pos`` would give (1, 1) and (2, 2) the
    same hash there. The 64-bit hash gives both halves of the variant key."""
    return t.pos.cast(dt.int64) * max(activities, 1) + t.a.cast(dt.int64)


def variants(case_table: Any) -> Any:
    """Variants (activity sequences, by their key) with their number of cases, events and case
    durations, and an example case (the smallest case id, numbered ``ex_no``).

    ``case_table`` is :func:`cases` of the events; :func:`variant_steps` spells the variants out.
    """
    c = case_table
    v = c.group_by(["vk1", "vk2"]).aggregate(
        cases=c.count(),
        events=c.events.max(),
        mean_duration_s=c.duration_s.mean(),
        median_duration_s=c.duration_s.median(),
        example_case=c.case.min(),
    )
    ex = c.select(ex_case=c.case, ex_no=c.case_no)
    v = v.join(ex, v.example_case == ex.ex_case)
    return v.select(
        "ex_no", "cases", "events", "mean_duration_s", "median_duration_s", "example_case"
    )


def variant_steps(t: Any, variants: Any) -> Any:
    """The events of each variant's example case: ``ex_no``, ``pos`` and the activity number
    ``a``, unordered. One case per variant makes these few rows; sorting them where they arrive
    costs less than an ordered aggregation per case in the engine."""
    reps = t.semi_join(variants, t.case_no == variants.ex_no)
    return reps.select(ex_no=reps.case_no, pos=reps.pos, a=reps.a)


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
    e = successors(t, resources=True)
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


def processing_and_waiting(t: Any) -> Any:
    """Per activity, for logs with start times: processing time (start → complete) and waiting
    time before it (the previous activity's completion → this start), mean and median."""
    a = t.select(a_no=t.case_no, a_pos=t.pos, a_ts=t.ts)
    b = t.select(b_no=t.case_no, b_pos=t.pos, activity=t.activity, start=t.start, ts=t.ts)
    j = b.left_join(a, [a.a_no == b.b_no, a.a_pos + 1 == b.b_pos])
    j = j.mutate(
        processing_s=_seconds(j.ts) - _seconds(j.start),
        waiting_s=_seconds(j.start) - _seconds(j.a_ts),
    )
    return (
        j.group_by("activity")
        .aggregate(
            instances=j.count(),
            processing_mean_s=j.processing_s.mean(),
            processing_median_s=j.processing_s.median(),
            waiting_mean_s=j.waiting_s.mean(),
            waiting_median_s=j.waiting_s.median(),
            waiting_total_s=j.waiting_s.sum(),
        )
        .order_by([ibis.desc("waiting_total_s"), "activity"])
    )
