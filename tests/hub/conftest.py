"""Shared by the hub tests: a firm install with data, an assessment round and a pilot decision;
a hub on loopback (its own process) with a demo region and that firm registered by its key."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pilotline.assess.answers import load_answers
from pilotline.assess.kept import save_answers
from pilotline.connect.net import free_port, wait_port
from pilotline.hub.demo import fill
from pilotline.hub.firm import public_key
from pilotline.hub.store import HubStore
from pilotline.ingest import import_table
from pilotline.plant import load_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from tests.conftest import NOW, clock_env
from tests.pg import Cluster

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
ANSWERS = Path(__file__).parents[2] / "src/pilotline/assess/example-answers.toml"


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``sqlite``, unless the test is marked ``@BACKENDS`` (tests/hub/backends.py)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def database_url(backend: str, request: pytest.FixtureRequest) -> str | None:
    """None for the SQLite hub; a new database in the session's cluster for PostgreSQL."""
    return str(request.getfixturevalue("pg_url")) if backend == "postgres" else None


@pytest.fixture
def cluster(backend: str, request: pytest.FixtureRequest) -> Cluster | None:
    """The session's PostgreSQL cluster when the test runs on it (to read its files)."""
    return request.getfixturevalue("pg_cluster") if backend == "postgres" else None


@pytest.fixture(scope="module")
def firm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small plant with a day of data, one assessment round and one pilot decision."""
    home = tmp_path_factory.mktemp("firm")
    (home / "plant.toml").write_text(demo_plant_text())
    plant = load_plant(home / "plant.toml")
    sim = simulate(plant, start=NOW - dt.timedelta(days=1), end=NOW, seed=3)
    store = EmbeddedStore(home)
    for kind, table in (("states", sim.states), ("counts", sim.counts)):
        table = table.filter(
            pc.less_equal(table["ts"], pa.scalar(NOW, table.schema.field("ts").type))
        )
        import_table(store, plant, table, kind=kind, source=f"sim-{kind}")
    save_answers(store, load_answers(ANSWERS))
    with store.session(write=True) as s, s.transaction():
        s.record_decision(title="Stop reasons on tablets", fingerprint="f" * 16, decision="adopt",
                          reason="it worked", verdict="better", effect=2.1, low=0.4, high=3.9)  # fmt: skip
    return home


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory, firm_home: Path) -> Iterator[tuple[str, Path]]:
    """A demo region at a hub (so benchmark cells have peers), the test firm registered with
    its key, the hub's API served on loopback in its own process."""
    import os

    os.environ.setdefault("PILOTLINE_NOW", NOW.isoformat())
    home = tmp_path_factory.mktemp("hub")
    store = HubStore.init(home)
    fill(store, firms=20, months=1, seed=2, first=(2026, 3), release=False)  # the firm's peers
    store.add_firm(id="acme", name="Acme Tools", sector="metal", size_band="small",
                   region="north", public_key=public_key(firm_home))  # fmt: skip
    port = free_port()
    proc = subprocess.Popen(
        [PILOTLINE, "hub", "serve", "--dir", str(home), "--port", str(port)],
        env={**os.environ, **clock_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}", home
    finally:
        proc.terminate()
        proc.wait(20)
