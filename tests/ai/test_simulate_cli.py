"""`pilotline ai simulate` as a user meets it: a second run onto the same folder or the same
machine's hour is refused before anything is written (the store keeps what it has, so the runs
would have been stored in part while the command said they were stored; a back-test of the folder
would have read the old runs beside the new), and a start near the end of the calendar is an
input error, not a crash."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from pilotline.cli.app import app
from pilotline.store import EmbeddedStore
from tests.web.conftest import PLANT

runner = CliRunner()


def _sim(home: Path, *args: str) -> tuple[int, str]:
    r = runner.invoke(app, ["--home", str(home), "ai", "simulate", *args])
    return r.exit_code, r.output + str(r.exception or "")


def test_simulate_refuses_to_mix_runs(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(PLANT)
    at = "2026-03-04T10:00"
    code, out = _sim(home, str(tmp_path / "a"), "--fault", "valve", "--from", at, "--machine", "m1")
    assert code == 0, out
    assert f"Next: pilotline --home {home} ai backtest" in out  # the next steps, for this home
    with EmbeddedStore(home).session() as s:
        assert s.scalar("SELECT count(*) FROM process_values WHERE machine = 'm1'") == 3600 * 5
    # the same machine and hour again, into a new folder: refused, nothing written
    code, out = _sim(
        home, str(tmp_path / "b"), "--fault", "bearing", "--from", at, "--machine", "m1"
    )
    assert code != 0 and "m1 has 18,000 process value(s) stored" in out
    assert not (tmp_path / "b").exists()
    # the same folder again: refused, the first run left as it was
    before = sorted(p.name for p in (tmp_path / "a").iterdir())
    code, out = _sim(home, str(tmp_path / "a"), "--fault", "none")
    assert code != 0 and "holds CSV files already" in out
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == before == ["1-valve.csv"]
    # an unknown machine is refused before the files are written
    code, out = _sim(home, str(tmp_path / "c"), "--fault", "none", "--machine", "nosuch")
    assert code != 0 and "not a machine of the plant" in out and not (tmp_path / "c").exists()
    # a start with an offset: the message and the training window of the next steps in UTC
    code, out = _sim(home, str(tmp_path / "e"), "--fault", "none", "--from",
                     "2026-03-04T13:00+01:00", "--machine", "m1")  # fmt: skip
    assert code == 0, out
    assert "from 2026-03-04 12:00 UTC" in out and "--from 2026-03-04T12:00:00 --until" in out
    code, out = _sim(home, str(tmp_path / "d"), "--from", "9999-12-31T23:00")
    assert code != 0 and "after the year 9999" in out and "unexpected" not in out
