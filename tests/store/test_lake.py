"""A Parquet lake given to Spark: a bad file, a foreign folder or another schema version is one
clear line naming what to do, before Spark starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import clock_env

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PILOTLINE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **clock_env(), "COLUMNS": "400"},
        check=False,
    )


@pytest.fixture
def lake(home: Path, tmp_path: Path) -> Path:
    out = tmp_path / "lake"
    assert cli(home, "export", "--parquet", str(out)).returncode == 0
    return out


def oee_on(home: Path, lake: Path) -> subprocess.CompletedProcess[str]:
    return cli(
        home,
        "oee",
        "--from",
        "2026-02-25",
        "--to",
        "2026-03-01",
        "--engine",
        "spark",
        "--lake",
        str(lake),
    )


def test_a_truncated_file_is_named(home: Path, lake: Path) -> None:
    victim = sorted((lake / "counts").rglob("*.parquet"))[3]
    victim.write_bytes(victim.read_bytes()[:100])
    r = oee_on(home, lake)
    assert r.returncode == 1
    assert f"The lake file {victim} is not readable Parquet" in r.stderr, r.stderr
    assert "export the lake again" in r.stderr and "Traceback" not in r.stderr


def test_a_folder_that_is_not_a_lake_is_refused(home: Path, tmp_path: Path) -> None:
    r = oee_on(home, tmp_path)
    assert r.returncode == 1 and "is not a Pilotline lake (no _pilotline.json)" in r.stderr, (
        r.stderr
    )


@pytest.mark.parametrize(
    ("version", "says"),
    [
        (999, "Upgrade Pilotline: pip install -U pilotline"),
        (1, "Export it again: pilotline export --parquet NEW_DIR"),
    ],
)
def test_another_schema_version_is_refused_with_the_command_to_run(
    home: Path,
    lake: Path,
    version: int,
    says: str,
) -> None:
    manifest = lake / "_pilotline.json"
    data = json.loads(manifest.read_text())
    data["schema_version"] = version
    manifest.write_text(json.dumps(data))
    r = oee_on(home, lake)
    assert r.returncode == 1 and says in r.stderr, r.stderr


def test_spark_needs_a_lake(home: Path) -> None:
    r = cli(home, "oee", "--engine", "spark")
    assert r.returncode == 1 and "add --lake DIR" in r.stderr, r.stderr
