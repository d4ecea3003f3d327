"""Writes from the web app never fail because reads are running (the embedded store).

A real `pilotline serve`: managers keep reading (machine pages, the API) while operators post
scrap, a manager uploads files and an admin saves the plant model. Every request must succeed, and every write the server
acknowledged must be in the store afterwards.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import httpx
import pyarrow as pa
import pytest

from pilotline import clock
from pilotline.ingest import import_table
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore
from pilotline.web import Users
from tests.web.conftest import NOW, PASSWORD, PLANT, serving

READERS = 5
SCRAP_WRITERS = 2  # operators, each on a machine of their own
SCRAPS = 12  # per operator
UPLOADS = 6
PLANT_SAVES = 4
READS = (
    "/machines/m1",
    "/machines/m2",
    "/api/machines/m1/stops",
    "/api/overview",
    "/api/imports",
    "/data",
)


def login(base: str, user: str) -> tuple[httpx.Client, str]:
    """A logged-in client and its CSRF token for API writes."""
    client = httpx.Client(base_url=base, timeout=60)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/login").text)
    assert token
    r = client.post("/login", data={"username": user, "password": PASSWORD, "csrf": token[1]})
    assert r.status_code == 303, r.text
    return client, str(client.get("/api/me").json()["csrf"])


def states_file(k: int) -> bytes:
    """An upload of its own: two states of m2 on a January day of its own."""
    day = dt.datetime(2026, 1, 5, tzinfo=dt.UTC) + dt.timedelta(days=k)
    rows = [f"m2,{day:%Y-%m-%d}T06:00:00Z,running", f"m2,{day:%Y-%m-%d}T07:00:00Z,stopped"]
    return ("machine,ts,state\n" + "\n".join(rows) + "\n").encode()


def test_writes_succeed_while_managers_keep_reading(
    clock_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's clock runs on from NOW, so each scrap tap gets its own instant.
    monkeypatch.setenv(clock.ENV, NOW.isoformat() + clock.RUNNING)
    store = EmbeddedStore(clock_home)
    Users(store).add("otto", PASSWORD, role="operator", lines=["Line A", "Line B"])
    made = pa.table(  # parts to scrap from, in the shift running now
        {
            "machine": ["m1", "m2"],
            "ts": pa.array([NOW - dt.timedelta(minutes=35)] * 2, pa.timestamp("us", "UTC")),
            "total": [10_000, 10_000],
        }
    )
    import_table(store, parse_plant(PLANT), made, kind="counts", source="parts made")
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    scrapped: Counter[str] = Counter()
    uploaded: list[int] = []
    saved: list[int] = []
    writing = threading.Barrier(SCRAP_WRITERS + 2 + READERS)
    done = threading.Event()
    guard = threading.Lock()

    def note(what: str, r: httpx.Response, expected: int) -> bool:
        with guard:
            statuses[r.status_code] += 1
            if r.status_code != expected:
                failures.append(f"{what}: {r.status_code} {r.text[:300]}")
        return r.status_code == expected

    def read(client: httpx.Client, _: str) -> None:
        n = 0
        while not done.is_set():
            path = READS[n % len(READS)]
            note(f"GET {path}", client.get(path), 200)
            n += 1

    def scrap(client: httpx.Client, csrf: str, machine: str) -> None:
        for i in range(SCRAPS):
            r = client.post(
                f"/api/machines/{machine}/scrap",
                json={"count": i + 1, "reason": "scrap"},
                headers={"X-CSRF-Token": csrf},
            )
            if note(f"scrap {machine} #{i}", r, 201):
                with guard:
                    scrapped[machine] += i + 1

    def upload(client: httpx.Client, csrf: str) -> None:
        for k in range(UPLOADS):
            r = client.post(
                "/api/imports",
                params={"filename": f"m2 day {k}.csv"},
                content=states_file(k),
                headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
            )
            if note(f"upload {k}", r, 201):
                assert r.json()["new_rows"] == 2, r.text
                uploaded.append(k)

    def save_plant(client: httpx.Client, csrf: str) -> None:
        got = client.get("/api/plant").json()
        version = got["version"]
        for k in range(PLANT_SAVES):
            r = client.put(
                "/api/plant",
                json={"toml": got["toml"] + f"\n# saved under load, {k + 1}\n", "version": version},
                headers={"X-CSRF-Token": csrf},
            )
            if note(f"plant save {k}", r, 200):
                version = r.json()["version"]
                saved.append(k)

    def worker(job: Callable[..., None], user: str, *args: str) -> threading.Thread:
        client, csrf = login(base, user)  # one after the other, before the load starts

        def run() -> None:
            try:
                writing.wait()
                job(client, csrf, *args)
            except Exception as exc:  # a broken connection is a failure too
                with guard:
                    failures.append(f"{job.__name__}{args}: {exc!r}")
            finally:
                client.close()

        return threading.Thread(target=run)

    with serving(clock_home) as base:
        writers = [worker(scrap, "otto", m) for m in ("m1", "m2")[:SCRAP_WRITERS]]
        writers.append(worker(upload, "mia"))
        writers.append(worker(save_plant, "boss"))
        readers = [worker(read, "mia") for _ in range(READERS)]
        for t in writers + readers:
            t.start()
        for t in writers:
            t.join(120)
        done.set()
        for t in readers:
            t.join(60)

    assert failures == [], f"{len(failures)} failed of {statuses.total()}: {failures[:5]}"
    assert statuses[200] >= READERS  # the readers did read while the writes ran
    assert scrapped == {m: SCRAPS * (SCRAPS + 1) // 2 for m in ("m1", "m2")}
    assert sorted(uploaded) == list(range(UPLOADS))
    with store.session() as s:
        rows = s.arrow(
            "SELECT machine, sum(reject) AS n FROM counts WHERE total = 0 "
            "AND reject_reason = 'scrap' GROUP BY machine"
        ).to_pylist()
        days = s.scalar(
            "SELECT count(DISTINCT start_ts::DATE) FROM states "
            "WHERE machine = 'm2' AND start_ts < '2026-02-01'"
        )
        files = s.scalar("SELECT count(*) FROM imports WHERE file LIKE 'm2 day %'")
    assert {r["machine"]: r["n"] for r in rows} == dict(
        scrapped
    )  # every acknowledged tap is in the store
    assert days == UPLOADS and files == UPLOADS
    assert saved == list(range(PLANT_SAVES))
    assert (clock_home / "plant.toml").read_text().endswith(f"# saved under load, {PLANT_SAVES}\n")
