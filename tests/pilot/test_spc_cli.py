"""The SPC contract: `pilotline pilot spc FILE --column NAME [--subgroup COL] [--phase1 N] --format json`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import clock_env, write

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def spc(*args: str) -> dict:
    done = subprocess.run(
        [PILOTLINE, "pilot", "spc", *args, "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **clock_env()},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_individuals_chart_from_a_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / "w.csv",
        "part,weight\n"
        + "".join(
            f"p{i},{v}\n" for i, v in enumerate([10, 12, 11, 13, 12, 11, 12, 10, 11, 19], start=1)
        ),
    )
    chart = spc(str(path), "--column", "weight", "--phase1", "9")
    assert set(chart) >= {"center", "sigma", "lcl", "ucl", "points"}
    assert chart["center"] == 102 / 9
    assert [p["key"] for p in chart["points"]] == list(range(1, 11))
    assert chart["points"][9]["rules"] == [1]
    assert all(p["rules"] == [] for p in chart["points"][:9])


def test_xbar_chart_keyed_by_subgroup(tmp_path: Path) -> None:
    rows = [
        ("mon", 10),
        ("mon", 11),
        ("mon", 12),
        ("tue", 11),
        ("tue", 12),
        ("tue", 13),
        ("wed", 10),
        ("wed", 12),
        ("wed", 11),
        ("thu", 15),
        ("thu", 16),
        ("thu", 17),
    ]
    path = write(tmp_path / "s.csv", "day,len\n" + "".join(f"{d},{v}\n" for d, v in rows))
    chart = spc(str(path), "--column", "len", "--subgroup", "day", "--phase1", "3")
    assert [p["key"] for p in chart["points"]] == ["mon", "tue", "wed", "thu"]
    assert 1 in chart["points"][3]["rules"]


def test_non_numeric_cell_is_reported(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.csv", "x\n1\n2\nabc\n")
    done = subprocess.run(
        [PILOTLINE, "pilot", "spc", str(path), "--column", "x"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", **clock_env()},
    )
    assert done.returncode == 1
    assert "row 4, column 'x': 'abc' is not a number" in done.stderr
