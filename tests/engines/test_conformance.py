"""One suite, every engine: the same `pilotline oee` and `pilotline map summary` answers from the
embedded store, PostgreSQL and Spark.

Each engine gets the same inputs through the user's own commands (`pilotline import` into the
embedded store and into PostgreSQL; `pilotline export --parquet` for Spark's lake), and its
JSON output is compared with the embedded store's, figure by figure. A known gap would be declared
here as a strict expected failure naming the exact exception; there is none at present.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from tests.cli.test_map_cli import PRODUCTION
from tests.conftest import clock_env
from tests.engines.conftest import END, START

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def run(home: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [PILOTLINE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"], **clock_env(), "COLUMNS": "200", **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def same(a: Any, b: Any, path: str = "") -> None:
    """Equal, with floats equal to 1e-9 relative (engines sum in different orders)."""
    if isinstance(a, float) or isinstance(b, float):
        assert a is not None and b is not None, path
        assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), f"{path}: {a} != {b}"
    elif isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), f"{path}: {a.keys()} != {b.keys()}"
        for k in a:
            same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), f"{path}: {len(a)} != {len(b)} items"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


OEE_ARGS = (
    "oee",
    "--from",
    START.date().isoformat(),
    "--to",
    END.date().isoformat(),
    "--format",
    "json",
)


def _home(tmp: Path, plant_files: tuple[Path, Path, Path], env: dict[str, str]) -> Path:
    plant, states, counts = plant_files
    home = tmp / "home"
    home.mkdir()
    (home / "plant.toml").write_text(plant.read_text())
    run(home, "import", str(states), str(counts), env=env)
    return home


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory, plant_files: Any) -> Path:
    return _home(tmp_path_factory.mktemp("embedded"), plant_files, {})


@pytest.mark.parametrize("by", ["machine,shift", "line,day", "site"])
def test_postgres_oee_equals_the_embedded_store(
    embedded: Path, plant_files: Any, pg_url: str, tmp_path: Path, by: str
) -> None:
    env = {"PILOTLINE_DATABASE_URL": pg_url}
    home = _home(tmp_path, plant_files, env)
    expected = json.loads(run(embedded, *OEE_ARGS, "--by", by))
    got = json.loads(run(home, *OEE_ARGS, "--by", by, env=env))
    assert len(expected) > (20 if by == "machine,shift" else 0)
    same(got, expected)


def test_postgres_oee_of_one_machine_equals_the_embedded_store(
    embedded: Path, plant_files: Any, pg_url: str, tmp_path: Path
) -> None:
    """One machine's states are read before the window over them (not every machine's)."""
    env = {"PILOTLINE_DATABASE_URL": pg_url}
    home = _home(tmp_path, plant_files, env)
    machine = json.loads(run(embedded, *OEE_ARGS, "--by", "machine,all"))[0]["machine"]
    args = (*OEE_ARGS, "--by", "machine,day", "--machine", machine)
    expected = json.loads(run(embedded, *args))
    assert expected and {r["machine"] for r in expected} == {machine}
    same(json.loads(run(home, *args, env=env)), expected)


def test_postgres_losses_equal_the_embedded_store(
    embedded: Path, plant_files: Any, pg_url: str, tmp_path: Path
) -> None:
    env = {"PILOTLINE_DATABASE_URL": pg_url}
    home = _home(tmp_path, plant_files, env)
    args = ("losses", "--from", START.date().isoformat(), "--to", END.date().isoformat())
    expected = json.loads(run(embedded, *args, "--format", "json"))
    same(json.loads(run(home, *args, "--format", "json", env=env)), expected)


LOGS = {
    "running-example": ["running-example.xes"],
    "receipt": ["receipt.xes.gz"],
    "production": PRODUCTION,  # with the column flags the CLI tests use
}


def summary(tmp: Path, log: list[str], *extra: str, env: dict[str, str] | None = None) -> Any:
    path = Path(log[0]) if Path(log[0]).is_absolute() else DATA / log[0]
    args = ["map", "summary", str(path), *log[1:], "--format", "json", *extra]
    return json.loads(run(tmp, *args, env=env))


@pytest.fixture(scope="module")
def receipt_parquet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The receipt log as Parquet with typed timestamps: read straight into DuckDB, so the
    hand-over to another engine starts from the engine's own activity numbers."""
    import pyarrow.parquet as pq

    from pilotline.map import LogColumns, read_log

    events = read_log(DATA / "receipt.xes.gz", LogColumns()).events
    table = pa.table(
        {
            "case": events["case"].cast(pa.string()),
            "activity": events["activity"].cast(pa.string()),
            "timestamp": events["ts"].cast(pa.timestamp("us", "UTC")),
        }
    )
    path = tmp_path_factory.mktemp("parquet") / "receipt.parquet"
    pq.write_table(table, path)
    return path


@pytest.fixture(scope="module")
def logs(receipt_parquet: Path) -> dict[str, list[str]]:
    return {**LOGS, "receipt-parquet": [str(receipt_parquet)]}


@pytest.fixture(scope="module")
def embedded_summaries(
    tmp_path_factory: pytest.TempPathFactory, logs: dict[str, list[str]]
) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("summaries")
    return {name: summary(tmp, log) for name, log in logs.items()}


@pytest.mark.parametrize("name", [*LOGS, "receipt-parquet"])
def test_postgres_map_summary_equals_the_embedded_engine(
    embedded_summaries: dict[str, Any],
    logs: dict[str, list[str]],
    pg_url: str,
    tmp_path: Path,
    name: str,
) -> None:
    got = summary(
        tmp_path, logs[name], "--engine", "postgres", env={"PILOTLINE_DATABASE_URL": pg_url}
    )
    same(got, embedded_summaries[name])


def test_spark_map_summary_equals_the_embedded_engine(
    embedded_summaries: dict[str, Any], logs: dict[str, list[str]], tmp_path: Path
) -> None:
    """Through the command, as a user runs it (a JVM per run, so once)."""
    name = "production"
    same(summary(tmp_path, logs[name], "--engine", "spark"), embedded_summaries[name])


@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
@pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning")
@pytest.mark.filterwarnings(
    "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
)
@pytest.mark.parametrize("name", ["running-example", "receipt-parquet"])
def test_spark_in_this_process_gives_the_same_summary(
    logs: dict[str, list[str]], name: str
) -> None:
    """The other logs through the engine's API, on the one Spark session of the run (the map
    filter suite starts it too), not a JVM per log."""
    from pilotline.map import Miner, read_log

    path = Path(logs[name][0]) if Path(logs[name][0]).is_absolute() else DATA / logs[name][0]
    log = read_log(path)
    same(Miner.on(log, "spark").summary(), Miner(log).summary())


@pytest.fixture(scope="module")
def lake(embedded: Path) -> Path:
    out = embedded.parent / "lake"
    run(embedded, "export", "--parquet", str(out))
    return out


@pytest.mark.parametrize("by", ["machine,shift", "line,day"])
def test_spark_oee_equals_the_embedded_store(embedded: Path, lake: Path, by: str) -> None:
    expected = json.loads(run(embedded, *OEE_ARGS, "--by", by))
    got = json.loads(run(embedded, *OEE_ARGS, "--by", by, "--engine", "spark", "--lake", str(lake)))
    same(got, expected)


def test_spark_losses_equal_the_embedded_store(embedded: Path, lake: Path) -> None:
    args = ("losses", "--from", START.date().isoformat(), "--to", END.date().isoformat())
    expected = json.loads(run(embedded, *args, "--format", "json"))
    got = json.loads(
        run(embedded, *args, "--format", "json", "--engine", "spark", "--lake", str(lake))
    )
    same(got, expected)
