"""Benchmark: Pilotline's map summary beside the floor — a hand-written minimal DuckDB query.

The same 5-million-event Parquet log as bench_map.py (BPI Challenge 2012 × 19). Each side runs in
its own process and computes the same answer: events, cases, variants, start and end activities,
the directly-follows graph with count, mean, median, max and total time, and the mean and median
case duration. The floor is plain SQL on DuckDB with no checks, no names kept apart and no
portability; the ratio says what Pilotline's layers (checks, Ibis, portable analyses) cost.

Run:  .venv/bin/python bench/bench_floor.py    (or ./run.sh bench floor)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

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
                  "dfg": sorted([r["source"], r["target"], r["count"], round(r["median_s"], 3)] for r in s["dfg"]),
                  "starts": s["start_activities"], "median_s": round(s["case_duration_median_s"], 3)}))
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
                  "dfg": sorted([a, b, n, round(m, 3)] for a, b, n, m in dfg),
                  "starts": starts, "median_s": round(median, 3)}))
"""


def run(code: str, path: Path) -> tuple[float, dict[str, object]]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    return time.perf_counter() - start, json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    from bench_map import build

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    path = build(19)
    ours_s, ours = run(OURS, path)
    floor_s, floor = run(FLOOR, path)
    print(f"pilotline map summary: {ours_s:.2f} s | minimal DuckDB SQL: {floor_s:.2f} s")
    print(f"pilotline ÷ floor: {ours_s / floor_s:.2f}× (target ≤ 1.5×)")
    print("same answers:", ours == floor)


if __name__ == "__main__":
    main()
