"""A data directory with ten simulated days of four machines (and an admin), for the export
and lake tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pilotline.ingest import import_table
from pilotline.plant import load_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(demo_plant_text(machines=4, machines_per_line=2))
    plant = load_plant(home / "plant.toml")
    start = dt.datetime(2026, 2, 25, tzinfo=dt.UTC)
    sim = simulate(plant, start=start, end=start + dt.timedelta(days=10), seed=3)
    store = EmbeddedStore(home)
    import_table(store, plant, sim.states, kind="states", source="sim")
    import_table(store, plant, sim.counts, kind="counts", source="sim")
    from pilotline.web import Users

    Users(store).add("boss", "a long secret password", role="admin")
    return home
