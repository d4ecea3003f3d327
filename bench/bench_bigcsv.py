"""Benchmark: a CSV event log of several GB, streamed (issue 5: "a 5 GB file streams without
loading it whole").

Writes BPI Challenge 2012 replicated with new case ids as one CSV of about ``--gb`` GB (ISO
timestamps, resource and lifecycle columns), then runs the map summary on it in its own
process and reports wall time and the process's peak memory (VmHWM) beside the file's size.

Run:  .venv/bin/python bench/bench_bigcsv.py --gb 5    (or ./run.sh bench bigcsv)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).parents[1]
OUT = ROOT / "bench" / "out"
DATA = ROOT.parent / "shared" / "data" / "bpic2012.xes.gz"

SUMMARY = """
import json, sys
from pathlib import Path
from pilotline.map import LogColumns, Miner, read_log
log = read_log(Path(sys.argv[1]), LogColumns(case="case", activity="activity", timestamp="time",
                                             resource="resource"))
s = Miner(log).summary()
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]
print(json.dumps({"events": s["events"], "cases": s["cases"], "variants": s["variants"],
                  "streamed": log.engine is not None, "peak_kib": int(hwm)}))
"""


def build(gb: float) -> Path:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    from pilotline.map import read_log

    path = OUT / f"bpic2012-{gb:g}gb.csv"
    if path.exists():
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    base = read_log(DATA).events.sort_by("seq")
    # Arrow's %S carries the fraction of a second already (it has no %f): …T22:38:44.546000Z
    ts = pc.strftime(base["ts"], format="%Y-%m-%dT%H:%M:%SZ")
    back = pc.cast(pc.cast(ts, pa.timestamp("us", "UTC")), pa.timestamp("us"))
    if not back.equals(base["ts"]):  # ISO 8601 that reads back to the same instants
        raise SystemExit(f"timestamps written as {ts[0].as_py()!r} do not read back")
    partial = path.with_suffix(".partial")
    with pacsv.CSVWriter(
        partial,
        pa.schema(
            [(n, pa.string()) for n in ("case", "activity", "time", "resource", "lifecycle")]
        ),
    ) as writer:
        copy = 0
        while partial.stat().st_size < gb * 1e9:
            writer.write_table(
                pa.table(
                    {
                        "case": pc.binary_join_element_wise(
                            pc.cast(base["case"], pa.string()), pa.scalar(f"-{copy}"), ""
                        ),
                        "activity": pc.cast(base["activity"], pa.string()),
                        "time": ts,
                        "resource": pc.cast(base["resource"], pa.string()),
                        "lifecycle": pc.cast(base["lifecycle:transition"], pa.string()),
                    }
                )
            )
            copy += 1
    partial.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gb", type=float, default=5.0)
    args = parser.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    t = time.perf_counter()
    path = build(args.gb)
    print(
        f"log: {path.name}, {path.stat().st_size / 1e9:.2f} GB ({time.perf_counter() - t:.0f} s to write)"
    )
    t = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", SUMMARY, str(path)], capture_output=True, text=True, check=False
    )
    wall = time.perf_counter() - t
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    r = json.loads(done.stdout.strip().splitlines()[-1])
    print(
        f"map summary: {r['events']:,} events, {r['cases']:,} cases, {r['variants']:,} variants; "
        f"streamed: {r['streamed']}; {wall:.0f} s; peak memory {r['peak_kib'] / 2**20:.2f} GiB "
        f"({r['peak_kib'] * 1024 / path.stat().st_size:.0%} of the file's size)"
    )


if __name__ == "__main__":
    main()
