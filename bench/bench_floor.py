"""Benchmark: Pilotline beside the floor — hand-written minimal DuckDB queries.

1. Map summary: the same 5-million-event Parquet log as bench_map.py (BPI Challenge 2012 × 19).
   Each side runs in its own process and computes the same answer: events, cases, variants,
   start activities, the directly-follows graph with counts and median times, and the median
   case duration.
2. Per-shift OEE: 50 machines × 90 days (simulated, imported), Measure.oee by machine and shift
   beside one SQL query over the same store and the same planned segments; every shift's OEE
   must be equal.

The floor is plain SQL on DuckDB with no checks and no portability; the ratio says what
Pilotline's layers (checks, Ibis, portable analyses) cost.

Run:  .venv/bin/python bench/bench_floor.py    (or ./run.sh bench floor)
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "bench"))

OURS = """
import json, sys
from pathlib import Path
from pilotline.map import LogColumns, Miner, read_log
log = read_log(Path(sys.argv[1]), LogColumns(case="case:concept:name", activity="concept:name",
                                             timestamp="time:timestamp", resource="org:resource"))
s = Miner(log).summary()
print(json.dumps({"events": s["events"], "cases": s["cases"], "variants": s["variants"],
                  "dfg": sorted([r["source"], r["target"], r["count"], r["median_s"]] for r in s["dfg"]),
                  "starts": s["start_activities"], "median_s": s["case_duration_median_s"]}))
"""

FLOOR = """
import json, sys
import duckdb
con = duckdb.connect()
con.execute("SET threads = 2")
src = f"read_parquet('{sys.argv[1]}', file_row_number = true)"
con.execute(f'''CREATE TABLE e AS SELECT "case:concept:name" AS c, "concept:name" AS a,
  "time:timestamp" AS ts, lead("concept:name") OVER w AS na,
  epoch(lead("time:timestamp") OVER w) - epoch("time:timestamp") AS gap,
  row_number() OVER w AS pos
  FROM {src} WINDOW w AS (PARTITION BY "case:concept:name" ORDER BY "time:timestamp", file_row_number)''')
dfg = con.execute("SELECT a, na, count(*), median(gap) FROM e WHERE na IS NOT NULL GROUP BY ALL").fetchall()
con.execute('''CREATE TABLE c AS SELECT c, count(*) AS n, arg_min(a, pos) AS first,
  epoch(max(ts)) - epoch(min(ts)) AS d, sum(hash(a, pos)) AS v FROM e GROUP BY c''')
events, cases, variants, median = con.execute(
  "SELECT sum(n), count(*), count(DISTINCT v), median(d) FROM c").fetchone()
starts = dict(con.execute("SELECT first, count(*) FROM c GROUP BY first").fetchall())
print(json.dumps({"events": int(events), "cases": cases, "variants": variants,
                  "dfg": sorted([a, b, n, m] for a, b, n, m in dfg),
                  "starts": starts, "median_s": median}))
"""


OEE_FLOOR = """
WITH st AS (
  SELECT machine, epoch(start_ts) AS s0,
         least(coalesce(epoch(end_ts), epoch(lead(start_ts) OVER w), $now),
               coalesce(epoch(lead(start_ts) OVER w), $now)) AS s1,
         state, lower(trim(reason)) AS rk
  FROM states WINDOW w AS (PARTITION BY machine ORDER BY start_ts)
), cat AS (
  SELECT st.machine, s0, s1, CASE WHEN state = 'running' THEN 'run'
    WHEN state = 'no_data' THEN 'no_data' WHEN r.category IS NOT NULL THEN r.category
    WHEN s1 - s0 <= $minor THEN 'minor_stop' ELSE 'unexplained' END AS c
  FROM st LEFT JOIN reasons r ON st.rk = r.reason_key WHERE s1 > $lo AND s0 < $hi
), t AS (
  SELECT g.machine, g.seg_start,
    sum(least(s1, seg_end) - greatest(s0, seg_start)) AS covered,
    sum(CASE WHEN c IN ('planned_stop', 'no_data')
        THEN least(s1, seg_end) - greatest(s0, seg_start) ELSE 0 END) AS lost
  FROM seg g JOIN cat ON cat.machine = g.machine AND s0 < seg_end AND s1 > seg_start
  GROUP BY ALL
), k AS (
  SELECT g.machine, g.seg_start, sum((total - reject) * coalesce(p.p_ict, m.m_ict)) AS good
  FROM (SELECT *, epoch(ts) AS t FROM counts) n
  ASOF JOIN seg g ON n.machine = g.machine AND n.t > g.seg_start
  LEFT JOIN ideal p ON p.p_machine = n.machine AND p.p_product = n.product
  LEFT JOIN mach m ON m.m_machine = n.machine
  WHERE n.t <= g.seg_end
  GROUP BY ALL
)
SELECT g.machine, g.shift_start, sum(coalesce(k.good, 0)) / nullif(sum(coalesce(t.covered, 0)
  - coalesce(t.lost, 0)), 0) AS oee
FROM seg g LEFT JOIN t USING (machine, seg_start) LEFT JOIN k USING (machine, seg_start)
GROUP BY g.machine, g.shift_start
"""


def oee_beside_floor(machines: int = 50, days: int = 90) -> None:
    import datetime as dt
    import tempfile

    import pyarrow.compute as pc

    from pilotline.ingest import import_table
    from pilotline.measure import Measure
    from pilotline.measure.engine import _ideal_table, _machines_table, _reasons_table
    from pilotline.measure.periods import segments_table
    from pilotline.plant import parse_plant
    from pilotline.sim import demo_plant_text, simulate
    from pilotline.store import EmbeddedStore

    plant = parse_plant(demo_plant_text(machines=machines, machines_per_line=5))
    start = dt.datetime(2026, 7, 6, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=days)
    sim = simulate(plant, start=start, end=end, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp))
        import_table(store, plant, sim.states, kind="states", source="states")
        import_table(store, plant, sim.counts, kind="counts", source="counts")
        measure = Measure(store, plant)
        ours_s = []
        for _ in range(3):
            t = time.perf_counter()
            ours = measure.oee(start=start, end=end, by="machine,shift", now=end)
            ours_s.append(time.perf_counter() - t)
        floor_s = []
        for _ in range(3):
            t = time.perf_counter()
            now = end.timestamp()
            seg = segments_table(plant, start, end, None, now=now)  # the same planned time
            with store.session() as s:
                con = s._con
                for name, table in (
                    ("seg", seg),
                    ("reasons", _reasons_table(plant)),
                    ("ideal", _ideal_table(plant)),
                    ("mach", _machines_table(plant)),
                ):
                    con.register(name, table)
                params = {
                    "now": now,
                    "minor": plant.cleaning.minor_stop_s,
                    "lo": pc.min(seg["seg_start"]).as_py(),
                    "hi": pc.max(seg["seg_end"]).as_py(),
                }
                floor = con.execute(OEE_FLOOR, params).to_arrow_table().to_pylist()
            floor_s.append(time.perf_counter() - t)
    by_shift = {(r["machine"], round(r["shift_start"])): r["oee"] for r in floor}
    differ = sum(
        1
        for r in ours
        if not (
            (
                r["oee"] is None
                and by_shift.get((r["machine"], round(r["period_start"].timestamp()))) is None
            )
            or abs(
                (r["oee"] or 0)
                - (by_shift.get((r["machine"], round(r["period_start"].timestamp()))) or 0)
            )
            < 1e-9
        )
    )
    print(
        f"per-shift OEE, {machines} machines × {days} days ({len(ours):,} shifts): "
        f"Pilotline best {min(ours_s):.2f} s | minimal SQL best {min(floor_s):.2f} s "
        f"(both including the planned segments)"
    )
    print(f"pilotline ÷ floor: {min(ours_s) / min(floor_s):.2f}× (target ≤ 1.5×)")
    print(f"same answers: {differ == 0 and len(by_shift) == len(ours)} ({differ} shifts differ)")


def run(code: str, path: Path) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, json.loads(done.stdout.strip().splitlines()[-1])


def same_summary(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Counts equal; times equal to the microsecond (Pilotline sums and takes medians of whole
    microseconds, the floor of float seconds: a median of two events ending in half a
    millisecond can round either way at three decimals)."""

    def close(x: float, y: float) -> bool:
        return math.isclose(x, y, rel_tol=0, abs_tol=1e-6)

    keys = ("events", "cases", "variants", "starts")
    return (
        all(a[k] == b[k] for k in keys)
        and close(a["median_s"], b["median_s"])
        and len(a["dfg"]) == len(b["dfg"])
        and all(
            x[:3] == y[:3] and close(x[3], y[3]) for x, y in zip(a["dfg"], b["dfg"], strict=True)
        )
    )


def main() -> None:
    from bench_map import build

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    path = build(19)
    ratios, same = [], True
    for _ in range(3):  # alternating, so that machine noise falls on both
        ours_s, ours = run(OURS, path)
        floor_s, floor = run(FLOOR, path)
        print(f"pilotline map summary: {ours_s:.2f} s | minimal DuckDB SQL: {floor_s:.2f} s")
        ratios.append(ours_s / floor_s)
        same = same and same_summary(ours, floor)
    print(
        f"pilotline ÷ floor: {' '.join(f'{r:.2f}×' for r in ratios)} (target ≤ 1.5×); "
        f"same answers: {same}"
    )
    oee_beside_floor()


if __name__ == "__main__":
    main()
