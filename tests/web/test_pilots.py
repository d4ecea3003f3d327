"""Pilots in the web app: the API, the roles, and a manager running one in Chromium — with the
same figures as ``pilotline pilot evaluate`` on the same pilot file."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.ingest import import_table
from pilotline.pilot import Sources, load_pilot, plan
from pilotline.pilot.money import effect_text
from pilotline.plant import load_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from pilotline.web import pilots as pilots_web
from tests.conftest import NOW
from tests.web.conftest import ARTIFACTS, PASSWORD, PILOTLINE, api_login, chromium, log_in, serving
from tests.web.test_operate import AXE, _axe

#: Baseline three weeks, pilot from 23 February: both inside the simulated five weeks up to NOW.
PILOT: dict[str, Any] = {
    "title": "Die trolley on Press 1",
    "owner": "mia",
    "hypothesis": "If we pre-stage dies, OEE on Press 1 rises by 3 points.",
    "metric": {"kpi": "oee", "machines": ["press-1"]},
    "guardrails": [{"kpi": "quality", "machines": ["press-1"]}],
    "target_effect": 3,
    "unit": "day",
    "baseline": {"start": "2026-02-02", "end": "2026-02-23"},
    "pilot": {"start": "2026-02-23", "end": "2026-03-14"},
    "review_date": "2026-03-20",
    "money": {"one_off": 4000, "value_per_unit": 90},
}


@pytest.fixture(scope="module")
def pilot_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Press 1 (Line 1) and a CNC (Line 2), five simulated weeks up to NOW; a manager and an
    operator on each line."""
    home = tmp_path_factory.mktemp("pilots")
    (home / "plant.toml").write_text(demo_plant_text(machines=2, machines_per_line=1))
    plant = load_plant(home / "plant.toml")
    with clock.fixed(NOW):
        sim = simulate(plant, start=NOW - dt.timedelta(days=35), end=NOW, seed=4)
        store = EmbeddedStore(home)
        for kind, table in (("states", sim.states), ("counts", sim.counts)):
            ts = pa.scalar(NOW, table.schema.field("ts").type)
            table = table.filter(pc.less_equal(table["ts"], ts))
            import_table(store, plant, table, kind=kind, source=f"sim-{kind}")
        users = Users(store)
        users.add("mia", PASSWORD, role="manager")
        users.add("olga", PASSWORD, role="operator", lines=["Line 1"])
        users.add("otto", PASSWORD, role="operator", lines=["Line 2"])
    return home


def cli(home: Path, *args: str) -> str:
    done = subprocess.run(
        [PILOTLINE, "--home", str(home), "pilot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def plain(value: Any) -> Any:
    """The CLI's JSON as the web answers it: infinite paybacks ("never") are null, times are
    ISO 8601 with a T."""
    text = json.dumps(value, default=str).replace("Infinity", "null").replace("NaN", "null")
    return json.loads(re.sub(r'"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)', r'"\1T\2', text))


def test_the_api_creates_plans_freezes_and_decides_as_the_cli_does(pilot_home: Path) -> None:
    with TestClient(create_app(pilot_home)) as client:
        csrf = api_login(client, "mia")
        h = {"X-CSRF-Token": csrf}
        # The live plan is `pilotline pilot plan`; a bad field is named.
        planned = client.post("/api/pilots/plan", json=PILOT).json()
        assert planned["mde"] > 0 and planned["metric"] == "oee" and planned["verdict"]
        r = client.post("/api/pilots/plan", json={**PILOT, "metric": {"kpi": "speed"}})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        assert {e["field"] for e in r.json()["errors"]} == {"metric.kpi", "metric.machines"}
        # Writes need the CSRF header; nothing from outside is trusted.
        assert client.post("/api/pilots", json=PILOT).status_code == 403
        for bad, field in (
            ({**PILOT, "target_effect": "three"}, "target_effect"),
            ({**PILOT, "metric": {"file": "/etc/passwd", "column": "x"}}, "metric.file"),
            ({**PILOT, "metric": {"kpi": "oee", "machines": ["press-9"]}}, "metric.machines"),
            ({**PILOT, "baseline": {"start": "1900-01-01", "end": "2026-02-23"}}, "baseline.start"),
            ({**PILOT, "review_date": "2026-01-01"}, "(pilot)"),
        ):
            r = client.post("/api/pilots", json=bad, headers=h)
            assert r.status_code == 422, (field, r.text)
            assert field in [e["field"] for e in r.json()["errors"]], r.json()
        r = client.post("/api/pilots", json=PILOT, headers=h)
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        assert pid == "die-trolley-on-press-1" and r.json()["status"] == "draft"
        assert client.post("/api/pilots", json=PILOT, headers=h).status_code == 409
        path = pilot_home / "pilots" / f"{pid}.toml"
        pilot = load_pilot(path)
        assert planned == plan(
            pilot, Sources(EmbeddedStore(pilot_home), load_plant(pilot_home / "plant.toml"))
        )

        # Freezing is `pilotline pilot start`: the CLI finds the same fingerprint.
        frozen = client.post(f"/api/pilots/{pid}/freeze", headers=h).json()
        assert (frozen["version"], frozen["fingerprint"]) == (1, pilot.fingerprint())
        assert frozen["changed"] is False
        assert f"version 1 ({pilot.fingerprint()})" in cli(pilot_home, "start", str(path))
        web = client.get(f"/api/pilots/{pid}").json()
        assert web["status"] == "running" and web["goalposts_moved"] == []
        assert web["evaluation"] == plain(
            json.loads(cli(pilot_home, "evaluate", str(path), "--format", "json"))
        )

        # A later edit of frozen settings: the goalposts moved, with the settings named.
        moved = {**PILOT, "target_effect": 1.5, "review_date": "2026-04-01", "owner": "Ann"}
        assert client.put(f"/api/pilots/{pid}", json=moved, headers=h).status_code == 200
        web = client.get(f"/api/pilots/{pid}").json()
        assert web["status"] == "moved"
        assert web["goalposts_moved"] == ["review_date", "target_effect"]
        assert "goalposts moved" in " ".join(web["evaluation"]["warnings"])
        renamed = {**moved, "title": "Another name"}
        r = client.put(f"/api/pilots/{pid}", json=renamed, headers=h)
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "title"
        assert client.post(f"/api/pilots/{pid}/freeze", headers=h).status_code == 422
        r = client.post(f"/api/pilots/{pid}/freeze", json={"reason": "Board asked"}, headers=h)
        assert r.json()["version"] == 2 and r.json()["changed"] is True

        # Decide: the decision log, as `pilotline pilot log` has it.
        r = client.post(
            f"/api/pilots/{pid}/decision", json={"decision": "maybe", "reason": "x"}, headers=h
        )
        assert r.status_code == 422 and "adopt" in r.json()["detail"]
        body = {"decision": "extend", "reason": "Too early to tell"}
        assert client.post(f"/api/pilots/{pid}/decision", json=body, headers=h).status_code == 201
        log = client.get("/api/pilots/decisions").json()
        assert [(d["id"], d["decision"], d["reason"]) for d in log] == [
            (pid, "extend", "Too early to tell")
        ]
        assert json.loads(cli(pilot_home, "log", "--format", "json"))[0]["reason"] == body["reason"]
        listed = client.get("/api/pilots").json()
        assert [(p["id"], p["status"]) for p in listed] == [(pid, "extend")]

        # The A3 as a page and as a PDF; titles are escaped wherever they are shown.
        hostile = {**PILOT, "title": "<script>alert(1)</script> kanban"}
        evil = client.post("/api/pilots", json=hostile, headers=h).json()["id"]
        for url in ("/pilots", f"/pilots/{evil}", f"/pilots/{evil}/a3"):
            page = client.get(url).text
            assert (
                "&lt;script&gt;alert(1)&lt;/script&gt; kanban" in page
                and "<script>alert(1)" not in page
            )
        pdf = client.get(f"/pilots/{pid}/a3.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")

        # The form: a bad value gets the form back with a 422 naming the field.
        page = client.get("/pilots/new")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert token
        r = client.post(
            "/pilots",
            data={
                "csrf": token.group(1),
                "title": "Form pilot",
                "owner": "mia",
                "hypothesis": "h",
                "metric.kpi": "oee",
                "metric.machines": "press-1",
                "unit": "day",
                "baseline.start": "2026-02-02",
                "baseline.end": "2026-02-23",
                "pilot.start": "2026-02-23",
                "pilot.end": "2026-03-14",
                "review_date": "2026-03-20",
                "money.value_per_unit": "lots",
            },
        )
        assert r.status_code == 422 and "money.value_per_unit" in r.text
        assert 'value="Form pilot"' in r.text  # what was typed is kept


def test_operators_read_the_pilots_of_their_lines_only(pilot_home: Path) -> None:
    with TestClient(create_app(pilot_home)) as boss:
        h = {"X-CSRF-Token": api_login(boss, "mia")}
        body = {**PILOT, "title": "Roles pilot"}
        pid = boss.post("/api/pilots", json=body, headers=h).json()["id"]
    with TestClient(create_app(pilot_home)) as olga:
        h = {"X-CSRF-Token": api_login(olga, "olga")}
        assert pid in [p["id"] for p in olga.get("/api/pilots").json()]
        page = olga.get(f"/pilots/{pid}")
        assert page.status_code == 200 and "/freeze" not in page.text and "/decide" not in page.text
        assert (
            olga.post("/api/pilots", json={**body, "title": "Mine"}, headers=h).status_code == 403
        )
        decision = {"decision": "adopt", "reason": "I like it"}
        assert olga.post(f"/api/pilots/{pid}/decision", json=decision, headers=h).status_code == 403
        assert olga.post(f"/api/pilots/{pid}/freeze", headers=h).status_code == 403
        assert olga.get("/pilots/new", follow_redirects=False).status_code == 403
    with TestClient(create_app(pilot_home)) as otto:
        api_login(otto, "otto")
        assert pid not in [p["id"] for p in otto.get("/api/pilots").json()]
        r = otto.get(f"/api/pilots/{pid}")
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
        assert otto.get(f"/pilots/{pid}").status_code == 403
        assert otto.get(f"/pilots/{pid}/a3").status_code == 403
        assert otto.get("/api/pilots/decisions").json() == []


def test_a_manager_runs_a_pilot_from_the_machine_page_in_chromium(pilot_home: Path) -> None:
    assert AXE.exists(), "axe-core is not installed: ./run.sh test installs it"
    violations: dict[str, list[str]] = {}
    with serving(pilot_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login?next=/machines/press-1")
        log_in(page, "mia")
        start = page.locator("#pilot-starts a").first
        start.wait_for()
        assert re.match(r"Start a pilot on .+, Press 1", start.inner_text())
        start.click()
        page.wait_for_url("**/pilots/new?*")
        assert page.input_value("input[name=title]").startswith("Less ")
        assert page.is_checked("input[name='metric.machines'][value=press-1]")
        violations["/pilots/new"] = _axe(page)
        for name, value in (
            ("baseline.start", "2026-02-02"),
            ("baseline.end", "2026-02-23"),
            ("pilot.start", "2026-02-23"),
            ("pilot.end", "2026-03-14"),
            ("review_date", "2026-03-20"),
            ("money.value_per_unit", "90"),
            ("money.one_off", "4000"),
        ):
            page.fill(f"[name='{name}']", value)
        page.wait_for_selector("#plan:has-text('Smallest detectable change')")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/pilots/less-[a-z0-9-]+$"))
        pid = page.url.rsplit("/", 1)[1]
        assert "draft" in page.inner_text("#status")
        page.click("#freeze button")
        page.wait_for_selector("#status:has-text('running')")
        # The chart is drawn by the page's own script (no inline script on the page).
        page.wait_for_selector("div.plot[data-drawn=yes] .main-svg")
        effect, interval = page.inner_text("#effect"), page.inner_text("#interval")
        verdict = page.inner_text("#verdict")
        warnings = page.locator("#warnings li").all_inner_texts()
        violations[f"/pilots/{pid}"] = _axe(page)
        page.select_option("select[name=decision]", "adopt")
        page.fill("input[name=reason]", "Changeovers shorter; roll out to the CNC")
        page.click(".decide button")
        page.wait_for_selector("#decisions li:has-text('Changeovers shorter')")
        assert "adopt" in page.inner_text("#status")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "pilot-page.png"), full_page=True)
        page.goto(base + "/pilots")
        assert page.locator(f"a[href='/pilots/{pid}']").count() == 2  # the list and the log
        violations["/pilots"] = _axe(page)
    path = pilot_home / "pilots" / f"{pid}.toml"
    result = json.loads(cli(pilot_home, "evaluate", str(path), "--format", "json"))
    e = result["effect"]
    assert effect == effect_text(e["value"])
    assert interval == f"{effect_text(e['low'])} to {effect_text(e['high'])}"
    assert verdict == result["verdict"]
    assert warnings == result["warnings"]
    assert result["registration"]["registered"] and result["decision"].startswith("Adopt")
    assert {k: v for k, v in violations.items() if v} == {}


def test_the_server_evaluates_pilots_before_anyone_opens_them(
    pilot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pilotline serve`` warms the pages: a pilot's evaluation is computed by the warm pass,
    and the first open of its page uses it instead of reading the baseline again."""
    calls: list[str] = []
    real = pilots_web.evaluate
    monkeypatch.setattr(pilots_web, "evaluate", lambda *a, **k: calls.append("x") or real(*a, **k))
    with TestClient(create_app(pilot_home)) as client:
        csrf = api_login(client, "mia")
        pid = client.post(
            "/api/pilots", json={**PILOT, "title": "Warmed ahead"}, headers={"X-CSRF-Token": csrf}
        ).json()["id"]
    app = create_app(pilot_home)  # a server just started: nothing computed yet
    with TestClient(app) as client:
        api_login(client, "mia")
        calls.clear()
        app.state.web.warm()
        warmed = len(calls)
        assert warmed >= 1  # at least the new pilot
        page = client.get(f"/pilots/{pid}")
        assert page.status_code == 200 and "Warmed ahead" in page.text
        assert len(calls) == warmed  # the open used the warmed evaluation
        app.state.web.warm()
        assert len(calls) == warmed  # nothing is computed twice


def test_freezing_one_pilot_recomputes_only_its_figures(
    pilot_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Freezing (or deciding) one pilot forgets its figures only: the next look at the list
    computes that pilot's evaluation, not every pilot's at once (20 pilots took 15 s)."""
    calls: list[str] = []
    real = pilots_web.evaluate
    monkeypatch.setattr(
        pilots_web, "evaluate", lambda p, *a, **k: calls.append(p.title) or real(p, *a, **k)
    )
    app = create_app(pilot_home)
    with TestClient(app) as client:
        h = {"X-CSRF-Token": api_login(client, "mia")}
        ids = [
            client.post(
                "/api/pilots",
                json={**PILOT, "title": f"Only me {i}", "target_effect": 2.0 + i},
                headers=h,
            ).json()["id"]
            for i in range(2)
        ]
        app.state.web.warm()
        calls.clear()
        assert client.post(f"/api/pilots/{ids[0]}/freeze", json={}, headers=h).status_code == 200
        listed = {p["id"]: p["status"] for p in client.get("/api/pilots").json()}
        assert listed[ids[0]] == "running" and calls == ["Only me 0"]


def test_two_pilots_with_the_same_settings_are_two_pilots(pilot_home: Path) -> None:
    """Two pilots started from the same loss differ only in their titles: the second is not
    taken for the first (frozen, decided as it) but frozen and decided as itself."""
    with TestClient(create_app(pilot_home)) as client:
        h = {"X-CSRF-Token": api_login(client, "mia")}
        body = {**PILOT, "target_effect": 7.5}
        a, b = (
            client.post("/api/pilots", json={**body, "title": t}, headers=h).json()["id"]
            for t in ("Twin A", "Twin B")
        )
        assert client.post(f"/api/pilots/{a}/freeze", json={}, headers=h).status_code == 200
        assert client.get(f"/api/pilots/{b}").json()["versions"] == []
        frozen = client.post(f"/api/pilots/{b}/freeze", json={}, headers=h).json()
        assert frozen["id"] == "Twin B" and frozen["note"] is None
        decided = {"decision": "abandon", "reason": "B only"}
        assert client.post(f"/api/pilots/{b}/decision", json=decided, headers=h).status_code == 201
        assert client.get(f"/api/pilots/{a}").json()["decisions"] == []
        assert client.get(f"/api/pilots/{b}").json()["status"] == "abandon"
