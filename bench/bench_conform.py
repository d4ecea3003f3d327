"""Benchmark: conformance of BPI Challenge 2012 to a routing model, Pilotline beside pm4py.

The model is a state-machine Petri net (each activity may only follow the step that most often
comes before it), written once as PNML; both tools read the same file. Each tool runs in its own
process: read the log, read the net, token-based replay. The replay alone is timed inside each
process, and the whole process from the outside; both tools' log fitness must be equal.

Run:  .venv/bin/python bench/bench_conform.py    (or ./run.sh bench conform)
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
sys.path.insert(0, str(ROOT / "src"))
DATA = ROOT.parent / "shared" / "data" / "bpic2012.xes.gz"
OUT = ROOT / "bench" / "out"

OURS = """
import json, sys, time
from pathlib import Path
from pilotline.map import Miner, read_log
from pilotline.map.petri import read_pnml
miner = Miner(read_log(Path(sys.argv[1])))
net = read_pnml(Path(sys.argv[2]))
t0 = time.perf_counter()
r = miner.replay(net)
t1 = time.perf_counter()
print(json.dumps({"replay_s": t1 - t0, "log_fitness": r["log_fitness"],
                  "mean_fitness": r["mean_fitness"], "fitting_share": r["fitting_share"],
                  "cases": r["cases"]}))
"""

PM4PY = """
import json, sys, time, warnings
warnings.filterwarnings("ignore")
import pm4py
df = pm4py.read_xes(sys.argv[1], variant="iterparse", show_progress_bar=False)
df = pm4py.format_dataframe(df, case_id="case:concept:name", activity_key="concept:name",
                            timestamp_key="time:timestamp")
net, im, fm = pm4py.read_pnml(sys.argv[2])
t0 = time.perf_counter()
r = pm4py.fitness_token_based_replay(df, net, im, fm)
t1 = time.perf_counter()
print(json.dumps({"replay_s": t1 - t0, "log_fitness": r["log_fitness"],
                  "mean_fitness": r["average_trace_fitness"],
                  "fitting_share": r["percentage_of_fitting_traces"] / 100,
                  "cases": df["case:concept:name"].nunique()}))
"""


def model() -> Path:
    from pilotline.map import Miner, read_log
    from pilotline.map.petri import main_route, write_pnml

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "bpic2012-main-route.pnml"
    s = Miner(read_log(DATA)).summary()
    write_pnml(main_route(s["dfg"], s["start_activities"], s["end_activities"]), path)
    return path


def run(code: str, net: Path) -> dict[str, float]:
    start = time.perf_counter()
    env = {**os.environ, "TQDM_DISABLE": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code, str(DATA), str(net)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = time.perf_counter() - start
    return result


def main() -> None:
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    net = model()
    ours, theirs = run(OURS, net), run(PM4PY, net)
    for name, r in (("pilotline", ours), ("pm4py", theirs)):
        print(
            f"{name:>9}: {r['cases']:,} cases | replay {r['replay_s']:.2f} s, whole process "
            f"{r['wall_s']:.1f} s | log fitness {r['log_fitness']:.12f}, mean case fitness "
            f"{r['mean_fitness']:.12f}, fitting {r['fitting_share']:.2%}"
        )
    print(
        f"replay: pm4py ÷ pilotline {theirs['replay_s'] / ours['replay_s']:.0f}× (target ≥ 20×); "
        f"whole process {theirs['wall_s'] / ours['wall_s']:.1f}×"
    )
    same = (
        abs(ours["log_fitness"] - theirs["log_fitness"]) < 1e-12
        and abs(ours["mean_fitness"] - theirs["mean_fitness"]) < 1e-12
    )
    print("same fitness:", same)


if __name__ == "__main__":
    main()
