"""Process maps drawn as SVG with Graphviz (Debian's ``graphviz`` package provides ``dot``).

Nodes are activities with their event counts; edges are directly-follows steps labelled with a
frequency or a time, and drawn thicker the more cases take them.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Literal

from pilotline.errors import PilotlineError

Metric = Literal["frequency", "time"]


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def human_duration(seconds: float | None) -> str:
    """Seconds as people say them: 45 s, 12.0 min, 3.5 h, 2.1 d."""
    if seconds is None:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"


def dfg_dot(
    dfg: list[dict[str, Any]],
    activities: dict[str, int],
    starts: dict[str, int],
    ends: dict[str, int],
    *,
    metric: Metric = "frequency",
) -> str:
    """A DOT graph of the directly-follows graph."""
    top: int = max([r["count"] for r in dfg] + [max(starts.values(), default=1), 1])
    lines = [
        "digraph process {",
        '  rankdir=TB; bgcolor="white"; node [shape=box, style="rounded,filled", '
        'fontname="Helvetica", fillcolor="#e3f2fd", color="#1565c0"]; '
        'edge [fontname="Helvetica", fontsize=10, color="#546e7a"];',
        '  "__start" [label="", shape=circle, width=0.25, fillcolor="#2e7d32", color="#2e7d32"];',
        '  "__end" [label="", shape=doublecircle, width=0.2, fillcolor="#c62828", color="#c62828"];',
    ]
    for name, n in sorted(activities.items()):
        label = _q(name + "\n" + f"{n:,}")
        lines.append(f"  {_q(name)} [label={label}];")

    def width(count: int) -> float:
        return float(round(1 + 6 * count / top, 2))

    for name, n in sorted(starts.items()):
        lines.append(
            f'  "__start" -> {_q(name)} [label={_q(f"{n:,}")}, penwidth={width(n)}, style=dashed];'
        )
    for name, n in sorted(ends.items()):
        lines.append(
            f'  {_q(name)} -> "__end" [label={_q(f"{n:,}")}, penwidth={width(n)}, style=dashed];'
        )
    for r in dfg:
        label = f"{r['count']:,}" if metric == "frequency" else human_duration(r["mean_s"])
        lines.append(
            f"  {_q(r['source'])} -> {_q(r['target'])} [label={_q(label)}, penwidth={width(r['count'])}];"
        )
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(dot: str, *, timeout_s: float = 60.0) -> str:
    """Run Graphviz's ``dot`` on a DOT text and return the SVG."""
    exe = shutil.which("dot")
    if exe is None:
        raise PilotlineError(
            "Drawing process maps needs Graphviz: install it with 'sudo apt-get install graphviz'"
        )
    try:
        done = subprocess.run(
            [exe, "-Tsvg"],
            input=dot,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise PilotlineError(
            f"Graphviz took longer than {timeout_s:g} s; filter the log first"
        ) from None
    if done.returncode != 0:
        raise PilotlineError(f"Graphviz could not draw the map: {done.stderr.strip()}")
    return done.stdout
