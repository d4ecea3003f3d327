"""Assess in the browser: the questionnaire (saved as it goes, several respondents, rounds), the
results, the roadmap and the skills matrix.

Every score, gate, ranking and sentence comes from :mod:`pilotline.assess`, as ``pilotline
assess …`` computes it; nothing here is a rule. Everyone logged in answers (as themselves, with a
role; see :mod:`pilotline.web.assess_answers`); managers and admins choose the round and see the
results, the roadmap and the skills matrix. Operators never see other people's answers.
"""

from __future__ import annotations

import dataclasses
import tempfile
import tomllib
from pathlib import Path
from typing import Annotated, Any

from fastapi import FastAPI, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from pilotline import clock
from pilotline.assess import kept
from pilotline.assess import skills as skills_plan
from pilotline.assess.answers import RESPONDENT_ROLES, Answers, check_round, combine, compare, score
from pilotline.assess.catalogue import skills, steps
from pilotline.assess.evidence import (
    Evidence,
    contradictions,
    gather,
    mapped_processes,
    read_settings,
)
from pilotline.assess.gates import gates
from pilotline.assess.questionnaire import (
    DIMENSIONS,
    SCALE_LABELS,
    band,
    dimension,
    questionnaire,
)
from pilotline.assess.recommend import Recommendation, _money, pilot_text, plan_for, recommend
from pilotline.assess.roadmap import render_roadmap
from pilotline.errors import InputError, NotFound, PilotlineError
from pilotline.plant import Plant
from pilotline.report.a3 import to_pdf
from pilotline.web import assess_answers as answering
from pilotline.web.cache import Cache
from pilotline.web.context import Web
from pilotline.web.pilot_files import all_pilots, checked, new_id, save, web_editable
from pilotline.web.schemas import (
    AssessResults,
    Erased,
    MyAnswers,
    Questionnaire,
    Rounds,
    SkillLevel,
    SkillsMatrix,
)
from pilotline.web.users import User

STEPS_SHOWN = 8  # ranked steps on the results page (the roadmap shows five)


class AnswersIn(BaseModel):
    """Answers by question id (one or several), and the role answered as."""

    answers: dict[str, Any] = Field(default_factory=dict, max_length=200)
    role: str | None = Field(None, max_length=40)


class RoundIn(BaseModel):
    round: str = Field(min_length=2, max_length=3)


class LevelIn(BaseModel):
    person: str = Field(min_length=1, max_length=80)
    skill: str = Field(min_length=1, max_length=40)
    level: int = Field(ge=0, le=4, strict=True)


def _questionnaire_json() -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "title": d.title,
            "scored": d.scored,
            "questions": [
                {"id": q.id, "label": q.label, "kind": q.kind, "text": q.text, "items": q.items}
                for q in d.questions
            ],
        }
        for d in questionnaire()
    ]


def routes(app: FastAPI, web: Web) -> None:
    anyone, manager = web.need("operator"), web.need("manager")
    evidences = Cache(ttl_s=60.0)

    def plant() -> Plant | None:
        return web.plant() if web.plant_file.exists() else None

    def evidence() -> Evidence:
        """The plant's evidence (cached a minute: the 30-day KPI query is nearly all the cost)."""

        def compute() -> Evidence:
            value, currency = read_settings(web.home)
            p = plant()
            return gather(
                web.store,
                p,
                value_per_hour=value,
                currency=currency,
                processes=mapped_processes(web.home, p, []),
            )

        cached: Evidence = evidences.get(clock.now().date(), compute)
        return dataclasses.replace(cached)  # a copy: the contradictions differ per round

    def kept_round(round_: str) -> list[Answers]:
        return kept.load_round(web.store, round_) if round_ in kept.rounds(web.store) else []

    def analysis(round_: str) -> dict[str, Any]:
        """Evidence with the contradictions of the round's latest answers (the answers the gates
        read, as ``pilotline assess recommend`` reads the latest kept), and the ranked steps."""
        given = kept_round(round_)
        latest = given[-1] if given else None
        ev = evidence()
        ev.contradictions = contradictions(ev, latest)
        matrix = kept.matrix(web.store)
        recs = recommend(ev, latest, matrix=matrix)
        first = recs[0] if recs and recs[0].rank == 1 else None
        return {"evidence": ev, "latest": latest, "recs": recs, "first": first, "matrix": matrix}

    def next_pilot(first: Recommendation | None, ev: Evidence) -> str | None:
        return pilot_text(first, ev, plant()) if first is not None else None

    def startable(text: str | None) -> bool:
        """The web's pilot form measures KPIs of the plant's machines only."""
        return text is not None and bool(tomllib.loads(text).get("metric", {}).get("kpi"))

    def scores(round_: str, who: dict[str, str]) -> dict[str, Any] | None:
        given = kept_round(round_)
        if not given:
            return None
        each = [score(a) for a in given]
        both = combine(each)
        ordered = kept.rounds(web.store)
        at = ordered.index(round_)
        before = ordered[at - 1] if at > 0 else None
        change = None
        if before is not None:
            prev = combine([score(a) for a in kept.load_round(web.store, before)])
            change = compare(
                {**prev["dimensions"], "overall": prev["overall"]},
                {**both["dimensions"], "overall": both["overall"]},
            )
        flagged = {d["dimension"]: answering.shown(d["why"], who) for d in both["disagreements"]}
        return {
            "overall": both["overall"],
            "band": both["band"],
            "dimensions": [
                {
                    "id": d,
                    "title": dimension(d).title,
                    "median": both["dimensions"][d],
                    "band": band(both["dimensions"][d]),
                    "spread": both["spread"][d],
                    "disagreement": flagged.get(d),
                    "why": [
                        {"respondent": answering.shown(s.respondents[0], who), "why": s.why[d]}
                        for s in each
                    ],
                }
                for d in DIMENSIONS
            ],
            "respondents": [
                {"respondent": answering.shown(r["respondent"], who), "overall": r["overall"]}
                for r in both["respondents"]
            ],
            "before": before,
            "change": change,
        }

    def results(round_: str) -> dict[str, Any]:
        who = answering.names(web)
        a = analysis(round_)
        ev, recs, first = a["evidence"], a["recs"], a["first"]
        known = gates()
        blocked = []
        for r in recs:
            if r.rank is not None:
                continue
            reasons = []
            for g in r.blocked_by:
                if g in known:
                    opener = steps()[known[g].opened_by].title
                    reasons.append({"gate": g, "reason": known[g].reason, "opened_by": opener})
                else:
                    reasons.append({"gate": g, "reason": r.why, "opened_by": ""})
            blocked.append({"step": r.step.id, "title": r.step.title, "gates": reasons})
        text = next_pilot(first, ev)
        latest = a["latest"]
        return {
            "round": round_,
            "scores": scores(round_, who),
            "gates_read": answering.shown(latest.respondent, who) if latest else None,
            "evidence": ev.as_json(),
            "losses": ev.losses()[:3],
            "recommendations": [r.as_json() for r in recs if r.rank is not None][:STEPS_SHOWN],
            "blocked": blocked,
            "next_step": first.as_json() if first else None,
            "pilot_startable": startable(text),
        }

    def roadmap(body_only: bool) -> str:
        a = analysis(answering.current_round(web))
        ev, recs, first, matrix = a["evidence"], a["recs"], a["first"], a["matrix"]
        by_round = {
            name: combine([score(x) for x in kept.load_round(web.store, name)])["dimensions"]
            for name in kept.rounds(web.store)
        }
        text = next_pilot(first, ev)
        return render_roadmap(
            rounds=by_round,
            evidence=ev,
            recs=recs,
            next_pilot=text,
            next_plan=plan_for(text, web.store, plant()) if text else None,
            training=skills_plan.plan(matrix, recs),
            warnings=skills_plan.single_holders(matrix),
            body_only=body_only,
        )

    def skills_view() -> dict[str, Any]:
        a = analysis(answering.current_round(web))
        matrix, recs = a["matrix"], a["recs"]
        return {
            "people": sorted(matrix),
            "matrix": matrix,
            "skills": [{"id": s.id, "title": s.title} for s in skills().values()],
            "levels": list(kept.LEVELS),
            "gaps": [
                {"step": r.step.id, "title": r.step.title, "rank": r.rank, "gaps": r.skill_gaps}
                for r in recs
                if r.rank is not None and r.skill_gaps
            ][:5],
            "training": skills_plan.plan(matrix, recs),
            "warnings": skills_plan.single_holders(matrix),
        }

    def start_pilot(user: User) -> str:
        a = analysis(answering.current_round(web))
        text = next_pilot(a["first"], a["evidence"])
        if text is None or not startable(text):
            raise InputError(
                "the next small step's pilot measures a file, not a KPI: see its pilot file on "
                "the roadmap and start it with 'pilotline pilot start'"
            )
        p = web.plant()
        pilot = checked(tomllib.loads(text), p, user)
        for pid, other, _ in all_pilots(web):
            if other is not None and other.title == pilot.title:
                return f"/pilots/{pid}"  # started already: no second copy
        pid = new_id(web, pilot.title)
        save(web, pid, pilot)
        try:
            web_editable(pilot)
        except InputError:
            return f"/pilots/{pid}"
        return f"/pilots/{pid}/edit"

    def erase(person: str) -> dict[str, int]:
        """The person's skills and, when they are a user, their answers (kept as an erased
        respondent's) and drafts."""
        person = person.strip()
        answered = answering.erase_user(web, person)
        try:
            n = kept.erase_person(web.store, person)
        except NotFound:
            if not answered:
                raise
            n = {"skills": 0, "assess_answers": 0}
        return {"skills": n["skills"], "assess_answers": n["assess_answers"] + answered}

    def round_of(round_: str | None) -> str:
        if round_ is None:
            return answering.current_round(web)
        return check_round(round_, "the round")

    next_steps = Cache(ttl_s=60.0)

    def next_step_for(user: User | None) -> dict[str, Any] | None:
        """The overview's "what next" card (managers): the next small step, at most a minute
        old; nothing when it cannot be worked out (the overview must open whatever happens)."""
        if user is None or not user.at_least("manager"):
            return None

        def compute() -> dict[str, Any] | None:
            first = analysis(answering.current_round(web))["first"]
            return {"step": first.step.id, "title": first.step.title} if first else None

        try:
            found: dict[str, Any] | None = next_steps.get("next", compute)
        except PilotlineError:
            return None
        return found

    web.templates.env.globals["assess_next_step"] = next_step_for

    # -- pages -----------------------------------------------------------------------------------
    @app.get("/assess", response_class=HTMLResponse, include_in_schema=False)
    def questionnaire_page(request: Request, user: User = anyone) -> Response:
        round_ = answering.current_round(web)
        mine = answering.draft(web, user, round_)
        guess = {"admin": "owner", "manager": "production manager", "operator": "operator"}
        return web.page(
            request,
            "assess.html",
            user,
            dims=questionnaire(),
            mine=mine,
            role=mine["role"] or guess[user.role],
            roles=RESPONDENT_ROLES,
            round=round_,
            rounds=answering.rounds(web),
            next_round=answering.next_round(web),
            scale=SCALE_LABELS,
        )

    @app.post("/assess/round", include_in_schema=False)
    def round_form(
        request: Request, round: str = Form(""), csrf: str = Form(""), user: User = manager
    ) -> Response:
        web.check_csrf(request, csrf)
        answering.set_round(web, round)
        return RedirectResponse("/assess", status_code=303)

    @app.get("/assess/results", response_class=HTMLResponse, include_in_schema=False)
    async def results_page(
        request: Request, round: str | None = None, user: User = manager
    ) -> Response:
        data = await run_in_threadpool(results, round_of(round))
        return web.page(
            request,
            "assess_results.html",
            user,
            r=data,
            rounds=answering.rounds(web),
            money=_money,
        )

    @app.post("/assess/start-pilot", include_in_schema=False)
    async def start_pilot_form(
        request: Request, csrf: str = Form(""), user: User = manager
    ) -> Response:
        web.check_csrf(request, csrf)
        target = await run_in_threadpool(start_pilot, user)
        return RedirectResponse(target, status_code=303)

    @app.get("/assess/roadmap", response_class=HTMLResponse, include_in_schema=False)
    async def roadmap_page(request: Request, user: User = manager) -> Response:
        body = await run_in_threadpool(roadmap, True)
        return web.page(request, "assess_roadmap.html", user, body=body)

    @app.get("/assess/roadmap.html", response_class=HTMLResponse, include_in_schema=False)
    async def roadmap_file(user: User = manager) -> Response:
        return HTMLResponse(await run_in_threadpool(roadmap, False))

    @app.get("/assess/roadmap.pdf", include_in_schema=False)
    async def roadmap_pdf(user: User = manager) -> Response:
        page = await run_in_threadpool(roadmap, False)

        def printed() -> bytes:
            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "roadmap.pdf"
                to_pdf(page, target)
                return target.read_bytes()

        pdf = await run_in_threadpool(printed)
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": 'attachment; filename="roadmap.pdf"'},
        )

    @app.get("/assess/skills", response_class=HTMLResponse, include_in_schema=False)
    async def skills_page(request: Request, done: str = "", user: User = manager) -> Response:
        view = await run_in_threadpool(skills_view)
        return web.page(request, "assess_skills.html", user, v=view, done=done[:200])

    @app.post("/assess/skills", include_in_schema=False)
    async def skills_form(request: Request, user: User = manager) -> Response:
        form = await request.form()
        web.check_csrf(request, str(form.get("csrf") or ""))
        matrix = kept.matrix(web.store)
        people = [str(v) for k, v in form.multi_items() if k.startswith("person-")]
        newcomer = str(form.get("new_person") or "").strip()
        rows = [(str(n), person) for n, person in enumerate(people)]
        changed = 0
        for key, person in [*rows, ("new", newcomer)] if newcomer else rows:
            for s in skills():
                raw = form.get(f"level-{key}-{s}")
                if raw is None or raw == "":
                    continue
                level = _level(str(raw))
                # a new person gets every level shown (so they appear); others only changes
                if matrix.get(person, {}).get(s, 0 if person in matrix else -1) != level:
                    kept.set_level(web.store, person, s, level)
                    changed += 1
        return RedirectResponse(f"/assess/skills?done=Saved {changed} level(s)", status_code=303)

    @app.post("/assess/skills/erase", include_in_schema=False)
    def erase_form(
        request: Request,
        person: Annotated[str, Form(max_length=80)] = "",
        csrf: str = Form(""),
        user: User = manager,
    ) -> Response:
        web.check_csrf(request, csrf)
        erase(person)
        return RedirectResponse("/assess/skills?done=Erased", status_code=303)

    # -- API -------------------------------------------------------------------------------------
    @app.get(
        "/api/assess/questionnaire",
        summary="The readiness questionnaire",
        response_model=Questionnaire,
        tags=["assess"],
    )
    def api_questionnaire(user: User = anyone) -> dict[str, Any]:
        """Every dimension and question with its kind and items, the scale's labels and the
        roles a respondent may answer as."""
        return {
            "dimensions": _questionnaire_json(),
            "scale": list(SCALE_LABELS),
            "roles": list(RESPONDENT_ROLES),
        }

    @app.get(
        "/api/assess/answers",
        summary="Your answers in the current round",
        response_model=MyAnswers,
        tags=["assess"],
    )
    def api_my_answers(user: User = anyone) -> dict[str, Any]:
        """The logged-in person's answers for the current round: role, answers, the questions
        still missing, and whether they count (complete)."""
        return answering.draft(web, user, answering.current_round(web))

    @app.patch(
        "/api/assess/answers",
        summary="Save your answers",
        response_model=MyAnswers,
        tags=["assess"],
    )
    def api_save_answers(request: Request, body: AnswersIn, user: User = anyone) -> dict[str, Any]:
        """Save answers by question id for the current round (the page sends each as it is
        given). Every answer is checked first: one that is wrong is refused (422) naming the
        question, and nothing is saved. Complete answers count in the results."""
        web.api_csrf(request)
        return answering.save(
            web, user, answering.current_round(web), role=body.role, answers=body.answers
        )

    @app.get(
        "/api/assess/round",
        summary="The current assessment round",
        response_model=Rounds,
        tags=["assess"],
    )
    def api_round(user: User = anyone) -> dict[str, Any]:
        """The round being answered now and the rounds kept."""
        return {"round": answering.current_round(web), "rounds": answering.rounds(web)}

    @app.put(
        "/api/assess/round",
        summary="Choose the assessment round",
        response_model=Rounds,
        tags=["assess"],
    )
    def api_set_round(request: Request, body: RoundIn, user: User = manager) -> dict[str, Any]:
        """Choose the round people answer (T0, T1, …; managers)."""
        web.api_csrf(request)
        return {"round": answering.set_round(web, body.round), "rounds": answering.rounds(web)}

    @app.get(
        "/api/assess/results",
        summary="A round's readiness scores",
        response_model=AssessResults,
        tags=["assess"],
    )
    def api_results(
        round: Annotated[str | None, Query(max_length=3)] = None, user: User = manager
    ) -> dict[str, Any]:
        """A round's scores (median, spread and disagreements across respondents, the sentence
        why, the change from the round before), the evidence and its contradictions, ranked
        steps with their reasons, blocked steps with the failed gates and what opens them, and
        the next small step (managers)."""
        data = results(round_of(round))
        data["losses"] = [{k: _round(v) for k, v in loss.items()} for loss in data["losses"]]
        return data

    @app.get(
        "/api/assess/skills",
        summary="The skills matrix",
        response_model=SkillsMatrix,
        tags=["assess"],
    )
    def api_skills(user: User = manager) -> dict[str, Any]:
        """The skills matrix (person → skill → level 0–4), the gaps of the recommended steps,
        the training plan and the single-holder warnings (managers)."""
        return skills_view()

    @app.put(
        "/api/assess/skills",
        summary="Set a person's skill level",
        response_model=SkillLevel,
        tags=["assess"],
    )
    def api_set_level(request: Request, body: LevelIn, user: User = manager) -> dict[str, Any]:
        """Record a person's level in a skill (managers)."""
        web.api_csrf(request)
        kept.set_level(web.store, body.person, body.skill, body.level)
        return {"person": body.person.strip(), "skill": body.skill, "level": body.level}

    @app.delete(
        "/api/assess/people/{person}",
        summary="Erase a person from the assessment",
        response_model=Erased,
        tags=["assess"],
    )
    def api_erase(request: Request, person: str, user: User = manager) -> dict[str, Any]:
        """Erase a person: their skill levels, and (for a user) their answers' link to them
        and their drafts (managers, admins)."""
        web.api_csrf(request)
        return {"erased": person[:80], **erase(person[:80])}


def _level(raw: str) -> int:
    try:
        level = int(raw)
    except ValueError:
        raise InputError(f"a level is 0–4, not {raw[:10]!r}") from None
    if not 0 <= level <= 4:
        raise InputError(f"a level is 0–4, not {level}")
    return level


def _round(v: Any) -> Any:
    return round(v, 1) if isinstance(v, float) else v
