"""Process maps drawn as SVG with Graphviz (Debian's ``graphviz`` package provides ``dot``).

Nodes are activities with their event counts; edges are directly-follows steps labelled with a
frequency or a time, and drawn thicker the more cases take them.
"""

from __future__ import annotations

import shutil
import subprocess
from typing import Any, Literal
from urllib.parse import quote

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


#: The statistics a time on the map can be, and how the map names them. Medians by default:
#: a few cases that waited for weeks do not make every step look slow.
Statistic = Literal["median", "mean", "max", "total"]
STATISTICS: dict[str, str] = {
    "median": "median",
    "mean": "mean",
    "max": "longest",
    "total": "total",
}


def element_id(source: str | None, target: str | None = None, *, edge: bool = False) -> str:
    """The SVG id of an activity (``a:NAME``) or a path (``e:SOURCE:TARGET``), names
    percent-encoded; the start and the end are empty names. The page's script reads them."""
    if not edge:
        return "a:" + quote(source or "", safe="")
    return "e:" + quote(source or "", safe="") + ":" + quote(target or "", safe="")


def dfg_dot(
    dfg: list[dict[str, Any]],
    activities: dict[str, int],
    starts: dict[str, int],
    ends: dict[str, int],
    *,
    metric: Metric = "frequency",
    statistic: Statistic = "median",
) -> str:
    """A DOT graph of the directly-follows graph, with every start and end step."""
    paths = [dict(r) for r in dfg]
    paths += [{"source": None, "target": a, "count": n} for a, n in sorted(starts.items())]
    paths += [{"source": a, "target": None, "count": n} for a, n in sorted(ends.items())]
    return map_dot(paths, activities, metric=metric, statistic=statistic)


def map_dot(
    paths: list[dict[str, Any]],
    activities: dict[str, int],
    *,
    metric: Metric = "frequency",
    statistic: Statistic = "median",
) -> str:
    """A DOT graph of a process map: activities with their events, paths (``source`` ``None``
    from the start, ``target`` ``None`` to the end) labelled with how often they are taken or
    the ``statistic`` of the time between their events, thicker the more often. Every node and
    edge has an :func:`element_id`; labels are 14 pt (activities) and 12 pt (paths)."""
    top: int = max([r["count"] for r in paths] + [1])
    shown = STATISTICS[statistic]
    legend = (
        f"paths: the {shown} time between the steps"
        if metric == "time"
        else "paths: how many times the step was taken"
    )
    lines = [
        "digraph process {",
        f'  label={_q(legend)}; labelloc=t; labeljust=l; fontname="Helvetica"; fontsize=12; '
        "ranksep=0.4; nodesep=0.35;",
        '  rankdir=TB; bgcolor="white"; node [shape=box, style="rounded,filled", '
        'fontname="Helvetica", fontsize=14, fillcolor="#e3f2fd", color="#1565c0"]; '
        'edge [fontname="Helvetica", fontsize=12, color="#546e7a", fontcolor="#263238"];',
        f'  "__start" [id="{element_id(None)}:start", label="", shape=circle, width=0.3, '
        'fillcolor="#2e7d32", color="#2e7d32", tooltip="start"];',
        f'  "__end" [id="{element_id(None)}:end", label="", shape=doublecircle, width=0.22, '
        'fillcolor="#c62828", color="#c62828", tooltip="end"];',
    ]
    for name, n in sorted(activities.items()):
        label = _q(name + "\n" + f"{n:,}")
        lines.append(f'  {_q(name)} [id="{element_id(name)}", label={label}];')

    def width(count: int) -> float:
        return float(round(1 + 6 * count / top, 2))

    for r in paths:
        src, dst = r["source"], r["target"]
        ends = src is None or dst is None
        if metric == "frequency" or ends:
            label = f"{r['count']:,}"
        else:
            label = human_duration(r.get(f"{statistic}_s"))
        title = f"{src or 'start'} → {dst or 'end'}: {r['count']:,} times"
        if not ends and r.get(f"{statistic}_s") is not None:
            title += f", {shown} {human_duration(r[f'{statistic}_s'])}"
        style = ", style=dashed" if ends else ""
        lines.append(
            f"  {_q('__start' if src is None else src)} -> {_q('__end' if dst is None else dst)} "
            f'[id="{element_id(src, dst, edge=True)}", label={_q(label)}, '
            f"tooltip={_q(title)}, penwidth={width(r['count'])}{style}];"
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
