"""Time is an input: the pages and figures that depend on "now" are checked at many fixed nows —
every day of a week, the first minutes of a shift after a weekend, after a two-week shutdown, and
both days the clocks change — on a plant simulated up to that instant. Nothing here reads the
wall clock."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.web.conftest import PASSWORD, api_login

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
SHUTDOWN = [f"2026-12-{d}" for d in range(21, 32)] + ["2027-01-01"]


def local(text: str) -> dt.datetime:
    """A wall-clock time in London as a UTC instant."""
    from zoneinfo import ZoneInfo

    return (
        dt.datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Europe/London")).astimezone(dt.UTC)
    )


NOWS = {
    "monday, first minutes of the early shift": local("2026-03-02T06:04:00"),
    "tuesday, end of the early shift": local("2026-03-03T13:59:59"),
    "wednesday, late shift": local("2026-03-04T15:47:23"),
    "thursday, midnight": local("2026-03-05T00:00:00"),
    "friday, after the last shift": local("2026-03-06T22:30:00"),
    "saturday, no shifts": local("2026-03-07T11:00:00"),
    "sunday, no shifts": local("2026-03-08T18:00:00"),
    "clocks go forward (sunday)": local("2026-03-29T03:30:00"),
    "monday after the clocks went forward": local("2026-03-30T09:00:00"),
    "clocks go back (sunday)": dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC),
    "monday after the clocks went back": local("2026-10-26T14:30:00"),
    "first morning after a two-week shutdown": local("2027-01-04T06:30:00"),
}


def plant_text() -> str:
    return demo_plant_text(machines=2, machines_per_line=2).replace(
        "holidays = []", f"holidays = {SHUTDOWN!r}".replace("'", '"')
    )


@pytest.fixture(params=list(NOWS), ids=list(NOWS))
def at(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    now = NOWS[request.param]
    monkeypatch.setenv(clock.ENV, now.isoformat())
    clock.set_now(now)  # the autouse fixture gives back the suite's clock afterwards
    (tmp_path / "plant.toml").write_text(plant_text())
    plant = parse_plant(plant_text())
    sim = simulate(plant, start=now - dt.timedelta(days=9), end=now, seed=7)
    store = EmbeddedStore(tmp_path)
    import_table(store, plant, sim.states, kind="states", source="sim-states")
    import_table(store, plant, sim.counts, kind="counts", source="sim-counts")
    Users(store).add("mia", PASSWORD, role="manager")
    return tmp_path


def ratios_in_range(row: dict[str, object]) -> None:
    for key in ("availability", "performance", "quality", "oee"):
        value = row.get(key)
        assert value is None or 0 <= value <= 1.0 + 1e-9, (key, value)  # type: ignore[operator]


def test_figures_hold_at_any_now(at: Path) -> None:
    now = clock.now()
    machine = "press-1"
    with TestClient(create_app(at)) as client:
        api_login(client, "mia")
        assert client.get(f"/machines/{machine}").status_code == 200
        assert client.get("/report/shift").status_code == 200
        assert client.get("/").status_code == 200

        # The default period is the last seven local days up to now: never a row after now.
        rows = client.get(f"/api/machines/{machine}/oee", params={"by": "shift"}).json()
        for row in rows:
            ratios_in_range(row)
            assert dt.datetime.fromisoformat(row["period_start"]) <= now
        worked = [r for r in rows if r["oee"] is not None]
        shutdown = now.date() - dt.timedelta(days=7) >= dt.date(2026, 12, 21)
        assert bool(worked) != shutdown  # a normal week has shifts with figures; a shutdown none

        # Stops of the last 12 hours: inside the window, newest first, only the last may run on.
        stops = client.get(f"/api/machines/{machine}/stops", params={"limit": 1000}).json()
        starts = [dt.datetime.fromisoformat(s["start"]) for s in stops]
        assert starts == sorted(starts, reverse=True)
        for s in stops:
            end = dt.datetime.fromisoformat(s["end"])
            assert now - dt.timedelta(hours=12) <= dt.datetime.fromisoformat(s["start"]) < end
            assert end <= now
            assert s["ongoing"] == (end >= now - dt.timedelta(seconds=1))
        assert sum(s["ongoing"] for s in stops) <= 1

        small = client.get(f"/api/machines/{machine}/small-losses").json()
        limit = small["minor_stop_limit_s"]
        assert small["minor_stops"] == sum(s["seconds"] <= limit for s in small["stops"])

        # The operator page and a scrap tap: recorded into a shift with parts, else refused.
        assert client.get(f"/operate/{machine}").status_code == 200
        csrf = client.get("/api/me").json()["csrf"]
        tap = client.post(
            f"/api/machines/{machine}/scrap",
            json={"count": 1, "reason": "scrap"},
            headers={"X-CSRF-Token": csrf},
        )
        assert tap.status_code in (201, 422), tap.text
        if tap.status_code == 201:
            entry = dt.datetime.fromisoformat(tap.json()["entry"]).replace(tzinfo=dt.UTC)
            assert now - dt.timedelta(hours=12) <= entry <= now
        else:
            assert "no shift" in tap.json()["detail"] or "at most 0" in tap.json()["detail"]

        overview = client.get("/api/overview").json()
        assert dt.datetime.fromisoformat(overview["now"]) == now
        for line in overview["lines"]:
            for tile in line["machines"]:
                assert tile["oee"] is None or 0 <= tile["oee"] <= 1
                assert tile["for_s"] is None or tile["for_s"] >= 0


def test_the_command_line_takes_the_same_clock(at: Path) -> None:
    """`pilotline oee` over its default period (the seven days up to now) at this now."""
    now = clock.now()
    plant = parse_plant(plant_text())
    expected = Measure(EmbeddedStore(at), plant).oee(
        start=now - dt.timedelta(days=7), end=now, by="machine"
    )
    done = subprocess.run(
        [PILOTLINE, "--home", str(at), "oee", "--by", "machine", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", clock.ENV: clock.now().isoformat()},
    )
    assert done.returncode == 0, done.stderr
    got = json.loads(done.stdout)
    assert [(r["machine"], r["oee"], r["total_count"]) for r in got] == [
        (r["machine"], r["oee"], r["total_count"]) for r in expected
    ]
