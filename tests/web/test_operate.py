"""The operator's reason tap and scrap, through the API and the tablet page in a real browser."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import sync_playwright

from pilotline.connect.net import free_port, wait_port
from pilotline.ingest import import_table
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.web.conftest import PASSWORD
from tests.web.test_browser import ARTIFACTS, CHROMIUM_FLAGS

PLANT = """
[site]
name = "Round the clock"
timezone = "UTC"

[[calendars]]
name = "always"
  [[calendars.shifts]]
  name = "Day"
  start = "00:00"
  end = "00:00"
  days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[lines]]
name = "Line A"
calendar = "always"
  [[lines.machines]]
  id = "m1"
  name = "Press <b>one</b>"
  ideal_cycle_s = 2.0

[[lines]]
name = "Line B"
calendar = "always"
  [[lines.machines]]
  id = "m2"
  ideal_cycle_s = 2.0
"""

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
STOP = (NOW - dt.timedelta(minutes=40), NOW - dt.timedelta(minutes=25))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """m1 ran, stopped for 15 minutes without a reason, and runs again."""
    (tmp_path / "plant.toml").write_text(PLANT)
    plant = parse_plant(PLANT)
    store = EmbeddedStore(tmp_path)
    states = pa.table(
        {
            "machine": ["m1", "m1", "m1", "m2"],
            "ts": pa.array(
                [NOW - dt.timedelta(hours=3), *STOP, NOW - dt.timedelta(hours=3)],
                pa.timestamp("us", "UTC"),
            ),
            "state": ["running", "stopped", "running", "running"],
        }
    )
    import_table(store, plant, states, kind="states", source="test")
    users = Users(store)
    users.add("olga", PASSWORD, role="operator", lines=["Line A"])
    users.add("mia", PASSWORD, role="manager")
    return tmp_path


def login(client: TestClient, user: str) -> str:
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return str(client.get("/api/me").json()["csrf"])


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


def test_an_operator_tap_changes_the_managers_pareto(home: Path) -> None:
    with TestClient(create_app(home)) as manager, TestClient(create_app(home)) as operator:
        login(manager, "mia")
        assert pareto(manager) == {"(no reason)": 900}
        token = login(operator, "olga")
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
    with EmbeddedStore(home).session() as s:
        assert s.arrow("SELECT reject, reject_reason FROM counts").to_pylist() == [
            {"reject": 3, "reject_reason": "scrap"}
        ]
        assert s.arrow("SELECT entered_by FROM operator_reasons").to_pylist() == [
            {"entered_by": "olga"}
        ]


def test_operator_taps_the_reason_on_a_tablet(home: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pilotline"),
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 800, "height": 1280}, has_touch=True)
            page.goto(base + "/login?next=/operate")
            page.fill("input[name=username]", "olga")
            page.fill("input[name=password]", PASSWORD)
            page.click("button[type=submit]")
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
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)
    with EmbeddedStore(home).session() as s:
        assert s.arrow("SELECT reason FROM operator_reasons").to_pylist() == [
            {"reason": "tool failure"}
        ]


AXE = Path(__file__).parents[1] / "connect" / "peers" / "node_modules" / "axe-core" / "axe.min.js"


def test_no_critical_accessibility_violations(home: Path) -> None:
    assert AXE.exists(), (
        "axe-core is not installed: ./run.sh test installs it (npm ci in tests/connect/peers)"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "pilotline"),
            "--home",
            str(home),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    found: dict[str, list[str]] = {}
    try:
        wait_port(port, timeout=30)
        base = f"http://127.0.0.1:{port}"
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            for user, pages in (("mia", ["/", "/operate"]), ("olga", ["/operate/m1"])):
                page = browser.new_page()
                page.goto(base + "/login")
                found[f"{user} /login"] = _axe(page)
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", PASSWORD)
                page.click("button[type=submit]")
                for path in pages:
                    page.goto(base + path)
                    found[f"{user} {path}"] = _axe(page)
                page.close()
            browser.close()
    finally:
        proc.terminate()
        proc.wait(20)
    assert len(found) == 5
    assert {k: v for k, v in found.items() if v} == {}


def _axe(page: object) -> list[str]:
    """Critical and serious violations axe-core finds on the page."""
    page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    result = page.evaluate("async () => await axe.run()")  # type: ignore[attr-defined]
    assert len(result["passes"]) > 10  # axe really looked at the page
    return [v["id"] for v in result["violations"] if v["impact"] in ("critical", "serious")]
