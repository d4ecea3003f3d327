"""Benchmark: the same analytics on each engine — embedded (DuckDB), PostgreSQL, Spark.

1. Map summary of the 5-million-event Parquet log (BPI Challenge 2012 × 19, as bench_map.py):
   read and order the log, hand it to the engine, summarise (events, cases, variants, start and
   end activities, DFG with times, case durations). Each run is its own process.
2. Per-shift OEE, 50 machines × 90 days (simulated): the embedded store, the same rows imported
   into PostgreSQL, and Spark over the lake written by ``pilotline export --parquet``.

Spark runs in local mode with 1 and then 2 cores (``PILOTLINE_SPARK_MASTER=local[N]``) to show
how its time changes with cores; its figures include starting Spark (about 8 s). PostgreSQL is
a throwaway cluster on loopback (tests/pg.py). Every engine's answer is checked against the
embedded one.

Run:  .venv/bin/python bench/bench_engines.py    (or ./run.sh bench engines)
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

MAP = """
import json, sys, time
from pathlib import Path
from pilotline.map import LogColumns, Miner, read_log
t = time.perf_counter()
log = read_log(Path(sys.argv[1]), LogColumns(case="case:concept:name", activity="concept:name",
                                             timestamp="time:timestamp", resource="org:resource"))
read = time.perf_counter() - t
m = Miner.on(log, sys.argv[2], database_url=sys.argv[3] or None)
handed = time.perf_counter() - t - read
s = m.summary()
print(json.dumps({"read_s": read, "hand_over_s": handed, "events": s["events"],
                  "cases": s["cases"], "variants": s["variants"],
                  "dfg": sorted([r["source"], r["target"], r["count"], round(r["median_s"], 3)]
                                for r in s["dfg"]),
                  "median_s": round(s["case_duration_median_s"], 3)}))
"""

OEE = """
import json, sys, datetime as dt
from pathlib import Path
from pilotline.measure import Measure
from pilotline.plant import load_plant
from pilotline.store import SparkLake, open_store
home, engine, where, start, end = sys.argv[1:6]
plant = load_plant(Path(home) / "plant.toml")
store = (SparkLake(Path(where), Path(home)) if engine == "spark"
         else open_store(Path(home), database_url=where or None))
start, end = dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end)
rows = Measure(store, plant).oee(start=start, end=end, by="machine,shift", now=end)
print(json.dumps([[r["machine"], r["period_start"].isoformat(), r["oee"]] for r in rows]))
"""


def timed(code: str, *args: str, env: dict[str, str] | None = None) -> tuple[float, object]:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return time.perf_counter() - start, json.loads(done.stdout.strip().splitlines()[-1])


def same_oee(a: object, b: object) -> bool:
    assert isinstance(a, list) and isinstance(b, list)
    return len(a) == len(b) and all(
        x[:2] == y[:2]
        and (x[2] is None) == (y[2] is None)
        and (x[2] is None or abs(x[2] - y[2]) < 1e-9)
        for x, y in zip(a, b, strict=True)
    )


def map_summary(url: str) -> None:
    from bench_map import build

    path = build(19)
    print(f"\nmap summary, {path.name} (5 M events), whole process:")
    base_s, base = timed(MAP, str(path), "embedded", "")
    print(f"  embedded  {base_s:6.1f} s")
    runs = [
        ("postgres", "postgres", url, {}),
        *(
            (f"spark local[{n}]", "spark", "", {"PILOTLINE_SPARK_MASTER": f"local[{n}]"})
            for n in (1, 2)
        ),
    ]
    for label, engine, where, env in runs:
        s, got = timed(MAP, str(path), engine, where, env=env)
        assert isinstance(got, dict) and isinstance(base, dict)
        ok = all(got[k] == base[k] for k in ("events", "cases", "variants", "dfg", "median_s"))
        print(
            f"  {label:<16}{s:6.1f} s  (read {got['read_s']:.1f} s, hand-over "
            f"{got['hand_over_s']:.1f} s; {s / base_s:.1f}× embedded; same answer: {ok})"
        )


def per_shift_oee(url: str, machines: int = 50, days: int = 90) -> None:
    import datetime as dt

    from pilotline.ingest import import_table
    from pilotline.plant import parse_plant
    from pilotline.sim import demo_plant_text, simulate
    from pilotline.store import EmbeddedStore, open_store

    text = demo_plant_text(machines=machines, machines_per_line=5)
    plant = parse_plant(text)
    start = dt.datetime(2026, 7, 6, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=days)
    sim = simulate(plant, start=start, end=end, seed=1)
    rows = sim.states.num_rows + sim.counts.num_rows
    print(f"\nper-shift OEE, {machines} machines × {days} days ({rows:,} rows):")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        (home / "plant.toml").write_text(text)
        store = EmbeddedStore(home)
        import_table(store, plant, sim.states, kind="states", source="states")
        import_table(store, plant, sim.counts, kind="counts", source="counts")
        pg = open_store(home, database_url=url)
        t = time.perf_counter()
        import_table(pg, plant, sim.states, kind="states", source="states")
        import_table(pg, plant, sim.counts, kind="counts", source="counts")
        print(f"  (import into PostgreSQL: {time.perf_counter() - t:.1f} s)")
        lake = Path(tmp) / "lake"
        store.export_parquet(lake)
        args = (str(home),)
        span = (start.isoformat(), end.isoformat())
        base_s, base = timed(OEE, *args, "store", "", *span)
        print(f"  embedded        {base_s:6.1f} s  ({len(base):,} shifts)")  # type: ignore[arg-type]
        runs = [
            ("postgres", "store", url, {}),
            *(
                (f"spark local[{n}]", "spark", str(lake), {"PILOTLINE_SPARK_MASTER": f"local[{n}]"})
                for n in (1, 2)
            ),
        ]
        for label, engine, where, env in runs:
            s, got = timed(OEE, *args, engine, where, *span, env=env)
            print(
                f"  {label:<16}{s:6.1f} s  ({s / base_s:.1f}× embedded; same answer: "
                f"{same_oee(got, base)})"
            )


def main() -> None:
    from tests.pg import Cluster

    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    cluster = Cluster()
    try:
        per_shift_oee(cluster.create_db("bench_oee"))
        map_summary(cluster.create_db("bench_map"))
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
