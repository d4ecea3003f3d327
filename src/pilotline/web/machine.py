"""The machine page: OEE and its factors by shift, day or week over a chosen period (with the
plant's OEE target), the loss waterfall, the downtime Pareto, the state timeline and the small
losses (stops by length inside planned time, seconds per part) — the report's figures, live.

Figures are plain plotly specs (dicts) drawn in the browser by ``static/machine.js`` with the
bundled plotly.js: building them as plotly Python objects cost more than a second a page. Titles
are HTML headings above each chart and legends sit below it, so neither the legend nor plotly's
toolbar (in the top margin) covers data or titles, on a tablet too.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pilotline import clock
from pilotline.measure import Measure, waterfall
from pilotline.plant import Plant
from pilotline.plant.losses import CATEGORY_BY_KEY
from pilotline.report.shift import COLOURS
from pilotline.store import Store

GRAINS = ("shift", "day", "week")
SMALL_LOSS_WINDOW = dt.timedelta(days=7)  # micro-stops and cycles: the last week of the range
TIMELINE_WINDOW = dt.timedelta(days=1)  # a state timeline is readable for about a day


#: The instants any page or API call may ask about: far wider than any plant's data, narrow enough
#: that every date arithmetic (a day before, a week after, a time zone) stays inside the calendar.
EARLIEST = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(2200, 1, 1, tzinfo=dt.UTC)

#: Shared by every chart: room at the top for plotly's toolbar, at the bottom for the legend.
LEGEND_BELOW = {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.18, "yanchor": "top"}
MARGIN = {"l": 56, "r": 56, "t": 36, "b": 40}


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


def whole(x: float) -> str:
    """A rounded figure that never reads "-0"."""
    return f"{round(x) + 0:,}"


def _pct_axis(title: str = "") -> dict[str, Any]:
    return {
        "range": [0, 100],
        "tickmode": "array",
        "tickvals": [0, 25, 50, 75, 100],
        "ticksuffix": " %",
        "title": {"text": title},
        "fixedrange": True,
    }


def _layout(height: int, **extra: Any) -> dict[str, Any]:
    return {
        "height": height,
        "margin": dict(MARGIN),
        "template": "plotly_white",
        "font": {"family": "system-ui, sans-serif", "size": 13},
        "legend": dict(LEGEND_BELOW),
        **extra,
    }


def _figure(
    key: str, title: str, data: list[dict[str, Any]], layout: dict[str, Any]
) -> dict[str, Any]:
    return {"id": f"fig-{key}", "title": title, "data": data, "layout": layout}


def trend_figure(rows: list[dict[str, Any]], grain: str, target: float) -> dict[str, Any]:
    labels = [r.get("shift_key") or r["period_start"].date().isoformat() for r in rows]
    data = []
    for key, name, colour in (
        ("oee", "OEE", "#263238"),
        ("availability", "Availability", "#c62828"),
        ("performance", "Performance", "#ef6c00"),
        ("quality", "Quality", "#1565c0"),
    ):
        data.append(
            {
                "type": "scatter",
                "x": labels,
                "y": [None if r[key] is None else round(min(r[key], 1.0) * 100, 2) for r in rows],
                "name": name,
                "mode": "lines+markers",
                "line": {"color": colour, "width": 3 if key == "oee" else 1.5},
                "hovertemplate": "%{x}: %{y:.1f} %<extra>" + name + "</extra>",
            }
        )
    data.append(
        {
            "type": "scatter",
            "x": [labels[0], labels[-1]] if labels else [],
            "y": [target * 100] * (2 if labels else 0),
            "name": f"OEE target {target * 100:.0f} %",
            "mode": "lines",
            "line": {"color": "#2e7d32", "dash": "dash", "width": 2},
            "hoverinfo": "name",
        }
    )
    return _figure(
        "trend",
        f"OEE and its factors by {grain} (%); values above 100 % are shown at 100 %",
        data,
        _layout(360, yaxis=_pct_axis(), xaxis={"type": "category", "automargin": True}),
    )


def waterfall_figure(row: dict[str, Any]) -> dict[str, Any]:
    steps = waterfall(row)
    minutes = [seconds / 60 for _, seconds, _ in steps]
    text = [
        whole(m) if kind == "total" or whole(m) == "0" else whole(-m) if m < 0 else "+" + whole(m)
        for m, (_, _, kind) in zip(minutes, steps, strict=True)
    ]
    data = [
        {
            "type": "waterfall",
            "x": [label for label, _, _ in steps],
            "y": [round(m, 2) for m in minutes],
            "measure": ["absolute" if kind == "total" else "relative" for _, _, kind in steps],
            "text": text,
            "textposition": "outside",
            "cliponaxis": False,
            "hovertemplate": "%{x}: %{text} min<extra></extra>",
            "decreasing": {"marker": {"color": "#c62828"}},
            "increasing": {"marker": {"color": "#ef6c00"}},
            "totals": {"marker": {"color": "#37474f"}},
        }
    ]
    top = max(minutes[0], 1.0)
    return _figure(
        "waterfall",
        "Where the time went (minutes; a loss is shown as a positive number of minutes lost)",
        data,
        _layout(
            380,
            showlegend=False,
            yaxis={"title": {"text": "minutes"}, "range": [0, top * 1.12], "fixedrange": True},
            xaxis={"automargin": True, "tickangle": -30},
        ),
    )


def _reason_label(r: dict[str, Any]) -> str:
    if r["reason"] != "(no reason)":
        return str(r["reason"])
    cat = CATEGORY_BY_KEY.get(r["category"])
    return f"no reason: {cat.label.lower() if cat else r['category']}"


def pareto_figure(rows: list[dict[str, Any]]) -> dict[str, Any]:
    rows = rows[:12]
    labels = [_reason_label(r) for r in rows]
    data = [
        {
            "type": "bar",
            "x": labels,
            "y": [round(r["lost_s"] / 60, 1) for r in rows],
            "name": "minutes lost",
            "marker": {"color": [COLOURS.get(r["category"], "#546e7a") for r in rows]},
            "customdata": [r["stops"] for r in rows],
            "hovertemplate": "%{x}: %{y:,.0f} min in %{customdata} stops<extra></extra>",
        },
        {
            "type": "scatter",
            "x": labels,
            "y": [round(min(r["cumulative_share"], 1.0) * 100, 1) for r in rows],
            "name": "cumulative % of the downtime",
            "yaxis": "y2",
            "mode": "lines+markers",
            "line": {"color": "#37474f"},
            "hovertemplate": "%{y:.1f} %<extra>cumulative</extra>",
        },
    ]
    return _figure(
        "pareto",
        "Downtime by reason inside planned time (Pareto): bars minutes lost, line cumulative %",
        data,
        _layout(
            380,
            showlegend=False,
            yaxis={"title": {"text": "minutes lost"}, "fixedrange": True, "rangemode": "tozero"},
            yaxis2={"overlaying": "y", "side": "right", **_pct_axis("cumulative")},
            xaxis={"automargin": True},
        ),
    )


def timeline_figure(rows: list[dict[str, Any]], tz: Any, label: str) -> dict[str, Any]:
    """One horizontal bar per state, one trace per category."""
    by_cat: dict[str, dict[str, list[Any]]] = {}
    for r in rows:
        d = by_cat.setdefault(r["category"], {"y": [], "x": [], "base": [], "text": []})
        start = r["start"].astimezone(tz)
        length_ms = (r["end"] - r["start"]).total_seconds() * 1000
        d["y"].append(label)
        d["x"].append(round(length_ms))
        d["base"].append(start.replace(tzinfo=None).isoformat(timespec="seconds"))
        d["text"].append(f"{r['reason'] or ''} {start:%a %H:%M:%S}, {length_ms / 60000:.1f} min")
    data: list[dict[str, Any]] = []
    for cat, d in by_cat.items():
        name = (
            "Running"
            if cat == "run"
            else CATEGORY_BY_KEY[cat].label
            if cat in CATEGORY_BY_KEY
            else cat
        )
        data.append(
            {
                "type": "bar",
                "orientation": "h",
                "name": name,
                "marker": {"color": COLOURS.get(cat, "#546e7a")},
                "hovertemplate": "%{hovertext}<extra>" + name + "</extra>",
                "hovertext": d["text"],
                "y": d["y"],
                "x": d["x"],
                "base": d["base"],
            }
        )
    return _figure(
        "timeline",
        "State timeline (the last 24 hours of the period, plant time)",
        data,
        _layout(
            200,
            barmode="overlay",
            xaxis={"type": "date"},
            yaxis={"showticklabels": False, "fixedrange": True},
        ),
    )


def _bins(limit: float) -> list[float]:
    """Stop-length classes (seconds), finer below the minor-stop limit, then minutes and hours."""
    edges = {0.0, 10.0, 30.0, 60.0, float(limit), 300.0, 900.0, 3600.0, 4 * 3600.0}
    return [*sorted(e for e in edges if e <= max(limit, 4 * 3600.0)), math.inf]


def _length(seconds: float) -> str:
    if seconds == math.inf:
        return ""
    if seconds < 120:
        return f"{seconds:g} s"
    if seconds < 7200:
        return f"{seconds / 60:g} min"
    return f"{seconds / 3600:g} h"


def stop_classes(small: dict[str, Any]) -> list[dict[str, Any]]:
    """The stops (inside planned time) by length class: count and minutes in each."""
    limit = small["minor_stop_limit_s"]
    edges = _bins(limit)
    out = []
    for lo, hi in itertools.pairwise(edges):
        inside = [s["seconds"] for s in small["stops"] if lo < s["seconds"] <= hi]
        label = f"over {_length(lo)}" if hi == math.inf else f"{_length(lo) or '0'}–{_length(hi)}"
        out.append(
            {
                "label": label,
                "minor": hi <= limit,
                "stops": len(inside),
                "minutes": sum(inside) / 60,
            }
        )
    return out


def stops_figure(small: dict[str, Any]) -> dict[str, Any]:
    classes = stop_classes(small)
    limit = small["minor_stop_limit_s"]
    data = [
        {
            "type": "bar",
            "x": [c["label"] for c in classes],
            "y": [c["stops"] for c in classes],
            "customdata": [round(c["minutes"], 1) for c in classes],
            "marker": {"color": ["#f9a825" if c["minor"] else "#b71c1c" for c in classes]},
            "hovertemplate": "%{x}: %{y} stops, %{customdata:,.0f} min<extra></extra>",
            "name": "stops",
        }
    ]
    return _figure(
        "stops",
        f"Stops by length, inside planned time only (yellow: up to the minor-stop limit of "
        f"{_length(limit)})",
        data,
        _layout(
            320,
            showlegend=False,
            xaxis={"type": "category", "title": {"text": "length of the stop"}},
            yaxis={"title": {"text": "stops"}, "rangemode": "tozero", "fixedrange": True},
        ),
    )


def cycles_figure(small: dict[str, Any], tz: Any) -> dict[str, Any]:
    cycles = small["cycles"]

    def when(c: dict[str, Any]) -> str:
        return str(c["ts"].astimezone(tz).replace(tzinfo=None).isoformat(timespec="minutes"))

    data = [
        {
            "type": "scattergl",
            "x": [when(c) for c in cycles if c["slow"] is slow],
            "y": [round(c["cycle_s"], 3) for c in cycles if c["slow"] is slow],
            "mode": "markers",
            "marker": {"color": "#ef6c00" if slow else "#1b5e20", "size": 5},
            "name": "slow interval" if slow else "seconds per part",
        }
        for slow in (False, True)
    ]
    data.append(
        {
            "type": "scattergl",
            "x": [when(c) for c in cycles],
            "y": [c["ideal_s"] for c in cycles],
            "mode": "lines",
            "line": {"color": "#263238", "dash": "dash"},
            "name": "ideal",
        }
    )
    return _figure(
        "cycles",
        f"Seconds per part while running (slow: over {small['slow_factor']:g}× ideal)",
        data,
        _layout(320, yaxis={"title": {"text": "seconds per part"}, "rangemode": "tozero"}),
    )


def reconcile(small: dict[str, Any], row: dict[str, Any] | None) -> list[dict[str, str]]:
    """The small-loss figures beside the waterfall's, over the same days, each with why they
    differ (or that they agree)."""
    if row is None:
        return []
    minor_w, speed_w = row["minor_stop_s"] / 60, row["speed_loss_s"] / 60
    minor_s, no_reason = small["minor_stop_s"] / 60, small["minor_no_reason_s"] / 60
    slow, above = small["slow_loss_s"] / 60, small["speed_loss_s"] / 60
    agree = abs(minor_w - no_reason) < 0.5
    return [
        {
            "what": "Minor stops",
            "waterfall": whole(minor_w),
            "small": f"{whole(minor_s)} in stops up to the limit; {whole(no_reason)} of them "
            "without a reason",
            "why": "the same stops, inside planned time: the waterfall counts only the short "
            "stops without a reason (a short stop with a reason counts under that reason's loss)"
            if agree
            else "the waterfall counts whole shifts that start on these days (a stop that began "
            "earlier counts there, the part of a night shift after the last day does not); a "
            "short stop with a reason counts under that reason's loss",
        },
        {
            "what": "Reduced speed",
            "waterfall": whole(speed_w),
            "small": f"{whole(slow)} in slow intervals; {whole(above)} above ideal in all",
            "why": "the waterfall takes run time − minor stops − the ideal time of the parts made, "
            "so faster-than-ideal intervals offset slow ones; the cycles view adds only time "
            "above ideal, and also counts parts made in breaks",
        },
    ]


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
    tz = plant.tz
    small_start = max(start, end - SMALL_LOSS_WINDOW)
    # The queries are independent: DuckDB runs one while Python builds the next (a first open
    # of the page waits for the slowest, not for the sum).
    with ThreadPoolExecutor(max_workers=4) as pool:
        both = pool.submit(
            measure.oee_by,
            start=start,
            end=end,
            groupings=[f"machine,{grain}", "machine"],
            machines=[machine],
        )
        losses = pool.submit(measure.pareto, start=start, end=end, machines=[machine])
        # One timeline read serves the micro-stops (the last week) and the state timeline (day).
        read = pool.submit(measure.timeline, machine=machine, start=small_start, end=end)
        (rows, total_rows), states = both.result(), read.result()
        total = total_rows[0] if total_rows and total_rows[0]["planned_s"] else None
        pareto = losses.result() if total else []
    small = measure.small_losses(machine=machine, start=small_start, end=end, timeline=states)
    t_start = max(start, end - TIMELINE_WINDOW)
    recent = [{**r, "start": max(r["start"], t_start)} for r in states if r["end"] > t_start]
    figures = []
    if rows:
        figures.append(trend_figure(rows, grain, plant.oee_target))
    if total:
        figures.append(waterfall_figure(total))
    if pareto:
        figures.append(pareto_figure(pareto))
    if recent:
        figures.append(timeline_figure(recent, tz, machine))
    small_figures = []
    if small["stops"]:
        small_figures.append(stops_figure(small))
    if small["cycles"]:
        small_figures.append(cycles_figure(small, tz))
    same_days = total if small_start == start else None
    if same_days is None and total:
        window = measure.oee(start=small_start, end=end, by="machine", machines=[machine])
        same_days = window[0] if window else None
    return {
        "rows": rows,
        "total": total,
        "has_data": bool(total or states),
        "figures": figures,
        "small": small,
        "small_figures": small_figures,
        "stop_classes": stop_classes(small),
        "reconcile": reconcile(small, same_days),
        "target": plant.oee_target,
    }
