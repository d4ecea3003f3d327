"""The shift report: OEE and its factors per machine (and per product where the data names
products), the loss waterfall, the downtime Pareto and each machine's state timeline.

The body is plain HTML with static SVG charts (no script, tens of kilobytes): the web app shows it
under its own header with a shift picker (``/report/shift``), ``pilotline report shift`` writes it
as one self-contained file that opens offline, and both print (``@media print``). Parts are never
added across machines or products, whose ideal cycles differ (a press part is one second, a CNC
part forty): the plant-wide figures are times — planned, run and fully productive time (good
parts × their ideal cycle).
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from typing import Any

import plotly.graph_objects as go

from pilotline import clock
from pilotline.errors import InputError
from pilotline.measure import Measure, waterfall
from pilotline.plant import Plant
from pilotline.plant.calendar import shift_instances
from pilotline.plant.losses import CATEGORY_BY_KEY
from pilotline.report import svg

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
PICK_DAYS = 14  # the shift picker offers the completed shifts of the last two weeks …
LOOK_BACK_DAYS = 62  # … and the default looks this far back for the last completed one

STYLE = (
    ".report{color:#212121} .report h2{margin:1.2rem 0 .3rem;font-size:1.2rem}"
    ".report .sub,.report .note{color:#555} .report .note{font-size:.9rem}"
    ".report table{border-collapse:collapse;width:100%;margin:.5rem 0;background:#fff}"
    ".report th,.report td{padding:.3rem .5rem;text-align:right;border-bottom:1px solid #ddd}"
    ".report th:first-child,.report td:first-child{text-align:left}"
    ".report td{white-space:nowrap} .report td:first-child{white-space:normal}"
    ".report tr.product td:first-child{padding-left:1.5rem;color:#444}"
    ".report .flag{color:#c62828;font-weight:600}"
    ".report .kpi-tiles{display:flex;gap:.75rem;flex-wrap:wrap;margin:.5rem 0}"
    ".report .kpi{flex:1;min-width:9rem;background:#f5f5f5;border-radius:8px;padding:.6rem .8rem}"
    ".report .kpi b{display:block;font-size:1.6rem}"
    ".report svg.chart{width:100%;height:auto;font:14px system-ui,sans-serif;fill:#212121}"
    ".report svg .small{font-size:12px}"
    ".report .legend span{display:inline-block;margin-right:1rem;font-size:.9rem}"
    ".report .legend i{display:inline-block;width:.9rem;height:.9rem;margin-right:.3rem;"
    "vertical-align:-.1rem}"
    + "".join(f".report .{k}{{fill:{c};background:{c}}}" for k, c in COLOURS.items())
    + "@media print{@page{size:A4 landscape;margin:12mm}"
    "body{background:#fff!important;font-size:11pt}"
    "header,nav,.no-print,form.shift-pick{display:none!important}"
    "main{max-width:none!important;padding:0!important}"
    ".report .kpi{border:1px solid #ccc}"
    ".report section,.report svg,.report table{break-inside:avoid}}"
)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{x * 100:.1f} %"


def _h(seconds: float) -> str:
    return f"{seconds / 3600:,.1f} h"


def figure_html(fig: go.Figure) -> str:
    """A plotly figure as a page fragment (the page loads plotly.js once): for the pilot pages."""
    fig.update_layout(
        margin={"l": 40, "r": 20, "t": 50, "b": 40},
        template="plotly_white",
        font={"family": "system-ui, sans-serif", "size": 13},
    )
    return str(fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False}))


@dataclass(frozen=True)
class ShiftChoice:
    """One shift on one production day, for the machines whose calendars have it."""

    production_date: dt.date
    shift: str
    start: dt.datetime  # UTC: the earliest start among those machines' calendars
    end: dt.datetime  # UTC: the latest end
    machines: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.production_date.isoformat()} {self.shift}"

    def label(self, plant: Plant) -> str:
        a, b = self.start.astimezone(plant.tz), self.end.astimezone(plant.tz)
        return f"{a:%a %d %b %Y}, {self.shift} ({a:%H:%M}–{b:%H:%M})"


def shifts_between(plant: Plant, start: dt.datetime, end: dt.datetime) -> list[ShiftChoice]:
    """Every shift starting in ``[start, end)``, oldest first, in the plant's time zone (a shift
    across a clock change lasts its real length)."""
    by_calendar: dict[str, list[str]] = {}
    for line, machine in plant.machines:
        by_calendar.setdefault(plant.calendar_of(line, machine).name, []).append(machine.id)
    found: dict[tuple[dt.date, str], list[Any]] = {}
    for calendar in plant.calendars:
        machines = by_calendar.get(calendar.name)
        if not machines:
            continue
        for inst in shift_instances(calendar, plant.tz, start, end):
            k = (inst.production_date, inst.shift)
            a, b, ms = found.get(k, (inst.start, inst.end, []))
            found[k] = [min(a, inst.start), max(b, inst.end), ms + machines]
    return sorted(
        (ShiftChoice(d, name, a, b, tuple(ms)) for (d, name), (a, b, ms) in found.items()),
        key=lambda c: (c.start, c.shift),
    )


def completed_shifts(
    plant: Plant, *, now: dt.datetime | None = None, days: int = PICK_DAYS
) -> list[ShiftChoice]:
    """The shifts that ended in the last ``days`` days up to ``now``, newest first."""
    now = now or clock.now()
    shifts = shifts_between(plant, now - dt.timedelta(days=days + 1), now)
    return [c for c in reversed(shifts) if c.end <= now]


def last_completed_shift(plant: Plant, *, now: dt.datetime | None = None) -> ShiftChoice | None:
    """The shift that ended last before ``now`` (looking back up to 62 days), or None."""
    done = completed_shifts(plant, now=now, days=LOOK_BACK_DAYS)
    return done[0] if done else None


def find_shift(plant: Plant, key: str) -> ShiftChoice:
    """``"2026-03-04 Early"`` → that shift; InputError saying what was expected otherwise."""
    day_text, _, name = key.strip().partition(" ")
    try:
        day = dt.date.fromisoformat(day_text)
    except ValueError:
        raise InputError(
            f"a shift is named by its production date and name, like '2026-03-04 Early' "
            f"(got {key[:40]!r})"
        ) from None
    if not dt.date(1970, 1, 2) <= day <= dt.date(2199, 12, 30):
        raise InputError("the shift's date must lie between 1970 and 2199")
    tz = plant.tz
    lo = dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC)
    for choice in shifts_between(plant, lo - dt.timedelta(hours=1), lo + dt.timedelta(days=1)):
        if choice.production_date == day and choice.shift.lower() == name.strip().lower():
            return choice
    names = sorted({s.name for c in plant.calendars for s in c.shifts})
    raise InputError(
        f"no shift {name.strip()[:40]!r} on {day:%a %d %b %Y}; the plant's shifts are "
        f"{', '.join(names)} (a holiday or a day without that shift has none)"
    )


def render_body(
    measure: Measure,
    *,
    start: dt.datetime,
    end: dt.datetime,
    machines: list[str] | None = None,
    shown: tuple[dt.datetime, dt.datetime] | None = None,
    heading: str = "",
    now: dt.datetime | None = None,
) -> str:
    """The report for shifts starting in ``[start, end)`` as an HTML fragment (``<div
    class="report">``). ``shown``: the span the state timeline covers (default the last 24 hours
    of the period)."""
    plant = measure.plant
    tz = plant.tz
    ids = machines or [m.id for _, m in plant.machines]
    names = [m.label for _, m in plant.machines]
    labels = {
        m.id: m.label if names.count(m.label) == 1 else f"{m.label} ({line.name})"
        for line, m in plant.machines
    }
    ideal = {m.id: m.ideal_cycle_s for _, m in plant.machines}
    total = measure.oee(start=start, end=end, by="site", machines=ids, now=now)
    parts = [f"<div class='report'>{heading}"]
    if not total or not total[0]["planned_s"]:
        parts.append(
            "<p class='empty'>No planned production time with data in this shift: no machine "
            "was planned, or no data has come in for it (see the data page).</p></div>"
        )
        return "".join(parts)
    site = total[0]
    rows = measure.oee(start=start, end=end, by="machine,product", machines=ids, now=now)
    pareto = measure.pareto(start=start, end=end, machines=ids, now=now)
    lo, hi = shown or (max(start, end - dt.timedelta(days=1)), end)
    timelines = measure.timelines(machines=ids, start=lo, end=hi, now=now)
    tiles = [
        ("OEE", _pct(site["oee"])),
        ("Availability", _pct(site["availability"])),
        ("Performance", _pct(site["performance"])),
        ("Quality", _pct(site["quality"])),
        ("Fully productive time", _h(site["good_ideal_s"])),
        ("Planned production time", _h(site["planned_s"])),
    ]
    parts.append(
        "<section><div class='kpi-tiles'>"
        + "".join(f"<div class='kpi'>{n}<b>{v}</b></div>" for n, v in tiles)
        + "</div>"
        f"<p class='note'>OEE target {plant.oee_target * 100:.0f} %. No data for "
        f"{_h(site['no_data_s'])} (not counted as downtime). Fully productive time is the good "
        "parts × their ideal cycle: parts of different machines and products are not added "
        "up, as their ideal cycles differ.</p></section>"
    )
    mixed = _products_counted(measure, start, shown[1] if shown else end)
    parts.append(_machine_table(rows, labels, ideal, mixed))
    by_machine = _per_machine(rows, list(labels))
    oee_bars = [
        svg.Bar(
            labels.get(m, m),
            (r["oee"] or 0.0) * 100,
            _pct(r["oee"]),
            "#2e7d32" if (r["oee"] or 0) >= plant.oee_target else "#c62828",
        )
        for m, r in by_machine.items()
    ]
    parts.append(
        "<section><h2>OEE by machine (%)</h2>"
        + svg.hbars(
            oee_bars,
            label="OEE by machine",
            top=100.0,
            marker=(plant.oee_target * 100, f"target {plant.oee_target * 100:.0f} %"),
        )
        + "</section>"
    )
    steps = [svg.Step(label, s, kind == "total") for label, s, kind in waterfall(site)]
    parts.append(
        "<section><h2>Where the time went (minutes; losses in red)</h2>"
        + svg.waterfall(steps, label="Loss waterfall")
        + "</section>"
    )
    if pareto:
        bars = [
            svg.Bar(
                _reason(r),
                r["lost_s"] / 60,
                f"{svg.whole(r['lost_s'] / 60)} min, {r['stops']} stop{'' if r['stops'] == 1 else 's'} "
                f"(cumulative {min(r['cumulative_share'], 1.0) * 100:.0f} %)",
                COLOURS.get(r["category"], "#546e7a"),
            )
            for r in pareto[:10]
        ]
        parts.append(
            "<section><h2>Downtime by reason inside planned time (Pareto, minutes)</h2>"
            + svg.hbars(bars, label="Downtime by reason", top=max(b.value for b in bars) * 1.5)
            + "</section>"
        )
    spans = {
        labels.get(m, m): [
            svg.Span(r["start"].timestamp(), r["end"].timestamp(), r["category"]) for r in states
        ]
        for m, states in timelines.items()
    }
    used = sorted({r["category"] for states in timelines.values() for r in states})
    legend = "".join(f"<span><i class='{c}'></i>{_category(c)}</span>" for c in used)
    parts.append(
        f"<section><h2>State timeline, {lo.astimezone(tz):%a %H:%M} – "
        f"{hi.astimezone(tz):%a %H:%M}</h2><p class='legend'>{legend}</p>"
        + svg.timeline(spans, lo=lo.timestamp(), hi=hi.timestamp(), label="State timeline")
        + "</section>"
    )
    parts.append(
        f"<p class='note'>Made by Pilotline on {clock.now().astimezone(tz):%d %b %Y %H:%M}. "
        f"Times in the plant's time zone ({tz.key}).</p></div>"
    )
    return "".join(parts)


def _category(key: str) -> str:
    if key == "run":
        return "Running"
    cat = CATEGORY_BY_KEY.get(key)
    return cat.label if cat else key.replace("_", " ")


def _reason(r: dict[str, Any]) -> str:
    if r["reason"] != "(no reason)":
        return str(r["reason"])
    return f"no reason: {_category(r['category']).lower()}"


def _per_machine(rows: list[dict[str, Any]], order: list[str]) -> dict[str, dict[str, Any]]:
    """Rows by machine and product summed per machine, in the plant's order: times and ideal
    times add up; the ratios are computed again from the sums (never averaged)."""
    out: dict[str, dict[str, Any]] = {}
    rank = {m: i for i, m in enumerate(order)}
    for r in sorted(rows, key=lambda r: rank.get(r["machine"], len(rank))):
        m = out.setdefault(r["machine"], {"products": []})
        m["products"].append(r)
    for m in out.values():
        ps = m["products"]
        s = {k: sum(p[k] for p in ps) for k in ("planned_s", "run_s", "ideal_s", "good_ideal_s")}
        m.update(s)
        m["availability"] = s["run_s"] / s["planned_s"] if s["planned_s"] else None
        m["performance"] = s["ideal_s"] / s["run_s"] if s["run_s"] else None
        m["quality"] = s["good_ideal_s"] / s["ideal_s"] if s["ideal_s"] else None
        m["oee"] = s["good_ideal_s"] / s["planned_s"] if s["planned_s"] else None
        m["stops"] = sum(p["stops"] for p in ps)
        m["failures"] = sum(p["failures"] for p in ps)
        m["flag"] = any(p["performance_flag"] for p in ps)
    return out


def _products_counted(
    measure: Measure, start: dt.datetime, end: dt.datetime
) -> dict[str, set[str]]:
    """The products each machine's counts name in ``(start, end]`` (work orders may name none:
    then the count rows are the only place a product shows)."""
    with measure.store.session() as s:
        got = s.arrow(
            "SELECT machine, product FROM counts WHERE ts > ? AND ts <= ? AND product IS NOT NULL"
            " GROUP BY machine, product",
            [_naive(start), _naive(end)],
        ).to_pylist()
    out: dict[str, set[str]] = {}
    for r in got:
        out.setdefault(r["machine"], set()).add(r["product"])
    return out


def _naive(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _machine_table(
    rows: list[dict[str, Any]],
    labels: dict[str, str],
    ideal: dict[str, float],
    counted: dict[str, set[str]],
) -> str:
    head = (
        "<section><h2>By machine</h2><table><tr><th>Machine / product</th><th>OEE</th>"
        "<th>Availability</th><th>Performance</th><th>Quality</th><th>Good parts</th>"
        "<th>Rejects</th><th>Fully productive</th><th>Stops</th><th>MTBF (min)</th></tr>"
    )
    body = []
    for machine, m in _per_machine(rows, list(labels)).items():
        ps = m["products"]
        one = len(ps) == 1
        flag = (
            " class='flag' title='Performance above 100 %: check the ideal cycle time'"
            if m["flag"]
            else ""
        )
        mtbf = "–" if not m["failures"] else f"{m['run_s'] / m['failures'] / 60:,.0f}"
        # One row but several products in the counts (no work orders to split the time by):
        # the count would add unlike parts, so only the time is shown.
        mixed = one and len(counted.get(machine, set())) > 1
        good = (
            "several products: see fully productive time"
            if mixed
            else f"{ps[0]['good_count']:,}"
            if one
            else "by product ↓"
        )
        rejects = f"{ps[0]['reject_count']:,}" if one and not mixed else ""
        name = html.escape(labels.get(machine, machine))
        if one and ps[0]["product"]:
            name += f" <small>({html.escape(ps[0]['product'])})</small>"
        body.append(
            f"<tr><td>{name} <small>{ideal.get(machine, 0):g} s/part</small></td>"
            f"<td>{_pct(m['oee'])}</td><td>{_pct(m['availability'])}</td>"
            f"<td{flag}>{_pct(m['performance'])}</td><td>{_pct(m['quality'])}</td>"
            f"<td>{good}</td><td>{rejects}</td><td>{_h(m['good_ideal_s'])}</td>"
            f"<td>{m['stops']:,}</td><td>{mtbf}</td></tr>"
        )
        if not one:
            for p in ps:
                body.append(
                    f"<tr class='product'><td>{html.escape(p['product'] or 'no product given')}"
                    f"</td><td>{_pct(p['oee'])}</td><td></td><td>{_pct(p['performance'])}</td>"
                    f"<td>{_pct(p['quality'])}</td><td>{p['good_count']:,}</td>"
                    f"<td>{p['reject_count']:,}</td><td>{_h(p['good_ideal_s'])}</td>"
                    "<td></td><td></td></tr>"
                )
    return head + "".join(body) + "</table></section>"


def render_shift_report(
    measure: Measure,
    *,
    start: dt.datetime,
    end: dt.datetime,
    title: str | None = None,
    now: dt.datetime | None = None,
    machines: list[str] | None = None,
    shown: tuple[dt.datetime, dt.datetime] | None = None,
) -> str:
    """The report for shifts starting in ``[start, end)`` as one self-contained HTML document
    (no script, no outside file: it opens offline and prints)."""
    plant = measure.plant
    tz = plant.tz
    name = html.escape(title or "Shift report")
    site = html.escape(plant.site.name)
    when = (
        f"{start.astimezone(tz):%a %d %b %Y %H:%M} – {end.astimezone(tz):%a %d %b %Y %H:%M} "
        f"({tz.key})"
    )
    heading = f"<h1>{name} — {site}</h1><p class='sub'>Shifts starting {html.escape(when)}</p>"
    body = render_body(
        measure, start=start, end=end, machines=machines, shown=shown, heading=heading, now=now
    )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{name} – {site}</title><style>"
        "body{font-family:system-ui,sans-serif;margin:1.5rem auto;max-width:1200px;padding:0 1rem}"
        f"{STYLE}</style></head><body>{body}</body></html>"
    )


def validate_key(key: str | None) -> str | None:
    """A shift key from outside, trimmed, or InputError when it is too long to be one."""
    if key is None:
        return None
    if len(key) > 80:
        raise InputError("a shift is named like '2026-03-04 Early' (80 characters at most)")
    return key.strip() or None
