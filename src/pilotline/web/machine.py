"""The machine page: OEE and its factors by shift, day or week over a chosen period, the loss
waterfall, the downtime Pareto and the state timeline — the report's figures, live."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go

from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.report.shift import figure_html, pareto_figure, timeline_figure, waterfall_figure
from pilotline.store import EmbeddedStore

GRAINS = ("shift", "day", "week")


def period(plant: Plant, start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    """Local dates (inclusive) → UTC instants; default the last 7 days up to now."""
    tz = plant.tz
    now = dt.datetime.now(tz)
    try:
        last = dt.date.fromisoformat(end) if end else now.date()
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=6)
    except ValueError as exc:
        raise ValueError(f"dates are written 2026-03-02: {exc}") from None
    if first > last or (last - first).days > 366:
        raise ValueError("the first date must not be after the last, and at most a year before it")
    a = dt.datetime.combine(first, dt.time(), tz)
    b = min(dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz), now)
    return a.astimezone(dt.UTC), b.astimezone(dt.UTC)


def trend_figure(rows: list[dict[str, Any]], grain: str) -> go.Figure:
    fig = go.Figure()
    labels = [r.get("shift_key") or r["period_start"].date().isoformat() for r in rows]
    for key, colour in (
        ("oee", "#263238"),
        ("availability", "#c62828"),
        ("performance", "#ef6c00"),
        ("quality", "#1565c0"),
    ):
        fig.add_trace(
            go.Scatter(
                x=labels,
                y=[None if r[key] is None else r[key] * 100 for r in rows],
                name=key.capitalize() if key != "oee" else "OEE",
                mode="lines+markers",
                line={"color": colour, "width": 3 if key == "oee" else 1.5},
            )
        )
    fig.update_layout(
        title=f"OEE and its factors by {grain} (%)", height=360, yaxis={"range": [0, 105]}
    )
    return fig


def machine_page(
    store: EmbeddedStore,
    plant: Plant,
    machine: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    grain: str,
) -> dict[str, Any]:
    measure = Measure(store, plant)
    rows = measure.oee(start=start, end=end, by=f"machine,{grain}", machines=[machine])
    total = measure.oee(start=start, end=end, by="machine", machines=[machine])
    pareto = measure.pareto(start=start, end=end, machines=[machine])
    t_start = max(start, end - dt.timedelta(days=1))
    timeline = measure.timeline(machine=machine, start=t_start, end=end)
    figures = [figure_html(trend_figure(rows, grain))]
    if total:
        figures.append(figure_html(waterfall_figure(total[0])))
    if pareto:
        figures.append(figure_html(pareto_figure(pareto)))
    figures.append(figure_html(timeline_figure({machine: timeline}, plant.tz)))
    return {"rows": rows, "total": total[0] if total else None, "figures": figures}
