"""The shift report: one self-contained HTML page (plotly.js inlined, works offline).

It shows, for the shifts asked for: OEE and its factors per machine, the loss waterfall,
the downtime Pareto and each machine's state timeline.
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from pilotline import clock
from pilotline.measure import Measure, waterfall
from pilotline.plant.losses import CATEGORY_BY_KEY

COLOURS = {
    "run": "#2e7d32",
    "minor_stop": "#f9a825",
    "breakdown": "#c62828",
    "setup": "#1565c0",
    "unexplained": "#6a1b9a",
    "planned_stop": "#90a4ae",
    "no_data": "#e0e0e0",
    "reduced_speed": "#ef6c00",
    "startup_reject": "#8d6e63",
    "production_reject": "#5d4037",
}


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f} %"


def figure_html(fig: go.Figure) -> str:
    fig.update_layout(
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 13},
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


def waterfall_figure(row: dict[str, Any]) -> go.Figure:
    steps = waterfall(row)
    fig = go.Figure(
        go.Waterfall(
            x=[label for label, _, _ in steps],
            y=[seconds / 60 for _, seconds, _ in steps],
            measure=["absolute" if kind == "total" else "relative" for _, _, kind in steps],
            text=[f"{seconds / 60:,.0f}" for _, seconds, _ in steps],
            textposition="outside",
            decreasing={"marker": {"color": "#c62828"}},
            increasing={"marker": {"color": "#ef6c00"}},
            totals={"marker": {"color": "#37474f"}},
        )
    )
    fig.update_layout(
        title="Where the time went (minutes)", yaxis_title="minutes", showlegend=False
    )
    return fig


def pareto_figure(rows: list[dict[str, Any]]) -> go.Figure:
    rows = rows[:12]
    labels = [
        r["reason"]
        if r["reason"] != "(no reason)"
        else f"no reason: {CATEGORY_BY_KEY[r['category']].label.lower()}"
        for r in rows
    ]
    fig = go.Figure()
    fig.add_bar(
        x=labels,
        y=[r["lost_s"] / 60 for r in rows],
        name="minutes lost",
        marker_color=[COLOURS.get(r["category"], "#546e7a") for r in rows],
        hovertext=[
            f"{CATEGORY_BY_KEY[r['category']].label if r['category'] in CATEGORY_BY_KEY else r['category']}: "
            f"{r['stops']} stops"
            for r in rows
        ],
    )
    fig.add_scatter(
        x=labels,
        y=[r["cumulative_share"] * 100 for r in rows],
        name="cumulative %",
        yaxis="y2",
        mode="lines+markers",
        line={"color": "#37474f"},
    )
    fig.update_layout(
        title="Downtime by reason (Pareto)",
        yaxis_title="minutes lost",
        yaxis2={"overlaying": "y", "side": "right", "range": [0, 105], "title": "cumulative %"},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def timeline_figure(segments: dict[str, list[dict[str, Any]]], tz: Any) -> go.Figure:
    """One horizontal bar per state, one trace per category (fast even for weeks of states)."""
    by_cat: dict[str, dict[str, list[Any]]] = {}
    for machine, rows in segments.items():
        for r in rows:
            d = by_cat.setdefault(r["category"], {"y": [], "x": [], "base": [], "text": []})
            start = r["start"].astimezone(tz)
            length_ms = (r["end"] - r["start"]).total_seconds() * 1000
            d["y"].append(machine)
            d["x"].append(length_ms)
            d["base"].append(start.replace(tzinfo=None).isoformat())  # plotly reads wall time
            d["text"].append(
                f"{r['reason'] or ''} {start:%a %H:%M:%S}, {length_ms / 60000:.1f} min"
            )
    fig = go.Figure()
    for cat, d in by_cat.items():
        label = (
            "Running"
            if cat == "run"
            else CATEGORY_BY_KEY[cat].label
            if cat in CATEGORY_BY_KEY
            else cat
        )
        fig.add_bar(
            y=d["y"],
            x=d["x"],
            base=d["base"],
            orientation="h",
            name=label,
            marker_color=COLOURS.get(cat, "#546e7a"),
            hovertext=d["text"],
            hoverinfo="text+name",
        )
    fig.update_layout(
        title="State timeline (last 24 hours of the period)",
        barmode="overlay",
        xaxis={"type": "date"},
        height=160 + 40 * len(segments),
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:1200px;color:#212121;padding:0 1rem}
h1{margin-bottom:.2rem} .sub{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;margin:1rem 0} th,td{padding:.4rem .6rem;text-align:right;border-bottom:1px solid #ddd}
th:first-child,td:first-child{text-align:left} .flag{color:#c62828;font-weight:600}
.tiles{display:flex;gap:1rem;flex-wrap:wrap} .tile{flex:1;min-width:150px;background:#f5f5f5;border-radius:8px;padding:1rem}
.tile b{display:block;font-size:2rem} .note{color:#555;font-size:.9rem}
@media print{.plotly-graph-div{page-break-inside:avoid}}
"""


def render_shift_report(
    measure: Measure,
    *,
    start: dt.datetime,
    end: dt.datetime,
    title: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """The report for shifts starting in ``[start, end)`` as one HTML document."""
    plant = measure.plant
    tz = plant.tz
    total = measure.oee(start=start, end=end, by="site", now=now)
    per_machine = measure.oee(start=start, end=end, by="machine", now=now)
    pareto = measure.pareto(start=start, end=end, now=now)
    # A state timeline is readable for about a day: show the last 24 hours of the period.
    t_start = max(start, end - dt.timedelta(days=1))
    timelines = {
        m.id: measure.timeline(machine=m.id, start=t_start, end=end, now=now)
        for _, m in plant.machines
    }
    local = f"{start.astimezone(tz):%a %d %b %Y %H:%M} – {end.astimezone(tz):%a %d %b %Y %H:%M} ({tz.key})"
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title or 'Shift report')} – {html.escape(plant.site.name)}</title>",
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>",
        f"<h1>{html.escape(title or 'Shift report')} — {html.escape(plant.site.name)}</h1>",
        f"<p class='sub'>Shifts starting {html.escape(local)}</p>",
    ]
    if not total or not total[0]["planned_s"]:
        parts.append("<p>No planned production time with data in this period.</p></body></html>")
        return "".join(parts)
    site = total[0]
    parts.append(
        "<div class='tiles'>"
        + "".join(
            f"<div class='tile'>{name}<b>{_pct(site[key])}</b></div>"
            for name, key in (
                ("OEE", "oee"),
                ("Availability", "availability"),
                ("Performance", "performance"),
                ("Quality", "quality"),
            )
        )
        + f"<div class='tile'>Good parts<b>{site['good_count']:,}</b></div></div>"
    )
    parts.append(
        f"<p class='note'>OEE target {plant.oee_target * 100:.0f} %. Planned production time "
        f"{site['planned_s'] / 3600:,.1f} h; no data for {site['no_data_s'] / 3600:,.1f} h "
        "(not counted as downtime).</p>"
    )
    parts.append(
        "<table><tr><th>Machine</th><th>OEE</th><th>Availability</th><th>Performance</th>"
        "<th>Quality</th><th>Good</th><th>Rejects</th><th>Stops</th><th>MTBF (min)</th></tr>"
    )
    labels = {m.id: m.label for _, m in plant.machines}
    for r in per_machine:
        flag = (
            " class='flag' title='Performance above 100 %: check the ideal cycle time'"
            if r["performance_flag"]
            else ""
        )
        mtbf = "–" if r["mtbf_s"] is None else f"{r['mtbf_s'] / 60:,.0f}"
        parts.append(
            f"<tr><td>{html.escape(labels.get(r['machine'], r['machine']))}</td><td>{_pct(r['oee'])}</td>"
            f"<td>{_pct(r['availability'])}</td><td{flag}>{_pct(r['performance'])}</td>"
            f"<td>{_pct(r['quality'])}</td><td>{r['good_count']:,}</td><td>{r['reject_count']:,}</td>"
            f"<td>{r['stops']:,}</td><td>{mtbf}</td></tr>"
        )
    parts.append("</table>")
    parts.append(figure_html(waterfall_figure(site)))
    if pareto:
        parts.append(figure_html(pareto_figure(pareto)))
    named = {labels[k]: v for k, v in timelines.items()}
    parts.append(figure_html(timeline_figure(named, tz)))
    parts.append(
        f"<p class='note'>Made by Pilotline on {clock.now().astimezone(tz):%d %b %Y %H:%M}. "
        "Times in the plant's time zone.</p></body></html>"
    )
    return "".join(parts)
