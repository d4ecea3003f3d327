"""The CLI contract: commands, formats, errors and the demo."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pilotline.cli.docs import cli_reference
from tests.conftest import WORKED_EXAMPLE_PLANT, clock_env, write

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def run(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PILOTLINE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin", **clock_env()},
        check=False,
    )
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    write(home / "plant.toml", WORKED_EXAMPLE_PLANT)
    write(
        tmp_path / "s.csv",
        "machine,ts,state,reason\nm1,2026-03-02T06:00:00Z,running,\n"
        "m1,2026-03-02T09:10:00Z,stopped,breakdown\nm1,2026-03-02T09:57:00Z,running,\n",
    )
    write(tmp_path / "c.csv", "machine,ts,total,reject\nm1,2026-03-02T13:59:00Z,19271,423\n")
    run(home, "import", str(tmp_path / "s.csv"), str(tmp_path / "c.csv"))
    return home


CONTRACT = (
    "machine",
    "period_start",
    "period_end",
    "planned_s",
    "run_s",
    "availability",
    "performance",
    "quality",
    "oee",
    "total_count",
    "good_count",
    "reject_count",
)


def test_oee_json_contract(home: Path) -> None:
    out = run(
        home,
        "oee",
        "--by",
        "machine,shift",
        "--from",
        "2026-03-02T00:00:00+00:00",
        "--to",
        "2026-03-03T00:00:00+00:00",
        "--format",
        "json",
    ).stdout
    rows = json.loads(out)
    assert len(rows) == 2  # m1 and m2, one shift each
    m1 = next(r for r in rows if r["machine"] == "m1")
    assert set(CONTRACT) <= set(m1)
    assert dt.datetime.fromisoformat(m1["period_start"]) == dt.datetime(
        2026, 3, 2, 6, tzinfo=dt.UTC
    )
    assert m1["period_end"].endswith("+00:00")
    assert round(m1["oee"], 4) == 0.7479
    assert (m1["total_count"], m1["good_count"], m1["reject_count"]) == (19271, 18848, 423)


def test_oee_csv_and_table_carry_the_same_rows(home: Path) -> None:
    args = ("oee", "--by", "line,day", "--from", "2026-03-02", "--to", "2026-03-03")
    rows = list(csv.DictReader(io.StringIO(run(home, *args, "--format", "csv").stdout)))
    assert [r["line"] for r in rows] == ["Line A"]
    assert float(rows[0]["planned_s"]) == 2 * 420 * 60 - 420 * 60  # m2 has no data at all
    table = run(home, *args).stdout
    assert "Line A" in table and "74.8 %" in table


def test_losses_json_has_waterfall_and_pareto(home: Path) -> None:
    out = json.loads(
        run(home, "losses", "--from", "2026-03-02", "--to", "2026-03-03", "--format", "json").stdout
    )
    steps = {s["step"]: s["minutes"] for s in out["waterfall"]}
    assert steps["Breakdowns"] == -47
    assert out["pareto"][0]["reason"] == "breakdown"


def test_errors_are_one_clear_line_and_exit_1(home: Path, tmp_path: Path) -> None:
    result = run(home, "oee", "--by", "machine,fortnight", ok=False)
    assert "cannot group by" in result.stderr and "Traceback" not in result.stderr
    bad = write(tmp_path / "bad.csv", "machine,ts,total\nm7,2026-03-02T06:00:00Z,1\n")
    result = run(home, "import", str(bad), ok=False)
    assert "row 2, column 'machine': unknown machine 'm7'" in result.stderr
    assert "Nothing was imported" in result.stderr


def test_no_plant_model_says_to_run_init(tmp_path: Path) -> None:
    result = run(tmp_path / "empty", "oee", ok=False)
    assert "Run 'pilotline init'" in result.stderr


def test_every_command_has_help() -> None:
    reference = cli_reference()
    for command in ("init", "import", "oee", "losses", "report shift", "demo"):
        assert f"## `pilotline {command}`" in reference
        result = subprocess.run(
            [PILOTLINE, *command.split(), "--help"], capture_output=True, text=True, check=False
        )
        assert result.returncode == 0 and "Usage:" in result.stdout


def test_demo_no_serve_simulates_and_writes_the_report(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    result = run(home, "demo", "--no-serve", "--days", "8", "--machines", "3")
    assert "OEE" in result.stdout
    reports = list((home / "reports").glob("*.html"))
    assert len(reports) == 1
    page = reports[0].read_text(encoding="utf-8")
    assert "Where the time went" in page and "<svg" in page
    # Self-contained: static SVG charts, no script and nothing loaded from elsewhere.
    assert "<script" not in page and "src=" not in page and "href=" not in page
    again = run(home, "demo", "--no-serve", ok=False)
    assert "already holds a plant" in again.stderr


def test_csv_cells_that_a_spreadsheet_would_run_are_quoted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    plant = WORKED_EXAMPLE_PLANT.replace(
        "[[products]]", '[reasons]\n"=cmd|\' /c calc\'!a0" = "breakdown"\n\n[[products]]'
    )
    write(home / "plant.toml", plant)
    write(
        tmp_path / "s.csv",
        "machine,ts,state,reason\nm1,2026-03-02T06:00:00Z,running,\n"
        "m1,2026-03-02T09:10:00Z,stopped,=cmd|' /c calc'!a0\nm1,2026-03-02T09:57:00Z,running,\n",
    )
    run(home, "import", str(tmp_path / "s.csv"))
    out = run(home, "losses", "--from", "2026-03-02", "--to", "2026-03-03", "--format", "csv")
    reasons = [r["reason"] for r in csv.DictReader(io.StringIO(out.stdout))]
    assert "'=cmd|' /c calc'!a0" in reasons
    assert not any(r.startswith("=") for r in reasons)


def test_a_report_written_to_a_folder_or_a_locked_place_says_so(home: Path, tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    folder.mkdir()
    done = run(
        home,
        "report",
        "shift",
        "--from",
        "2026-03-02",
        "--to",
        "2026-03-03",
        "--out",
        str(folder),
        ok=False,
    )
    assert done.returncode == 1
    assert f"cannot use {folder}: Is a directory" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--from", "0001-01-01"), "outside the dates"),
        (("--to", "9999-12-31T23:59:59+00:00"), "outside the dates"),
        (("--from", "2026-03-03", "--to", "2026-03-02"), "starts"),
        (("--from", "1960-01-01", "--to", "1961-01-01"), "outside the dates"),
    ],
)
def test_periods_off_the_calendar_are_refused(home: Path, args: tuple[str, ...], says: str) -> None:
    done = run(home, "oee", *args, ok=False)
    assert done.returncode == 1 and says in done.stderr and "Traceback" not in done.stderr


def test_ctrl_c_says_aborted_and_nothing_else(home: Path) -> None:
    """Ctrl-C while a command waits for input: 'Aborted (Ctrl-C)…', exit 130, no traceback."""
    proc = subprocess.Popen(
        [
            PILOTLINE,
            "--home",
            str(home),
            "user",
            "add",
            "ivy",
            "--role",
            "operator",
            "--password-stdin",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"PATH": "/usr/bin:/bin", **clock_env()},
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    wchan = Path(f"/proc/{proc.pid}/wchan")
    deadline = time.monotonic() + 120
    while not wchan.read_text().endswith("pipe_read"):  # waiting for the password: in the command
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert "Aborted (Ctrl-C)" in err and "Traceback" not in err + out


def test_messages_are_never_wrapped_or_cut_by_a_narrow_terminal(tmp_path: Path) -> None:
    deep = tmp_path / ("a-long-folder-name-" * 6)
    deep.mkdir()
    bad = write(deep / "bad.csv", "x\n1\n2\nabc\n")
    done = subprocess.run(
        [PILOTLINE, "pilot", "spc", str(bad), "--column", "x"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "30", **clock_env()},
    )
    assert done.returncode == 1
    line = next(x for x in done.stderr.splitlines() if "is not a number" in x)
    assert str(bad) in line and "row 4, column 'x': 'abc' is not a number" in line


def test_report_shift_writes_the_last_completed_shift_or_the_one_named(
    home: Path, tmp_path: Path
) -> None:
    """As the web app: by default the shift that ended last before now (the suite's now is
    Wednesday 15:47, after the day shift), or the one given with --shift."""
    default = tmp_path / "default.html"
    run(home, "report", "shift", "--out", str(default))
    assert "<title>Shift report: Wed 04 Mar 2026, Day (06:00–14:00)" in default.read_text()
    named = tmp_path / "named.html"
    run(home, "report", "shift", "--shift", "2026-03-02 day", "--out", str(named))
    text = named.read_text()
    assert "Mon 02 Mar 2026, Day (06:00–14:00)" in text
    assert (
        "18,848" in text and "OEE<b>74.8 %" in text
    )  # the worked example: 19,271 parts, 423 rejects
    assert "47 min, 1 stop (" in text
    for args, says in (
        (("--shift", "2026-03-03 Night"), "the plant's shifts are Day"),
        (("--shift", "yesterday"), "like '2026-03-04 Early'"),
        (("--shift", "2026-03-02 Day", "--from", "2026-03-02"), "not both"),
    ):
        done = run(home, "report", "shift", *args, ok=False)
        assert done.returncode == 1 and says in done.stderr and "Traceback" not in done.stderr
