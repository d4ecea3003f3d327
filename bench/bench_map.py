"""Benchmark: process mining on ~5 million events, Pilotline beside pm4py in the same run.

BPI Challenge 2012 is replicated 19 times with new case ids (4,981,800 events) and written as
Parquet. Each tool then runs, in its own process so that peak memory is its own: import, summary
(events, cases, start/end activities), performance DFG, variants and case durations.

Run:  .venv/bin/python bench/bench_map.py [--copies 19] [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
DATA = ROOT.parent / "shared" / "data" / "bpic2012.xes.gz"
OUT = ROOT / "bench" / "out"


def build(copies: int) -> Path:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from pilotline.map import read_log

    path = OUT / f"bpic2012-x{copies}.parquet"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    base = read_log(DATA).events
    # Back in file order, as an ERP export would have it.
    base = base.sort_by([("seq", "ascending")])
    parts = []
    for k in range(copies):
        parts.append(
            pa.table(
                {
                    "case:concept:name": pc.binary_join_element_wise(
                        base["case"], pa.scalar(f"-{k}"), ""
                    ),
                    "concept:name": base["activity"],
                    "time:timestamp": base["ts"],
                    "org:resource": base["resource"],
                    "lifecycle:transition": base["lifecycle:transition"],
                }
            )
        )
    table = pa.concat_tables(parts)
    table = table.take(pa.array(np.arange(table.num_rows)))
    pq.write_table(table, path)
    return path


OURS = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from pilotline.map import LogColumns, Miner, read_log
log = read_log(Path(sys.argv[1]), LogColumns(case="case:concept:name", activity="concept:name",
                                             timestamp="time:timestamp", resource="org:resource"))
t1 = time.perf_counter()
m = Miner(log)
s = m.summary()
variants = m.variants()
t2 = time.perf_counter()
import resource
print(json.dumps({"import_s": t1 - t0, "analyses_s": t2 - t1, "events": s["events"], "cases": s["cases"],
                  "variants": len(variants), "dfg_edges": len(s["dfg"]),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PM4PY = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
t0 = time.perf_counter()
import pandas as pd
import pm4py
df = pd.read_parquet(sys.argv[1])
df = pm4py.format_dataframe(df, case_id="case:concept:name", activity_key="concept:name",
                            timestamp_key="time:timestamp")
t1 = time.perf_counter()
events, cases = len(df), df["case:concept:name"].nunique()
starts = pm4py.get_start_activities(df)
ends = pm4py.get_end_activities(df)
perf = pm4py.discover_performance_dfg(df)
variants = pm4py.get_variants(df)
durations = pm4py.get_all_case_durations(df)
t2 = time.perf_counter()
import resource
print(json.dumps({"import_s": t1 - t0, "analyses_s": t2 - t1, "events": events, "cases": cases,
                  "variants": len(variants), "dfg_edges": len(perf[0]),
                  "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def run(code: str, path: Path) -> dict[str, float]:
    """Run one tool in its own process; it reports its own peak resident memory."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True
    )
    wall = time.perf_counter() - start
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=19)
    parser.add_argument(
        "--runs", type=int, default=3, help="runs of each tool, alternating (medians reported)"
    )
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    path = build(args.copies)
    print(f"log: {path.name}, {path.stat().st_size / 2**20:,.0f} MiB Parquet")
    ratios, shares, same = [], [], True
    for k in range(args.runs):
        ours = run(OURS, path)
        theirs = run(PM4PY, path)
        print(f"run {k + 1}:")
        for name, r in (("pilotline", ours), ("pm4py", theirs)):
            print(
                f"{name:>9}: {r['events']:,} events, {r['cases']:,} cases, "
                f"{r['variants']:,} variants, {r['dfg_edges']} DFG edges | import "
                f"{r['import_s']:.1f} s + analyses {r['analyses_s']:.1f} s, end to end "
                f"{r['wall_s']:.2f} s, peak {r['peak_mib']:,.0f} MiB"
            )
        ratios.append(theirs["wall_s"] / ours["wall_s"])
        shares.append(ours["peak_mib"] / theirs["peak_mib"])
        same = same and all(
            ours[k] == theirs[k] for k in ("events", "cases", "variants", "dfg_edges")
        )
    print(
        f"pm4py ÷ pilotline time: {' '.join(f'{r:.1f}×' for r in ratios)}, median "
        f"{statistics.median(ratios):.1f}× (target ≥ 5×)"
    )
    print(
        f"pilotline peak memory as a share of pm4py's: {' '.join(f'{s:.0%}' for s in shares)}, "
        f"median {statistics.median(shares):.0%} (target ≤ 40 %)"
    )
    print("same answers:", same)


if __name__ == "__main__":
    main()
