"""`pilotline backup FILE` and `pilotline restore FILE`: a consistent copy, and back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pilotline.errors import SchemaMismatch, StoreError
from pilotline.ingest import import_table
from pilotline.plant import example_plant_text, load_plant
from pilotline.store import EmbeddedStore

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def states(n: int, day: int) -> pa.Table:
    import datetime as dt

    t0 = dt.datetime(2026, 3, day, 6, tzinfo=dt.UTC)
    return pa.table(
        {
            "machine": ["press-1"] * n,
            "ts": pa.array(
                [t0 + dt.timedelta(minutes=i) for i in range(n)], pa.timestamp("us", "UTC")
            ),
            "state": ["running" if i % 2 else "stopped" for i in range(n)],
        }
    )


def count(home: Path) -> int:
    with EmbeddedStore(home).session() as s:
        return int(s.scalar("SELECT count(*) FROM states"))


def pilotline(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PILOTLINE, "--home", str(home), *args], capture_output=True, text=True, check=False
    )


def test_backup_then_restore_brings_the_data_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(example_plant_text())
    plant = load_plant(home / "plant.toml")
    import_table(EmbeddedStore(home), plant, states(100, 2), kind="states", source="a")
    done = pilotline(home, "backup", str(tmp_path / "monday.duckdb"))
    assert done.returncode == 0, done.stderr
    import_table(EmbeddedStore(home), plant, states(50, 3), kind="states", source="b")
    assert count(home) == 150
    done = pilotline(home, "restore", str(tmp_path / "monday.duckdb"))
    assert done.returncode == 0, done.stderr
    assert count(home) == 100
    [kept] = home.glob("pilotline.duckdb.before-restore-*")
    with duckdb.connect(str(kept), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM states").fetchone() == (150,)
    assert "exists already" in pilotline(home, "backup", str(tmp_path / "monday.duckdb")).stderr


def test_a_backup_taken_while_another_process_writes_is_consistent(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(example_plant_text())
    plant = load_plant(home / "plant.toml")
    import pyarrow.csv as pacsv

    import_table(EmbeddedStore(home), plant, states(10, 2), kind="states", source="first")
    files = []
    for d in range(3, 9):
        files.append(str(tmp_path / f"day{d}.csv"))
        pacsv.write_csv(states(2000, d), files[-1])
    writer = subprocess.Popen(  # another process imports while the backup is taken
        [PILOTLINE, "--home", str(home), "import", *files],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PILOTLINE_LOCK_TIMEOUT": "60"},
    )
    EmbeddedStore(home, lock_timeout_s=60).backup(tmp_path / "copy.duckdb")
    _, err = writer.communicate(timeout=120)
    assert writer.returncode == 0, err
    with duckdb.connect(str(tmp_path / "copy.duckdb"), read_only=True) as con:
        rows = con.execute("SELECT count(*) FROM states").fetchone()[0]  # type: ignore[index]
        imports = con.execute("SELECT sum(new_rows) FROM imports").fetchone()[0]  # type: ignore[index]
    assert rows == imports  # every import in the copy is whole: no half-written one


def test_restore_refuses_what_is_not_a_pilotline_store(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = EmbeddedStore(home)
    with store.session():
        pass
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(StoreError, match="not a DuckDB file"):
        store.restore(tmp_path / "notes.txt")
    with duckdb.connect(str(tmp_path / "other.duckdb")) as con:
        con.execute("CREATE TABLE x (a INT)")
    with pytest.raises(StoreError, match="not a Pilotline store"):
        store.restore(tmp_path / "other.duckdb")
    with duckdb.connect(str(tmp_path / "newer.duckdb")) as con:
        con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        con.execute("INSERT INTO meta VALUES ('schema_version', '999')")
    with pytest.raises(SchemaMismatch, match="newer than this Pilotline understands"):
        store.restore(tmp_path / "newer.duckdb")
    assert not list(home.glob("*.before-restore-*"))  # nothing was swapped


def test_backup_and_restore_with_quotes_in_the_path(tmp_path: Path) -> None:
    """A path goes into SQL as a quoted literal: quotes in it are just characters."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(example_plant_text())
    plant = load_plant(home / "plant.toml")
    import_table(EmbeddedStore(home), plant, states(10, 2), kind="states", source="a")
    odd = tmp_path / """O'Brien's "backups" '; DROP TABLE states; --"""
    done = pilotline(home, "backup", str(odd / "it's.duckdb"))
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in odd.iterdir()) == ["it's.duckdb"]  # no partial file left
    import_table(EmbeddedStore(home), plant, states(5, 3), kind="states", source="b")
    done = pilotline(home, "restore", str(odd / "it's.duckdb"))
    assert done.returncode == 0, done.stderr
    assert count(home) == 10
