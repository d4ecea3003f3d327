"""The overview (issue 15 §4): loss categories, line and plant totals, worst first, the wall
screen and the alert for a stop left without a reason."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import load_plant, parse_plant
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from pilotline.web.overview import STOP_ALERT_MIN, TILE_CATEGORIES
from tests.conftest import NOW
from tests.web.conftest import ARTIFACTS, PLANT, api_login, chromium, log_in, serving
from tests.web.test_operate import _axe


@pytest.fixture
def stops_home(clock_home: Path) -> Path:
    """The round-the-clock plant with m1 stopped exactly the alert's threshold without a reason,
    and m2 in a changeover for 20 minutes."""
    states = pa.table(
        {
            "machine": ["m1", "m2"],
            "ts": pa.array(
                [NOW - dt.timedelta(minutes=STOP_ALERT_MIN), NOW - dt.timedelta(minutes=20)],
                pa.timestamp("us", "UTC"),
            ),
            "state": ["stopped", "stopped"],
            "reason": [None, "changeover"],
        }
    )
    store = EmbeddedStore(clock_home)
    import_table(store, parse_plant(PLANT), states, kind="states", source="stops")
    return clock_home


def tiles(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["id"]: m for line in data["lines"] for m in line["machines"]}


def test_tiles_say_their_loss_category_and_the_alert_starts_at_the_threshold(
    stops_home: Path,
) -> None:
    with TestClient(create_app(stops_home)) as client:
        api_login(client, "mia")
        data = client.get("/api/overview").json()
        later = client.get("/api/overview", params={"alert_min": STOP_ALERT_MIN + 1}).json()
        assert client.get("/api/overview", params={"alert_min": 0}).status_code == 422
    m1, m2 = tiles(data)["m1"], tiles(data)["m2"]
    assert (m1["state"], m1["category"], m1["category_label"]) == (
        "stopped",
        "unexplained",
        "Stop, no reason given",
    )
    assert (m2["category"], m2["reason"], m2["alert"]) == ("setup", "changeover", False)
    assert [c["key"] for c in data["categories"]] == [c.key for c in TILE_CATEGORIES]
    # Stopped exactly 10 minutes of planned time without a reason: the alert, and only for m1.
    assert m1["no_reason_s"] == STOP_ALERT_MIN * 60 and m1["alert"] is True
    assert data["alert_after_min"] == STOP_ALERT_MIN
    assert data["alerts"] == [
        {
            "machine": "m1",
            "name": "Press <b>one</b>",
            "line": "Line A",
            "stopped_s": 600.0,
            "text": "Press <b>one</b> stopped 10 min, no reason yet",
        }
    ]
    assert later["alerts"] == [] and tiles(later)["m1"]["alert"] is False
    # The fields the overview always had are still there, with their meaning.
    for key in ("id", "name", "state", "reason", "since", "for_s", "last_stop_reason"):
        assert key in m1
    assert m1["shift"] == "2026-03-04 Day" and m1["shift_name"] == "Day"


def test_a_reason_given_on_the_tablet_ends_the_alert(stops_home: Path) -> None:
    with TestClient(create_app(stops_home)) as client:
        csrf = api_login(client, "olga")
        start = NOW - dt.timedelta(minutes=STOP_ALERT_MIN)
        r = client.post(
            "/api/machines/m1/reasons",
            json={"start": start.isoformat(), "end": NOW.isoformat(), "reason": "breakdown"},
            headers={"X-CSRF-Token": csrf},
        )
        assert r.status_code == 201
    with TestClient(create_app(stops_home)) as client:  # a fresh cache
        api_login(client, "mia")
        data = client.get("/api/overview").json()
    assert tiles(data)["m1"]["category"] == "breakdown"
    assert data["alerts"] == [] and tiles(data)["m1"]["no_reason_s"] is None


def test_totals_are_measures_roll_up_and_tiles_come_worst_first(home: Path) -> None:
    with TestClient(create_app(home)) as client:
        api_login(client, "mia")
        data = client.get("/api/overview").json()
        page = client.get("/").text
        plant_order = client.get("/", params={"order": "plant"}).text
        api_login(client, "olga")
        operator = client.get("/api/overview").json()
    measure = Measure(EmbeddedStore(home), load_plant(home / "plant.toml"))
    start = NOW - dt.timedelta(days=1)

    def now_rows(by: str) -> dict[str, dict[str, Any]]:
        rows = measure.oee(start=start, end=NOW, by=by, now=NOW)
        return {r[by.split(",")[0]]: r for r in rows if r["period_start"] <= NOW < r["period_end"]}

    by_line, site = now_rows("line,shift"), now_rows("site,shift")
    machine_rows = now_rows("machine,shift")
    for line in data["lines"]:
        expected = by_line[line["line"]]
        assert line["total"]["oee"] == pytest.approx(expected["oee"])
        assert line["total"]["planned_s"] == pytest.approx(expected["planned_s"])
        assert line["total"]["shift_name"] == "Late"
        # Times summed, then divided (the ISO way), never the mean of the machines' OEE.
        ids = {m["id"] for m in line["machines"]}
        good = sum(r["good_ideal_s"] for m, r in machine_rows.items() if m in ids)
        planned = sum(r["planned_s"] for m, r in machine_rows.items() if m in ids)
        assert line["total"]["oee"] == pytest.approx(good / planned)
    assert data["total"]["oee"] == pytest.approx(site["Demo Works"]["oee"])
    assert data["total"]["machines"] == 6
    assert operator["total"] is None  # an operator sees one line: no plant figure from the rest

    # Worst first: stopped in planned time (not a planned stop), longest first; then lowest OEE.
    for line in data["lines"]:
        machines = {m["id"]: m for m in line["machines"]}
        ordered = [machines[i] for i in line["worst_first"]]
        stopped = [
            m for m in ordered if m["category"] not in ("running", "planned_stop", "no_data")
        ]
        rest = ordered[len(stopped) :]
        assert all(m["category"] in ("running", "planned_stop", "no_data") for m in rest)
        assert [m["for_s"] for m in stopped] == sorted((m["for_s"] for m in stopped), reverse=True)
        oees = [m["oee"] for m in rest if m["oee"] is not None]
        assert oees == sorted(oees)
    first_line = data["lines"][0]
    positions = [page.index(f'data-machine="{i}"') for i in first_line["worst_first"]]
    assert positions == sorted(positions)
    plant_ids = [m["id"] for m in first_line["machines"]]
    positions = [plant_order.index(f'data-machine="{i}"') for i in plant_ids]
    assert positions == sorted(positions)
    assert "Worst first" in page and "OEE this shift (Late)" in page


def test_the_wall_screen_shows_the_alert_and_keeps_refreshing(stops_home: Path) -> None:
    with serving(stops_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.goto(base + "/login")
        log_in(page, "mia")
        page.wait_for_selector(".tile")
        assert _axe(page) == []
        polls: list[str] = []
        page.on("request", lambda r: polls.append(r.url) if "/api/overview" in r.url else None)
        page.goto(base + "/?wall=1")
        banner = page.locator('[data-field="alerts"]')
        assert banner.inner_text().strip() == "⚠ Press <b>one</b> stopped 10 min, no reason yet"
        assert page.locator("header").is_hidden()  # no navigation on the wall
        tile = page.locator('[data-machine="m1"]')
        assert "alert" in (tile.get_attribute("class") or "")
        assert tile.locator('[data-field="category"]').inner_text() == "Stop, no reason given"
        big = page.evaluate("parseFloat(getComputedStyle(document.documentElement).fontSize)")
        assert big > 18  # larger type than the desk page at a TV's width
        deadline = time.monotonic() + 60  # a loaded machine may take its time
        while not polls and time.monotonic() < deadline:
            page.wait_for_timeout(250)
        page.wait_for_timeout(300)  # the answer painted
        assert polls and "alert_min=10" in polls[0]
        assert banner.inner_text().strip() == "⚠ Press <b>one</b> stopped 10 min, no reason yet"
        assert _axe(page) == []
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "overview-wall.png"), full_page=True)
        page.close()


def test_the_overview_follows_the_plant_model_at_once_and_refuses_a_broken_one(
    clock_home: Path,
) -> None:
    """A renamed machine is on the overview at the next request (not after the cached overview
    runs out), and a plant model that no longer loads is refused as on every other page, never
    shown from before."""
    client = TestClient(create_app(clock_home))
    api_login(client, "mia")
    assert tiles(client.get("/api/overview").json())["m1"]["name"] == "Press <b>one</b>"
    plant_file = clock_home / "plant.toml"
    plant_file.write_text(PLANT.replace("Press <b>one</b>", "Press two"))
    assert tiles(client.get("/api/overview").json())["m1"]["name"] == "Press two"
    assert "Press two" in client.get("/").text
    plant_file.write_text(PLANT + "\n[[[broken")
    assert client.get("/api/overview").status_code == 422
    page = client.get("/")
    assert page.status_code == 422 and "Press two" not in page.text
    plant_file.write_text(PLANT)
    assert client.get("/api/overview").status_code == 200


def test_an_open_overview_says_when_it_is_no_longer_updated(clock_home: Path) -> None:
    """A wall screen whose refresh fails (here: the plant model no longer loads) says since when
    and why, instead of showing the last tiles as live."""
    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page()
        page.clock.install()  # the page's 5 s poll, run on demand
        page.goto(base + "/login")
        log_in(page, "mia")
        page.wait_for_selector(".tile")
        assert page.locator('[data-field="stale"]').is_hidden()
        (clock_home / "plant.toml").write_text(PLANT + "\n[[[broken")
        page.clock.run_for(5_000)
        page.wait_for_selector('[data-field="stale"]:not([hidden])', timeout=15_000)
        assert "not valid TOML" in page.inner_text('[data-field="stale"]')
