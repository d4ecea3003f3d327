"""Benchmark: partners reading a KPI submodel through the AAS API, with wrk on loopback.

A demo plant (6 machines × 9 days, simulated) gets 20 partners, each granted the KPI submodels.
The web app is served by uvicorn in its own process, as ``pilotline serve`` does, and wrk keeps
20 connections busy for 30 s, each request with the next partner's key (so 20 partners read at
once). Printed: p50/p95/p99 latency and requests/s, for

* ``/aas/submodels/{id}`` — a partner's read of press-1's KPI submodel, with the record of reads;
* the same with the record of reads switched off (in the benchmark's server only) — the
  difference is what the record costs;
* ``/healthz`` — the same server's floor (no partner, no grants).

Target: p95 under 50 ms with 20 partners at once; the record costs under 20 % of throughput.

Run:  .venv/bin/python bench/bench_share.py [--seconds 30]   (needs: apt-get install wrk)
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from pilotline import clock  # noqa: E402
from pilotline.connect.net import free_port, wait_port  # noqa: E402
from pilotline.ingest import import_table  # noqa: E402
from pilotline.plant import load_plant  # noqa: E402
from pilotline.share.partners import Partners  # noqa: E402
from pilotline.sim import demo_plant_text, simulate  # noqa: E402
from pilotline.store import EmbeddedStore  # noqa: E402

PARTNERS = 20
SCRIPT = """
keys = {%s}
n = 0
request = function()
  n = n + 1
  return wrk.format("GET", nil, {["Authorization"] = "Bearer " .. keys[(n %% #keys) + 1]})
end
done = function(summary, latency, requests)
  io.write(string.format("@p %%d %%d %%d %%d %%.1f %%d\\n", latency:percentile(50),
    latency:percentile(95), latency:percentile(99), summary.requests,
    summary.requests / (summary.duration / 1e6), summary.errors.status))
end
"""
SERVER = """
import sys, uvicorn
from pathlib import Path
from pilotline.web import create_app
if sys.argv[3] == "off":  # the benchmark's own server only: reads go unrecorded
    from pilotline.share import service
    service.Service.record = lambda self, *a, **k: None
uvicorn.run(create_app(Path(sys.argv[1])), host="127.0.0.1", port=int(sys.argv[2]),
            log_level="warning", proxy_headers=False)
"""


def build(home: Path, now: dt.datetime) -> list[str]:
    (home / "plant.toml").write_text(demo_plant_text())
    (home / "share.toml").write_text("[api]\nrate_per_s = 100000\nburst = 100000\n")
    plant = load_plant(home / "plant.toml")
    store = EmbeddedStore(home)
    with clock.fixed(now):
        sim = simulate(plant, start=now - dt.timedelta(days=9), end=now, seed=3)
        import_table(store, plant, sim.states, kind="states", source="sim")
        import_table(store, plant, sim.counts, kind="counts", source="sim")
        partners = Partners(store, home)
        keys = []
        for i in range(PARTNERS):
            keys.append(partners.add(f"partner-{i + 1}"))
            partners.grant(f"partner-{i + 1}", plant=plant, submodel="kpi", by="bench")
    return keys


def run(home: Path, record: bool, paths: list[str], keys: list[str], seconds: int) -> list[str]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(home), str(port), "on" if record else "off"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    lines = []
    try:
        wait_port(port, timeout=60)
        base = f"http://127.0.0.1:{port}"
        script = home / "partners.lua"
        script.write_text(SCRIPT % ", ".join(f'"{k}"' for k in keys))
        for path in paths:
            r = httpx.get(base + path, headers={"Authorization": f"Bearer {keys[0]}"}, timeout=120)
            assert r.status_code == 200, (path, r.status_code, r.text[:200])
            out = subprocess.run(
                ["wrk", "-t2", "-c20", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
                 base + path],
                capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            line = next(x for x in out.splitlines() if x.startswith("@p "))
            p50, p95, p99, n = (int(v) for v in line.split()[1:5])
            rps, bad = float(line.split()[5]), int(line.split()[6])
            what = path if path == "/healthz" else "KPI submodel"
            lines.append(
                f"  {what + (' (record on)' if record and path != '/healthz' else ' (record off)' if path != '/healthz' else ''):<32}"
                f"{p50 / 1000:>8.1f}{p95 / 1000:>8.1f}{p99 / 1000:>8.1f}{rps:>9.1f}{n:>9,}{bad:>6}"
            )
    finally:
        server.terminate()
        server.wait(30)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    print(f"{now:%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"load average {os.getloadavg()[0]:.1f}")  # fmt: skip
    print(f"Share API: {PARTNERS} partners, wrk 2 threads × 20 connections × {args.seconds} s on "
          "loopback, each request with the next partner's key")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        keys = build(home, now)
        sid = "urn:pilotline:demo-works:sm:machine:press-1:kpi"
        path = "/aas/submodels/" + base64.urlsafe_b64encode(sid.encode()).decode().rstrip("=")
        print(f"  {'read':<32}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'req/s':>9}{'requests':>9}"
              f"{'non-2xx':>6}")  # fmt: skip
        for line in run(home, True, [path, "/healthz"], keys, args.seconds):
            print(line)
        for line in run(home, False, [path], keys, args.seconds):
            print(line)
        with EmbeddedStore(home).session() as s:
            n = s.scalar("SELECT count(*) FROM share_reads")
        print(f"  reads on record: {n:,}")


if __name__ == "__main__":
    main()
