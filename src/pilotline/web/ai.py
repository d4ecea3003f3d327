"""AI models on the web: the list, a model's card with its back-test beside the baselines and its
shadow period, and "make it a pilot" (managers and admins)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from pilotline.ai import records, shadow
from pilotline.errors import InputError
from pilotline.report.shift import figure_html
from pilotline.web import alarms
from pilotline.web.context import Web
from pilotline.web.users import User


def _rows(backtest: dict[str, Any]) -> list[dict[str, Any]]:
    """The model and its baselines as table rows (empty without a back-test)."""
    if "detector" not in backtest:
        return []
    return [*backtest.get("baselines", {}).values(), backtest]


def timeline_figure(t: dict[str, Any]) -> str:
    """Signals, score, alarms and stops of the shadow period on one time axis (plotly)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4],
                        vertical_spacing=0.06)  # fmt: skip
    for tag, ys in t["signals"].items():
        fig.add_trace(go.Scattergl(x=t["times"], y=ys, name=tag, mode="lines"), row=1, col=1)
    fig.add_trace(
        go.Scattergl(x=t["times"], y=t["score"], name="score", mode="lines",
                     line={"color": "#333"}),
        row=2, col=1,
    )  # fmt: skip
    fig.add_hline(y=t["threshold"], line_dash="dash", line_color="#b71c1c", row=2, col=1,
                  annotation_text="threshold")  # fmt: skip
    for a in t["alarms"]:
        colour = {"real": "#2e7d32", "false": "#9e9e9e"}.get(a["answer"] or "", "#ef6c00")
        fig.add_vrect(x0=a["start_ts"], x1=a["end_ts"], fillcolor=colour, opacity=0.25,
                      line_width=0)  # fmt: skip
    for stop in t["stops"]:
        fig.add_vline(x=stop["start_ts"], line_color="#b71c1c", line_width=2)
    fig.update_layout(
        title="Shadow period: signals (standardised), score, alarms (orange; green real, grey "
        "false) and stops (red lines)",
        height=520,
        legend={"orientation": "h"},
    )
    return figure_html(fig)


def routes(app: FastAPI, web: Web) -> None:
    alarms.routes(app, web)  # the alarms of models whose pilot is on, on the floor
    manager = web.need("manager")

    @app.get("/ai", response_class=HTMLResponse, include_in_schema=False)
    def models_page(request: Request, user: User = manager) -> Response:
        records.ensure_tables(web.store)
        with web.store.session() as s:
            rows = s.arrow(
                "SELECT m.name, m.machine, m.detector, m.trained_at, "
                "(SELECT max(scored_until) FROM ai_shadow_runs r WHERE r.model = m.name) AS last, "
                "(SELECT count(*) FROM ai_alarms a WHERE a.model = m.name) AS alarms "
                "FROM ai_models m ORDER BY m.name"
            ).to_pylist()
        return web.page(request, "ai.html", user, models=rows)

    def model_page(
        request: Request, name: str, user: User, message: str = "", status: int = 200
    ) -> Response:
        records.ensure_tables(web.store)
        with web.store.session() as s:
            card = records.load(s, name).card()
            runs = s.scalar("SELECT count(*) FROM ai_shadow_runs WHERE model = ?", [name])
        evaluation = shadow.evaluate(web.store, name).to_json() if runs else None
        t = shadow.timeline(web.store, name) if runs else None
        return web.page(
            request,
            "ai_model.html",
            user,
            status_code=status,
            card=card,
            rows=_rows(card["backtest"]),
            evaluation=evaluation,
            figure=timeline_figure(t) if t else None,
            message=message,
        )

    @app.get("/ai/{name}", response_class=HTMLResponse, include_in_schema=False)
    def model(request: Request, name: str, user: User = manager) -> Response:
        return model_page(request, name, user)

    @app.post("/ai/{name}/pilot", include_in_schema=False)
    def make_pilot(
        request: Request, name: str, csrf: str = Form(""), user: User = manager
    ) -> Response:
        web.check_csrf(request, csrf)
        records.check_name(name)
        try:
            path = shadow.pilot_draft(web.store, name, web.home / "pilots")
        except InputError as exc:  # shown on the page, never carried in its address
            return model_page(request, name, user, message=str(exc), status=400)
        return RedirectResponse(f"/pilots/{path.stem}", status_code=303)
