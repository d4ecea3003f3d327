"""The roadmap: one self-contained HTML page — the six dimensions on a radar (each round kept),
the evidence, the gates that block steps, the next 3–5 steps in order with why, cost, time and
pilot, and the skills plan. ``pilotline assess roadmap --pdf`` prints it through Chromium."""

from __future__ import annotations

import html
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from pilotline.assess.evidence import Evidence
from pilotline.assess.gates import gates
from pilotline.assess.questionnaire import DIMENSIONS, dimension
from pilotline.assess.recommend import Recommendation, _money

_STYLE = """
@page{size:A3 landscape;margin:12mm}
body{font-family:system-ui,sans-serif;color:#212121;margin:0;padding:16px;max-width:1200px}
h1{margin:0 0 4px;font-size:22px} .sub{color:#555;margin:0 0 12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}
section{border:1px solid #cfd8dc;border-radius:6px;padding:10px 14px;break-inside:avoid}
section h2{font-size:15px;margin:0 0 6px;color:#1565c0}
table{border-collapse:collapse;width:100%} .warn{color:#b71c1c}
td,th{padding:3px 6px;border-bottom:1px solid #eceff1;text-align:left;font-size:13px;vertical-align:top}
pre{font-size:11px;background:#f5f5f5;padding:6px;white-space:pre-wrap}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def radar(rounds: dict[str, dict[str, float]]) -> str:
    """The six dimensions (0–100) of each round, on one radar chart."""
    fig = go.Figure()
    labels = [dimension(d).title for d in DIMENSIONS]
    for name, dims in rounds.items():
        values = [dims[d] for d in DIMENSIONS]
        fig.add_trace(
            go.Scatterpolar(
                r=[*values, values[0]],
                theta=[*labels, labels[0]],
                name=name,
                fill="toself",
                opacity=0.6,
            )
        )
    fig.update_layout(
        polar={"radialaxis": {"range": [0, 100]}},
        height=380,
        margin={"l": 60, "r": 60, "t": 30, "b": 30},
        template="plotly_white",
        showlegend=True,
    )
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            config={"displaylogo": False, "staticPlot": True},
        )
    )


def render_roadmap(
    *,
    rounds: dict[str, dict[str, float]],
    evidence: Evidence,
    recs: list[Recommendation],
    next_pilot: str | None,
    next_plan: dict[str, Any] | None,
    training: list[dict[str, Any]],
    warnings: list[str],
    steps_shown: int = 5,
    body_only: bool = False,
) -> str:
    """The roadmap page; ``body_only`` gives what goes inside ``<body>`` (the web app shows it
    within its own page, loading plotly.js once from its assets)."""
    cur = evidence.currency
    ranked = [r for r in recs if r.rank is not None][:steps_shown]
    blocked = [r for r in recs if r.rank is None]
    parts = [
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Roadmap</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>",
        "<h1>Roadmap: the next small steps</h1>",
        f"<p class='sub'>Evidence from {evidence.start:%d %b %Y} to {evidence.end:%d %b %Y}; "
        f"an hour of lost time is valued at {_money(evidence.value_per_hour, cur)}"
        f"{' (assumed: set it with --value-per-hour)' if evidence.value_assumed else ''}.</p>",
        "<div class='grid'><section><h2>Where the firm stands</h2>",
        radar(rounds) if rounds else "<p>No answers yet: 'pilotline assess answer'.</p>",
        "</section><section><h2>What the plant's data says</h2><table>",
        f"<tr><td>Machines with data in the last 30 days</td><td>{evidence.machines_with_data} "
        f"of {len(evidence.machines)}</td></tr>",
    ]
    share = evidence.reason_share
    oee = evidence.oee
    parts.append(
        f"<tr><td>Stop time with a reason</td><td>{'–' if share is None else f'{share:.0%}'}</td></tr>"
        f"<tr><td>OEE</td><td>{'–' if oee is None else f'{oee:.1%}'}</td></tr>"
    )
    for loss in evidence.losses()[:3]:
        parts.append(
            f"<tr><td>{_e(loss['label'])}</td><td>{loss['hours_per_year']:,.0f} h a year, "
            f"{_money(loss['money_per_year'], cur)}</td></tr>"
        )
    candidates = sum(p["candidate"] for p in evidence.processes)
    parts.append(
        f"<tr><td>Process steps ready to automate</td><td>{candidates} of "
        f"{len(evidence.processes)} mapped</td></tr>"
        f"<tr><td>Pilots run / decided</td><td>{evidence.pilots} / "
        f"{sum(evidence.decisions.values())}</td></tr></table>"
    )
    parts += [f"<p class='warn'>{_e(c)}</p>" for c in evidence.contradictions]
    parts.append("</section></div><section><h2>The next steps, in order</h2><table>")
    parts.append("<tr><th>#</th><th>step</th><th>why</th><th>cost</th><th>first value</th></tr>")
    for r in ranked:
        parts.append(
            f"<tr><td>{r.rank}</td><td>{_e(r.step.title)}</td><td>{_e(r.why)}</td>"
            f"<td>{_money(r.step.cost[0], cur)}–{_money(r.step.cost[1], cur)}</td>"
            f"<td>{r.step.weeks_to_value:g} weeks</td></tr>"
        )
    parts.append("</table>")
    if next_pilot:
        verdict = (next_plan or {}).get("verdict", "")
        parts.append(f"<h2>Start this pilot</h2><p>{_e(verdict)}</p><pre>{_e(next_pilot)}</pre>")
    parts.append("</section><div class='grid'><section><h2>Held back by the basics</h2><table>")
    known = gates()
    for r in blocked[:12]:
        first = r.blocked_by[0]
        what = known[first].reason if first in known else first
        parts.append(f"<tr><td>{_e(r.step.title)}</td><td>{_e(what)}</td></tr>")
    parts.append("</table></section><section><h2>Skills plan</h2><table>")
    parts.append("<tr><th>skill</th><th>for</th><th>who learns</th><th>from</th></tr>")
    for t in training:
        parts.append(
            f"<tr><td>{_e(t['title'])} (level {t['needed_level']})</td><td>{_e(t['for_step'])}</td>"
            f"<td>{_e(t['learner'])}</td><td>{_e(t['from'])}</td></tr>"
        )
    parts.append("</table>")
    parts += [f"<p class='warn'>{_e(w)}</p>" for w in warnings]
    parts.append("</section></div>")
    if body_only:
        return "".join(parts[1:])
    return "".join(parts) + "</body></html>"
