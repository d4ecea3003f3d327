"""Pilots end to end: a spec, a series with a known effect, the verdict, warnings and the A3."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pilotline.errors import InputError
from pilotline.pilot import Sources, evaluate, load_pilot, plan
from tests.conftest import clock_env, write

PILOTLINE = str(Path(sys.executable).parent / "pilotline")

SPEC = """
title = "SMED on Press 1"
owner = "Ops"
hypothesis = "If we pre-stage dies, output rises 5 parts per hour."
unit = "day"
target_effect = 5.0
review_date = 2026-11-01
{design}
[baseline]
start = 2026-09-01
end = 2026-10-01
[pilot]
start = 2026-10-01
end = 2026-11-01
[metric]
file = "daily.csv"
column = "rate"
name = "Parts per hour"
{control}
[[guardrails]]
file = "daily.csv"
column = "scrap"
direction = "decrease"
[money]
one_off = 3000
value_per_unit = 20
periods_per_month = 21
"""


def _daily(
    path: Path, *, effect: float, control_shift: float = 0.0, scrap_jump: float = 0.0, seed: int = 4
) -> None:
    rng = np.random.default_rng(seed)
    e = c = 0.0
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "rate", "control", "scrap"])
        for i in range(61):
            day = dt.date(2026, 9, 1) + dt.timedelta(days=i)
            after = day >= dt.date(2026, 10, 1)
            e = 0.4 * e + rng.normal(0, 1.5)
            c = 0.4 * c + rng.normal(0, 1.5)
            w.writerow(
                [
                    day.isoformat(),
                    round(100 + e + (effect if after else 0), 3),
                    round(90 + c + (control_shift if after else 0), 3),
                    round(2 + rng.normal(0, 0.1) + (scrap_jump if after else 0), 3),
                ]
            )


def _spec(tmp: Path, design: str = "", control: str = "") -> Path:
    return write(tmp / "pilot.toml", SPEC.format(design=design, control=control))


def test_a_clear_effect_is_found_with_an_honest_interval_and_payback(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=8.0)
    result = evaluate(load_pilot(_spec(tmp_path)), Sources(), as_of=dt.date(2026, 11, 2))
    eff = result["effect"]
    assert eff["method"] == "interrupted time series (AR(1) errors)"
    assert eff["low"] < 8.0 < eff["high"] and eff["low"] > 0
    assert result["verdict"].startswith("Parts per hour likely up")
    assert "payback" in result["verdict"]
    pb = result["money"]["payback_months"]
    # 3000 one-off / (8 parts/h × 20 × 21 per month) ≈ 0.9 months
    assert 0.5 < pb["median"] < 1.5
    assert not [w for w in result["warnings"] if "Early look" in w]
    assert result["guardrails"][0]["harmed"] is False


def test_no_effect_is_not_called_one_and_early_looks_are_flagged(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=0.0)
    result = evaluate(load_pilot(_spec(tmp_path)), Sources(), as_of=dt.date(2026, 10, 12))
    assert "includes no change" in result["verdict"]
    assert any("Early look" in w for w in result["warnings"])
    assert any(e["method"].startswith("always-valid") for e in result["estimates"])


def test_control_line_and_harmed_guardrail(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=8.0, control_shift=6.0, scrap_jump=0.8)
    spec = _spec(
        tmp_path, 'design = "control"', '[control]\nfile = "daily.csv"\ncolumn = "control"'
    )
    result = evaluate(load_pilot(spec), Sources(), as_of=dt.date(2026, 11, 2))
    assert result["effect"]["method"] == "difference in differences (HAC)"
    assert result["effect"]["low"] < 2.0 < result["effect"]["high"]  # 8 on the line minus 6 shared
    assert any("control line also changed" in w for w in result["warnings"])
    assert result["guardrails"][0]["harmed"] is True
    assert any("Guardrail scrap got worse" in w for w in result["warnings"])


def test_plan_accounts_for_autocorrelation(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=0.0)
    result = plan(load_pilot(_spec(tmp_path)), Sources())
    assert result["baseline_points"] == 30
    assert result["mde"] >= result["naive_mde"]
    assert "The pilot can detect a change of" in result["verdict"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (("end = 2026-10-01", "end = 2026-10-05"), "the baseline .* overlaps the pilot"),
        (
            ("start = 2026-10-01\nend = 2026-11-01", "start = 2026-10-01\nend = 2026-10-01"),
            "ends .* on or before it starts",
        ),
        (('column = "rate"', 'column = "speed"'), "no column 'speed'"),
    ],
)
def test_bad_specs_and_data_get_a_clear_message(
    tmp_path: Path, edit: tuple[str, str], message: str
) -> None:
    _daily(tmp_path / "daily.csv", effect=0.0)
    path = write(tmp_path / "pilot.toml", SPEC.format(design="", control="").replace(*edit, 1))
    with pytest.raises(InputError, match=message):
        evaluate(load_pilot(path), Sources(), as_of=dt.date(2026, 11, 2))


def test_non_numeric_values_and_too_few_points(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=0.0)
    lines = (tmp_path / "daily.csv").read_text().splitlines()
    lines[3] = "2026-09-03,n/a,90,2"
    (tmp_path / "daily.csv").write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"row 4, column 'rate': 'n/a' is not a number"):
        evaluate(load_pilot(_spec(tmp_path)), Sources(), as_of=dt.date(2026, 11, 2))
    _daily(tmp_path / "daily.csv", effect=0.0)
    with pytest.raises(InputError, match="too few points"):
        evaluate(load_pilot(_spec(tmp_path)), Sources(), as_of=dt.date(2026, 10, 2))


def test_cli_evaluate_json_and_a3(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=8.0)
    spec = _spec(tmp_path)
    env = {
        "PATH": "/usr/bin:/bin",
        **clock_env(),
        "COLUMNS": "160",
        "PILOTLINE_HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [PILOTLINE, "pilot", "evaluate", str(spec), "--as-of", "2026-11-02", "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert json.loads(done.stdout)["effect"]["low"] > 0
    a3 = tmp_path / "a3.html"
    subprocess.run(
        [
            PILOTLINE,
            "pilot",
            "evaluate",
            str(spec),
            "--as-of",
            "2026-11-02",
            "--format",
            "html",
            "--out",
            str(a3),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    page = a3.read_text()
    for section in (
        "Background",
        "Current condition",
        "Target",
        "Countermeasure",
        "Result",
        "Decision",
    ):
        assert f"<h2>{section}</h2>" in page
    assert "<script src=" not in page


def test_a3_as_pdf_through_chromium(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=8.0)
    spec = _spec(tmp_path)
    pdf = tmp_path / "a3.pdf"
    done = subprocess.run(
        [
            PILOTLINE,
            "pilot",
            "evaluate",
            str(spec),
            "--as-of",
            "2026-11-02",
            "--format",
            "pdf",
            "--out",
            str(pdf),
        ],
        capture_output=True,
        text=True,
        check=False,
        env={
            "PATH": "/usr/bin:/bin",
            **clock_env(),
            "PILOTLINE_HOME": str(tmp_path / "home"),
            "HOME": str(tmp_path),
        },
    )
    assert done.returncode == 0, done.stderr
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 20_000


def test_switchback_design(tmp_path: Path) -> None:
    rng = np.random.default_rng(12)
    with (tmp_path / "daily.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "rate", "control", "scrap"])
        for i in range(61):
            day = dt.date(2026, 9, 1) + dt.timedelta(days=i)
            on = day >= dt.date(2026, 10, 1) and (day - dt.date(2026, 10, 1)).days % 2 == 0
            w.writerow(
                [day.isoformat(), round(100 + rng.normal(0, 1.5) + (6 if on else 0), 3), 90, 2]
            )
    spec = _spec(tmp_path, 'design = "switchback"', "[switchback]\nalternate = true")
    result = evaluate(load_pilot(spec), Sources(), as_of=dt.date(2026, 11, 2))
    assert result["effect"]["method"] == "switchback (AR(1) errors)"
    assert result["effect"]["low"] < 6 < result["effect"]["high"] and result["effect"]["low"] > 0
    stepped = write(tmp_path / "stepped.toml", SPEC.format(design='design = "stepped"', control=""))
    with pytest.raises(
        InputError, match=r"design 'stepped' needs at least two \[\[stepped\]\] machines"
    ):
        load_pilot(stepped)


def test_counts_with_exposure_and_harmonic_seasonality(tmp_path: Path) -> None:
    rng = np.random.default_rng(21)
    with (tmp_path / "defects.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["date", "defects", "parts"])
        for i in range(61):
            day = dt.date(2026, 9, 1) + dt.timedelta(days=i)
            parts = int(rng.integers(900, 1100))
            rate = 0.01 if day >= dt.date(2026, 10, 1) else 0.02
            w.writerow([day.isoformat(), rng.poisson(parts * rate), parts])
    spec = (
        SPEC.format(design='seasonality = "harmonic"', control="")
        .replace(
            'file = "daily.csv"\ncolumn = "rate"\nname = "Parts per hour"',
            'file = "defects.csv"\ncolumn = "defects"\nexposure_column = "parts"\ndirection = "decrease"',
            1,
        )
        .replace('file = "daily.csv"\ncolumn = "scrap"', 'file = "defects.csv"\ncolumn = "parts"')
    )
    result = evaluate(
        load_pilot(write(tmp_path / "p.toml", spec)), Sources(), as_of=dt.date(2026, 11, 2)
    )
    ratio = result["effect"]  # the rate ratio is the primary estimate for counts
    assert ratio["method"] == "rate ratio (quasi-Poisson)"
    assert ratio["low"] < 0.5 < ratio["high"] < 1.0
    assert result["verdict"].startswith("defects per parts likely down")
    for est in (ratio, result["estimates"][1]):  # the weekly harmonics reach every model
        assert {"week_sin1", "week_cos1", "week_sin2", "week_cos2"} <= set(est["coefficients"])
