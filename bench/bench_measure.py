"""Benchmark: 50 machines × 90 days — Parquet import speed and the per-shift OEE table.

Run:  .venv/bin/python bench/bench_measure.py [--machines 50] [--days 90]
Prints rows/s for the import (target ≥ 1,000,000) and seconds for the OEE table (target < 2 s).
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

from pilotline.ingest import import_file
from pilotline.measure import Measure
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    plant_text = demo_plant_text(machines=args.machines, machines_per_line=5)
    plant = parse_plant(plant_text)
    start = dt.datetime(2026, 7, 6, tzinfo=dt.UTC)
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

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        pq.write_table(sim.states, home / "states.parquet")
        pq.write_table(sim.counts, home / "counts.parquet")
        store = EmbeddedStore(home / "store")
        t = time.perf_counter()
        a = import_file(store, plant, home / "states.parquet")
        b = import_file(store, plant, home / "counts.parquet")
        elapsed = time.perf_counter() - t
        rows = a.rows + b.rows
        print(
            f"import from Parquet: {rows:,} rows in {elapsed:.2f} s = {rows / elapsed:,.0f} rows/s "
            "(target ≥ 1,000,000)"
        )
        t = time.perf_counter()
        again = import_file(store, plant, home / "counts.parquet")
        print(
            f"re-import of the counts file (idempotent, {again.new_rows} new): "
            f"{time.perf_counter() - t:.2f} s"
        )

        measure = Measure(store, plant)
        timings = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            table = measure.oee(start=start, end=end, by="machine,shift", now=end)
            timings.append(time.perf_counter() - t)
        print(
            f"per-shift OEE table ({len(table):,} rows): best {min(timings):.2f} s, "
            f"first {timings[0]:.2f} s (target < 2 s)"
        )
        t = time.perf_counter()
        week = measure.oee(start=start, end=end, by="line,week", now=end)
        print(f"line × week roll-up ({len(week)} rows): {time.perf_counter() - t:.2f} s")
        t = time.perf_counter()
        pareto = measure.pareto(start=start, end=end, now=end)
        print(f"downtime Pareto ({len(pareto)} reasons): {time.perf_counter() - t:.2f} s")


if __name__ == "__main__":
    main()
