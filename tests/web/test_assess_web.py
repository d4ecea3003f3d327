"""Assess in the browser: answers saved one at a time and resumed, bad answers refused naming the
question, several respondents and rounds, roles, the skills matrix and erasing a person, and the
questionnaire on a phone in Chromium with axe."""

from __future__ import annotations

import json
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from pilotline.assess import kept
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.web.conftest import ARTIFACTS, api_login, chromium, log_in, serving
from tests.web.test_operate import AXE, _axe

EXAMPLE: dict[str, Any] = tomllib.loads(
    (files("pilotline.assess") / "example-answers.toml").read_text(encoding="utf-8")
)["answers"]


def patch(client: TestClient, token: str, body: dict[str, Any]) -> Any:
    return client.patch("/api/assess/answers", json=body, headers={"X-CSRF-Token": token})


def everything_in(home: Path) -> str:
    """Every row of the assessment's tables and every file under <home>/assess, as text."""
    with EmbeddedStore(home).session() as s:
        rows = [
            *s.arrow("SELECT * FROM assess_answers").to_pylist(),
            *s.arrow("SELECT * FROM skills").to_pylist(),
        ]
    texts = [p.read_text() for p in (home / "assess").rglob("*") if p.is_file()]
    return json.dumps(rows, default=str) + "\n".join(texts)


def test_answers_are_saved_one_at_a_time_and_resumed(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as client:
        token = api_login(client, "olga")
        assert client.get("/api/assess/answers").json()["answers"] == {}
        body = {"role": "team leader", "answers": {"dbs_plan": "partly"}}
        assert client.patch("/api/assess/answers", json=body).status_code == 403  # no CSRF
        r = patch(client, token, body)
        assert r.status_code == 200, r.text
        assert r.json()["complete"] is False and "dbs_areas" in r.json()["missing"]
        # A new session (a reload, another device) resumes what was saved.
    with TestClient(create_app(clock_home)) as client:
        token = api_login(client, "olga")
        mine = client.get("/api/assess/answers").json()
        assert mine["role"] == "team leader" and mine["answers"] == {"dbs_plan": "partly"}
        page = client.get("/assess").text
        assert 'name="dbs_plan" value="partly" checked' in page
        assert '<option value="team leader" selected>' in page
        # Not counted until every question of the six dimensions is answered …
        assert kept.rounds(EmbeddedStore(clock_home)) == []
        r = patch(client, token, {"answers": EXAMPLE})
        assert r.status_code == 200 and r.json()["complete"] is True
        # … then kept for the round under a role and an account tag, never the name.
        [answers] = kept.load_round(EmbeddedStore(clock_home), "T0")
        assert (
            answers.respondent.startswith("team leader #")
            and answers.values["dbs_plan"] == "partly"
        )
        assert "olga" not in everything_in(clock_home)
        # Changing the role moves the answers: one respondent, not two.
        assert patch(client, token, {"role": "operator"}).json()["complete"] is True
        [answers] = kept.load_round(EmbeddedStore(clock_home), "T0")
        assert answers.respondent.startswith("operator #")


def test_a_bad_answer_is_refused_naming_the_question_and_nothing_is_stored(
    clock_home: Path,
) -> None:
    with TestClient(create_app(clock_home)) as client:
        token = api_login(client, "mia")
        r = patch(client, token, {"answers": {"dbs_plan": "yes"}})
        assert r.status_code == 422 and "choose the role" in r.json()["detail"]
        bad = {
            "dbs_readiness": ["needs_known"],  # fine, but not saved beside bad ones
            "dbs_plan": "maybe",
            "dr_basic": {"erp": 9},
            "dbs_plann": "yes",
        }
        r = patch(client, token, {"role": "owner", "answers": bad})
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
        detail = r.json()["detail"]
        assert "Nothing was saved" in detail
        assert "question dbs_plan" in detail and "'maybe'" in detail
        assert "question dr_basic" in detail and "outside the scale 0–5" in detail
        assert "'dbs_plann'" in detail and "did you mean 'dbs_plan'" in detail
        assert client.get("/api/assess/answers").json()["answers"] == {}
        assert not (clock_home / "assess" / "answers").exists()
        for odd in ({"a": [1]}, [[1]], None):  # JSON a TOML file cannot hold: still named
            r = patch(client, token, {"role": "owner", "answers": {"dbs_plan": odd}})
            assert r.status_code == 422 and "question dbs_plan" in r.json()["detail"]
        r = patch(client, token, {"role": "owner", "answers": {"dbs_areas": {"invested": [[1]]}}})
        assert r.status_code == 422 and "question dbs_areas" in r.json()["detail"]
        r = patch(client, token, {"role": "boss of all", "answers": {}})
        assert r.status_code == 422 and "role must be one of" in r.json()["detail"]


def test_roles_respondents_rounds_and_results(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as olga, TestClient(create_app(clock_home)) as mia:
        o, m = api_login(olga, "olga"), api_login(mia, "mia")
        # Operators answer but see nobody's results, and choose no round.
        for path in ("/api/assess/results", "/api/assess/skills"):
            assert olga.get(path).status_code == 403
        for path in ("/assess/results", "/assess/roadmap", "/assess/skills"):
            assert olga.get(path).status_code == 403
        r = olga.put("/api/assess/round", json={"round": "T1"}, headers={"X-CSRF-Token": o})
        assert r.status_code == 403
        low = {**EXAMPLE, "aa_automation": {}}
        high = {**EXAMPLE, "aa_automation": {"robots": 5, "process_control": 5}}
        assert patch(olga, o, {"role": "operator", "answers": low}).json()["complete"]
        assert patch(mia, m, {"role": "owner", "answers": high}).json()["complete"]
        res = mia.get("/api/assess/results").json()
        assert res["round"] == "T0"
        dims = {d["id"]: d for d in res["scores"]["dimensions"]}
        aa = dims["automation_ai"]
        assert aa["spread"] >= 25 and aa["disagreement"]  # the module's 25-point flag
        # Managers see who answered by user name (the store holds roles and tags only).
        assert "owner (mia)" in aa["disagreement"] and "operator (olga)" in aa["disagreement"]
        assert {x["respondent"] for x in res["scores"]["respondents"]} == {
            "operator (olga)",
            "owner (mia)",
        }
        assert all(
            w["why"].startswith("Automation and artificial intelligence scored") for w in aa["why"]
        )
        assert res["evidence"]["machines"] == 2 and "largest_losses" in res["evidence"]
        ranked = [s for s in res["recommendations"] if s["rank"] is not None]
        assert ranked and all(s["why"].startswith("Ranked") for s in ranked)
        assert res["blocked"] and all(b["gates"] for b in res["blocked"])
        assert any(g["opened_by"] for b in res["blocked"] for g in b["gates"])
        assert res["next_step"]["rank"] == 1
        # A manager opens round T1; answers now go there, and the rounds are compared.
        r = mia.put("/api/assess/round", json={"round": "T1"}, headers={"X-CSRF-Token": m})
        assert r.status_code == 200 and r.json()["round"] == "T1"
        assert olga.get("/api/assess/answers").json() == {
            "round": "T1",
            "role": None,
            "answers": {},
            "missing": olga.get("/api/assess/answers").json()["missing"],
            "complete": False,
        }
        assert patch(mia, m, {"role": "owner", "answers": high}).json()["complete"]
        res = mia.get("/api/assess/results").json()
        assert res["round"] == "T1" and res["scores"]["before"] == "T0"
        assert res["scores"]["change"]["automation_ai"]["change"] > 0
        r = mia.put("/api/assess/round", json={"round": "T1; drop"}, headers={"X-CSRF-Token": m})
        assert r.status_code == 422
        page = mia.get("/assess/results?round=T0")
        assert page.status_code == 200 and "Disagreement" in page.text
        assert mia.get("/assess/roadmap").status_code == 200
        assert 'href="/assess/results#next-step"' in mia.get("/").text  # the "what next" card
        assert "what-next" not in olga.get("/").text


def test_skills_matrix_and_erasing_a_person(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as olga, TestClient(create_app(clock_home)) as mia:
        o, m = api_login(olga, "olga"), api_login(mia, "mia")
        assert patch(olga, o, {"role": "operator", "answers": EXAMPLE}).json()["complete"]
        h = {"X-CSRF-Token": m}
        for person, level in (("olga", 4), ("Kai Brandt", 1)):
            body = {"person": person, "skill": "maintenance", "level": level}
            assert mia.put("/api/assess/skills", json=body, headers=h).status_code == 200
        r = mia.put(
            "/api/assess/skills", json={"person": "Kai", "skill": "juggling", "level": 2}, headers=h
        )
        assert r.status_code == 422 and "unknown skill" in r.json()["detail"]
        bad = {"person": "Kai", "skill": "maintenance", "level": 7}
        assert mia.put("/api/assess/skills", json=bad, headers=h).status_code == 422
        view = mia.get("/api/assess/skills").json()
        assert view["matrix"]["olga"]["maintenance"] == 4
        assert any(w.startswith("Only olga can do") for w in view["warnings"])
        assert (
            olga.put("/api/assess/skills", json=bad, headers={"X-CSRF-Token": o}).status_code == 403
        )
        # The page's form: a new person with levels, CSRF checked.
        page = mia.get("/assess/skills").text
        assert "Only olga can do" in page
        form = {"csrf": m, "new_person": "Ana", "level-new-changeover": "3"}
        r = mia.post("/assess/skills", data=form, follow_redirects=False)
        assert r.status_code == 303
        assert kept.matrix(EmbeddedStore(clock_home))["Ana"] == {"changeover": 3}
        # Erase olga: skills, drafts and the link from her answers; her scores stay anonymous.
        r = mia.delete("/api/assess/people/olga", headers=h)
        assert r.status_code == 200 and r.json()["skills"] == 1
        assert r.json()["assess_answers"] >= 1
        kept_text = everything_in(clock_home)
        assert "olga" not in kept_text
        assert olga.get("/api/assess/answers").json()["answers"] == {}
        [answers] = kept.load_round(EmbeddedStore(clock_home), "T0")
        assert answers.respondent.startswith(kept.ERASED)
        assert mia.delete("/api/assess/people/nobody", headers=h).status_code == 404


def test_start_this_pilot_makes_a_draft_pilot_from_the_template(clock_home: Path) -> None:
    with TestClient(create_app(clock_home)) as mia:
        m = api_login(mia, "mia")
        assert patch(mia, m, {"role": "owner", "answers": EXAMPLE}).json()["complete"]
        res = mia.get("/api/assess/results").json()
        r = mia.post("/assess/start-pilot", data={"csrf": m}, follow_redirects=False)
        if res["pilot_startable"]:
            assert r.status_code == 303 and r.headers["location"].startswith("/pilots/")
            pilots = list((clock_home / "pilots").glob("*.toml"))
            assert len(pilots) == 1
            again = mia.post("/assess/start-pilot", data={"csrf": m}, follow_redirects=False)
            assert again.headers["location"].split("/")[2] == pilots[0].stem  # no second copy
        else:
            assert r.status_code == 422
        assert mia.post("/assess/start-pilot", data={"csrf": "x"}).status_code == 403


def test_the_questionnaire_on_a_phone_in_chromium(clock_home: Path) -> None:
    assert AXE.exists(), "axe-core is not installed: ./run.sh test installs it"
    violations: dict[str, list[str]] = {}
    with serving(clock_home) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
        page.goto(base + "/login?next=/assess")
        log_in(page, "mia")
        page.wait_for_url("**/assess")
        page.select_option("#role", "production manager")
        # The first dimension is open: answer part of it.
        first = page.locator("fieldset[data-question=dbs_readiness]")
        first.locator("label.check", has_text="We know which problems").click()
        first.locator(".saved", has_text="Saved").wait_for()
        plan = page.locator("fieldset[data-question=dbs_plan]")
        plan.locator("label", has_text="partly").click()
        plan.locator(".saved", has_text="Saved").wait_for()
        violations["/assess"] = _axe(page)
        box = plan.locator("label", has_text="partly").bounding_box()
        assert box and box["height"] >= 48 and box["width"] >= 48  # a thumb's target
        page.reload()
        assert page.is_checked("fieldset[data-question=dbs_plan] input[value=partly]")
        assert page.is_checked("fieldset[data-question=dbs_readiness] input[value=needs_known]")
        assert page.input_value("#role") == "production manager"
        ARTIFACTS.mkdir(exist_ok=True)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / "assess-phone.png"))
        # Finish: the rest through the page's API, as the page sends it.
        done = page.evaluate(
            """async (answers) => {
                const csrf = document.getElementById('assess').dataset.csrf;
                const r = await fetch('/api/assess/answers', {method: 'PATCH',
                  headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                  body: JSON.stringify({answers})});
                return (await r.json()).complete;
            }""",
            {k: v for k, v in EXAMPLE.items() if k not in ("dbs_plan", "dbs_readiness")},
        )
        assert done is True
        page.reload()
        assert "All answered" in page.inner_text("#progress")
        page.goto(base + "/assess/results")
        page.locator("#next-step h2").wait_for()
        assert "Digital business strategy" in page.inner_text("#scores")
        violations["/assess/results"] = _axe(page)
        page.screenshot(path=str(ARTIFACTS / "assess-results-phone.png"), full_page=True)
        page.goto(base + "/assess/roadmap")
        page.locator(".roadmap .js-plotly-plot").first.wait_for()
        violations["/assess/roadmap"] = _axe(page)
    assert {k: v for k, v in violations.items() if v} == {}
