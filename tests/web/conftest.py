"""A data directory with a simulated plant and three users, shared by the web tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pilotline.ingest import import_table
from pilotline.plant import load_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from pilotline.web import Users

PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six simulated machines on two lines, with the last day's data up to now."""
    home = tmp_path_factory.mktemp("web")
    text = demo_plant_text().replace('name = "Press 1"', 'name = "<script>alert(1)</script>"')
    (home / "plant.toml").write_text(text)
    plant = load_plant(home / "plant.toml")
    now = dt.datetime.now(dt.UTC)
    sim = simulate(plant, start=now - dt.timedelta(days=2), end=now, seed=4)
    store = EmbeddedStore(home)
    import_table(store, plant, sim.states, kind="states", source="sim-states")
    import_table(store, plant, sim.counts, kind="counts", source="sim-counts")
    users = Users(store)
    users.add("boss", PASSWORD, role="admin")
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator", lines=["Line 2"])
    return home
