"""Benchmark: evidence, gates and recommendations for a plant of 50 machines × one year.

Run:  .venv/bin/python bench/bench_assess.py [--machines 50] [--days 365]
Prints the seconds for evidence + gates + recommendations (target < 2 s), best of three.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq

from pilotline import clock
from pilotline.assess import gather, recommend
from pilotline.ingest import import_file
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    plant = parse_plant(demo_plant_text(machines=args.machines, machines_per_line=5))
    start = dt.datetime(2025, 11, 3, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=args.days)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )
    t = time.perf_counter()
    sim = simulate(plant, start=start, end=end, seed=1)
    print(
        f"simulate {args.machines} machines × {args.days} days: {time.perf_counter() - t:.1f} s "
        f"({sim.states.num_rows:,} state rows, {sim.counts.num_rows:,} count rows)"
    )
    with tempfile.TemporaryDirectory() as tmp, clock.fixed(end):
        home = Path(tmp)
        pq.write_table(sim.states, home / "states.parquet")
        pq.write_table(sim.counts, home / "counts.parquet")
        store = EmbeddedStore(home / "store")
        t = time.perf_counter()
        import_file(store, plant, home / "states.parquet")
        import_file(store, plant, home / "counts.parquet")
        print(f"import: {time.perf_counter() - t:.1f} s")
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            evidence = gather(store, plant, value_per_hour=100.0)
            recs = recommend(evidence)
            times.append(time.perf_counter() - t)
        ranked = [r for r in recs if r.rank is not None]
        print(
            f"evidence + gates + recommendations: best {min(times):.2f} s, worst "
            f"{max(times):.2f} s (target < 2 s); {len(ranked)} steps open, "
            f"{len(recs) - len(ranked)} blocked; first: {ranked[0].step.id if ranked else '-'}"
        )


if __name__ == "__main__":
    main()
