"""The first-run checklist on an empty install, the docs served by the app, empty states, and
the "what next" line: each step ticks itself as the plant and the store fill, per role."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pilotline.plant import example_plant_text
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.web.conftest import PASSWORD, api_login, chromium, log_in, serving
from tests.web.test_operate import AXE, _axe

DOCS = Path(__file__).parents[2] / "docs"
XES = Path(__file__).parents[3] / "shared" / "data" / "running-example.xes"


@pytest.fixture
def empty_home(tmp_path: Path) -> Path:
    """What `pilotline init` leaves: the example plant model, an empty store, and three users."""
    (tmp_path / "plant.toml").write_text(example_plant_text())
    users = Users(EmbeddedStore(tmp_path))
    users.add("boss", PASSWORD, role="admin")
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator", lines=["Line 2"])
    return tmp_path


def steps(client: TestClient) -> dict[str, dict[str, Any]]:
    r = client.get("/api/start")
    assert r.status_code == 200
    return {s["key"]: s for s in r.json()["steps"]}


def done(client: TestClient) -> dict[str, bool]:
    return {k: s["done"] for k, s in steps(client).items()}


def upload(client: TestClient, csrf: str, path: Path) -> None:
    r = client.post(
        "/api/imports",
        params={"filename": path.name},
        content=path.read_bytes(),
        headers={"X-CSRF-Token": csrf, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


def test_each_step_ticks_itself_as_the_plant_and_the_store_fill(empty_home: Path) -> None:
    app = create_app(empty_home)
    with TestClient(app) as boss, TestClient(app) as mia, TestClient(app) as olga:
        b, m = api_login(boss, "boss"), api_login(mia, "mia")
        api_login(olga, "olga")
        assert done(boss) == dict.fromkeys(
            ("plant", "data", "oee", "assess", "map", "pilot"), False
        )
        # The empty overview is the checklist, not grey "No data" tiles.
        page = mia.get("/").text
        assert 'id="first-run"' in page and 'id="checklist"' in page
        assert '<article class="tile' not in page and "Biggest loss" not in page
        assert 'href="/docs/examples/states.csv"' in page  # the example plant's sample data
        # An operator sees the steps that concern their lines, and whom to ask for the rest.
        theirs = steps(olga)
        assert list(theirs) == ["plant", "data", "oee", "assess", "pilot"]  # no process maps
        assert theirs["plant"]["href"] is None and "Ask your admin" in theirs["plant"]["ask"]
        assert theirs["data"]["href"] is None and "Ask a manager" in theirs["data"]["ask"]
        assert theirs["assess"]["href"] == "/assess"  # their own answers are theirs to give
        assert theirs["pilot"]["title"] == "A pilot on your lines"
        page = olga.get("/").text
        assert "No machine data yet" in page and '<article class="tile' not in page
        assert "Ask a manager or your admin" in page
        assert olga.get("/settings").status_code == 403  # asking is the way
        tablet = olga.get("/operate/cnc-1").text  # no "Running", no pace, no scrap buttons
        assert 'id="no-data"' in tablet and "Running" not in tablet and "Scrap" not in tablet
        assert "ask a manager or your admin" in tablet
        assert "Start a pilot on" not in mia.get("/pilots").text  # no loss to aim at yet

        start = steps(mia)
        # Where each step is done, and the docs that explain it, served by the app itself.
        assert start["data"]["href"] == "/data" and start["map"]["href"] == "/maps"
        assert start["plant"]["href"] is None and "Ask your admin" in start["plant"]["ask"]
        assert steps(boss)["plant"]["href"] == "/settings"
        for step in start.values():
            for href, _ in step["docs"]:
                assert mia.get(href.split("#")[0]).status_code == 200, href

        # Data: the two sample files of the example plant, uploaded as a manager would.
        upload(mia, m, DOCS / "examples" / "states.csv")
        assert done(mia)["data"] and not done(mia)["oee"]  # states alone: no parts, no OEE
        upload(mia, m, DOCS / "examples" / "counts.csv")
        now = steps(mia)
        assert now["oee"]["done"] and now["oee"]["href"].startswith("/machines/")
        assert "OEE" in now["oee"]["detail"] and "02 Mar 2026" in now["oee"]["detail"]
        assert not now["plant"]["done"]  # still the example plant
        # Review R15: a comment added, the layout changed: still the example, not a plant
        (empty_home / "plant.toml").write_text(
            "# our plant, soon\n" + example_plant_text().replace(" = ", "=") + "\n# todo\n"
        )
        assert not done(mia)["plant"]

        # The plant model: any change from the example that `pilotline init` wrote.
        text = example_plant_text().replace('name = "Example Works"', 'name = "Mill Lane"')
        text = text.replace(  # a third press, not connected yet
            '  [[lines.machines]]\n  id = "press-2"',
            '  [[lines.machines]]\n  id = "press-3"\n  ideal_cycle_s = 1.0\n\n'
            '  [[lines.machines]]\n  id = "press-2"',
        )
        assert 'id = "press-3"' in text
        (empty_home / "plant.toml").write_text(text)
        assert done(mia)["plant"]
        assert "Ask your admin" not in mia.get("/start").text  # a step done asks nobody

        # The assessment: a manager's complete answers are the firm's.
        from tests.web.test_assess_web import EXAMPLE

        r = mia.patch(
            "/api/assess/answers",
            json={"role": "production manager", "answers": EXAMPLE},
            headers={"X-CSRF-Token": m},
        )
        assert r.status_code == 200 and r.json()["complete"]
        assert done(mia)["assess"] and not done(boss)["map"]

        # A process map: an event log uploaded.
        r = mia.post(
            "/api/logs",
            params={"filename": XES.name},
            content=XES.read_bytes(),
            headers={"X-CSRF-Token": m},
        )
        assert r.status_code == 201, r.text
        assert done(mia)["map"]
        log_id = r.json()["id"]

        # A pilot: a draft is not a start; frozen, it is.
        pilot = steps(mia)["pilot"]
        assert not pilot["done"] and pilot["href"].startswith("/pilots/new?machine=")
        assert 'id="no-data"' not in olga.get("/operate/cnc-1").text
        assert 'id="no-pilots"' in mia.get("/pilots").text
        form = mia.get(pilot["href"])
        assert form.status_code == 200
        r = mia.post(
            "/api/pilots",
            json=_pilot_body(),
            headers={"X-CSRF-Token": m},
        )
        assert r.status_code == 201, r.text
        pid = r.json()["id"]
        pilot = steps(mia)["pilot"]
        assert not pilot["done"] and "none frozen" in pilot["detail"]
        r = mia.post(f"/api/pilots/{pid}/freeze", json={}, headers={"X-CSRF-Token": m})
        assert r.status_code == 200, r.text
        assert all(done(mia).values())
        assert boss.get("/api/start").json()["next"] is None

        # Undone again: the log deleted, the step is open again (nothing was ticked and kept).
        r = mia.delete(f"/api/logs/{log_id}", headers={"X-CSRF-Token": m})
        assert r.status_code == 204
        assert not done(mia)["map"]
        assert b  # the admin's token was not needed
    # The overview keeps its states for 5 s (an empty page reloads itself when data comes): a
    # new app shows the tiles and the next step.
    with TestClient(create_app(empty_home)) as mia:
        api_login(mia, "mia")
        page = mia.get("/").text
        assert 'id="first-run"' not in page and page.count('<article class="tile') == 4
        # The press not connected yet says so, and how; the others do not.
        assert page.count('data-field="never" hidden') == 3
        never = page.split('data-machine="press-3"')[1].split("</article>")[0]
        assert "Nothing received from it yet" in never and 'href="/data"' in never
        assert 'id="first-steps"' in page and 'href="/start"' in page


def _pilot_body() -> dict[str, Any]:
    return {
        "title": "Less changeover on Press 1",
        "owner": "mia",
        "hypothesis": "If we prepare tools before the changeover, availability rises.",
        "metric": {"kpi": "availability", "direction": "increase", "machines": ["press-1"]},
        "unit": "day",
        "design": "before_after",
        "baseline": {"start": "2026-03-02", "end": "2026-03-03"},
        "pilot": {"start": "2026-03-04", "end": "2026-03-31"},
        "review_date": "2026-04-02",
    }


def test_docs_are_served_read_only_and_nothing_else(home: Path) -> None:
    with TestClient(create_app(home)) as olga:
        assert olga.get("/docs/kpis.md", follow_redirects=False).status_code == 303  # log in
        api_login(olga, "olga")
        index = olga.get("/docs").text
        assert 'href="/docs/getting-started.md"' in index
        page = olga.get("/docs/getting-started.md").text
        assert '<h2 id="2-describe-your-plant">' in page  # the checklist's anchors exist
        assert '<a href="file-schemas.md">' in page  # the docs' own links work here
        web = olga.get("/docs/web.md").text
        assert 'id="editing-the-plant-model"' in web and "<table>" in web
        sample = olga.get("/docs/examples/states.csv")
        assert sample.headers["content-type"].startswith("text/plain")
        assert sample.text == (DOCS / "examples" / "states.csv").read_text()
        for bad in (
            "/docs/..%2Fpyproject.toml",
            "/docs/../README.md",
            "/docs/nope.md",
            "/docs/examples/..%2F..%2Fpyproject.toml",
            "/docs/examples/orders.exe",
        ):
            assert olga.get(bad).status_code == 404, bad


def test_raw_html_in_a_doc_is_shown_as_text() -> None:
    from pilotline.web.docs_pages import render, slug

    html = render("# A <b>title</b>\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert slug("3. Import your data") == "3-import-your-data"


def test_the_biggest_loss_is_measures_largest_of_the_last_seven_local_days(home: Path) -> None:
    from pilotline.measure import Measure
    from pilotline.plant import load_plant
    from pilotline.web.firstrun import LOSSES, STOP_LOSSES
    from tests.conftest import NOW

    plant = load_plant(home / "plant.toml")
    assert plant.site.timezone == "Europe/London"
    start = dt.datetime(2026, 2, 26, tzinfo=plant.tz)  # six local days before 4 March, midnight
    rows = Measure(EmbeddedStore(home), plant).oee(start=start, end=NOW, by="machine", now=NOW)
    cells = [
        (float(r[col] or 0), r["machine"], key) for r in rows for key, (col, _) in LOSSES.items()
    ]
    seconds, machine, category = max(cells)
    assert seconds > 3600
    line = {m.id: ln.name for ln, m in plant.machines}
    mine = [c for c in cells if line[c[1]] == "Line 2"]
    app = create_app(home)
    with TestClient(app) as mia, TestClient(app) as olga:
        api_login(mia, "mia")
        api_login(olga, "olga")
        card = mia.get("/api/start").json()["biggest_loss"]
        assert (card["machine"], card["category"]) == (machine, category)
        assert card["hours"] == round(seconds / 3600, 1)
        assert card["value_assumed"] and card["value_per_hour"] == 100.0
        assert card["money"] == pytest.approx(seconds / 3600 * 100, abs=0.01)
        assert category in STOP_LOSSES  # the form takes it as the reason to cut
        assert card["pilot_href"] == f"/pilots/new?machine={machine}&reason={category}"
        assert card["start"] == start.astimezone(dt.UTC).isoformat()
        page = mia.get("/").text
        assert 'id="biggest-loss"' in page and "assumed" in page
        assert f'href="/pilots/new?machine={machine}&amp;reason={category}"' in page
        assert "Start a pilot on this" in page
        empty = mia.get("/pilots").text  # no pilot here: the list aims at the biggest loss
        assert 'id="no-pilots"' in empty and f"Start a pilot on {card['text']}" in empty
        # An operator: the largest loss on their own line, and no pilot link.
        theirs = olga.get("/api/start").json()["biggest_loss"]
        top = max(mine)
        assert (theirs["machine"], theirs["category"]) == (top[1], top[2])
        assert theirs["line"] == "Line 2" and theirs["pilot_href"] is None
        opage = olga.get("/").text
        assert 'id="biggest-loss"' in opage and "Start a pilot on this" not in opage
        # The plant's own value of an hour, no longer "assumed" (read afresh on every page).
        (home / "assess.toml").write_text("value_per_hour = 250\ncurrency = 'EUR'\n")
        try:
            card = mia.get("/api/start").json()["biggest_loss"]
            assert not card["value_assumed"]
            assert card["money"] == pytest.approx(seconds / 3600 * 250, abs=0.01)
            assert card["money_text"].startswith("€")
            assert "assumed" not in mia.get("/").text.split('id="biggest-loss"')[1][:800]
        finally:
            (home / "assess.toml").unlink()


def test_the_week_is_local_and_a_speed_loss_gets_no_stop_reason(tmp_path: Path) -> None:
    from pilotline.plant import parse_plant
    from pilotline.web.context import Web
    from pilotline.web.firstrun import biggest_loss, week
    from pilotline.web.users import User

    plant = parse_plant(example_plant_text())  # Europe/London; summer time from 29 March
    london = dt.timezone(dt.timedelta(hours=1))
    now = dt.datetime(2026, 4, 5, 9, 0, tzinfo=dt.UTC)
    assert week(plant, now) == (dt.datetime(2026, 3, 30, tzinfo=london), now)
    now = dt.datetime(2026, 3, 30, 0, 30, tzinfo=dt.UTC)  # 01:30 summer time on 30 March
    assert week(plant, now)[0] == dt.datetime(2026, 3, 24, tzinfo=dt.UTC)  # still winter
    store = EmbeddedStore(tmp_path)
    web = Web(tmp_path, store, Users(store))
    boss = User("boss", "admin", ())
    slow = {"machine": "cnc-1", "name": "CNC 1", "line": "Line 2", "category": "reduced_speed"}
    stop = {"machine": "press-1", "name": "Press 1", "line": "Line 1", "category": "setup"}
    losses = [
        {**slow, "category_label": "Reduced speed", "seconds": 7200.0},
        {**stop, "category_label": "Setups", "seconds": 3600.0},
    ]
    card = biggest_loss(web, plant, boss, losses, now)
    assert card is not None and card["hours"] == 2.0 and card["money"] == 200.0
    assert card["pilot_href"] == "/pilots/new?machine=cnc-1"  # the form's OEE, not availability
    assert card["period_text"] == "24 Mar – 30 Mar 2026 (Europe/London)"


#: Links and buttons smaller than 44 × 44 px, except links inside a sentence (a paragraph's
#: text around them) and the process map's own shapes.
SMALL_TARGETS = """() => [...document.querySelectorAll('a, button, select, summary')].filter(el => {
  const r = el.getBoundingClientRect();
  if (!r.width || !r.height || el.closest('svg')) return false;
  const p = el.parentElement, inSentence = p && p.matches('p, li, td, dd, small, span')
    && p.textContent.trim() !== el.textContent.trim() && !p.matches('.page-links, .step-links');
  return !inSentence && (r.height < 44 || r.width < 44);
}).map(el => el.tagName + ' ' + el.textContent.trim().slice(0, 30) + ' ' + Math.round(r(el)))
  .filter(Boolean); function r(el) { return el.getBoundingClientRect().height; }"""


def test_the_first_run_checklist_in_chromium(empty_home: Path, tmp_path: Path) -> None:
    """An admin opens an empty install: the checklist, its links and docs work; axe finds no
    serious violation on the overview, the checklist and a doc page."""
    assert AXE.exists(), "axe-core is not installed: ./run.sh test installs it"
    violations: dict[str, list[str]] = {}
    with serving(empty_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(base + "/login")
        log_in(page, "boss")
        page.locator("#first-run #checklist").wait_for()
        assert page.locator(".tile").count() == 0
        assert page.locator("#checklist li.step").count() == 6
        assert page.locator("#checklist li.step-done").count() == 0
        violations["/"] = _axe(page)
        page.screenshot(path=str(tmp_path / "first-run-overview.png"), full_page=True)
        page.click('#first-run a[href="/start"]')
        page.wait_for_url("**/start")
        assert page.locator("li.step-next h2").inner_text().startswith("○ Describe your plant")
        violations["/start"] = _axe(page)
        page.screenshot(path=str(tmp_path / "first-run-start.png"), full_page=True)
        page.locator("li[data-step=data] a", has_text="Importing a file").click()
        page.wait_for_url("**/docs/getting-started.md#3-import-your-data")
        assert page.locator('[id="3-import-your-data"]').is_visible()
        violations["/docs/getting-started.md"] = _axe(page)
        # Review R15: with gloves on a tablet, every link that stands alone (the header, the
        # checklist's and the docs' links) is at least 44 px high at 768 px.
        page.set_viewport_size({"width": 768, "height": 1024})
        small: dict[str, list[str]] = {}
        for path in ("/start", "/docs", "/docs/getting-started.md", "/data", "/maps"):
            page.goto(base + path)
            small[path] = page.evaluate(SMALL_TARGETS)
    assert {k: v for k, v in small.items() if v} == {}
    assert (tmp_path / "first-run-start.png").stat().st_size > 10_000
    assert {k: v for k, v in violations.items() if v} == {}
