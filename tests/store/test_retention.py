"""Retention: old rows go, the row in force at the cut stays, and the OEE of the kept days is
unchanged — on the embedded store and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import open_store
from pilotline.store.retention import prune

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
NOW = START + dt.timedelta(days=10)


@pytest.fixture(params=["embedded", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


def test_old_rows_go_and_the_kept_days_keep_their_oee(
    tmp_path: Path, database_url: str | None
) -> None:
    text = demo_plant_text(machines=2)
    (tmp_path / "plant.toml").write_text(text)
    plant = parse_plant(text)
    store = open_store(tmp_path, database_url=database_url)
    sim = simulate(plant, start=START, end=NOW, seed=5)
    import_table(store, plant, sim.states, kind="states", source="sim")
    import_table(store, plant, sim.counts, kind="counts", source="sim")
    values = pa.table(
        {
            "machine": ["press-1"] * 240,
            "tag": ["temperature"] * 240,
            "ts": [(START + dt.timedelta(hours=h)).replace(tzinfo=None) for h in range(240)],
            "value": [20.0 + h % 7 for h in range(240)],
        }
    )
    with store.session(write=True) as s:
        s.insert_new("process_values", values)
    kept = (NOW - dt.timedelta(days=3), NOW)
    before = Measure(store, plant).oee(start=kept[0], end=kept[1], by="machine,shift", now=NOW)

    counted = prune(store, {"process_values": 5, "states": 3, "counts": 3}, now=NOW, dry_run=True)
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM process_values") == 240  # a dry run deletes nothing
    done = prune(store, {"process_values": 5, "states": 3, "counts": 3}, now=NOW)
    assert [(p.table, p.rows) for p in done] == [(p.table, p.rows) for p in counted]
    assert done[0].rows == 120 and done[1].rows > 0 and done[2].rows > 0
    cut = (NOW - dt.timedelta(days=3)).replace(tzinfo=None)
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM process_values") == 120
        assert s.scalar("SELECT count(*) FROM counts WHERE ts < ?", [cut]) == 0
        # One state per machine from before the cut stays: it is the state in force at the cut.
        assert s.scalar("SELECT count(*) FROM states WHERE start_ts < ?", [cut]) == 2
    after = Measure(store, plant).oee(start=kept[0], end=kept[1], by="machine,shift", now=NOW)
    assert after == before and len(after) >= 6
    assert prune(store, {"process_values": 5, "states": 3, "counts": 3}, now=NOW)[0].rows == 0


def test_pilotline_prune_reports_per_table(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(demo_plant_text(machines=2))
    open_store(tmp_path).schema_version()
    env = {"PATH": os.environ["PATH"], "COLUMNS": "200", "PILOTLINE_KEEP_MACHINE_DATA_DAYS": "30"}
    done = subprocess.run(
        [PILOTLINE, "--home", str(tmp_path), "prune", "--dry-run"],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "process_values: would delete 0 row(s)" in done.stdout
    assert "(kept 180 days)" in done.stdout and "(kept 30 days)" in done.stdout
    bad = subprocess.run(
        [PILOTLINE, "--home", str(tmp_path), "prune"],
        capture_output=True,
        text=True,
        env={**env, "PILOTLINE_KEEP_VALUES_DAYS": "soon"},
        check=False,
    )
    assert bad.returncode == 1
    assert "PILOTLINE_KEEP_VALUES_DAYS='soon' is not a number of days" in bad.stderr
