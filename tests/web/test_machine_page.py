"""The machine page: stops counted only inside planned time, axes that end at 100 %, no "-0", the
target line, the empty state, and (in Chromium, at tablet and desktop widths) legends and
toolbars that cover neither data nor titles."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from pilotline import clock
from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.conftest import NOW, WORKED_EXAMPLE_PLANT
from tests.web.conftest import PASSWORD, api_login, chromium, log_in, serving

MON = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)  # the Day shift runs 06:00–14:00 UTC, every day


def at(day: int, hhmm: str) -> dt.datetime:
    h, m = (int(x) for x in hhmm.split(":"))
    return MON + dt.timedelta(days=day, hours=h, minutes=m)


def figures(page: str) -> dict[str, dict[str, Any]]:
    """The plotly specs the page hands to machine.js, by id."""
    found = re.findall(r'data-figure="([^"]+)"', page)
    specs = [json.loads(html.unescape(x)) for x in found]
    return {f["id"]: f for f in specs}


@pytest.fixture
def nights(tmp_path: Path) -> Path:
    """m1 on the worked example's Day shift (06:00–14:00, breaks at 08:00, 10:00, 12:00): a
    60 s stop at 07:00 Monday; stopped from 13:50 Monday to 06:10 Tuesday (the night is not
    planned: 10 + 10 minutes of it count); stopped after Tuesday's shift, 14:00–20:00 and
    20:01–23:00 (not planned: not counted at all).
    m2 has no data."""
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    plant = parse_plant(WORKED_EXAMPLE_PLANT)
    store = EmbeddedStore(tmp_path)
    states = [
        (at(0, "06:00"), "running"),
        (at(0, "07:00"), "stopped"),
        (at(0, "07:01"), "running"),
        (at(0, "13:50"), "stopped"),
        (at(1, "06:10"), "running"),
        (at(1, "14:00"), "stopped"),
        (at(1, "20:00"), "running"),
        (at(1, "20:01"), "stopped"),
        (at(1, "23:00"), "running"),
        (at(2, "06:00"), "running"),
    ]
    import_table(
        store,
        plant,
        pa.table(
            {
                "machine": ["m1"] * len(states),
                "ts": pa.array([t for t, _ in states], pa.timestamp("us", "UTC")),
                "state": [s for _, s in states],
            }
        ),
        kind="states",
    )
    counts = [(at(0, "06:00"), 1), (at(0, "13:00"), 20000), (at(1, "13:00"), 20000)]
    import_table(
        store,
        plant,
        pa.table(
            {
                "machine": ["m1"] * len(counts),
                "ts": pa.array([t for t, _ in counts], pa.timestamp("us", "UTC")),
                "total": [n for _, n in counts],
            }
        ),
        kind="counts",
    )
    Users(store).add("mia", PASSWORD, role="manager")
    return tmp_path


def test_stops_outside_planned_time_are_not_counted(nights: Path) -> None:
    plant = parse_plant(WORKED_EXAMPLE_PLANT)
    small = Measure(EmbeddedStore(nights), plant).small_losses(
        machine="m1", start=MON, end=MON + dt.timedelta(days=2)
    )
    # The 07:00 minute, and the overnight stop's 10 + 10 planned minutes; nothing of Tuesday
    # evening's stops, and no stop of 16 hours.
    assert [s["seconds"] for s in small["stops"]] == [60.0, 1200.0]
    with TestClient(create_app(nights)) as client:
        api_login(client, "mia")
        page = client.get("/machines/m1", params={"start": "2026-03-02", "end": "2026-03-03"})
    assert page.status_code == 200
    figs = figures(page.text)
    stops = figs["fig-stops"]["data"][0]
    assert sum(stops["y"]) == 2
    counted = dict(zip(stops["x"], stops["y"], strict=True))
    assert counted["30 s–60 s"] == 1 and counted["15 min–60 min"] == 1
    assert "inside planned time only" in figs["fig-stops"]["title"]


def test_several_groupings_read_once_equal_one_query_each(nights: Path) -> None:
    measure = Measure(EmbeddedStore(nights), parse_plant(WORKED_EXAMPLE_PLANT))
    period = {"start": MON, "end": MON + dt.timedelta(days=2), "machines": ["m1", "m2"]}
    groupings = ["machine,day", "machine", "site,shift"]
    assert measure.oee_by(groupings=groupings, **period) == [
        measure.oee(by=by, **period) for by in groupings
    ]


def test_axes_end_at_100_no_minus_zero_and_a_target_line(nights: Path) -> None:
    with TestClient(create_app(nights)) as client:
        api_login(client, "mia")
        page = client.get("/machines/m1", params={"start": "2026-03-02", "end": "2026-03-03"})
        empty = client.get("/machines/m2", params={"start": "2026-03-02", "end": "2026-03-03"})
    figs = figures(page.text)
    assert {"fig-trend", "fig-waterfall", "fig-pareto", "fig-timeline"} <= set(figs)
    for fig in figs.values():
        for axis in ("yaxis", "yaxis2"):
            spec = fig["layout"].get(axis, {})
            if spec.get("ticksuffix") == " %":
                assert spec["range"] == [0, 100], fig["id"]
        for trace in fig["data"]:
            if trace.get("yaxis") == "y2" or fig["id"] == "fig-trend":
                assert all(y is None or 0 <= y <= 100 for y in trace["y"]), fig["id"]
    waterfall = figs["fig-waterfall"]["data"][0]
    assert not [t for t in waterfall["text"] if t.startswith("-0") or t == "-0"]
    assert "-0" not in re.sub(r"\d-0", "", page.text.split("<main>")[1].split("data-figure")[0])
    target = [t for t in figs["fig-trend"]["data"] if t["name"].startswith("OEE target")]
    assert target and set(target[0]["y"]) == {85.0}
    # Legends sit below the plot, titles are headings outside it.
    for fig in figs.values():
        assert fig["layout"]["legend"]["y"] < 0 and "title" not in fig["layout"]
    # A machine without data says what to do and links to the data page.
    assert empty.status_code == 200
    assert 'id="empty-state"' in empty.text and 'href="/data"' in empty.text
    assert "data-figure" not in empty.text


@pytest.fixture(scope="module")
def server(home: Path) -> Iterator[str]:
    """The demo plant served at the suite's instant (its data ends then)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(clock.ENV, NOW.isoformat())
        with serving(home) as base:
            yield base


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def _overlap(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    if not a or not b:
        return False
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


@pytest.mark.parametrize("width", [768, 1280])
def test_charts_on_a_tablet_and_a_desktop(
    server: str, browser: Browser, width: int, tmp_path: Path
) -> None:
    page = browser.new_page(viewport={"width": width, "height": 1024})
    page.goto(server + "/login?next=/machines/press-2")
    log_in(page, "mia")
    page.wait_for_selector("div.plot")
    deadline = time.monotonic() + 30
    while page.locator("div.plot[data-drawn=yes]").count() < page.locator("div.plot").count():
        assert time.monotonic() < deadline, "plotly did not draw every chart"
        page.wait_for_timeout(100)
    texts = page.evaluate(
        "() => [...document.querySelectorAll('.figure svg text')].map(t => t.textContent)"
    )
    assert len(texts) > 20
    minus_zero = [t for t in texts if re.search(r"(^|[^\d])[-\u2212]0([^.\d]|$)", t)]
    assert minus_zero == []
    # Percentage axes as plotly laid them out in the page.
    ranges = page.evaluate(
        """() => [...document.querySelectorAll('div.plot')].flatMap(el =>
            ['yaxis', 'yaxis2'].map(k => el._fullLayout[k])
              .filter(a => a && a.ticksuffix === ' %').map(a => a.range[1]))"""
    )
    assert ranges and max(ranges) <= 100
    for fig in page.locator(".figure").all():
        plot_area = fig.locator(".nsewdrag").first.bounding_box()
        title = fig.locator("h3").bounding_box()
        legend = fig.locator(".legend")
        toolbar = fig.locator(".modebar-container")
        for box in (
            legend.bounding_box() if legend.count() else None,
            toolbar.bounding_box() if toolbar.count() else None,
        ):
            assert not _overlap(box, plot_area), (fig.get_attribute("id"), box, plot_area)
            assert not _overlap(box, title), (fig.get_attribute("id"), box, title)
    page.screenshot(path=str(tmp_path / f"machine-{width}.png"), full_page=True)
    page.close()
