"""The front door of process mining: verb-named functions over an :class:`EventLog`."""

from __future__ import annotations

import inspect
import itertools
import statistics
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ibis
import pyarrow as pa

from pilotline.errors import InputError
from pilotline.map import analyses
from pilotline.map.log import EventLog, named_events
from pilotline.store import engine_backend, scratch_backend, to_arrow, to_arrow_within

if TYPE_CHECKING:  # imported where used: most commands need neither (start-up time counts)
    from pilotline.map.conformance import Routing
    from pilotline.map.petri import StateMachine

_views = itertools.count(1)


def _by_count(rows: list[dict[str, Any]]) -> dict[str, int]:
    return dict(sorted(((r["a"], r["n"]) for r in rows), key=lambda kv: (-kv[1], kv[0])))


class Miner:
    """Runs the analyses of one event log on an in-memory engine."""

    def __init__(
        self,
        log: EventLog,
        *,
        _con: Any = None,
        _events: Any = None,
        _names: Any = None,
        _case_ids: Any = None,
    ) -> None:
        self.log = log
        self._case_table: Any = None
        self._dfg: list[dict[str, Any]] | None = None
        if _con is None and log.engine is not None:
            # Read straight into the engine: integers there, names beside them.
            self._con = log.engine
            self.coded = log.engine.table("pl_events")
            self.events = named_events(log.engine)
            self.names = log.engine.table("pl_activities")
            self.case_ids = log.engine.table("pl_case_ids")
            return
        self._con = _con if _con is not None else scratch_backend()
        # The Arrow table is scanned in place (no copy into the engine).
        self.events = _events if _events is not None else ibis.memtable(log.events)
        self.coded = self.events
        if _names is None:
            acts = log.events["activity"].combine_chunks()
            dictionary = acts.dictionary if pa.types.is_dictionary(acts.type) else acts.unique()
            _names = ibis.memtable(
                pa.table(
                    {"a": pa.array(range(len(dictionary)), pa.int32()), "activity": dictionary}
                )
            )
        self.names = _names
        self.case_ids = (
            _case_ids if _case_ids is not None else self.events.select("case_no", "case").distinct()
        )

    @classmethod
    def on(
        cls, log: EventLog, engine: str = "embedded", *, database_url: str | None = None
    ) -> Miner:
        """The log's analyses on an engine: ``embedded`` (DuckDB in this process), ``postgres``
        (the database at ``database_url``) or ``spark`` (``PILOTLINE_SPARK_MASTER``, default
        ``local[2]``). The log is read and ordered here, once; its ordered events move to the
        engine (COPY for PostgreSQL, Parquet for Spark) and the same Ibis analyses run there."""
        if engine == "embedded":
            return cls(log)
        if log.engine is not None:  # read into DuckDB: its activity numbers, its names
            names = to_arrow(log.engine, log.engine.table("pl_activities"))
        else:  # the Arrow path: each activity number with its name
            pairs = log.events.select(["a", "activity"])
            if pa.types.is_dictionary(pairs.schema.field("activity").type):
                pairs = pairs.set_column(1, "activity", pairs["activity"].cast(pa.string()))
            names = pairs.group_by(["a", "activity"]).aggregate([])
        backend, load = engine_backend(engine, database_url=database_url)
        n = next(_views)
        events = load(log.events, f"pl_log_{n}")
        return cls(log, _con=backend, _events=events, _names=load(names, f"pl_names_{n}"))

    def where(self, transform: Callable[..., Any], /, **options: Any) -> Miner:
        """A view of the log through a filter or simplification from :mod:`pilotline.map.filters`:
        ``miner.where(filters.top_variants, k=5)``. The result is materialised with ``seq`` and
        ``pos`` renumbered, so the log's invariant holds again after events were dropped."""
        from pilotline.map import filters

        if "miner" in inspect.signature(transform).parameters:
            options["miner"] = self
        expr = transform(self.events, **options)
        expr = expr.mutate(seq=ibis.row_number().over(ibis.window(order_by=expr.seq)))
        expr = expr.mutate(pos=expr.seq - expr.seq.min().over(ibis.window(group_by=expr.case_no)))
        names = self.names
        if transform in filters.RENAMING:  # the analyses group activity numbers: number anew
            acts = expr.select("activity").distinct()
            acts = acts.mutate(a=(ibis.row_number().over(order_by=acts.activity)).cast("int32"))
            names = self._keep(f"names_{next(_views)}", acts)
            expr = expr.drop("a").join(names, "activity")
        table = self._keep(f"events_{next(_views)}", expr)
        return Miner(self.log, _con=self._con, _events=table, _names=names, _case_ids=self.case_ids)

    def interrupt(self) -> None:
        """Stop the engine's query running now, from another thread (the embedded engine; the
        query then raises). Other engines have their own limits (``to_arrow_within``)."""
        con = getattr(self._con, "con", None)
        if self._con.name == "duckdb" and con is not None:
            con.interrupt()

    def case_keys(self) -> Any:
        """An Ibis table of the cases: ``case``, ``case_no`` and the variant key ``vk1``, ``vk2``
        (equal for cases with the same activities in the same order)."""
        c = self._cases()
        return c.select("case", "case_no", "vk1", "vk2")

    def _activity_count(self) -> int:
        """How many activity numbers there are (the names table's rows)."""
        return int(to_arrow(self._con, self.names.count()).as_py())

    def _keep(self, name: str, expr: Any) -> Any:
        """Compute ``expr`` once into a table the later analyses read (Spark has no temporary
        tables in Ibis: there it is a table in the session's scratch warehouse)."""
        if self._con.name == "pyspark":
            return self._con.create_table(name, expr)
        return self._con.create_table(name, expr, temp=True)

    def _rows(self, expr: Any) -> list[dict[str, Any]]:
        table: pa.Table = to_arrow(self._con, expr)
        return table.to_pylist()  # type: ignore[no-any-return]

    def _cases(self) -> Any:
        if self._case_table is None:
            name = f"cases_{next(_views)}"
            self._case_table = self._keep(
                name,
                analyses.cases(self.coded, self.names, self.case_ids, self._activity_count()),
            )
        return self._case_table

    def dfg(self) -> list[dict[str, Any]]:
        if self._dfg is None:  # the summary and the bottlenecks need it too
            self._dfg = self._rows(analyses.dfg(self.coded, self.names))
        return [dict(r) for r in self._dfg]

    def cases(self) -> list[dict[str, Any]]:
        c = self._cases()
        return self._rows(c.drop("vk1", "vk2", "case_no").order_by("case"))

    def variants(self) -> list[dict[str, Any]]:
        """Variants, most cases first: the activities in order, cases, share and coverage,
        events, case durations and an example case."""
        v = self._keep(f"variants_{next(_views)}", analyses.variants(self._cases()))
        rows = self._rows(v)
        steps = to_arrow(self._con, analyses.variant_steps(self.coded, v))
        steps = steps.sort_by([("ex_no", "ascending"), ("pos", "ascending")])
        name_of = {n["a"]: n["activity"] for n in to_arrow(self._con, self.names).to_pylist()}
        activities: dict[int, list[str]] = {}
        for no, code in zip(steps["ex_no"].to_pylist(), steps["a"].to_pylist(), strict=True):
            activities.setdefault(no, []).append(name_of[code])
        for r in rows:
            r["activities"] = activities[r.pop("ex_no")]
        rows.sort(key=lambda r: (-r["cases"], r["activities"]))
        total = sum(r["cases"] for r in rows) or 1
        covered = 0
        for r in rows:
            covered += r["cases"]
            r["share"] = r["cases"] / total
            r["coverage"] = covered / total
        return rows

    def variant_of_cases(self, variants: list[dict[str, Any]] | None = None) -> dict[str, int]:
        """Each case's variant, as its place in ``variants`` (:meth:`variants`, most cases
        first: 0 is the most frequent)."""
        ranked = self.variants() if variants is None else variants
        keys = self._rows(self.case_keys().select("case", "vk1", "vk2"))
        key_of = {r["case"]: (r["vk1"], r["vk2"]) for r in keys}
        rank = {key_of[v["example_case"]]: i for i, v in enumerate(ranked)}
        return {r["case"]: rank[(r["vk1"], r["vk2"])] for r in keys}

    def cases_with(
        self,
        *,
        activity: str | None = None,
        source: str | None = None,
        target: str | None = None,
    ) -> list[str]:
        """The ids of the cases that do ``activity``, or take the step ``source`` → ``target``
        (directly one after the other; without ``source`` the cases that start with ``target``,
        without ``target`` those that end with ``source``), sorted."""
        t = self.events
        if activity is not None:
            hits = t.filter(t.activity == activity).select("case")
        elif source is not None and target is not None:
            a = t.select(a_no=t.case_no, a_pos=t.pos, a_act=t.activity)
            b = t.select(b_no=t.case_no, b_pos=t.pos, b_act=t.activity)
            j = a.join(b, [a.a_no == b.b_no, b.b_pos == a.a_pos + 1])
            j = j.filter((j.a_act == source) & (j.b_act == target))
            ids = self.case_ids
            hits = j.join(ids, j.a_no == ids.case_no).select("case")
        elif target is not None:
            hits = t.filter((t.pos == 0) & (t.activity == target)).select("case")
        elif source is not None:
            c = self._cases()
            hits = c.filter(c.last_activity == source).select("case")
        else:
            raise InputError("name an activity, or the step's activity before and after")
        return sorted(r["case"] for r in self._rows(hits.distinct()))

    def activities(self) -> list[dict[str, Any]]:
        return self._rows(analyses.activities(self.events))

    def summary(self) -> dict[str, Any]:
        """Events, cases, activities, variants, start/end activities, case durations and the DFG."""
        c = self._cases()
        totals = self._rows(
            c.aggregate(
                events=c.events.sum(),
                cases=c.count(),
                mean_s=c.duration_s.mean(),
                median_s=c.duration_s.median(),
            )
        )[0]
        variants = self._rows(c.select("vk1", "vk2").distinct().count().name("n").as_table())[0][
            "n"
        ]
        starts = self._rows(c.group_by(c.first_activity.name("a")).aggregate(n=c.count()))
        ends = self._rows(c.group_by(c.last_activity.name("a")).aggregate(n=c.count()))
        starts_by = _by_count(starts)
        return {
            "events": int(totals["events"] or 0),
            "cases": totals["cases"],
            # every event starts its case or follows another: no second pass over the events
            "activities": len(set(starts_by) | {r["target"] for r in self.dfg()}),
            "variants": variants,
            "start_activities": starts_by,
            "end_activities": _by_count(ends),
            "case_duration_mean_s": totals["mean_s"],
            "case_duration_median_s": totals["median_s"],
            "notes": self.log.notes,
            "dfg": [
                {
                    k: r[k]
                    for k in ("source", "target", "count", "mean_s", "median_s", "max_s", "total_s")
                }
                for r in self.dfg()
            ],
        }

    def processing_and_waiting(self) -> list[dict[str, Any]]:
        """Processing and waiting time per activity; needs start times (see ``pair_lifecycle``)."""
        if "start" not in self.log.column_names:
            raise InputError(
                "this log has no start times: give --start-timestamp, or --lifecycle to pair "
                "start and complete events"
            )
        return self._rows(analyses.processing_and_waiting(self.events))

    def resources(self) -> list[dict[str, Any]]:
        return self._rows(analyses.resources(self.events))

    def handovers(self) -> list[dict[str, Any]]:
        return self._rows(analyses.handovers(self.events))

    def loopbacks(self) -> list[dict[str, Any]]:
        return self._rows(analyses.loopbacks(self.events))

    def bottlenecks(self, top: int = 10) -> list[dict[str, Any]]:
        """The directly-follows steps where most time accumulates between events."""
        rows = sorted(self.dfg(), key=lambda r: -(r["total_s"] or 0.0))
        return rows[:top]

    def automation(self, limits: dict[str, float] | None = None) -> list[dict[str, Any]]:
        """Automation readiness per activity: score, verdict and the figures behind it."""
        from pilotline.map.readiness import readiness

        cases = self.cases()
        durations = [c["duration_s"] for c in cases]
        return readiness(
            self._rows(analyses.activity_context(self.events)),
            self.activities(),
            cases=len(cases),
            median_case_s=statistics.median(durations) if durations else 0.0,
            limits=limits,
        )

    def replay(
        self, net: StateMachine, *, time_limit_s: float | None = 60.0, explain: bool = False
    ) -> dict[str, Any]:
        """Token-based replay on a state-machine Petri net: per case missing, consumed, remaining
        and produced tokens and fitness; for the log, pm4py's figures (log fitness from the
        summed tokens, the mean trace fitness, the share of cases with no missing token). With
        ``explain``, each case that does not fit has ``problems``: what went wrong, in words."""
        from pilotline.map.petri import explain_replay, token_replay

        per_case = to_arrow_within(
            self._con, token_replay(self.coded, self.names, net), time_limit_s
        )
        ids = to_arrow_within(self._con, self.case_ids, time_limit_s).to_pylist()
        case_of = {r["case_no"]: r["case"] for r in ids}
        cases = per_case.to_pylist()
        for c in cases:
            c["case"] = case_of[c.pop("case_no")]
        cases.sort(key=lambda c: c["case"])
        if explain:
            traces = self._traces({c["case"] for c in cases if c["fitness"] < 1}, time_limit_s)
            for c in cases:
                if c["fitness"] < 1:
                    c["problems"] = explain_replay(net, traces.get(c["case"], []))
        m = sum(c["missing"] for c in cases)
        r = sum(c["remaining"] for c in cases)
        consumed = sum(c["consumed"] for c in cases)
        produced = sum(c["produced"] for c in cases)
        fitting = sum(1 for c in cases if c["missing"] == 0)
        return {
            "cases": len(cases),
            "fitting_cases": fitting,
            "fitting_share": fitting / len(cases) if cases else None,
            "log_fitness": 0.5 * (1 - m / consumed) + 0.5 * (1 - r / produced)
            if consumed and produced
            else None,
            "mean_fitness": statistics.fmean(c["fitness"] for c in cases) if cases else None,
            "missing": m,
            "consumed": consumed,
            "remaining": r,
            "produced": produced,
            "per_case": cases,
        }

    def _traces(self, cases: set[str], time_limit_s: float | None) -> dict[str, list[str]]:
        """The activities of ``cases``, in order, by case id."""
        if not cases:
            return {}
        t = self.events
        rows = to_arrow_within(
            self._con,
            t.filter(t.case.isin(sorted(cases))).select("case", "seq", "activity"),
            time_limit_s,
        ).to_pylist()
        traces: dict[str, list[str]] = {}
        for r in sorted(rows, key=lambda r: r["seq"]):
            traces.setdefault(r["case"], []).append(r["activity"])
        return traces

    def conform(
        self, routing: Routing, *, time_limit_s: float | None = 60.0, explain: bool = False
    ) -> dict[str, Any]:
        """Fitness per case and deviations by kind (count, cases, time impact) against a routing.
        With ``explain``, each case with deviations has ``problems``: each deviation in words."""
        from pilotline.map.conformance import KINDS, case_fitness, describe, deviations

        devs = deviations(self.events, routing)
        per_case = to_arrow_within(
            self._con, case_fitness(self.events, devs, routing), time_limit_s
        )
        by_kind = to_arrow_within(
            self._con,
            devs.group_by("kind").aggregate(
                deviations=devs.count(), cases=devs.case.nunique(), impact_s=devs.impact_s.sum()
            ),
            time_limit_s,
        ).to_pylist()
        top = to_arrow_within(
            self._con,
            devs.group_by(["kind", "after", "activity"])
            .aggregate(deviations=devs.count(), impact_s=devs.impact_s.sum())
            .order_by([ibis.desc("deviations"), "kind", "activity"])
            .limit(20),
            time_limit_s,
        ).to_pylist()
        cases = per_case.to_pylist()
        if explain:
            found: dict[str, list[dict[str, str]]] = {}
            rows = to_arrow_within(
                self._con, devs.select("case", "kind", "activity", "after"), time_limit_s
            ).to_pylist()
            for r in sorted(rows, key=lambda r: (r["case"], r["kind"], r["activity"])):
                found.setdefault(r["case"], []).append(
                    describe(r["kind"], r["activity"], r["after"])
                )
            for c in cases:
                if c["deviations"]:
                    c["problems"] = found.get(c["case"], [])
        fitting = sum(1 for c in cases if c["deviations"] == 0)
        kinds = {k: {"deviations": 0, "cases": 0, "impact_s": 0.0} for k in KINDS}
        for r in by_kind:
            kinds[r["kind"]] = {k: r[k] for k in ("deviations", "cases", "impact_s")}
        return {
            "cases": len(cases),
            "fitting_cases": fitting,
            "fitting_share": fitting / len(cases) if cases else None,
            "mean_fitness": statistics.fmean(c["fitness"] for c in cases) if cases else None,
            "by_kind": kinds,
            "top_deviations": top,
            "per_case": cases,
        }
