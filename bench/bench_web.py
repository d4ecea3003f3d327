"""Benchmark: the web app under load, with wrk (Debian's) on loopback.

A plant of 50 machines × 90 days (simulated, imported through the same importer as files) is
served by `pilotline serve` in its own process. wrk then keeps 20 connections busy for 40 s on the
overview page, its API, a machine page, a running pilot's page and the shift report, logged in as
a manager; the first request's time (it fills the cache), then p50/p95/p99 latency and requests/s
under load are printed. Then five machine pages nobody opened yet are opened one after the other
while wrk loads the overview (the first open a manager waits for). The operator's reason tap is timed as a round trip (POST, then the
stop list that shows it) 200 times from a Python client.

Run:  .venv/bin/python bench/bench_web.py [--machines 50] [--days 90]   (needs: apt-get install wrk)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from pilotline.connect.net import free_port, wait_port  # noqa: E402
from pilotline.ingest import import_table  # noqa: E402
from pilotline.plant import load_plant  # noqa: E402
from pilotline.sim import demo_plant_text, simulate  # noqa: E402
from pilotline.store import EmbeddedStore  # noqa: E402
from pilotline.web import Users  # noqa: E402

PASSWORD = "benchmark password"
P95 = """
done = function(summary, latency, requests)
  io.write(string.format("@p %d %d %d %d %.1f\\n", latency:percentile(50), latency:percentile(95),
    latency:percentile(99), summary.requests, summary.requests / (summary.duration / 1e6)))
end
"""


def build(home: Path, machines: int, days: int) -> None:
    (home / "plant.toml").write_text(demo_plant_text(machines=machines, machines_per_line=5))
    plant = load_plant(home / "plant.toml")
    now = dt.datetime.now(dt.UTC)
    sim = simulate(plant, start=now - dt.timedelta(days=days), end=now, seed=2)
    store = EmbeddedStore(home)
    import_table(store, plant, sim.states, kind="states", source="bench")
    import_table(store, plant, sim.counts, kind="counts", source="bench")
    users = Users(store)
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator", lines=["Line 1"])
    print(f"  data: {sim.states.num_rows:,} state rows, {sim.counts.num_rows:,} count rows")


def login(base: str, user: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": token.group(1)})
    assert r.status_code == 303, r.status_code  # logged in: sent on to the page
    return client


def wrk(base: str, path: str, cookie: str, script: Path) -> tuple[int, int, int, int, float]:
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            "-c20",
            "-d40s",  # longer than the machine page's 30 s refresh, so one falls inside
            "--timeout",
            "10s",
            "-s",
            str(script),
            "-H",
            f"Cookie: pilotline_session={cookie}",
            base + path,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("@p "))
    p50, p95, p99, n = (int(v) for v in line.split()[1:5])
    return p50, p95, p99, n, float(line.split()[5])


def make_pilot(client: httpx.Client) -> str:
    """A running pilot on Press 1: 30 days of baseline, 30 days in, 10 to go."""
    today = dt.datetime.now(dt.UTC).date()

    def day(n: int) -> str:
        return (today + dt.timedelta(days=n)).isoformat()

    body = {
        "title": "Die trolley on Press 1",
        "owner": "mia",
        "hypothesis": "If we pre-stage dies, OEE on Press 1 rises by 3 points.",
        "metric": {"kpi": "oee", "machines": ["press-1"]},
        "guardrails": [{"kpi": "quality", "machines": ["press-1"]}],
        "target_effect": 3,
        "unit": "day",
        "baseline": {"start": day(-60), "end": day(-30)},
        "pilot": {"start": day(-30), "end": day(10)},
        "review_date": day(20),
        "money": {"one_off": 4000, "value_per_unit": 90},
    }
    headers = {"X-CSRF-Token": client.get("/api/me").json()["csrf"]}
    r = client.post("/api/pilots", json=body, headers=headers)
    assert r.status_code == 201, r.text
    pid = str(r.json()["id"])
    assert client.post(f"/api/pilots/{pid}/freeze", headers=headers).status_code == 200
    return pid


def cold_opens(base: str, client: httpx.Client, cookie: str, script: Path) -> None:
    """First opens of machine pages nobody has opened yet, while wrk keeps 20 connections busy
    on the overview: what a manager waits for when the plant is being watched."""
    load = subprocess.Popen(
        ["wrk", "-t2", "-c20", "-d60s", "--timeout", "10s", "-s", str(script),
         "-H", f"Cookie: pilotline_session={cookie}", base + "/"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(3)
        times = []
        for machine in ("press-2", "cnc-6", "press-3", "cnc-7", "press-4"):
            t0 = time.perf_counter()
            assert client.get(f"/machines/{machine}?by=day", timeout=120).status_code == 200
            times.append(time.perf_counter() - t0)
    finally:
        load.terminate()
        load.wait(20)
    print(
        "  first open of 5 other machine pages under load: "
        + ", ".join(f"{t * 1000:.0f}" for t in times)
        + f" ms (max {max(times) * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=50)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: apt-get install wrk")
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(
        f"Web app: {args.machines} machines × {args.days} days, wrk 20 connections × 40 s on loopback"
    )
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        build(home, args.machines, args.days)
        port = free_port()
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "pilotline"),
                "--home",
                str(home),
                "serve",
                "--port",
                str(port),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_port(port, timeout=60)
            base = f"http://127.0.0.1:{port}"
            manager = login(base, "mia")
            cookie = manager.cookies["pilotline_session"]
            script = home / "p95.lua"
            script.write_text(P95)
            print(
                f"  {'page':<28}{'first ms':>9}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}{'req/s':>8}"
            )
            pid = make_pilot(manager)
            pages = (
                "/",
                "/api/overview",
                "/machines/press-1?by=day",
                f"/pilots/{pid}",
                "/report/shift",
            )
            for path in pages:
                t0 = time.perf_counter()  # the first request computes what the cache then holds
                assert manager.get(path, timeout=120).status_code == 200
                first = (time.perf_counter() - t0) * 1000
                p50, p95, p99, _n, rps = wrk(base, path, cookie, script)
                print(
                    f"  {path[:27]:<28}{first:>9.0f}{p50 / 1000:>8.0f}{p95 / 1000:>8.0f}"
                    f"{p99 / 1000:>8.0f}{rps:>8.1f}"
                )
            cold_opens(base, manager, cookie, script)
            operator = login(base, "olga")
            csrf = operator.get("/api/me").json()["csrf"]
            times = []
            # A reason is given for a real stop: the stops of the last 11 hours on the
            # operator's line (an operator may explain the last 12), each tapped in turn.
            recent = dt.datetime.now(dt.UTC) - dt.timedelta(hours=11)
            stops = [
                (m, s["start"], s["end"], "jam" if s["minutes"] <= 2 else "mechanical fault")
                for m in ("press-1", "press-2", "press-3", "press-4", "press-5")
                for s in operator.get(f"/api/machines/{m}/stops", params={"limit": 1000}).json()
                if not s["ongoing"] and dt.datetime.fromisoformat(s["start"]) > recent
            ]
            assert stops, "no stops in the last 12 hours: run the bench during a shift"
            for k in range(200):
                machine, start, end, reason = stops[k % len(stops)]
                body = {"start": start, "end": end, "reason": reason}
                t0 = time.perf_counter()
                r = operator.post(
                    f"/api/machines/{machine}/reasons", json=body, headers={"X-CSRF-Token": csrf}
                )
                assert r.status_code == 201, r.text
                times.append(time.perf_counter() - t0)
            q = statistics.quantiles(times, n=100)
            print(
                f"  operator reason tap (POST), 200 taps: p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms"
            )
        finally:
            server.terminate()
            server.wait(20)


if __name__ == "__main__":
    main()
