"""Pilots in the browser: the list, a form with a live plan, freezing, the pilot page with its
evaluation, the A3 (page and PDF) and the decision log.

Every figure comes from :mod:`pilotline.pilot` as ``pilotline pilot …`` computes it; nothing here
is a statistic. A pilot is what the CLI reads: a TOML file, kept in ``<home>/pilots/<id>.toml``,
with its frozen versions and decisions in the store's ``pilot_versions`` and
``pilot_decisions`` tables, so ``pilotline pilot evaluate <home>/pilots/<id>.toml`` judges the
same pilot. Managers create, freeze and decide; an operator sees a pilot when every machine it
measures (metric, guardrails, control) is on one of their lines, and only reads it.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from pilotline import clock
from pilotline.errors import InputError, PilotlineError
from pilotline.measure import KPIS, Measure
from pilotline.pilot import Pilot, Sources, evaluate, load_pilot, plan, registry
from pilotline.pilot.money import effect_text, months_text
from pilotline.pilot.spec import Window
from pilotline.report.a3 import render_a3, to_pdf
from pilotline.web.cache import Cache
from pilotline.web.context import Web
from pilotline.web.pilot_files import (
    FORM_LISTS,
    KPI_NAMES,
    TEXT_LIMIT,
    BadPilot,
    all_pilots,
    checked,
    draft_from_form,
    new_id,
    pilot_path,
    save,
    sees,
    web_editable,
)
from pilotline.web.schemas import (
    Decided,
    DecisionEntry,
    Frozen,
    PilotDetail,
    PilotPlan,
    PilotSummary,
)
from pilotline.web.users import User

STATUS_WORDS = {
    "draft": "draft (not frozen)",
    "running": "running",
    "review": "due for review",
    "moved": "goalposts moved",
}


# -- status, evaluation and the figures on the page ----------------------------------------------
def status(web: Web, pilot: Pilot) -> dict[str, Any]:
    info = registry.history(web.store, pilot)
    name = info.get("id", pilot.title)  # what the versions and decisions are kept under
    mine = [d for d in registry.decision_log(web.store) if d["title"] == name]
    today = clock.now().date()
    if mine:
        state = mine[-1]["decision"]
    elif not info["registered"]:
        state = "draft"
    elif not info["matches_latest"]:
        state = "moved"
    elif today >= pilot.pilot.end:
        state = "review"
    else:
        state = "running"
    moved = registry.changed_settings(web.store, pilot) if info["registered"] else []
    if info["registered"] and not info["matches_latest"] and not moved:
        moved = ["(how a setting is written)"]
    return {
        "state": state,
        "word": STATUS_WORDS.get(state, f"decided: {state}"),
        "frozen": info["registered"],
        "versions": info["versions"],
        "moved": moved,
        "decisions": mine,
    }


def figure(result: dict[str, Any], control: list[float] | None) -> dict[str, Any]:
    """The metric per period: baseline and pilot, each stage's centre and limits, the control."""
    points = result["spc"]["points"]
    k = result["baseline"]["points"]
    keys = [str(p["key"]) for p in points]
    values = [p["value"] for p in points]
    fig = go.Figure()
    for name, part, colour in (
        ("baseline", slice(0, k), "#546e7a"),
        ("pilot", slice(k, None), "#2e7d32"),
    ):
        fig.add_scatter(
            x=keys[part], y=values[part], name=name, mode="lines+markers", line={"color": colour}
        )
    if control is not None and len(control) == len(keys):
        fig.add_scatter(
            x=keys, y=control, name="control line", mode="lines", line={"color": "#1565c0"}
        )
    for stage, span in zip(result["spc"]["stages"], (keys[:k], keys[k:]), strict=False):
        for key, dash, label in (
            ("center", "solid", "centre"),
            ("ucl", "dash", "limit"),
            ("lcl", "dash", "limit"),
        ):
            fig.add_scatter(
                x=span,
                y=[stage[key]] * len(span),
                mode="lines",
                name=f"stage {stage['stage']} {label}",
                showlegend=key != "lcl",
                line={"color": "#8d6e63", "dash": dash, "width": 1},
                hoverinfo="skip",
            )
    fig.add_vline(x=k - 0.5, line_color="#ef6c00", line_dash="dot")
    unit = f" ({result['metric_unit']})" if result["metric_unit"] else ""
    fig.update_layout(
        title=f"{result['metric']}{unit} per {result['unit']}: baseline, pilot and stages",
        height=380,
        legend={"orientation": "h", "y": -0.25},
    )
    fig.update_xaxes(type="category")
    spec: dict[str, Any] = json.loads(fig.to_json())  # drawn by /static/machine.js
    return spec


def routes(app: FastAPI, web: Web) -> None:
    anyone, manager = web.need("operator"), web.need("manager")
    evaluations = Cache(ttl_s=60.0)  # evaluated and annotated; cleared by freeze and decide
    statuses = Cache(ttl_s=5.0)

    def visible(pid: str, user: User) -> tuple[Path, Pilot]:
        path = pilot_path(web, pid)
        pilot = load_pilot(path)
        if not sees(user, web.plant(), pilot):
            raise PermissionError("this pilot measures machines on lines not assigned to you")
        return path, pilot

    def evaluated(pilot: Pilot) -> dict[str, Any]:
        """The CLI's ``pilot evaluate --format json`` with the chart, or why there is none."""
        sources = Sources(web.store, web.plant(), snapshot=True)
        try:
            result = evaluate(pilot, sources)
            control = None
            if pilot.control is not None and pilot.control.file is None:
                end = min(pilot.pilot.end, dt.date.fromisoformat(result["as_of"]))
                s = sources.series(pilot.control, pilot.unit, pilot.baseline.start, end)
                during = Window(start=pilot.pilot.start, end=end)
                control = [*s.window(pilot.baseline).values, *s.window(during).values]
            # The registration check re-reads the baseline (a second or more on a large
            # plant): cached with the evaluation; freezing or deciding here clears the cache.
            registry.annotate(web.store, pilot, result, sources=sources)
            control_line = [float(v) for v in control or []] or None
            return {
                "result": result,
                "control": control_line,
                # plotly objects are slow to build: the chart is kept as the page carries it
                "chart": web.figure_attr(figure(result, control_line)),
            }
        except PilotlineError as exc:
            return {"error": str(exc)}

    def evaluation(pid: str, path: Path, pilot: Pilot) -> dict[str, Any]:
        """:func:`evaluated`, cached a minute (and computed ahead by :func:`warm`)."""
        key = cache_key(pid, path, pilot)
        return dict(copy.deepcopy(evaluations.get(key, lambda: evaluated(pilot))))

    def cache_key(pid: str, path: Path, pilot: Pilot) -> tuple[Any, ...]:
        """A pilot's figures change with its file, its settings and the day."""
        return (pid, path.stat().st_mtime_ns, pilot.fingerprint(), clock.now().date())

    def cached_status(pid: str, path: Path, pilot: Pilot) -> dict[str, Any]:
        """:func:`status` for showing, at most 5 s old (cleared by freeze and decide here)."""
        key = cache_key(pid, path, pilot)
        return dict(copy.deepcopy(statuses.get(key, lambda: status(web, pilot))))

    def summary(pid: str, path: Path, pilot: Pilot) -> dict[str, Any]:
        ev = evaluation(pid, path, pilot)
        effect = None
        if "result" in ev:
            r = ev["result"]
            e = r["effect"]
            effect = {
                "value": e["value"],
                "low": e["low"],
                "high": e["high"],
                "scale": e.get("scale", "difference"),
                "unit": r["metric_unit"],
                "verdict": r["verdict"],
            }
        st = cached_status(pid, path, pilot)
        return {
            "id": pid,
            "title": pilot.title,
            "status": st["state"],
            "metric": pilot.metric.label,
            "machines": sorted(pilot.metric.machines),
            "effect": effect,
            "why_no_effect": ev.get("error"),
            "review_date": pilot.review_date.isoformat(),
            "pilot_window": [pilot.pilot.start.isoformat(), pilot.pilot.end.isoformat()],
            "frozen": st["frozen"],
            "goalposts_moved": st["moved"],
        }

    def warm() -> None:
        """Every pilot's evaluation and status, computed ahead of its first open (a running
        pilot's page would otherwise wait seconds for its baseline to be read)."""
        for pid, pilot, _ in all_pilots(web):
            if pilot is None:
                continue
            key = cache_key(pid, pilot_path(web, pid), pilot)
            evaluations.warm(key, functools.partial(evaluated, pilot))
            statuses.warm(key, functools.partial(status, web, pilot))

    web.warmers.append(warm)

    def listing(user: User) -> list[dict[str, Any]]:
        plant = web.plant()
        return [
            summary(pid, pilot_path(web, pid), pilot)
            for pid, pilot, _ in all_pilots(web)
            if pilot is not None and sees(user, plant, pilot)
        ]

    def decisions_for(user: User) -> list[dict[str, Any]]:
        plant = web.plant()
        ids = {
            registry.history(web.store, p).get("id", p.title): pid
            for pid, p, _ in all_pilots(web)
            if p is not None and sees(user, plant, p)
        }
        return [
            {**d, "id": ids[d["title"]]}
            for d in reversed(registry.decision_log(web.store))
            if d["title"] in ids
        ]

    def unique_title(title: str, pid: str | None = None) -> None:
        for other, p, _ in all_pilots(web):
            if p is not None and p.title == title and other != pid:
                raise BadPilot(
                    [{"field": "title", "message": f"the pilot {other!r} is already called that"}],
                    409,
                )
        with web.store.session() as s:
            if pid is None and s.pilot_versions(title):
                message = "a pilot of that title was already started elsewhere"
                raise BadPilot([{"field": "title", "message": message}], 409)

    def create(draft: Any, user: User) -> str:
        pilot = checked(draft, web.plant(), user)
        unique_title(pilot.title)
        pid = new_id(web, pilot.title)
        save(web, pid, pilot.model_copy(update={"id": pilot.id or pilot.title}))
        return pid

    def update(pid: str, draft: Any, user: User) -> None:
        _path, old = visible(pid, user)
        web_editable(old)
        pilot = checked(draft, web.plant(), user)
        if pilot.title != old.title:
            if registry.history(web.store, old)["registered"]:
                raise BadPilot(
                    [
                        {
                            "field": "title",
                            "message": "the title names the frozen versions; it cannot change "
                            "once the pilot is frozen",
                        }
                    ]
                )
            unique_title(pilot.title, pid)
        # The id follows the title until the pilot is frozen (then neither changes); one given
        # in the file or the JSON is kept.
        kept = old.id if old.id and old.id != old.title else None
        save(web, pid, pilot.model_copy(update={"id": pilot.id or kept or pilot.title}))

    def named(pid: str, pilot: Pilot) -> Pilot:
        """The pilot with an id in its file: without one, the registry finds a pilot by its
        frozen settings, so a web pilot with another's settings (two pilots from the same loss)
        was frozen and decided as that other pilot. A web pilot's title is unique and does not
        change once frozen, so its title is its name."""
        if pilot.id:
            return pilot
        return save(web, pid, pilot.model_copy(update={"id": pilot.title}))

    def freeze(pid: str, user: User, reason: str) -> dict[str, Any]:
        _path, pilot = visible(pid, user)
        pilot = named(pid, pilot)
        st = status(web, pilot)
        if st["frozen"] and st["moved"] and not reason.strip():
            raise InputError(
                "give a reason for the change: it is recorded as a new version and shown on "
                "the A3 (or edit the settings back)"
            )
        sources = Sources(web.store, web.plant())
        started = registry.start(web.store, pilot, reason=reason.strip() or None, sources=sources)
        changed(pid)
        return started

    def decide(pid: str, user: User, decision: str, reason: str) -> None:
        _path, pilot = visible(pid, user)
        pilot = named(pid, pilot)
        result = evaluate(pilot, Sources(web.store, web.plant()))
        registry.decide(web.store, pilot, result, decision=decision, reason=reason[:TEXT_LIMIT])
        changed(pid)

    def changed(pid: str) -> None:
        """Forget one pilot's figures after it was frozen or decided here: the next look shows
        them afresh; the other pilots' are kept (the first to open the list after a freeze
        would otherwise wait for every pilot's evaluation at once)."""
        evaluations.forget(lambda key: key[0] == pid)
        statuses.forget(lambda key: key[0] == pid)

    def planned(draft: Any, user: User) -> dict[str, Any]:
        pilot = checked(draft, web.plant(), user)
        return plan(pilot, Sources(web.store, web.plant()))

    def prefill(user: User, machine: str, reason: str) -> dict[str, Any]:
        """A new pilot's fields: blank, or aimed at one loss of one machine (from its Pareto)."""
        plant, now = web.plant(), clock.now()
        today = now.astimezone(plant.tz).date()
        f: dict[str, Any] = {
            "owner": user.username,
            "metric.kpi": "oee",
            "metric.direction": "increase",
            "metric.machines": [],
            "unit": "day",
            "design": "before_after",
            "guardrails": ["quality"],
            "baseline.start": (today - dt.timedelta(days=28)).isoformat(),
            "baseline.end": today.isoformat(),
            "pilot.start": today.isoformat(),
            "pilot.end": (today + dt.timedelta(days=28)).isoformat(),
            "review_date": (today + dt.timedelta(days=31)).isoformat(),
            "money.currency": "GBP",
            "money.horizon_months": "12",
        }
        label = {m.id: m.label for _, m in plant.machines}.get(machine)
        line = {m.id: ln.name for ln, m in plant.machines}.get(machine)
        if label is None or line is None or not user.sees_line(line):
            return f
        f["metric.machines"] = [machine]
        reason = reason.strip()[:100]
        if not reason:
            return f
        f["metric.kpi"] = "availability"
        f["title"] = f"Less {reason} on {label}"
        start = now - dt.timedelta(days=28)
        measure = Measure(web.store, plant)
        rows = measure.pareto(start=start, end=now, machines=[machine])
        lost = sum(r["lost_s"] for r in rows if reason in (r.get("reason"), r.get("category")))
        total = measure.oee(start=start, end=now, by="machine", machines=[machine])
        planned_s = total[0]["planned_s"] if total else 0
        target = ""
        if lost and planned_s:
            share = lost / planned_s * 100
            target = f"{share / 2:.1f}"
            f["target_effect"] = target
            f["background"] = (
                f"{reason} took {lost / 3600:.1f} h of planned time on {label} in the last four "
                f"weeks ({share:.1f} % of it)."
            )
        f["hypothesis"] = (
            f"If we cut {reason} on {label} by half, its availability rises by "
            f"{target or 'a few'} points, because {reason} is one of its largest losses."
        )
        return f

    def form_fields(pilot: Pilot) -> dict[str, Any]:
        f: dict[str, Any] = {
            "title": pilot.title,
            "owner": pilot.owner,
            "hypothesis": pilot.hypothesis,
            "background": pilot.background,
            "countermeasure": pilot.countermeasure,
            "people": "\n".join(pilot.people),
            "metric.kpi": pilot.metric.kpi,
            "metric.direction": pilot.metric.direction,
            "metric.machines": list(pilot.metric.machines),
            "target_effect": "" if pilot.target_effect is None else f"{pilot.target_effect:g}",
            "unit": pilot.unit,
            "design": pilot.design,
            "control.machines": list(pilot.control.machines) if pilot.control else [],
            "guardrails": [g.kpi for g in pilot.guardrails],
            "seasonality": pilot.seasonality[0] if pilot.seasonality else "none",
            "its_model": pilot.its_model,
            "baseline.start": pilot.baseline.start.isoformat(),
            "baseline.end": pilot.baseline.end.isoformat(),
            "pilot.start": pilot.pilot.start.isoformat(),
            "pilot.end": pilot.pilot.end.isoformat(),
            "review_date": pilot.review_date.isoformat(),
        }
        if pilot.money:
            for k, v in pilot.money.model_dump().items():
                f[f"money.{k}"] = "" if v is None else f"{v:g}" if isinstance(v, float) else v
        return f

    def form_page(
        request: Request,
        user: User,
        fields: dict[str, Any],
        *,
        pid: str | None = None,
        errors: list[dict[str, str]] | None = None,
        status_code: int = 200,
        frozen: bool = False,
    ) -> Response:
        plant = web.plant()
        return web.page(
            request,
            "pilot_form.html",
            user,
            status_code=status_code,
            f=fields,
            pid=pid,
            errors=errors or [],
            frozen=frozen,
            kpis=KPIS,
            machines=[(line.name, m) for line, m in plant.machines if user.sees_line(line.name)],
        )

    async def read_form(request: Request) -> dict[str, list[str]]:
        form = await request.form()
        return {k: [v for v in form.getlist(k) if isinstance(v, str)] for k in form}

    # -- pages ---------------------------------------------------------------------------------
    @app.get("/pilots", response_class=HTMLResponse, include_in_schema=False)
    def list_page(request: Request, user: User = anyone) -> Response:
        broken = [(pid, why) for pid, p, why in all_pilots(web) if p is None]
        return web.page(
            request,
            "pilots.html",
            user,
            pilots=listing(user),
            decisions=decisions_for(user),
            broken=broken if user.at_least("manager") else [],
            words=STATUS_WORDS,
            effect_text=effect_text,
        )

    @app.get("/pilots/new", response_class=HTMLResponse, include_in_schema=False)
    def new_page(
        request: Request, machine: str = "", reason: str = "", user: User = manager
    ) -> Response:
        return form_page(request, user, prefill(user, machine[:100], reason))

    @app.post("/pilots", include_in_schema=False)
    async def create_form(request: Request, user: User = manager) -> Response:
        form = await read_form(request)
        web.check_csrf(request, (form.get("csrf") or [""])[0])
        draft = draft_from_form(form)
        try:
            pid = await run_in_threadpool(create, draft, user)
        except BadPilot as exc:
            fields = {k: (v if k in FORM_LISTS else v[0]) for k, v in form.items() if v}
            return form_page(request, user, fields, errors=exc.errors, status_code=exc.status)
        return RedirectResponse(f"/pilots/{pid}", status_code=303)

    @app.get("/pilots/{pid}", response_class=HTMLResponse, include_in_schema=False)
    def pilot_page(request: Request, pid: str, user: User = anyone) -> Response:
        path, pilot = visible(pid, user)
        ev = evaluation(pid, path, pilot)
        chart = ev.get("chart", "")
        return web.page(
            request,
            "pilot.html",
            user,
            pid=pid,
            p=pilot,
            st=cached_status(pid, path, pilot),
            r=ev.get("result"),
            why=ev.get("error", ""),
            chart=chart,
            kpi_names=KPI_NAMES,
            effect_text=effect_text,
            months_text=months_text,
            finite=math.isfinite,
            decisions=registry.DECISIONS,
        )

    @app.get("/pilots/{pid}/edit", response_class=HTMLResponse, include_in_schema=False)
    def edit_page(request: Request, pid: str, user: User = manager) -> Response:
        _path, pilot = visible(pid, user)
        web_editable(pilot)
        frozen = registry.history(web.store, pilot)["registered"]
        return form_page(request, user, form_fields(pilot), pid=pid, frozen=frozen)

    @app.post("/pilots/{pid}", include_in_schema=False)
    async def edit_form(request: Request, pid: str, user: User = manager) -> Response:
        form = await read_form(request)
        web.check_csrf(request, (form.get("csrf") or [""])[0])
        try:
            await run_in_threadpool(update, pid, draft_from_form(form), user)
        except BadPilot as exc:
            fields = {k: (v if k in FORM_LISTS else v[0]) for k, v in form.items() if v}
            return form_page(
                request, user, fields, pid=pid, errors=exc.errors, status_code=exc.status
            )
        return RedirectResponse(f"/pilots/{pid}", status_code=303)

    @app.post("/pilots/{pid}/freeze", include_in_schema=False)
    async def freeze_form(request: Request, pid: str, user: User = manager) -> Response:
        form = await read_form(request)
        web.check_csrf(request, (form.get("csrf") or [""])[0])
        await run_in_threadpool(freeze, pid, user, (form.get("reason") or [""])[0])
        return RedirectResponse(f"/pilots/{pid}", status_code=303)

    @app.post("/pilots/{pid}/decide", include_in_schema=False)
    async def decide_form(request: Request, pid: str, user: User = manager) -> Response:
        form = await read_form(request)
        web.check_csrf(request, (form.get("csrf") or [""])[0])
        one = {k: (form.get(k) or [""])[0] for k in ("decision", "reason")}
        await run_in_threadpool(decide, pid, user, one["decision"], one["reason"])
        return RedirectResponse(f"/pilots/{pid}#decisions", status_code=303)

    @app.get("/pilots/{pid}/a3", response_class=HTMLResponse, include_in_schema=False)
    def a3_page(pid: str, user: User = anyone) -> Response:
        path, pilot = visible(pid, user)
        ev = evaluation(pid, path, pilot)
        if "result" not in ev:
            raise InputError(ev["error"])
        return HTMLResponse(render_a3(pilot, ev["result"]))

    @app.get("/pilots/{pid}/a3.pdf", include_in_schema=False)
    def a3_pdf(pid: str, user: User = anyone) -> Response:
        path, pilot = visible(pid, user)
        ev = evaluation(pid, path, pilot)
        if "result" not in ev:
            raise InputError(ev["error"])
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "a3.pdf"
            to_pdf(render_a3(pilot, ev["result"]), target)
            pdf = target.read_bytes()
        return Response(
            pdf,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{pid}-a3.pdf"'},
        )

    # -- API -----------------------------------------------------------------------------------
    @app.get(
        "/api/pilots",
        summary="List the pilots you may see",
        response_model=list[PilotSummary],
        tags=["pilots"],
    )
    def api_list(user: User = anyone) -> list[dict[str, Any]]:
        """The pilots the user may see: status, metric, the effect so far with its interval
        (or why there is none yet), review date and whether the goalposts moved."""
        return listing(user)

    @app.post(
        "/api/pilots",
        summary="Create a pilot",
        response_model=PilotSummary,
        tags=["pilots"],
        status_code=201,
    )
    def api_create(request: Request, body: dict[str, Any], user: User = manager) -> dict[str, Any]:
        """A new pilot from the pilot file's fields as JSON (KPI metrics of the plant's
        machines); 422 names each field that is wrong, 409 if the title is taken."""
        web.api_csrf(request)
        pid = create(body, user)
        return summary(pid, pilot_path(web, pid), load_pilot(pilot_path(web, pid)))

    @app.post(
        "/api/pilots/plan",
        summary="Plan a draft: what it could detect, and in how many days",
        response_model=PilotPlan,
        tags=["pilots"],
    )
    def api_plan(body: dict[str, Any], user: User = manager) -> dict[str, Any]:
        """What a draft pilot could detect (minimum detectable effect, allowing for
        autocorrelation) and how many periods the target needs — ``pilotline pilot plan``.
        Reads only; the form calls it as its fields change."""
        return planned(body, user)

    @app.get(
        "/api/pilots/decisions",
        summary="The decision log",
        response_model=list[DecisionEntry],
        tags=["pilots"],
    )
    def api_decisions(user: User = anyone) -> list[dict[str, Any]]:
        """The decision log of the pilots the user may see, newest first."""
        return decisions_for(user)

    @app.get(
        "/api/pilots/{pid}",
        summary="A pilot with its evaluation",
        response_model=PilotDetail,
        tags=["pilots"],
    )
    def api_pilot(pid: str, user: User = anyone) -> dict[str, Any]:
        """The pilot (its file's fields), its status and versions, and its evaluation: the same
        as ``pilotline pilot evaluate FILE --format json`` (or why there is none yet)."""
        path, pilot = visible(pid, user)
        ev = evaluation(pid, path, pilot)
        st = status(web, pilot)
        return {
            "id": pid,
            "pilot": pilot.model_dump(mode="json", exclude_none=True),
            "status": st["state"],
            "versions": st["versions"],
            "goalposts_moved": st["moved"],
            "decisions": st["decisions"],
            "evaluation": ev.get("result"),
            "why_no_evaluation": ev.get("error"),
        }

    @app.put(
        "/api/pilots/{pid}",
        summary="Change a pilot",
        response_model=PilotSummary,
        tags=["pilots"],
    )
    def api_update(
        request: Request, pid: str, body: dict[str, Any], user: User = manager
    ) -> dict[str, Any]:
        """Change a pilot's fields. Once frozen the title stays; a changed frozen setting shows
        as "goalposts moved" until it is frozen again with a reason."""
        web.api_csrf(request)
        update(pid, body, user)
        return summary(pid, pilot_path(web, pid), load_pilot(pilot_path(web, pid)))

    @app.post(
        "/api/pilots/{pid}/freeze",
        summary="Freeze a pilot before its results can be seen",
        response_model=Frozen,
        tags=["pilots"],
    )
    def api_freeze(
        request: Request, pid: str, body: dict[str, Any] | None = None, user: User = manager
    ) -> dict[str, Any]:
        """Freeze the pilot as ``pilotline pilot start`` does (the same fingerprint); after a
        change to a frozen setting, ``{"reason": "…"}`` records a new version."""
        web.api_csrf(request)
        reason = (body or {}).get("reason") or ""
        if not isinstance(reason, str):
            raise BadPilot([{"field": "reason", "message": "a sentence of text"}])
        return freeze(pid, user, reason[:TEXT_LIMIT])

    @app.post(
        "/api/pilots/{pid}/decision",
        summary="Decide: adopt, adapt, abandon or extend",
        response_model=Decided,
        tags=["pilots"],
        status_code=201,
    )
    def api_decide(
        request: Request, pid: str, body: dict[str, Any], user: User = manager
    ) -> dict[str, Any]:
        """Record ``{"decision": "adopt|adapt|abandon|extend", "reason": "…"}`` with the
        evaluation it rests on, as ``pilotline pilot decide`` does."""
        web.api_csrf(request)
        decision, reason = body.get("decision"), body.get("reason")
        if not isinstance(decision, str) or not isinstance(reason, str):
            raise BadPilot([{"field": "decision, reason", "message": "both are needed, as text"}])
        decide(pid, user, decision, reason)
        return {"status": "recorded", "decision": decision}
