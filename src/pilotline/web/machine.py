"""The machine page: OEE and its factors by shift, day or week over a chosen period, the loss
waterfall, the downtime Pareto and the state timeline — the report's figures, live."""

from __future__ import annotations

import datetime as dt
from typing import Any

import plotly.graph_objects as go

from pilotline import clock
from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.report.shift import figure_html, pareto_figure, timeline_figure, waterfall_figure
from pilotline.store import Store

GRAINS = ("shift", "day", "week")
SMALL_LOSS_WINDOW = dt.timedelta(days=7)  # micro-stops and cycles: the last week of the range


#: The instants any page or API call may ask about: far wider than any plant's data, narrow enough
#: that every date arithmetic (a day before, a week after, a time zone) stays inside the calendar.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)


def check_range(start: dt.datetime, end: dt.datetime) -> None:
    """ValueError unless ``start``–``end`` (aware) lies between EARLIEST and LATEST."""
    if start < EARLIEST or end > LATEST:
        raise ValueError(
            f"dates must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d} "
            f"(asked for {start:%Y-%m-%d} to {end:%Y-%m-%d})"
        )


def period(plant: Plant, start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    """Local dates (inclusive) → UTC instants; default the last 7 days up to now."""
    tz = plant.tz
    now = clock.now().astimezone(tz)
    try:
        last = dt.date.fromisoformat(end) if end else now.date()
        first = dt.date.fromisoformat(start) if start else last - dt.timedelta(days=6)
    except ValueError as exc:
        raise ValueError(f"dates are written 2026-03-02: {exc}") from None
    except OverflowError:
        raise ValueError("that date is outside the calendar") from None
    if first > last or (last - first).days > 366:
        raise ValueError("the first date must not be after the last, and at most a year before it")
    if not EARLIEST.date() <= first <= last < LATEST.date():
        raise ValueError(f"dates must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}")
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


def stops_figure(small: dict[str, Any]) -> go.Figure:
    limit = small["minor_stop_limit_s"]
    secs = [x["seconds"] for x in small["stops"]]
    fig = go.Figure(go.Histogram(x=secs, xbins={"size": max(limit / 4, 5)}, marker_color="#b71c1c"))
    fig.add_vline(x=limit, line_dash="dash", annotation_text=f"minor-stop limit {limit:g} s")
    fig.update_layout(
        title=f"Stops by length: {small['minor_stops']} minor stops took "
        f"{small['minor_stop_s'] / 60:.0f} min",
        xaxis_title="seconds",
        yaxis_title="stops",
        height=320,
        bargap=0.05,
    )
    return fig


def cycles_figure(small: dict[str, Any]) -> go.Figure:
    cycles = small["cycles"]
    fig = go.Figure(
        go.Scattergl(
            x=[c["ts"] for c in cycles],
            y=[c["cycle_s"] for c in cycles],
            mode="markers",
            marker={"color": ["#ef6c00" if c["slow"] else "#1b5e20" for c in cycles], "size": 5},
            name="seconds per part",
        )
    )
    fig.add_trace(
        go.Scattergl(
            x=[c["ts"] for c in cycles],
            y=[c["ideal_s"] for c in cycles],
            mode="lines",
            line={"color": "#263238", "dash": "dash"},
            name="ideal",
        )
    )
    fig.update_layout(
        title=f"Seconds per part while running: {small['slow_intervals']} slow intervals "
        f"(over {small['slow_factor']:g}× ideal) lost {small['slow_loss_s'] / 60:.0f} min",
        yaxis_title="seconds per part",
        height=320,
    )
    return fig


def machine_page(
    store: Store,
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
    small = measure.small_losses(
        machine=machine, start=max(start, end - SMALL_LOSS_WINDOW), end=end
    )
    small_figures = []
    if small["stops"]:
        small_figures.append(figure_html(stops_figure(small)))
    if small["cycles"]:
        small_figures.append(figure_html(cycles_figure(small)))
    return {
        "rows": rows,
        "total": total[0] if total else None,
        "figures": figures,
        "small": small,
        "small_figures": small_figures,
    }
