"""The pilot's one-page A3 (background, current condition, target, countermeasure, result,
decision) as self-contained HTML, and as PDF through a headless Chromium when one is installed."""

from __future__ import annotations

import html
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
from plotly.offline import get_plotlyjs

from pilotline.errors import PilotlineError
from pilotline.pilot.money import effect_text, months_text
from pilotline.pilot.spc import RULES, Chart
from pilotline.pilot.spec import Pilot

_STYLE = """
@page{size:A3 landscape;margin:12mm}
body{font-family:system-ui,sans-serif;color:#212121;margin:0;padding:16px}
h1{margin:0 0 4px;font-size:22px} .sub{color:#555;margin:0 0 12px}
.grid{display:grid;grid-template-columns:1fr 1fr;gap:14px}
section{border:1px solid #cfd8dc;border-radius:6px;padding:10px 14px;break-inside:avoid}
section h2{font-size:15px;margin:0 0 6px;color:#1565c0;text-transform:uppercase;letter-spacing:.04em}
.verdict{font-size:18px;font-weight:600} .warn{color:#b71c1c} table{border-collapse:collapse;width:100%}
td,th{padding:3px 6px;border-bottom:1px solid #eceff1;text-align:left;font-size:13px}
"""


def _esc(x: Any) -> str:
    return html.escape(str(x))


def _fig(fig: go.Figure, height: int = 300) -> str:
    fig.update_layout(
        height=height,
        margin={"l": 40, "r": 10, "t": 30, "b": 40},
        template="plotly_white",
        showlegend=False,
    )
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            config={"displaylogo": False, "staticPlot": True},
        )
    )


def spc_figure(chart: Chart, title: str = "") -> go.Figure:
    keys = [str(p["key"]) for p in chart.points]
    values = [p["value"] for p in chart.points]
    fig = go.Figure()
    fig.add_scatter(
        x=keys,
        y=values,
        mode="lines+markers",
        line={"color": "#37474f"},
        marker={
            "color": ["#c62828" if p["rules"] else "#37474f" for p in chart.points],
            "size": [9 if p["rules"] else 5 for p in chart.points],
        },
        hovertext=["; ".join(RULES[r] for r in p["rules"]) for p in chart.points],
    )
    if len(chart.stages) == 2 and chart.phase1:
        # A stage chart: each stage drawn with its own centre and limits.
        for stage, part in zip(
            chart.stages, (keys[: chart.phase1], keys[chart.phase1 :]), strict=True
        ):
            for key, dash in (("center", "solid"), ("ucl", "dash"), ("lcl", "dash")):
                fig.add_scatter(
                    x=part,
                    y=[stage[key]] * len(part),
                    mode="lines",
                    line={"color": "#1565c0", "dash": dash, "width": 1},
                    hoverinfo="skip",
                )
    else:
        for y, dash in ((chart.center, "solid"), (chart.ucl, "dash"), (chart.lcl, "dash")):
            fig.add_hline(y=y, line_dash=dash, line_color="#1565c0", line_width=1)
    if chart.phase1 and chart.phase1 < len(keys):
        fig.add_vline(x=chart.phase1 - 0.5, line_color="#ef6c00", line_dash="dot")
    fig.update_layout(title=title or f"{chart.kind} chart (red: a Western Electric rule fires)")
    fig.update_xaxes(type="category")  # keys are labels (rows, days, subgroups), never a time scale
    return fig


def render_spc(chart: Chart, *, title: str) -> str:
    rows = (
        "".join(
            f"<tr><td>{_esc(p['key'])}</td><td>{p['value']:.4g}</td><td>{_esc('; '.join(RULES[r] for r in p['rules']))}</td></tr>"
            for p in chart.signals
        )
        or "<tr><td colspan=3>No rule fires: the process looks stable.</td></tr>"
    )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{_esc(title)}</title>"
        f"<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body><h1>{_esc(title)}</h1>"
        f"<p class='sub'>centre {chart.center:.4g} · sigma {chart.sigma:.4g} · limits {chart.lcl:.4g} to "
        f"{chart.ucl:.4g}</p>{_fig(spc_figure(chart), 420)}<table><tr><th>point</th><th>value</th>"
        f"<th>signal</th></tr>{rows}</table></body></html>"
    )


def render_a3(pilot: Pilot, result: dict[str, Any]) -> str:
    s = result["series"]
    k = s["intervention"]
    fig = go.Figure()
    fig.add_scatter(
        x=s["labels"][:k], y=s["values"][:k], mode="lines+markers", line={"color": "#78909c"}
    )
    fig.add_scatter(
        x=s["labels"][k:], y=s["values"][k:], mode="lines+markers", line={"color": "#2e7d32"}
    )
    fig.add_hline(y=result["baseline"]["mean"], line_dash="dash", line_color="#78909c")
    fig.update_layout(
        title=f"{result['metric']} per {result['unit']}: baseline (grey) and pilot (green)"
    )
    eff = result["effect"]
    rows = "".join(
        f"<tr><td>{_esc(e['method'])}</td><td>{effect_text(e['value'], r)}</td>"
        f"<td>{effect_text(e['low'], r)} to {effect_text(e['high'], r)}</td></tr>"
        for e in result["estimates"]
        for r in [e.get("scale") == "ratio"]
    )
    guard = (
        "".join(
            f"<tr><td>{_esc(g['metric'])}</td><td>{g['change']:+.2f}</td><td>{g['low']:+.2f} to {g['high']:+.2f}</td>"
            f"<td>{'worse' if g['harmed'] else 'held'}</td></tr>"
            for g in result["guardrails"]
        )
        or "<tr><td colspan=4>none set</td></tr>"
    )
    money = result.get("money")
    money_html = "<p>No value model set.</p>"
    if money:
        pb, roi, net = money["payback_months"], money["roi"], money["monthly_net_value"]
        money_html = (
            f"<table><tr><td>Net value per month</td><td>{net['median']:,.0f} {money['currency']} "
            f"({net['low']:,.0f} to {net['high']:,.0f})</td></tr>"
            f"<tr><td>Payback</td><td>{months_text(pb['median'])} ({months_text(pb['low'])} to "
            f"{months_text(pb['high'])})</td></tr><tr><td>ROI over {money['horizon_months']} months</td>"
            f"<td>{roi['median']:.0%} ({roi['low']:.0%} to {roi['high']:.0%})</td></tr>"
            f"<tr><td>Chance it does not pay back</td><td>{money['probability_of_loss']:.0%}</td></tr></table>"
        )
    warnings = (
        "".join(f"<li class='warn'>{_esc(w)}</li>" for w in result["warnings"]) or "<li>None.</li>"
    )
    from pilotline.pilot.spc import individuals

    chart = individuals(s["values"], keys=s["labels"], phase1=k)
    event_html = ""
    if eff.get("event_study"):
        ev = eff["event_study"]
        efig = go.Figure(
            go.Scatter(
                x=[e["relative_period"] for e in ev],
                y=[e["gap_minus_baseline"] for e in ev],
                mode="lines+markers",
                line={"color": "#6a1b9a"},
            )
        )
        efig.add_hline(y=0, line_color="#78909c")
        efig.add_vline(x=-0.5, line_color="#ef6c00", line_dash="dot")
        efig.update_layout(
            title="Event study: pilot line minus control, against the baseline gap "
            "(flat before the change = parallel trends)"
        )
        event_html = _fig(efig, 240)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>A3 — {_esc(pilot.title)}</title>
<style>{_STYLE}</style><script>{get_plotlyjs()}</script></head><body>
<h1>{_esc(pilot.title)}</h1><p class="sub">Owner {_esc(pilot.owner)} · {pilot.design.replace("_", "/")} ·
baseline {pilot.baseline.start} to {pilot.baseline.end} · pilot {pilot.pilot.start} to {pilot.pilot.end} ·
review {pilot.review_date} · as of {result["as_of"]} · version {result["fingerprint"]}</p>
<div class="grid">
<section><h2>Background</h2><p>{_esc(pilot.background or "—")}</p>
<h2>Current condition</h2><p>{_esc(result["metric"])} averaged {result["baseline"]["mean"]:.2f} over
{result["baseline"]["points"]} {result["unit"]}s before the change.</p>{_fig(fig)}</section>
<section><h2>Target</h2><p>{_esc(pilot.hypothesis)}</p>
<p>Target change: {"" if pilot.target_effect is None else f"{pilot.target_effect:+g}"} {_esc(result["metric_unit"])}</p>
<h2>Countermeasure</h2><p>{_esc(pilot.countermeasure or "—")}</p><p>People: {_esc(", ".join(pilot.people) or "—")}</p></section>
<section><h2>Result</h2><p class="verdict">{_esc(result["verdict"])}</p>
<table><tr><th>method</th><th>effect</th><th>95 % interval</th></tr>{rows}</table>
<h2>Watch-outs</h2><ul>{warnings}</ul>
<h2>Guardrails</h2><table><tr><th>metric</th><th>change</th><th>interval</th><th></th></tr>{guard}</table>
{event_html}</section>
<section><h2>Value</h2>{money_html}{_fig(spc_figure(chart, "Stage chart: each stage with its own limits (red: beyond the baseline rules)"), 260)}
<h2>Decision</h2><p>{_esc(result.get("decision") or "Pending: adopt, adapt, abandon or extend at the review.")}</p></section>
</div><p class="sub">Primary estimate: {_esc(eff["method"])}. Made by Pilotline.</p></body></html>"""


def to_pdf(page: str, target: Path) -> None:
    """Print the page to PDF with a headless Chromium (Debian's ``chromium`` package)."""
    exe = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )
    if exe is None:
        raise PilotlineError(
            "PDF output needs Chromium: install it with 'sudo apt-get install chromium', "
            "or use --format html and print from a browser"
        )
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "a3.html"
        src.write_text(page, encoding="utf-8")
        done = subprocess.run(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--disable-quic",
                f"--user-data-dir={tmp}/profile",
                "--no-pdf-header-footer",
                f"--print-to-pdf={target.resolve()}",
                src.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    if done.returncode != 0 or not target.exists():
        raise PilotlineError(f"Chromium could not print the PDF: {done.stderr.strip()[-400:]}")
