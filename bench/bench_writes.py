"""Benchmark: web writes while reads run (the embedded store's sharing inside one server).

A plant (simulated, imported like files) is served by `pilotline serve` in its own process.
Managers keep reloading machine pages and the API while operators tap scrap and a manager
uploads small files, for a fixed time. Printed: requests and failures by kind (a failure is any
answer but the expected one, or a broken connection), write latency p50/p95, reads per second,
and whether every acknowledged scrap tap and upload is in the store afterwards.

Run:  .venv/bin/python bench/bench_writes.py [--machines 10] [--days 30] [--seconds 20]
      PYTHONPATH=/other/src .venv/bin/python bench/bench_writes.py   (another version's server)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "src"))

from pilotline.connect.net import free_port, wait_port  # noqa: E402
from pilotline.ingest import import_table  # noqa: E402
from pilotline.plant import load_plant  # noqa: E402
from pilotline.sim import demo_plant_text, simulate  # noqa: E402
from pilotline.store import EmbeddedStore  # noqa: E402
from pilotline.web import Users  # noqa: E402

PASSWORD = "benchmark password"


def build(home: Path, machines: int, days: int) -> list[str]:
    (home / "plant.toml").write_text(demo_plant_text(machines=machines, machines_per_line=5))
    plant = load_plant(home / "plant.toml")
    now = dt.datetime.now(dt.UTC)
    # The simulator makes whole shifts: simulate past now and keep what happened up to now, so
    # the shift running now has parts an operator can scrap.
    sim = simulate(plant, start=now - dt.timedelta(days=days), end=now + dt.timedelta(hours=10))
    store = EmbeddedStore(home)
    for kind, table in (("states", sim.states), ("counts", sim.counts)):
        past = pc.less_equal(table["ts"], pa.scalar(now, table.schema.field("ts").type))
        import_table(store, plant, table.filter(past), kind=kind, source="bench")
    users = Users(store)
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator", lines=[line.name for line in plant.lines])
    with store.session() as s:
        rows = [s.scalar(f"SELECT count(*) FROM {t}") for t in ("states", "counts")]
    print(f"  data: {rows[0]:,} state rows, {rows[1]:,} count rows")
    return [m.id for _, m in plant.machines]


def login(base: str, user: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": token[1]})
    assert r.status_code == 303, r.status_code
    return client, str(client.get("/api/me").json()["csrf"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--machines", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--readers", type=int, default=5)
    parser.add_argument("--operators", type=int, default=2)
    args = parser.parse_args()
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, server code from {os.environ.get('PYTHONPATH') or 'this tree'}"
    )
    print(
        f"Writes during reads: {args.machines} machines × {args.days} days, {args.readers} "
        f"managers reading, {args.operators} operators tapping scrap, 1 manager uploading, "
        f"{args.seconds:g} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        machines = build(home, args.machines, args.days)
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
        outcomes: Counter[tuple[str, str]] = Counter()
        first: dict[tuple[str, str], str] = {}  # the first answer of each kind of failure
        latency: dict[str, list[float]] = {"scrap": [], "upload": []}
        scrapped: Counter[str] = Counter()
        uploaded: list[str] = []
        guard = threading.Lock()
        stop = threading.Event()
        try:
            wait_port(port, timeout=60)
            base = f"http://127.0.0.1:{port}"

            def timed(kind: str, expected: int, send: object) -> httpx.Response | None:
                t0 = time.perf_counter()
                try:
                    r: httpx.Response = send()  # type: ignore[operator]
                except httpx.HTTPError as exc:
                    with guard:
                        outcomes[(kind, type(exc).__name__)] += 1
                    return None
                took = time.perf_counter() - t0
                with guard:
                    outcome = "ok" if r.status_code == expected else str(r.status_code)
                    if outcome != "ok" and (kind, outcome) not in outcomes:
                        first[(kind, outcome)] = r.text[:200]
                    outcomes[(kind, outcome)] += 1
                    if kind in latency and r.status_code == expected:
                        latency[kind].append(took)
                return r

            def read(client: httpx.Client, _: str, k: int) -> None:
                paths = [f"/machines/{machines[k % len(machines)]}", "/api/overview"]
                paths.append(f"/api/machines/{machines[(k + 1) % len(machines)]}/stops")
                n = 0
                while not stop.is_set():
                    path = paths[n % len(paths)]
                    timed("read", 200, lambda path=path: client.get(path))
                    n += 1

            def scrap(client: httpx.Client, csrf: str, k: int) -> None:
                machine = machines[k % len(machines)]
                while not stop.is_set():
                    r = timed(
                        "scrap",
                        201,
                        lambda: client.post(
                            f"/api/machines/{machine}/scrap",
                            json={"count": 1, "reason": "scrap"},
                            headers={"X-CSRF-Token": csrf},
                        ),
                    )
                    if r is not None and r.status_code == 201:
                        with guard:
                            scrapped[machine] += 1

            def upload(client: httpx.Client, csrf: str, _: int) -> None:
                k = 0
                while not stop.is_set():
                    day = dt.date(2020, 1, 1) + dt.timedelta(days=k)
                    body = (
                        f"machine,ts,state\n{machines[0]},{day}T06:00:00Z,running\n"
                        f"{machines[0]},{day}T07:00:00Z,stopped\n"
                    ).encode()
                    name = f"bench {day}.csv"
                    r = timed(
                        "upload",
                        201,
                        lambda body=body, name=name: client.post(
                            "/api/imports",
                            params={"filename": name},
                            content=body,
                            headers={
                                "X-CSRF-Token": csrf,
                                "Content-Type": "application/octet-stream",
                            },
                        ),
                    )
                    if r is not None and r.status_code == 201:
                        uploaded.append(name)
                    k += 1

            Job = Callable[[httpx.Client, str, int], None]
            jobs: list[tuple[Job, str, int]] = [(read, "mia", k) for k in range(args.readers)]
            jobs += [(scrap, "olga", k) for k in range(args.operators)]
            jobs.append((upload, "mia", 0))
            threads = []
            for job, user, k in jobs:
                client, csrf = login(base, user)
                threads.append(
                    threading.Thread(target=job, args=(client, csrf, k), name=job.__name__)
                )
            t0 = time.perf_counter()
            for t in threads:
                t.start()
            time.sleep(args.seconds)
            stop.set()
            for t in threads:
                t.join(120)
            elapsed = time.perf_counter() - t0
        finally:
            server.terminate()
            server.wait(20)
        print(f"  {'kind':<8}{'sent':>7}{'ok':>7}{'failed':>8}  failures by answer")
        for kind in ("read", "scrap", "upload"):
            mine = {o: n for (k, o), n in outcomes.items() if k == kind}
            sent = sum(mine.values())
            bad = {o: n for o, n in mine.items() if o != "ok"}
            print(f"  {kind:<8}{sent:>7}{mine.get('ok', 0):>7}{sum(bad.values()):>8}  {bad or ''}")
        for (kind, outcome), text in first.items():
            print(f"  first {kind} {outcome}: {text}")
        reads = sum(n for (k, o), n in outcomes.items() if k == "read" and o == "ok")
        print(f"  reads/s (ok): {reads / elapsed:.1f}")
        for kind, times in latency.items():
            if len(times) >= 2:
                q = statistics.quantiles(times, n=20)
                print(
                    f"  {kind} latency: p50 {statistics.median(times) * 1000:.0f} ms, "
                    f"p95 {q[18] * 1000:.0f} ms"
                )
        with EmbeddedStore(home).session() as s:
            rows = s.arrow(
                "SELECT machine, count(*) AS n FROM counts WHERE total = 0 "
                "AND reject_reason = 'scrap' GROUP BY machine"
            ).to_pylist()
            taps = {r["machine"]: r["n"] for r in rows}
            files = int(s.scalar("SELECT count(*) FROM imports WHERE file LIKE 'bench %'") or 0)
        print(
            f"  acknowledged and stored: scrap taps {sum(scrapped.values())} / "
            f"{sum(taps.values())}, uploads {len(uploaded)} / {files}"
        )


if __name__ == "__main__":
    main()
