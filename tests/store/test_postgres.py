"""The PostgreSQL store: migrations, idempotent and concurrent writes, a server restart during
writes, and clear messages when the server is missing. A real PostgreSQL 15 (see tests/pg.py)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from fastapi.testclient import TestClient

from pilotline.connect import Buffer, Forwarder, Sample, parse_collect_config
from pilotline.connect.samples import to_us
from pilotline.errors import SchemaMismatch, SettingsError, StoreError, StoreUnavailable
from pilotline.ingest import import_table
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text
from pilotline.store import SCHEMA_VERSION, open_store
from pilotline.web import Users, create_app
from tests.conftest import NOW, clock_env
from tests.pg import Cluster
from tests.web.conftest import PASSWORD, api_login

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def cli(home: Path, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        **clock_env(),
        "COLUMNS": "200",
        "PILOTLINE_DATABASE_URL": url,
    }
    return subprocess.run(
        [PILOTLINE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def states_csv(path: Path, minutes: range, machine: str = "press-1") -> Path:
    table = pa.table(
        {
            "machine": [machine] * len(minutes),
            "ts": pa.array(
                [T0 + dt.timedelta(minutes=i) for i in minutes], pa.timestamp("us", "UTC")
            ),
            "state": ["running" if i % 2 else "stopped" for i in minutes],
        }
    )
    pacsv.write_csv(table, path)
    return path


def test_a_new_database_is_migrated_once(pg_url: str, tmp_path: Path) -> None:
    store = open_store(tmp_path, database_url=pg_url)
    assert store.engine == "postgres"
    assert store.schema_version() == SCHEMA_VERSION
    assert open_store(tmp_path, database_url=pg_url).schema_version() == SCHEMA_VERSION
    with store.session() as s:
        indexes = {r["indexname"] for r in s.arrow("SELECT indexname FROM pg_indexes").to_pylist()}
    assert {"states_key", "counts_key", "process_values_key"} <= indexes


def test_a_database_from_a_newer_pilotline_is_refused_unchanged(
    pg_url: str, tmp_path: Path
) -> None:
    store = open_store(tmp_path, database_url=pg_url)
    with store.session(write=True) as s:
        s.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(SchemaMismatch, match=r"schema version 999.*pip install -U pilotline"):
        open_store(tmp_path, database_url=pg_url).schema_version()
    with open_store(tmp_path, database_url=pg_url)._connect() as con:  # type: ignore[attr-defined]
        assert con.execute("SELECT value FROM meta").fetchone()[0] == "999"


def test_imports_are_idempotent_and_a_changed_row_is_refused(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(demo_plant_text(machines=2))
    first = states_csv(tmp_path / "a.csv", range(0, 100))
    r = cli(home, pg_url, "import", str(first))
    assert r.returncode == 0 and "100 new" in r.stdout, r.stdout + r.stderr
    r = cli(home, pg_url, "import", str(first))
    assert r.returncode == 0 and "0 new" in r.stdout, r.stdout + r.stderr
    changed = tmp_path / "changed.csv"
    changed.write_text(first.read_text().replace('"stopped"', '"running"', 1))
    r = cli(home, pg_url, "import", str(changed))
    assert r.returncode == 1 and "is already stored with" in r.stderr, r.stderr
    with open_store(home, database_url=pg_url).session() as s:
        assert s.scalar("SELECT count(*) FROM states") == 100
        assert s.scalar("SELECT count(*) FROM imports") == 2


def test_four_importers_at_once_store_each_row_once(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(demo_plant_text(machines=2))
    open_store(home, database_url=pg_url).schema_version()  # migrate before the race
    files = [states_csv(tmp_path / f"{i}.csv", range(i * 500, i * 500 + 2000)) for i in range(4)]
    env = {"PATH": os.environ["PATH"], **clock_env(), "PILOTLINE_DATABASE_URL": pg_url}
    procs = [
        subprocess.Popen(
            [PILOTLINE, "--home", str(home), "import", str(f)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    with open_store(home, database_url=pg_url).session() as s:
        assert s.scalar("SELECT count(*) FROM states") == 3500
        assert s.scalar("SELECT count(DISTINCT start_ts) FROM states") == 3500
        ids = s.arrow("SELECT id, new_rows FROM imports").to_pylist()
    assert sorted(r["id"] for r in ids) == [1, 2, 3, 4]
    assert sum(r["new_rows"] for r in ids) == 3500


def test_a_server_restart_during_forwarding_loses_no_acknowledged_sample(
    pg_cluster: Cluster, pg_url: str, tmp_path: Path
) -> None:
    config = parse_collect_config(
        '[[source]]\nkind = "modbus"\nname = "plc"\n'
        '[[source.tag]]\nname = "run"\nmachine = "press-1"\nrole = "running"\naddress = 0\n'
    )
    buffer = Buffer(tmp_path / "buffer.sqlite", max_bytes=10**8)
    store = open_store(tmp_path, database_url=pg_url, lock_timeout_s=0.2)
    forwarder = Forwarder(buffer, store, config.tags())
    n, failures = 0, []
    restarts = threading.Thread(
        target=lambda: [(time.sleep(0.4), pg_cluster.restart()) for _ in range(2)]
    )
    restarts.start()
    try:
        # Keep acknowledging (appending to the buffer) and forwarding until both restarts are over.
        while restarts.is_alive() or n < 3000:
            buffer.append(
                [
                    Sample("plc", "run", to_us(T0) + j * 1_000_000, j % 2 == 0)
                    for j in range(n, n + 50)
                ]
            )
            n += 50
            try:
                forwarder.forward_all()
            except StoreError as exc:
                failures.append(exc)
            time.sleep(0.02)
    finally:
        restarts.join()
    deadline = time.monotonic() + 30
    while buffer.backlog():
        try:
            forwarder.forward_all()
        except StoreError:
            assert time.monotonic() < deadline, "the store never came back"
            time.sleep(0.2)
    buffer.close()
    assert failures and all(isinstance(f, StoreUnavailable) for f in failures)
    assert "postgresql://pilotline@127.0.0.1" in str(failures[0])
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM states") == n
        assert s.scalar("SELECT count(DISTINCT start_ts) FROM states") == n


def test_an_unreachable_server_is_one_clear_line_without_the_password(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(demo_plant_text(machines=2))
    url = "postgresql://pilotline:s3cret@127.0.0.1:9/pilotline"  # port 9: nothing listens
    env = {"PILOTLINE_LOCK_TIMEOUT": "0.5", "COLUMNS": "300"}
    r = subprocess.run(
        [PILOTLINE, "--home", str(home), "oee"],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **clock_env(), "PILOTLINE_DATABASE_URL": url, **env},
        check=False,
    )
    assert r.returncode == 1
    assert (
        "Cannot reach the PostgreSQL store at postgresql://pilotline:***@127.0.0.1:9/pilotline"
        in r.stderr
    )
    assert "s3cret" not in r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_a_url_that_is_not_postgresql_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="is not a PostgreSQL URL"):
        open_store(tmp_path, database_url="mysql://x@y/z")


def test_backup_on_postgresql_points_to_pg_dump(pg_url: str, tmp_path: Path) -> None:
    r = cli(tmp_path, pg_url, "backup", str(tmp_path / "b.duckdb"))
    assert r.returncode == 1 and "pg_dump" in r.stderr, r.stderr


def test_the_web_app_runs_on_postgresql(pg_url: str, tmp_path: Path) -> None:
    text = demo_plant_text(machines=2)
    (tmp_path / "plant.toml").write_text(text)
    plant = parse_plant(text)
    store = open_store(tmp_path, database_url=pg_url)
    from pilotline.sim import simulate

    now = NOW
    sim = simulate(plant, start=now - dt.timedelta(days=1), end=now + dt.timedelta(hours=1), seed=3)
    import_table(store, plant, sim.states, kind="states", source="sim")
    import_table(store, plant, sim.counts, kind="counts", source="sim")
    Users(store).add("mia", PASSWORD, role="manager")
    with TestClient(create_app(tmp_path, database_url=pg_url)) as client:
        api_login(client, "mia")
        overview = client.get("/api/overview")
        assert overview.status_code == 200, overview.text
        machines = [m for line in overview.json()["lines"] for m in line["machines"]]
        assert len(machines) == 2
        assert all(m["state"] != "no_data" and m["since"] for m in machines), machines
        page = client.get(f"/machines/{machines[0]['id']}")
        assert page.status_code == 200


def test_an_embedded_store_moves_to_postgresql_with_everything(pg_url: str, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    text = demo_plant_text(machines=2)
    (home / "plant.toml").write_text(text)
    plant = parse_plant(text)
    from pilotline.sim import simulate
    from pilotline.store import EmbeddedStore

    embedded = EmbeddedStore(home)
    sim = simulate(plant, start=T0, end=T0 + dt.timedelta(days=3), seed=2)
    import_table(embedded, plant, sim.states, kind="states", source="sim")
    import_table(embedded, plant, sim.counts, kind="counts", source="sim")
    users = Users(embedded)
    users.add("mia", PASSWORD, role="manager")
    token = users.new_token("mia", "script")
    args = ("oee", "--from", "2026-03-02", "--to", "2026-03-05", "--format", "json")
    before = subprocess.run(
        [PILOTLINE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **clock_env()},
        check=True,
    ).stdout

    r = cli(home, "", "copy-store", "--to", pg_url)
    assert r.returncode == 0, r.stderr
    assert "states:" in r.stdout and "users: 1 rows" in r.stdout
    assert cli(home, pg_url, *args).stdout == before  # the same OEE from PostgreSQL
    pg = open_store(home, database_url=pg_url)
    assert Users(pg).check("mia", PASSWORD) is not None
    assert Users(pg).by_token(token) is not None
    again = cli(home, "", "copy-store", "--to", pg_url)
    assert again.returncode == 1 and "holds data already" in again.stderr, again.stderr


def test_a_query_on_postgresql_stops_at_its_time_limit(pg_url: str) -> None:
    from pilotline.errors import TimeLimitExceeded
    from pilotline.store import to_arrow_within
    from pilotline.store._postgres import postgres_backend

    backend = postgres_backend(pg_url)
    slow = backend.sql("SELECT pg_sleep(5) IS NULL AS slept")
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded, match=r"time limit of 0\.3 s"):
        to_arrow_within(backend, slow, 0.3)
    assert time.monotonic() - started < 3
    quick = backend.sql("SELECT 1 AS one")
    assert to_arrow_within(backend, quick, 0.3).to_pylist() == [{"one": 1}]  # limit lifted after
    backend.disconnect()


def test_a_table_with_quotes_in_its_column_names(pg_url: str) -> None:
    """An event log's column names are the user's: quoted identifiers, never SQL."""
    from pilotline.store import engine_backend

    backend, load = engine_backend("postgres", database_url=pg_url)
    odd = 'say "hi"); DROP TABLE x; --'
    try:
        table = load(pa.table({"case": ["a", "b"], odd: [1, 2]}), 'log "one"')
        assert sorted(backend.to_pyarrow(table[odd]).to_pylist()) == [1, 2]
    finally:
        backend.disconnect()
