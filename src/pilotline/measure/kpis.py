"""OEE and ISO 22400-2 KPIs: the catalogue (name, formula, meaning) and the query functions.

The catalogue is data; ``docs/kpis.md`` is generated from it and a test keeps the two in step.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import numpy as np

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.measure import engine
from pilotline.measure.periods import GRAINS, Order, segments_table
from pilotline.plant.model import Plant
from pilotline.store import Store, to_arrow

DIMENSIONS = ("machine", "line", "site", "product", "work_order")
#: No machine data is older (imports refuse it), so no period starts earlier.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Kpi:
    key: str
    name: str
    formula: str
    unit: str
    meaning: str


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "planned_s",
        "Planned production time",
        "shift time − breaks − planned stops − no data",
        "s",
        "Time the machine was scheduled to produce and we know what it did.",
    ),
    Kpi(
        "run_s",
        "Run time",
        "planned time − breakdowns − setups − unexplained stops",
        "s",
        "Time the machine was available to run; minor stops stay inside it.",
    ),
    Kpi(
        "availability",
        "Availability",
        "run time ÷ planned time",
        "ratio",
        "Share of planned time not lost to stops (ISO 22400: availability).",
    ),
    Kpi(
        "performance",
        "Performance",
        "Σ(parts × ideal cycle time) ÷ run time",
        "ratio",
        "Speed against the ideal (ISO 22400: effectiveness). Above 1 is flagged: the ideal cycle time is wrong.",
    ),
    Kpi(
        "quality",
        "Quality",
        "Σ(good parts × ideal cycle time) ÷ Σ(parts × ideal cycle time)",
        "ratio",
        "Share of output that was good; for one product it is good ÷ total parts.",
    ),
    Kpi(
        "oee",
        "OEE",
        "availability × performance × quality = Σ(good × ideal cycle) ÷ planned time",
        "ratio",
        "Overall equipment effectiveness: fully productive time as a share of planned time.",
    ),
    Kpi(
        "teep",
        "TEEP",
        "Σ(good × ideal cycle) ÷ calendar time",
        "ratio",
        "Total effective equipment performance: OEE against all the time there is.",
    ),
    Kpi(
        "nee",
        "NEE",
        "Σ(good × ideal cycle) ÷ (planned time − setup time)",
        "ratio",
        "Net equipment effectiveness: OEE that does not count setups as a loss.",
    ),
    Kpi(
        "quality_ratio",
        "Quality ratio",
        "good parts ÷ parts",
        "ratio",
        "ISO 22400 quality ratio (by count).",
    ),
    Kpi(
        "first_pass_yield",
        "First pass yield",
        "parts good first time ÷ parts",
        "ratio",
        "Parts right first time; rejects (scrap and rework) are not.",
    ),
    Kpi(
        "scrap_ratio", "Scrap ratio", "(rejects − rework) ÷ parts", "ratio", "Parts lost for good."
    ),
    Kpi("rework_ratio", "Rework ratio", "rework ÷ parts", "ratio", "Parts that need another pass."),
    Kpi(
        "throughput_per_h",
        "Throughput rate",
        "parts × 3600 ÷ run time",
        "parts/h",
        "Parts per hour of run time.",
    ),
    Kpi(
        "setup_rate",
        "Setup rate",
        "setup time ÷ planned time",
        "ratio",
        "Share of planned time spent on setups.",
    ),
    Kpi(
        "mtbf_s",
        "MTBF",
        "run time ÷ number of breakdowns",
        "s",
        "Mean operating time between failures.",
    ),
    Kpi("mttr_s", "MTTR", "breakdown time ÷ number of breakdowns", "s", "Mean time to repair."),
    Kpi(
        "outside_planned_count",
        "Parts outside planned time",
        "parts counted in a break, or after a shift before the next one starts",
        "parts",
        "Made when no production was planned: kept and shown, never dropped, and counted with "
        "the shift before them, but not in OEE and its factors, which ISO 22400 measures over "
        "planned busy time. `total_count` and `reject_count` are the parts made in planned time.",
    ),
    Kpi(
        "outside_planned_reject_count",
        "Rejects outside planned time",
        "rejects counted in a break, or after a shift before the next one starts",
        "parts",
        "Of the parts outside planned time, those not good.",
    ),
)


def parse_by(by: str | list[str]) -> tuple[list[str], str]:
    """``"machine,shift"`` → (["machine"], "shift"). Period defaults to ``all``."""
    parts = [p.strip().lower() for p in (by.split(",") if isinstance(by, str) else by) if p.strip()]
    dims = [p for p in parts if p in DIMENSIONS]
    grains = [p for p in parts if p in GRAINS]
    unknown = [p for p in parts if p not in DIMENSIONS and p not in GRAINS]
    if unknown or len(grains) > 1:
        raise InputError(
            f"cannot group by {parts}: choose any of {list(DIMENSIONS)} and at most one of {list(GRAINS)}"
        )
    return dims or ["site"], grains[0] if grains else "all"


def _utc(x: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(x, dt.UTC)


class Measure:
    """KPI queries over one store and plant model."""

    def __init__(self, store: Store, plant: Plant) -> None:
        self.store, self.plant = store, plant

    def _orders(self) -> list[Order]:
        with self.store.session() as s:
            rows = s.arrow(
                "SELECT work_order, machine, product, start_ts, end_ts FROM work_orders"
            ).to_pylist()
        return [
            Order(
                r["work_order"],
                r["machine"],
                r["product"],
                r["start_ts"].replace(tzinfo=dt.UTC).timestamp(),
                r["end_ts"].replace(tzinfo=dt.UTC).timestamp() if r["end_ts"] else float("inf"),
            )
            for r in rows
        ]

    def _inputs(
        self,
        start: dt.datetime,
        end: dt.datetime,
        machines: list[str] | None,
        now: dt.datetime | None,
        *,
        by_orders: bool = False,
    ) -> engine.Inputs:
        if start.tzinfo is None or end.tzinfo is None:
            raise InputError("start and end need a time zone")
        if end <= start:
            raise InputError(
                f"the period ends ({end.isoformat()}) before it starts ({start.isoformat()})"
            )
        latest = clock.now() + dt.timedelta(days=366)
        if start < EARLIEST or end > latest:
            raise InputError(
                f"the period {start:%Y-%m-%d} to {end:%Y-%m-%d} reaches outside the times "
                f"machine data can have ({EARLIEST:%Y-%m-%d} to a year from now, "
                f"{latest:%Y-%m-%d}); choose dates in that range"
            )
        known = {m.id for _, m in self.plant.machines}
        for m in machines or []:
            if m not in known:
                raise NotFound(f"unknown machine {m!r}; plant.toml has {sorted(known)}")
        now_s = (now or clock.now()).timestamp()
        orders = self._orders() if by_orders else None
        return engine.Inputs(
            segments=segments_table(
                self.plant,
                start,
                end,
                machines,
                now=now_s,
                orders=orders,
            ),
            now=now_s,
            minor_stop_s=self.plant.cleaning.minor_stop_s,
            unplanned=segments_table(
                self.plant,
                start,
                end,
                machines,
                now=now_s,
                orders=orders,
                planned=False,
            ),
        )

    def oee(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        by: str | list[str] = "machine,shift",
        machines: list[str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """KPI rows for shifts starting in ``[start, end)``, grouped as asked (see :func:`parse_by`)."""
        dims, grain = parse_by(by)
        inputs = self._inputs(
            start, end, machines, now, by_orders=bool({"product", "work_order"} & set(dims))
        )
        with self.store.session() as s:
            con = s.ibis()
            use_orders = bool(s.scalar("SELECT count(*) > 0 FROM work_orders"))
            facts = engine.segment_facts(con, self.plant, inputs, use_orders=use_orders)
            table = engine.rollup(facts, by=dims, grain=grain, range_start=start, range_end=end)
            rows: list[dict[str, Any]] = to_arrow(con, table).to_pylist()
        return self._finish(rows)

    def oee_by(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        groupings: list[str],
        machines: list[str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[list[dict[str, Any]]]:
        """:meth:`oee` for several groupings of one period (``["machine,day", "machine"]``):
        the facts per machine and segment are read once, then each grouping sums them — the
        same roll-up, one query on the stored data instead of one per grouping."""
        parsed = [parse_by(by) for by in groupings]
        by_orders = any({"product", "work_order"} & set(dims) for dims, _ in parsed)
        inputs = self._inputs(start, end, machines, now, by_orders=by_orders)
        out = []
        with self.store.session() as s:
            con = s.ibis()
            use_orders = bool(s.scalar("SELECT count(*) > 0 FROM work_orders"))
            facts = engine.segment_facts(con, self.plant, inputs, use_orders=use_orders)
            read = ibis.memtable(to_arrow(con, facts))
            for dims, grain in parsed:
                table = engine.rollup(read, by=dims, grain=grain, range_start=start, range_end=end)
                out.append(self._finish(to_arrow(con, table).to_pylist()))
        return out

    def _finish(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        flag = self.plant.cleaning.performance_flag
        for row in rows:
            row["period_start"] = _utc(row["period_start"])
            row["period_end"] = _utc(row["period_end"])
            row["performance_flag"] = row["performance"] is not None and row["performance"] > flag
            for k in (
                "total_count",
                "good_count",
                "reject_count",
                "rework_count",
                "failures",
                "stops",
                "outside_planned_count",
                "outside_planned_reject_count",
            ):
                row[k] = int(row[k])
        return rows

    def pareto(
        self,
        *,
        start: dt.datetime,
        end: dt.datetime,
        machines: list[str] | None = None,
        now: dt.datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Downtime by reason (stops inside planned time), largest first, with cumulative share."""
        inputs = self._inputs(start, end, machines, now)
        with self.store.session() as s:
            con = s.ibis()
            rows: list[dict[str, Any]] = to_arrow(
                con, engine.pareto(con, self.plant, inputs)
            ).to_pylist()
        total = sum(r["lost_s"] for r in rows) or 1.0
        running = 0.0
        for r in rows:
            running += r["lost_s"]
            r["stops"] = int(r["stops"])
            r["share"] = r["lost_s"] / total
            r["cumulative_share"] = running / total
        return rows

    def stopped(
        self,
        *,
        machine: str,
        start: dt.datetime,
        end: dt.datetime,
        now: dt.datetime | None = None,
        begun: bool = False,
    ) -> list[tuple[dt.datetime, dt.datetime]]:
        """The stretches of ``[start, end)`` in which the machine had data and was not running:
        :meth:`timeline`'s stretches of any category but run and no data, without its categories.
        With ``begun``, only the states that begin in ``[start, end)`` (what a reason entered for
        the range applies to: the engine gives a state the reason whose range holds its start).

        One small query on the machine's states around the range, for the operator's tap (which
        must answer at once; the KPI query takes ~60 ms of compiling). A state lasts until the next
        one, or until its end when it has one, at most until ``now``: as the engine reads them.
        """
        if end <= start:
            return []
        now_ts = (now or clock.now()).astimezone(dt.UTC).replace(tzinfo=None)
        lo = start.astimezone(dt.UTC).replace(tzinfo=None)
        hi = end.astimezone(dt.UTC).replace(tzinfo=None)
        with self.store.session() as s:
            rows = s.arrow(
                "SELECT state, start_ts, end_ts, next_ts FROM ("
                " SELECT state, start_ts, end_ts,"
                "  lead(start_ts) OVER (ORDER BY start_ts) AS next_ts"
                " FROM states WHERE machine = ? AND start_ts < ? AND start_ts >= coalesce("
                "  (SELECT max(start_ts) FROM states WHERE machine = ? AND start_ts <= ?), ?)"
                ") AS t ORDER BY start_ts",
                [machine, hi, machine, lo, lo],
            ).to_pylist()
        out = []
        for r in rows:
            # The same end as engine.stop_intervals: least(end or next or now, next or now).
            follows = r["next_ts"] if r["next_ts"] is not None else now_ts
            until = min(r["end_ts"] if r["end_ts"] is not None else follows, follows)
            a, b = max(r["start_ts"], lo), min(until, hi)
            if begun and r["start_ts"] < lo:
                continue
            if r["state"] not in ("running", "no_data") and b > a:
                out.append((a.replace(tzinfo=dt.UTC), b.replace(tzinfo=dt.UTC)))
        return out

    def timeline(
        self, *, machine: str, start: dt.datetime, end: dt.datetime, now: dt.datetime | None = None
    ) -> list[dict[str, Any]]:
        """The machine's states clipped to ``[start, end)``, with categories, in time order."""
        return self.timelines(machines=[machine], start=start, end=end, now=now)[machine]

    def timelines(
        self,
        *,
        machines: list[str],
        start: dt.datetime,
        end: dt.datetime,
        now: dt.datetime | None = None,
    ) -> dict[str, list[dict[str, Any]]]:
        """:meth:`timeline` of several machines in one query: machine → its states."""
        inputs = self._inputs(start, end, machines, now)
        lo, hi = start.timestamp(), end.timestamp()
        with self.store.session() as s:
            con = s.ibis()
            st = engine.stop_intervals(con, self.plant, inputs, lo, hi, machines)
            st = st.order_by(["machine", "s0"])
            rows: list[dict[str, Any]] = to_arrow(con, st).to_pylist()
        out: dict[str, list[dict[str, Any]]] = {m: [] for m in machines}
        for r in rows:
            r["start"] = _utc(max(r.pop("s0"), lo))
            r["end"] = _utc(min(r.pop("s1"), hi))
            out[r["machine"]].append(r)
        return out

    def small_losses(
        self,
        *,
        machine: str,
        start: dt.datetime,
        end: dt.datetime,
        slow_factor: float = 1.2,
        timeline: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """Micro-stops and slow cycles, the losses hidden inside run time.

        ``stops``: every stop that began in ``[start, end)`` and lay in planned production time,
        with the seconds it took *inside* planned time (breaks, nights and weekends are not stops;
        planned stops such as a planned changeover are not losses) and its category, so short
        stops can be seen against the plant's minor-stop limit. ``cycles``: for every counted
        interval with parts, the seconds the machine was *running* per part, beside the ideal
        cycle time; a cycle more than ``slow_factor`` × ideal is slow, and the time above ideal is
        the loss. ``minor_stops``/``minor_stop_s``: the stops up to the limit; of their time,
        ``minor_no_reason_s`` is in stops without a reason, which the loss waterfall calls minor
        stops (a short stop with a reason counts under its reason's loss). ``timeline`` (pass it to reuse a timeline already read) is
        :meth:`timeline` over the same period.
        """
        lo = start.timestamp()
        segments = (
            self.timeline(machine=machine, start=start, end=end) if timeline is None else timeline
        )
        planned = _planned_spans(self.plant, machine, start, end)
        stops, minor_s = [], 0.0
        for r in segments:
            if r["state"] != "stopped" or r["category"] == "planned_stop":
                continue
            inside = _overlap(planned, r["start"].timestamp(), r["end"].timestamp())
            if r["category"] == "minor_stop":
                minor_s += inside
            if inside > 0 and r["start"].timestamp() > lo:
                stops.append({"start": r["start"], "seconds": inside, "category": r["category"]})
        run = [
            (r["start"].timestamp(), r["end"].timestamp())
            for r in segments
            if r["state"] == "running"
        ]
        r0 = np.array([a for a, _ in run], dtype=float)
        r1 = np.array([b for _, b in run], dtype=float)
        done = np.concatenate([[0.0], np.cumsum(r1 - r0)])

        def running_until(t: np.ndarray) -> np.ndarray:
            """Seconds of running from the first segment up to each time in ``t``."""
            if not len(r0):
                return np.zeros(len(t))
            i = np.searchsorted(r1, t, side="right")  # segments wholly before t
            inside = np.clip(t - r0[np.minimum(i, len(r0) - 1)], 0, None)
            return np.asarray(done[i] + np.where(i < len(r0), inside, 0.0))

        with self.store.session() as s:
            rows = s.arrow(
                "SELECT ts, prev, total, product FROM ("
                " SELECT ts, lag(ts) OVER (ORDER BY ts) AS prev, total, product FROM counts"
                " WHERE machine = ? AND ts <= ?) AS c WHERE ts > ? AND prev IS NOT NULL AND total > 0"
                " ORDER BY ts",
                [machine, _naive(end), _naive(start)],
            ).to_pylist()
        default = self.plant.machine(machine).ideal_cycle_s
        ideal_of = {p.id: p.ideal_cycle_s.get(machine, default) for p in self.plant.products}
        ts = np.array([r["ts"].replace(tzinfo=dt.UTC).timestamp() for r in rows], dtype=float)
        prev = np.array([r["prev"].replace(tzinfo=dt.UTC).timestamp() for r in rows], dtype=float)
        run_s = running_until(ts) - running_until(prev) if rows else np.zeros(0)
        cycles = []
        for r, t, ran in zip(rows, ts, run_s, strict=True):
            if ran <= 0:
                continue
            ideal = ideal_of.get(r["product"], default)
            cycle = float(ran) / r["total"]
            cycles.append(
                {
                    "ts": _utc(float(t)),
                    "parts": r["total"],
                    "cycle_s": cycle,
                    "ideal_s": ideal,
                    "slow": cycle > slow_factor * ideal,
                    "loss_s": max(0.0, float(ran) - ideal * r["total"]),
                }
            )
        limit = self.plant.cleaning.minor_stop_s
        slow = [c for c in cycles if c["slow"]]
        minor = [x for x in stops if x["seconds"] <= limit]
        return {
            "minor_stop_limit_s": limit,
            "slow_factor": slow_factor,
            "stops": stops,
            "minor_stops": len(minor),
            "minor_stop_s": sum(x["seconds"] for x in minor),
            "minor_no_reason_s": minor_s,
            "cycles": cycles,
            "slow_intervals": len(slow),
            "slow_loss_s": sum(c["loss_s"] for c in slow),
            "speed_loss_s": sum(c["loss_s"] for c in cycles),
        }


def _planned_spans(
    plant: Plant, machine: str, start: dt.datetime, end: dt.datetime
) -> list[tuple[float, float]]:
    """The machine's planned production time inside ``[start, end)`` as sorted epoch spans
    (shifts that began up to two days earlier included: a night shift reaches into the day)."""
    seg = segments_table(
        plant, start - dt.timedelta(days=2), end, [machine], now=clock.now().timestamp()
    )
    lo, hi = start.timestamp(), end.timestamp()
    spans = zip(seg["seg_start"].to_pylist(), seg["seg_end"].to_pylist(), strict=True)
    return sorted((max(a, lo), min(b, hi)) for a, b in spans if b > lo and a < hi)


def _overlap(spans: list[tuple[float, float]], a: float, b: float) -> float:
    """Seconds of ``[a, b)`` inside the (sorted, disjoint) ``spans``."""
    return sum(max(0.0, min(b, s1) - max(a, s0)) for s0, s1 in spans if s0 < b and s1 > a)


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def waterfall(row: dict[str, Any]) -> list[tuple[str, float, str]]:
    """The loss tree of one KPI row: (label, seconds, kind) where kind is total or loss."""
    return [
        ("Calendar time", row["calendar_s"], "total"),
        ("Not scheduled / breaks", -row["not_scheduled_s"], "loss"),
        ("Planned stops", -row["planned_stop_s"], "loss"),
        ("No data", -row["no_data_s"], "loss"),
        ("Planned production time", row["planned_s"], "total"),
        ("Breakdowns", -row["breakdown_s"], "loss"),
        ("Setups / changeovers", -row["setup_s"], "loss"),
        ("Stops, no reason", -row["unexplained_s"], "loss"),
        ("Run time", row["run_s"], "total"),
        ("Minor stops", -row["minor_stop_s"], "loss"),
        ("Reduced speed", -row["speed_loss_s"], "loss"),
        ("Net run time", row["ideal_s"], "total"),
        ("Quality losses", -row["quality_loss_s"], "loss"),
        ("Fully productive time", row["good_ideal_s"], "total"),
    ]
