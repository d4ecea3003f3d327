"""The front door of process mining: verb-named functions over an :class:`EventLog`."""

from __future__ import annotations

import statistics
from typing import Any

import pyarrow as pa

from pilotline.map import analyses
from pilotline.map.log import EventLog
from pilotline.store import scratch_backend


class Miner:
    """Runs the analyses of one event log on an in-memory engine."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._con = scratch_backend()
        self._con.create_table(
            "events", log.events.select(["case", "activity", "ts", "seq"]), temp=True
        )
        self.events = self._con.table("events")

    def _rows(self, expr: Any) -> list[dict[str, Any]]:
        table: pa.Table = self._con.to_pyarrow(expr)
        return table.to_pylist()  # type: ignore[no-any-return]

    def dfg(self) -> list[dict[str, Any]]:
        return self._rows(analyses.dfg(self.events))

    def cases(self) -> list[dict[str, Any]]:
        return self._rows(analyses.cases(self.events))

    def variants(self) -> list[dict[str, Any]]:
        rows = self._rows(analyses.variants(self.events))
        total = sum(r["cases"] for r in rows) or 1
        covered = 0
        for r in rows:
            covered += r["cases"]
            r["activities"] = r.pop("variant").split(analyses.SEP)
            r["share"] = r["cases"] / total
            r["coverage"] = covered / total
        return rows

    def activities(self) -> list[dict[str, Any]]:
        return self._rows(analyses.activities(self.events))

    def summary(self) -> dict[str, Any]:
        """Events, cases, activities, variants, start/end activities, case durations and the DFG."""
        cases = self.cases()
        starts: dict[str, int] = {}
        ends: dict[str, int] = {}
        for c in cases:
            starts[c["first_activity"]] = starts.get(c["first_activity"], 0) + 1
            ends[c["last_activity"]] = ends.get(c["last_activity"], 0) + 1
        durations = [c["duration_s"] for c in cases]
        return {
            "events": self.log.num_events,
            "cases": len(cases),
            "activities": len({a for a in self.log.events["activity"].unique().to_pylist()}),
            "variants": len({c["variant"] for c in cases}),
            "start_activities": dict(sorted(starts.items(), key=lambda kv: (-kv[1], kv[0]))),
            "end_activities": dict(sorted(ends.items(), key=lambda kv: (-kv[1], kv[0]))),
            "case_duration_mean_s": statistics.fmean(durations) if durations else None,
            "case_duration_median_s": statistics.median(durations) if durations else None,
            "notes": self.log.notes,
            "dfg": [
                {
                    k: r[k]
                    for k in ("source", "target", "count", "mean_s", "median_s", "max_s", "total_s")
                }
                for r in self.dfg()
            ],
        }
