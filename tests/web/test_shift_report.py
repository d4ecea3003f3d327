"""The shift report: the picker's default (the last completed shift, across clock changes), the
page under the app's header, its weight, and parts never added across products or machines."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.ingest import import_file
from pilotline.measure import Measure
from pilotline.plant import Plant, parse_plant
from pilotline.report import last_completed_shift, render_shift_report
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.conftest import LONDON_NIGHTS_PLANT, write
from tests.web.conftest import PASSWORD, api_login

LONDON = ZoneInfo("Europe/London")
UTC = dt.UTC


def london(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


@pytest.mark.parametrize(
    ("now", "key", "start", "end"),
    [
        # An ordinary morning: last night's shift, 8 hours.
        (london("2026-03-04T07:00"), "2026-03-03 Night", "2026-03-03T22:00Z", "2026-03-04T06:00Z"),
        # Clocks go forward in that night: it ends at 06:00 BST = 05:00 UTC, 7 real hours.
        (london("2026-03-29T06:30"), "2026-03-28 Night", "2026-03-28T22:00Z", "2026-03-29T05:00Z"),
        # Clocks go back: 22:00 BST (21:00 UTC) to 06:00 GMT, 9 real hours; at 05:59 GMT that
        # night is still running, so the one before is the last completed.
        (london("2026-10-25T06:00"), "2026-10-24 Night", "2026-10-24T21:00Z", "2026-10-25T06:00Z"),
        (london("2026-10-25T05:59"), "2026-10-23 Night", "2026-10-23T21:00Z", "2026-10-24T05:00Z"),
    ],
)
def test_the_default_is_the_last_completed_shift_across_clock_changes(
    london_plant: Plant, now: dt.datetime, key: str, start: str, end: str
) -> None:
    with clock.fixed(now):
        shift = last_completed_shift(london_plant)
    assert shift is not None
    assert (shift.key, shift.start, shift.end) == (
        key,
        dt.datetime.fromisoformat(start),
        dt.datetime.fromisoformat(end),
    )
    assert shift.machines == ("n1",)


def _home(tmp_path: Path, text: str) -> Path:
    (tmp_path / "plant.toml").write_text(text)
    users = Users(EmbeddedStore(tmp_path))
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator")
    return tmp_path


def test_the_page_picks_the_last_completed_shift_on_a_clock_change_day(tmp_path: Path) -> None:
    home = _home(tmp_path, LONDON_NIGHTS_PLANT)
    with clock.fixed(london("2026-03-29T06:30")), TestClient(create_app(home)) as client:
        api_login(client, "mia")
        page = client.get("/report/shift")
        assert page.status_code == 200
        chosen = re.search(r'<option value="([^"]+)" selected>([^<]+)<', page.text)
        assert chosen and chosen.groups() == (
            "2026-03-28 Night",
            "Sat 28 Mar 2026, Night (22:00–06:00)",
        )
        assert "<header>" in page.text and 'href="/report/shift"' in page.text  # the app's header
        assert "@media print" in page.text
        # No data yet: the page says so instead of empty charts.
        assert "No planned production time with data in this shift" in page.text
        bad = client.get("/report/shift", params={"shift": "last tuesday"})
        assert bad.status_code == 422 and "like &#39;2026-03-04 Early&#39;" in bad.text
        none = client.get("/report/shift", params={"shift": "2026-03-28 Early"})
        assert none.status_code == 422 and "the plant&#39;s shifts are Night" in none.text
        api_login(client, "olga")
        assert client.get("/report/shift").status_code == 403


PRODUCTS_PLANT = """
[site]
name = "Mixed works"
timezone = "UTC"

[[calendars]]
name = "day"
  [[calendars.shifts]]
  name = "Day"
  start = "06:00"
  end = "14:00"
  days = ["mon", "tue", "wed", "thu", "fri"]

[[lines]]
name = "Line A"
calendar = "day"
  [[lines.machines]]
  id = "press"
  name = "Press"
  ideal_cycle_s = 1.0
  [[lines.machines]]
  id = "cnc"
  name = "CNC"
  ideal_cycle_s = 40.0

[[products]]
id = "bracket"
ideal_cycle_s = { press = 1.0 }

[[products]]
id = "housing"
ideal_cycle_s = { press = 3.0 }
"""


@pytest.fixture
def mixed(tmp_path: Path) -> Path:
    """Tuesday 3 March 2026: the press makes 7,001 brackets then 1,303 housings (different ideal
    cycles); the CNC makes 457 parts."""
    home = _home(tmp_path, PRODUCTS_PLANT)
    plant = parse_plant(PRODUCTS_PLANT)
    store = EmbeddedStore(home)
    write(
        tmp_path / "s.csv",
        "machine,ts,state\npress,2026-03-03T06:00:00Z,running\ncnc,2026-03-03T06:00:00Z,running\n",
    )
    write(
        tmp_path / "o.csv",
        "work_order,machine,product,start,end\n"
        "WO-1,press,bracket,2026-03-03T06:00:00Z,2026-03-03T10:00:00Z\n"
        "WO-2,press,housing,2026-03-03T10:00:00Z,2026-03-03T14:00:00Z\n",
    )
    write(
        tmp_path / "c.csv",
        "machine,ts,total,reject\n"
        "press,2026-03-03T09:00:00Z,7001,11\n"
        "press,2026-03-03T13:00:00Z,1303,7\n"
        "cnc,2026-03-03T13:00:00Z,457,3\n",
    )
    for name in ("s.csv", "o.csv", "c.csv"):
        import_file(store, plant, tmp_path / name)
    return home


def test_parts_are_never_added_across_products_or_machines(mixed: Path) -> None:
    with TestClient(create_app(mixed)) as client:
        api_login(client, "mia")
        page = client.get("/report/shift", params={"shift": "2026-03-03 Day"})
        assert page.status_code == 200
    text = page.text
    assert 'value="2026-03-03 Day" selected' in text
    body = text.split("</header>")[1]  # static SVG charts: no plotly, no inline script
    assert len(page.content) < 500_000 and "Plotly" not in body
    assert re.search(r"<script(?![^>]*\ssrc=)", body) is None
    # Each product and the CNC on its own row, with its own good parts …
    for good in ("6,990", "1,296", "454"):
        assert f"<td>{good}</td>" in text
    # … and no sum of parts anywhere: press products together, or press and CNC.
    for total in (7001 + 1303, 6990 + 1296, 6990 + 1296 + 454, 7001 + 1303 + 457):
        assert f"{total:,}" not in text and str(total) not in text
    # The plant-wide figure is time: good parts × their ideal cycle.
    hours = (6990 * 1 + 1296 * 3 + 454 * 40) / 3600
    assert f"Fully productive time<b>{hours:,.1f} h</b>" in text


def test_the_command_line_file_is_the_same_report_and_opens_offline(mixed: Path) -> None:
    plant = parse_plant(PRODUCTS_PLANT)
    day = dt.datetime(2026, 3, 3, tzinfo=UTC)
    page = render_shift_report(
        Measure(EmbeddedStore(mixed), plant), start=day, end=day + dt.timedelta(days=1)
    )
    assert page.startswith("<!doctype html>") and "<script" not in page
    assert not re.search(r"(src|href)=['\"]?(https?:)?//", page)  # nothing from outside
    assert "<td>1,296</td>" in page and "@media print" in page and "<svg" in page
    assert f"{6990 + 1296:,}" not in page


def test_products_named_only_in_the_counts_are_not_added_either(tmp_path: Path) -> None:
    """No work orders: the press's count rows name two products. Their parts are not one
    count, so the press shows its time, not a sum of unlike parts."""
    home = _home(tmp_path, PRODUCTS_PLANT)
    plant = parse_plant(PRODUCTS_PLANT)
    store = EmbeddedStore(home)
    write(tmp_path / "s.csv", "machine,ts,state\npress,2026-03-03T06:00:00Z,running\n")
    write(
        tmp_path / "c.csv",
        "machine,ts,total,reject,product\n"
        "press,2026-03-03T09:00:00Z,7001,11,bracket\n"
        "press,2026-03-03T13:00:00Z,1303,7,housing\n",
    )
    for name in ("s.csv", "c.csv"):
        import_file(store, plant, tmp_path / name)
    day = dt.datetime(2026, 3, 3, tzinfo=UTC)
    page = render_shift_report(Measure(store, plant), start=day, end=day + dt.timedelta(days=1))
    assert "several products: see fully productive time" in page
    assert f"{7001 + 1303:,}" not in page and f"{6990 + 1296:,}" not in page
