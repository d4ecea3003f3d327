"""Benchmark: what the embedded store takes on disk and in memory, for the sizing guidance in
docs/operations.md.

1. 50 machines × 90 days simulated and imported: the DuckDB file's size, per machine-year.
2. Process values: 10 tags at 1 Hz for 10 machines over one day (8.64 million readings, a
   random walk like a temperature): the file's growth per million readings.
3. Peak memory (RSS) of a process computing the per-shift OEE of (1).

Run:  .venv/bin/python bench/bench_sizing.py    (or ./run.sh bench sizing)
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa

OEE = """
import sys, datetime as dt
from pathlib import Path
from pilotline.measure import Measure
from pilotline.plant import load_plant
from pilotline.store import EmbeddedStore
home = Path(sys.argv[1])
start = dt.datetime.fromisoformat(sys.argv[2]); end = dt.datetime.fromisoformat(sys.argv[3])
rows = Measure(EmbeddedStore(home), load_plant(home / "plant.toml")).oee(
    start=start, end=end, by="machine,shift", now=end)
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(len(rows), hwm)  # VmHWM: this program's peak (ru_maxrss would carry the parent's over)
"""


def size(home: Path) -> int:
    return sum(p.stat().st_size for p in home.glob("pilotline.duckdb*"))


def main() -> None:
    from pilotline.ingest import import_table
    from pilotline.plant import parse_plant
    from pilotline.sim import demo_plant_text, simulate
    from pilotline.store import EmbeddedStore

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    machines, days = 50, 90
    text = demo_plant_text(machines=machines, machines_per_line=5)
    plant = parse_plant(text)
    start = dt.datetime(2026, 7, 6, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=days)
    sim = simulate(plant, start=start, end=end, seed=1)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "plant.toml").write_text(text)
        store = EmbeddedStore(home)
        store.schema_version()
        empty = size(home)
        import_table(store, plant, sim.states, kind="states", source="states")
        import_table(store, plant, sim.counts, kind="counts", source="counts")
        used = size(home) - empty
        per_year = used / machines / days * 365
        print(
            f"states {sim.states.num_rows:,} + counts {sim.counts.num_rows:,} rows "
            f"({machines} machines × {days} days): {used / 1e6:.1f} MB → "
            f"{per_year / 1e6:.1f} MB per machine-year"
        )
        done = subprocess.run(
            [sys.executable, "-c", OEE, str(home), start.isoformat(), end.isoformat()],
            capture_output=True,
            text=True,
            check=True,
        )
        shifts, rss_kb = done.stdout.split()
        print(f"per-shift OEE ({int(shifts):,} shifts): peak memory {int(rss_kb) / 1024:.0f} MiB")

        before = size(home)
        rng = np.random.default_rng(1)
        t0 = dt.datetime(2026, 10, 5, tzinfo=dt.UTC).replace(tzinfo=None)
        seconds = 86_400
        with store.session(write=True) as s:
            for m in range(10):
                for tag in range(10):
                    walk = 60 + np.cumsum(rng.normal(0, 0.05, seconds)).round(2)
                    s.insert_new(
                        "process_values",
                        pa.table(
                            {
                                "machine": pa.array([f"press-{m + 1}"] * seconds),
                                "tag": pa.array([f"tag-{tag}"] * seconds),
                                "ts": pa.array(
                                    np.datetime64(t0) + np.arange(seconds).astype("timedelta64[s]"),
                                    pa.timestamp("us"),
                                ),
                                "value": pa.array(walk),
                            }
                        ),
                    )
        grown = size(home) - before
        n = 10 * 10 * seconds
        print(
            f"process values: {n:,} readings → {grown / 1e6:.0f} MB, "
            f"{grown / n * 1e6 / 1e6:.1f} MB per million; 10 tags at 1 Hz = "
            f"{grown / n * 10 * 86_400 * 365 / 1e9:.2f} GB per machine-year"
        )


if __name__ == "__main__":
    main()
