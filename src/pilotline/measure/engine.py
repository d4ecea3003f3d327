"""The KPI engine: ISO 22400-2 times and counts per machine and planned segment, written once in Ibis.

Everything here is an Ibis expression over the store's tables, so the same code runs on the
embedded DuckDB store and, later, on PostgreSQL and Spark. Times are handled as epoch seconds
(float) to keep the arithmetic portable.

The time model (all in seconds, per machine and shift):

* segment time   = the shift minus its planned breaks
* planned time   = segment time − planned stops − no data
* run time       = planned time − breakdowns − setups − unexplained stops (longer than the
                   minor-stop limit)
* net run time   = Σ parts × ideal cycle time
* fully productive time = Σ good parts × ideal cycle time

Minor stops stay inside run time: they and reduced speed show up as lost performance.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import pyarrow as pa

from pilotline.measure.periods import BUCKET_S, SEGMENT_KEYS, segment_buckets
from pilotline.plant.model import Plant

SUM_COLUMNS = (
    "segment_s",
    "planned_stop_s",
    "no_data_s",
    "breakdown_s",
    "setup_s",
    "unexplained_s",
    "minor_stop_s",
    "failures",
    "stops",
    "total_count",
    "reject_count",
    "rework_count",
    "ideal_s",
    "good_ideal_s",
    "outside_planned_count",
    "outside_planned_reject_count",
)


@dataclass(frozen=True)
class Inputs:
    """The in-memory tables a query needs besides the stored data: the planned segments, and
    the rest of the time the shifts own (breaks, and until the next shift starts)."""

    segments: pa.Table
    now: float
    minor_stop_s: float
    unplanned: pa.Table | None = None


def _reasons_table(plant: Plant) -> pa.Table:
    mapping = plant.reason_categories()
    return pa.table({"reason_key": list(mapping), "category": list(mapping.values())})


def _ideal_table(plant: Plant) -> pa.Table:
    rows = [(p.id, m, s) for p in plant.products for m, s in p.ideal_cycle_s.items()]
    return pa.table(
        {
            "p_product": pa.array([r[0] for r in rows], pa.string()),
            "p_machine": pa.array([r[1] for r in rows], pa.string()),
            "p_ict": pa.array([r[2] for r in rows], pa.float64()),
        }
    )


def _machines_table(plant: Plant) -> pa.Table:
    return pa.table(
        {
            "m_machine": [m.id for _, m in plant.machines],
            "m_ict": pa.array([m.ideal_cycle_s for _, m in plant.machines], pa.float64()),
        }
    )


def _epoch(col: Any) -> Any:
    return col.epoch_seconds().cast("float64")


def stop_intervals(
    con: Any, plant: Plant, inputs: Inputs, lo: float, hi: float, machines: list[str] | None = None
) -> Any:
    """Every state interval overlapping ``[lo, hi)``, with its end, effective reason and category;
    of ``machines`` only, when given (read before the window over each machine's states, so a
    query about one machine does not order every machine's states)."""
    states = con.table("states")
    if machines is not None:
        states = states.filter(states.machine.isin(machines)) if machines else states.limit(0)
    s = states.mutate(s0=_epoch(states.start_ts), s_end=_epoch(states.end_ts))
    s = s.filter(s.s0 < hi)
    nxt = s.s0.lead().over(ibis.window(group_by=s.machine, order_by=s.s0))
    s = s.mutate(
        s1=ibis.least(ibis.coalesce(s.s_end, nxt, inputs.now), ibis.coalesce(nxt, inputs.now))
    )
    # The last state, when it begins after ``now``, would end (at ``now``) before it begins: left
    # out rather than given a negative length.
    s = s.filter((s.s1 > lo) & (s.s1 >= s.s0))
    ops = con.table("operator_reasons")
    o = ops.select(
        o_machine=ops.machine, o0=_epoch(ops.start_ts), o1=_epoch(ops.end_ts), o_reason=ops.reason
    )
    s = s.left_join(o, [s.machine == o.o_machine, s.s0 >= o.o0, s.s0 < o.o1])
    s = s.mutate(reason=ibis.coalesce(s.o_reason, s.reason))
    reasons = ibis.memtable(_reasons_table(plant))
    s = s.mutate(reason_key=s.reason.lower().strip())
    s = s.left_join(reasons, s.reason_key == reasons.reason_key)
    duration = s.s1 - s.s0
    category = ibis.cases(
        (s.state == "running", "run"),
        (s.state == "no_data", "no_data"),
        (s.category.notnull(), s.category),
        (duration <= inputs.minor_stop_s, "minor_stop"),
        else_="unexplained",
    )
    return s.select("machine", "state", "reason", "s0", "s1", category=category)


def _span(inputs: Inputs, segments: pa.Table | None = None) -> tuple[float, float]:
    """The first segment start and last segment end (epoch seconds) of a query."""
    segments = inputs.segments if segments is None else segments
    if segments.num_rows == 0:
        return 0.0, 0.0
    return (
        float(pa.compute.min(segments["seg_start"]).as_py()),
        float(pa.compute.max(segments["seg_end"]).as_py()),
    )


def _states_in_segments(con: Any, plant: Plant, inputs: Inputs, seg: Any) -> Any:
    """State intervals × the planned segments they overlap, with the overlap in seconds and
    whether the state began inside the segment (to count stops once)."""
    machines = sorted(set(inputs.segments["machine"].to_pylist()))
    all_machines = len(machines) == len(plant.machines)
    st = stop_intervals(con, plant, inputs, *_span(inputs), None if all_machines else machines)
    j = seg.join(st, [seg.machine == st.machine, st.s0 < seg.seg_end, st.s1 > seg.seg_start])
    return j.mutate(
        overlap=ibis.least(j.s1, j.seg_end) - ibis.greatest(j.s0, j.seg_start),
        starts_here=(j.s0 >= j.seg_start) & (j.s0 < j.seg_end),
    )


def segment_facts(con: Any, plant: Plant, inputs: Inputs, *, use_orders: bool) -> Any:
    """Times and counts per machine × planned segment (the atoms every roll-up sums)."""
    seg = ibis.memtable(inputs.segments)
    j = _states_in_segments(con, plant, inputs, seg)
    overlap, starts_here = j.overlap, j.starts_here

    def time_in(cat: str) -> Any:
        return ibis.ifelse(j.category == cat, overlap, 0.0).sum()

    state_time = j.group_by(["machine", "seg_start"]).aggregate(
        covered_s=overlap.sum(),
        planned_stop_s=time_in("planned_stop"),
        no_data_state_s=time_in("no_data"),
        breakdown_s=time_in("breakdown"),
        setup_s=time_in("setup"),
        unexplained_s=time_in("unexplained"),
        minor_stop_s=time_in("minor_stop"),
        failures=ibis.ifelse((j.category == "breakdown") & starts_here, 1, 0).sum(),
        stops=ibis.ifelse(
            (j.state != "running") & (j.state != "no_data") & starts_here, 1, 0
        ).sum(),
    )

    count_facts = _count_facts(con, plant, inputs, inputs.segments, use_orders=use_orders)
    f = seg.left_join(
        state_time, [seg.machine == state_time.machine, seg.seg_start == state_time.seg_start]
    )
    f = f.left_join(
        count_facts, [f.machine == count_facts.machine, f.seg_start == count_facts.seg_start]
    )
    segment_s = f.seg_end - f.seg_start
    z = 0.0
    planned = f.select(
        *SEGMENT_KEYS,
        segment_s=segment_s,
        planned_stop_s=ibis.coalesce(f.planned_stop_s, z),
        no_data_s=ibis.coalesce(f.no_data_state_s, z) + segment_s - ibis.coalesce(f.covered_s, z),
        breakdown_s=ibis.coalesce(f.breakdown_s, z),
        setup_s=ibis.coalesce(f.setup_s, z),
        unexplained_s=ibis.coalesce(f.unexplained_s, z),
        minor_stop_s=ibis.coalesce(f.minor_stop_s, z),
        failures=ibis.coalesce(f.failures, 0),
        stops=ibis.coalesce(f.stops, 0),
        total_count=ibis.coalesce(f.total_count, 0),
        reject_count=ibis.coalesce(f.reject_count, 0),
        rework_count=ibis.coalesce(f.rework_count, 0),
        ideal_s=ibis.coalesce(f.ideal_s, z),
        good_ideal_s=ibis.coalesce(f.good_ideal_s, z),
        outside_planned_count=ibis.literal(0, "int64"),
        outside_planned_reject_count=ibis.literal(0, "int64"),
    )
    if inputs.unplanned is None or inputs.unplanned.num_rows == 0:
        return planned
    return planned.union(_outside_facts(con, inputs, planned))


def _count_facts(
    con: Any, plant: Plant, inputs: Inputs, segments: pa.Table, *, use_orders: bool
) -> Any:
    """Counts per machine × segment ``(start, end]`` of ``segments``, with their ideal times."""
    lo, hi = _span(inputs, segments)
    counts = con.table("counts")
    c = counts.mutate(t=_epoch(counts.ts)).filter(lambda t: (t.t > lo) & (t.t <= hi))
    if use_orders:
        wo = con.table("work_orders")
        w = wo.select(
            w_machine=wo.machine,
            w_product=wo.product,
            w0=_epoch(wo.start_ts),
            w1=ibis.coalesce(_epoch(wo.end_ts), inputs.now),
        )
        c = c.left_join(w, [c.machine == w.w_machine, c.t > w.w0, c.t <= w.w1])
        c = c.mutate(product=ibis.coalesce(c.product, c.w_product))
    ideal = ibis.memtable(_ideal_table(plant))
    machines = ibis.memtable(_machines_table(plant))
    c = c.left_join(ideal, [c.machine == ideal.p_machine, c.product == ideal.p_product])
    c = c.left_join(machines, c.machine == machines.m_machine)
    c = c.mutate(ict=ibis.coalesce(c.p_ict, c.m_ict))
    jc = _in_segments(c, segments)
    return jc.group_by(["machine", "seg_start"]).aggregate(
        total_count=jc.total.sum(),
        reject_count=jc.reject.sum(),
        rework_count=jc.rework.sum(),
        ideal_s=(jc.total * jc.ict).sum(),
        good_ideal_s=((jc.total - jc.reject) * jc.ict).sum(),
    )


def _in_segments(c: Any, segments: pa.Table) -> Any:
    """Counts ``c`` (with epoch seconds ``t``) × the segment ``(start, end]`` each falls in.
    An equality join on (machine, hour bucket), then the range check: fast on every engine."""
    buckets = ibis.memtable(segment_buckets(segments))
    c = c.mutate(bucket=(c.t / BUCKET_S).floor().cast("int64"))
    jc = buckets.join(
        c,
        [
            buckets.b_machine == c.machine,
            buckets.bucket == c.bucket,
            c.t > buckets.b_seg_start,
            c.t <= buckets.b_seg_end,
        ],
    )
    return jc.mutate(seg_start=jc.b_seg_start)


def _outside_facts(con: Any, inputs: Inputs, like: Any) -> Any:
    """Parts counted outside planned time, as fact rows of the shift that owns that time: no
    planned time, no OEE counts, only ``outside_planned_count`` and its rejects."""
    assert inputs.unplanned is not None
    seg = ibis.memtable(inputs.unplanned)
    lo, hi = _span(inputs, inputs.unplanned)
    counts = con.table("counts")
    c = counts.mutate(t=_epoch(counts.ts)).filter(lambda t: (t.t > lo) & (t.t <= hi))
    # No ideal times here, and the segments carry their work order and product already.
    jc = _in_segments(c.select("machine", "t", "total", "reject"), inputs.unplanned)
    counted = jc.group_by(["machine", "seg_start"]).aggregate(
        total_count=jc.total.sum(), reject_count=jc.reject.sum()
    )
    f = seg.join(counted, [seg.machine == counted.machine, seg.seg_start == counted.seg_start])
    f = f.filter(f.total_count > 0)
    zero_s, zero = ibis.literal(0.0, "float64"), ibis.literal(0, "int64")
    values = {c: zero_s if c.endswith("_s") else zero for c in SUM_COLUMNS}
    values["outside_planned_count"] = f.total_count
    values["outside_planned_reject_count"] = f.reject_count
    out = f.select(*SEGMENT_KEYS, **values)
    schema = like.schema()
    return out.select(*[out[name].cast(typ) for name, typ in schema.items()])


def _ratio(num: Any, den: Any) -> Any:
    return ibis.ifelse(den > 0, num / den, ibis.null("float64"))


def rollup(
    facts: Any, *, by: list[str], grain: str, range_start: dt.datetime, range_end: dt.datetime
) -> Any:
    """Sum times and counts over the groups, then compute ratios (never an average of ratios)."""
    if grain == "shift":
        bounds = {"period_start": facts.shift_start, "period_end": facts.shift_end}
        keys = ["shift_key", "shift"]
    elif grain == "all":
        bounds = {
            "period_start": ibis.literal(range_start.timestamp()),
            "period_end": ibis.literal(range_end.timestamp()),
        }
        keys = []
    else:
        bounds = {"period_start": facts[f"{grain}_start"], "period_end": facts[f"{grain}_end"]}
        keys = []
    f = facts.mutate(**bounds)
    group = [*by, *keys, "period_start", "period_end"]
    agg = f.group_by(group).aggregate(
        machines=f.machine.nunique(),
        **{c: f[c].sum() for c in SUM_COLUMNS},
    )
    a = agg.mutate(
        calendar_s=(agg.period_end - agg.period_start) * agg.machines,
        planned_s=agg.segment_s - agg.planned_stop_s - agg.no_data_s,
    )
    a = a.mutate(
        run_s=a.planned_s - a.breakdown_s - a.setup_s - a.unexplained_s,
        good_count=a.total_count - a.reject_count,
    )
    a = a.mutate(
        availability=_ratio(a.run_s, a.planned_s),
        performance=_ratio(a.ideal_s, a.run_s),
        quality=_ratio(a.good_ideal_s, a.ideal_s),
        oee=_ratio(a.good_ideal_s, a.planned_s),
        teep=_ratio(a.good_ideal_s, a.calendar_s),
        nee=_ratio(a.good_ideal_s, a.planned_s - a.setup_s),
        quality_ratio=_ratio(a.good_count, a.total_count),
        scrap_ratio=_ratio(a.reject_count - a.rework_count, a.total_count),
        rework_ratio=_ratio(a.rework_count, a.total_count),
        first_pass_yield=_ratio(a.good_count, a.total_count),
        throughput_per_h=_ratio(a.total_count * 3600.0, a.run_s),
        setup_rate=_ratio(a.setup_s, a.planned_s),
        mtbf_s=_ratio(a.run_s, a.failures),
        mttr_s=_ratio(a.breakdown_s, a.failures),
        speed_loss_s=a.run_s - a.minor_stop_s - a.ideal_s,
        quality_loss_s=a.ideal_s - a.good_ideal_s,
        not_scheduled_s=a.calendar_s - a.segment_s,
    )
    return a.order_by([*by, "period_start", *keys])


def pareto(con: Any, plant: Plant, inputs: Inputs) -> Any:
    """Lost time by reason inside planned segments (stops only), largest first."""
    j = _states_in_segments(con, plant, inputs, ibis.memtable(inputs.segments))
    j = j.filter(j.category.notin(["run", "no_data", "planned_stop"]))
    j = j.mutate(reason=ibis.coalesce(j.reason, ibis.literal("(no reason)")))
    out = j.group_by(["reason", "category"]).aggregate(
        lost_s=j.overlap.sum(), stops=ibis.ifelse(j.starts_here, 1, 0).sum()
    )
    return out.order_by([ibis.desc("lost_s"), "reason"])
