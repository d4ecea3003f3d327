"""The operator's reason tap and scrap, through the API and the tablet page in a real browser."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pyarrow as pa
from fastapi.testclient import TestClient
from playwright.sync_api import Error as PlaywrightError

from pilotline.ingest import import_table
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.web.conftest import ARTIFACTS, NOW, PLANT, api_login, chromium, log_in, serving


def pareto(client: TestClient) -> dict[str, float]:
    rows = client.get(
        "/api/pareto",
        params={
            "start": (NOW - dt.timedelta(days=1)).isoformat(),
            "end": NOW.isoformat(),
            "machine": "m1",
        },
    ).json()
    return {r["reason"] or r["category"]: round(r["lost_s"]) for r in rows}


def test_an_operator_tap_changes_the_managers_pareto(clock_home: Path) -> None:
    with (
        TestClient(create_app(clock_home)) as manager,
        TestClient(create_app(clock_home)) as operator,
    ):
        api_login(manager, "mia")
        assert pareto(manager) == {"(no reason)": 900}
        token = api_login(operator, "olga")
        stops = operator.get("/api/machines/m1/stops").json()
        assert stops[0]["category"] == "unexplained" and round(stops[0]["minutes"]) == 15
        body = {"start": stops[0]["start"], "end": stops[0]["end"], "reason": "tool failure"}
        assert (
            operator.post("/api/machines/m1/reasons", json=body).status_code == 403
        )  # no CSRF header
        r = operator.post("/api/machines/m1/reasons", json=body, headers={"X-CSRF-Token": token})
        assert r.status_code == 201, r.text
        assert pareto(manager) == {"tool failure": 900}
        # Not her line, not a reason code, not a sensible count: refused, with the reason why.
        r = operator.post("/api/machines/m2/reasons", json=body, headers={"X-CSRF-Token": token})
        assert r.status_code == 403 and "Line B" in r.json()["detail"]
        r = operator.post(
            "/api/machines/m1/reasons",
            json={**body, "reason": "gremlins"},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 422 and "not a reason code" in r.json()["detail"]
        r = operator.post(
            "/api/machines/m1/scrap",
            json={"count": 0, "reason": "scrap"},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 422
        r = operator.post(
            "/api/machines/m1/scrap",
            json={"count": 3, "reason": "scrap"},
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code == 201, r.text
    with EmbeddedStore(clock_home).session() as s:
        assert s.arrow("SELECT reject, reject_reason FROM counts WHERE reject > 0").to_pylist() == [
            {"reject": 3, "reject_reason": "scrap"}
        ]
        assert s.arrow("SELECT entered_by FROM operator_reasons").to_pylist() == [
            {"entered_by": "olga"}
        ]


def test_operator_taps_the_reason_on_a_tablet(clock_home: Path) -> None:
    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 1280}, has_touch=True)
        page.goto(base + "/login?next=/operate")
        log_in(page, "olga")
        assert page.locator(".big-button").all_inner_texts() == ["Press <b>one</b>\nLine A"]
        page.click(".big-button")
        assert "Why did it stop" in page.locator("h2").first.inner_text()
        button = page.locator("button.reason", has_text="tool failure")
        box = button.bounding_box()
        assert box is not None and box["height"] >= 64  # a gloved finger finds it
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "operate-portrait.png"), full_page=True)
        button.tap()
        assert page.locator(".done").inner_text() == "Recorded: tool failure"
        assert page.locator("h2").first.inner_text() == "No stop is waiting for a reason."
        page.set_viewport_size({"width": 1280, "height": 800})  # landscape works too
        page.screenshot(path=str(ARTIFACTS / "operate-landscape.png"), full_page=True)
        page.goto(base + "/operate/m2")
        assert "Line B" in page.content() and "Not allowed" in page.content()
    with EmbeddedStore(clock_home).session() as s:
        assert s.arrow("SELECT reason FROM operator_reasons").to_pylist() == [
            {"reason": "tool failure"}
        ]


AXE = Path(__file__).parents[1] / "connect" / "peers" / "node_modules" / "axe-core" / "axe.min.js"


def test_no_critical_accessibility_violations(clock_home: Path) -> None:
    assert AXE.exists(), (
        "axe-core is not installed: ./run.sh test installs it (npm ci in tests/connect/peers)"
    )
    found: dict[str, list[str]] = {}
    with TestClient(create_app(clock_home)) as client:  # a process map to look at
        csrf = api_login(client, "mia")
        xes = Path(__file__).parents[3] / "shared" / "data" / "running-example.xes"
        log_id = client.post(
            "/api/logs",
            params={"filename": xes.name},
            content=xes.read_bytes(),
            headers={"X-CSRF-Token": csrf},
        ).json()["id"]
    with serving(clock_home) as base, chromium() as browser:
        for user, pages in (
            ("mia", ["/", "/operate", "/data", "/maps", f"/maps/{log_id}"]),
            ("olga", ["/operate/m1", "/settings"]),
            ("boss", ["/settings", "/users"]),
        ):
            page = browser.new_page()
            page.goto(base + "/login")
            found[f"{user} /login"] = _axe(page)
            log_in(page, user)
            for path in pages:
                page.goto(base + path)
                found[f"{user} {path}"] = _axe(page)
            page.close()
    assert len(found) == 12
    assert {k: v for k, v in found.items() if v} == {}


def _axe(page: object) -> list[str]:
    """Critical and serious violations axe-core finds on the page."""
    # Evaluated, not added as a <script>: pages with uploaded content allow no inline script.
    page.evaluate(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    result = page.evaluate("async () => await axe.run()")  # type: ignore[attr-defined]
    assert len(result["passes"]) > 10  # axe really looked at the page
    return [v["id"] for v in result["violations"] if v["impact"] in ("critical", "serious")]


def test_the_tablet_counts_against_pace_and_says_how_many_stops_wait(clock_home: Path) -> None:
    second = pa.table(
        {
            "machine": ["m1", "m1"],
            "ts": pa.array(
                [NOW - dt.timedelta(minutes=10), NOW - dt.timedelta(minutes=5)],
                pa.timestamp("us", "UTC"),
            ),
            "state": ["stopped", "running"],
        }
    )
    import_table(EmbeddedStore(clock_home), parse_plant(PLANT), second, kind="states", source="t")
    with TestClient(create_app(clock_home)) as client:
        api_login(client, "olga")
        page = client.get("/operate/m1").text
    # 180 parts since midnight against 2 s per part over 15:47:23 of planned time.
    assert "180 parts" in page and "of 28,421 by now at the ideal pace" in page
    assert "1 of 2 stops waiting for a reason" in page
    assert "Why did it stop at 15:37 (5 min)?" in page  # the newest first


def test_the_tablet_refreshes_by_itself(clock_home: Path) -> None:
    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 800, "height": 1280}, has_touch=True)
        page.goto(base + "/login?next=/operate/m1?every=2")
        log_in(page, "olga")
        page.wait_for_selector("h1")
        page.evaluate("window.stale = true")
        # A new stop arrives from the machine; nobody touches the tablet.
        fresh = pa.table(
            {
                "machine": ["m1"],
                "ts": pa.array([NOW - dt.timedelta(minutes=2)], pa.timestamp("us", "UTC")),
                "state": ["stopped"],
            }
        )
        import_table(
            EmbeddedStore(clock_home), parse_plant(PLANT), fresh, kind="states", source="t"
        )
        deadline = time.monotonic() + 60

        def refreshed() -> bool:
            try:
                return page.evaluate("window.stale !== true") and "Stopped" in page.inner_text(
                    "main"
                )
            except PlaywrightError:  # caught in the middle of the reload
                return False

        while not refreshed():
            assert time.monotonic() < deadline, "the page did not refresh itself"
            page.wait_for_timeout(200)
