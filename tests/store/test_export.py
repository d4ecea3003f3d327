"""`pilotline export --parquet DIR`: the store as a partitioned Parquet lake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pilotline.errors import StoreError
from pilotline.store import EmbeddedStore

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def test_the_lake_holds_every_row_partitioned_by_machine_and_month(
    home: Path, tmp_path: Path
) -> None:
    lake = tmp_path / "lake"
    done = subprocess.run(
        [PILOTLINE, "--home", str(home), "export", "--parquet", str(lake)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((lake / "_pilotline.json").read_text())
    with EmbeddedStore(home).session() as s:
        for table in ("states", "counts", "imports"):
            stored = s.arrow(f"SELECT * FROM {table}")
            assert manifest["tables"][table]["rows"] == stored.num_rows > 0
            got = ds.dataset(lake / table, format="parquet", partitioning="hive").to_table()
            assert got.num_rows == stored.num_rows
            key = "start_ts" if table == "states" else ("ts" if table == "counts" else "id")
            assert sorted(got[key].to_pylist()) == sorted(stored[key].to_pylist())
    months = {p.name for p in (lake / "counts").glob("machine=*/month=*")}
    assert months == {"month=2026-02", "month=2026-03"}  # the ten days span two months
    assert len(list((lake / "states").glob("machine=*"))) == 4
    assert (lake / "plant.toml").read_text() == (home / "plant.toml").read_text()
    assert not (lake / "users").exists() and "users" not in manifest["tables"]
    assert "states:" in done.stdout


def test_an_existing_folder_is_never_overwritten(home: Path, tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    lake.mkdir()
    (lake / "keep.txt").write_text("mine")
    with pytest.raises(StoreError, match="exists already"):
        EmbeddedStore(home).export_parquet(lake)
    assert (lake / "keep.txt").read_text() == "mine"
    assert not (tmp_path / ".lake.partial").exists()


def test_a_lake_path_with_quotes(home: Path, tmp_path: Path) -> None:
    """A path goes into SQL as a quoted literal: quotes in it are just characters."""
    lake = tmp_path / """it's a "lake" ') TO '/tmp/x"""
    done = subprocess.run(
        [PILOTLINE, "--home", str(home), "export", "--parquet", str(lake)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    manifest = json.loads((lake / "_pilotline.json").read_text())
    got = ds.dataset(lake / "counts", format="parquet", partitioning="hive").to_table()
    assert got.num_rows == manifest["tables"]["counts"]["rows"] > 0
    assert ds.dataset(lake / "imports", format="parquet").to_table().num_rows == 2
