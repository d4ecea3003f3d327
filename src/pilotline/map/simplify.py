"""A readable process map, as Disco draws one: the most frequent activities and paths, chosen so
the map fits on a screen, and never an activity floating on its own.

Paths are directly-follows steps (``source``, ``target``, ``count``), and the ways into and out
of the case: from the start to each first activity and from each last activity to the end
(``source`` or ``target`` is ``None`` there). These functions work on the few rows of a map, in Python.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

#: The default map has at most this many activities; more are not legible on one screen.
MAX_ACTIVITIES = 12
#: No map draws more activities than this, whatever the slider says: a map of more is not read,
#: and Graphviz spent a minute on each map of 10,000 activities before giving up.
MAX_DRAWN = 100
#: ... and covers at least this share of the events when fewer suffice.
EVENT_COVERAGE = 0.8
#: ... and at most this many paths per activity shown (start and end steps included).
PATHS_PER_ACTIVITY = 2.0
#: The path-slider settings tried for the default map, most detailed first.
PATH_STEPS = (100, 95, 90, 85, 80, 75, 70, 65, 60, 55, 50, 45, 40, 35, 30, 25, 20, 15, 10, 5, 1)


def steps(
    dfg: Iterable[dict[str, Any]], starts: dict[str, int], ends: dict[str, int]
) -> list[dict[str, Any]]:
    """Every path of the map, the busiest first: the directly-follows steps, and the steps in
    in from the start and out to the end (``source``/``target`` ``None`` there)."""
    rows = [dict(r) for r in dfg]
    rows += [{"source": None, "target": a, "count": n} for a, n in starts.items()]
    rows += [{"source": a, "target": None, "count": n} for a, n in ends.items()]
    return sorted(rows, key=_rank)


def _rank(r: dict[str, Any]) -> tuple[int, str, str]:
    return (-r["count"], r["source"] or "", r["target"] or "")


def keep_paths(
    paths: list[dict[str, Any]], share: float, activities: Iterable[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The busiest paths covering ``share`` of all steps, then, for every activity that is not
    reachable from the start or cannot reach the end with those, the busiest path that joins it
    (an activity with only a loop onto itself would float otherwise). Returns the paths kept and
    a note for every activity left out because no path joins it (none, on a map made from a
    log: every activity there is reached from a case's start and reaches its end)."""
    rows = sorted(paths, key=_rank)
    total = sum(r["count"] for r in rows)
    keep: list[dict[str, Any]] = []
    covered = 0
    for r in rows:
        if keep and total and covered / total >= share:
            break
        keep.append(r)
        covered += r["count"]
    nodes = set(activities)
    chosen = {(r["source"], r["target"]) for r in keep}
    notes: list[str] = []
    for forward in (True, False):
        while True:
            reached = _reached(keep, forward=forward)
            missing = nodes - reached
            if not missing:
                break
            join = _best_join(rows, reached, missing, chosen, forward=forward)
            if join is None:
                way = "from the start" if forward else "to the end"
                for a in sorted(missing):
                    notes.append(f"{a} is left out: no path leads to it {way}")
                nodes -= missing
                break
            keep.append(join)
            chosen.add((join["source"], join["target"]))
    keep = [r for r in keep if _inside(r, nodes)]
    return sorted(keep, key=_rank), notes


def _inside(r: dict[str, Any], nodes: set[str]) -> bool:
    return (r["source"] is None or r["source"] in nodes) and (
        r["target"] is None or r["target"] in nodes
    )


def _reached(keep: list[dict[str, Any]], *, forward: bool) -> set[str]:
    """The activities reached from the start (``forward``) or reaching the end along ``keep``."""
    a, b = ("source", "target") if forward else ("target", "source")
    nxt: dict[str | None, list[str | None]] = {}
    for r in keep:
        nxt.setdefault(r[a], []).append(r[b])
    seen: set[str | None] = {None}
    todo: list[str | None] = [None]
    while todo:
        for n in nxt.get(todo.pop(), []):
            if n not in seen:
                seen.add(n)
                todo.append(n)
    return {n for n in seen if n is not None}


def _best_join(
    rows: list[dict[str, Any]],
    reached: set[str],
    missing: set[str],
    chosen: set[tuple[str | None, str | None]],
    *,
    forward: bool,
) -> dict[str, Any] | None:
    """The busiest path from a reached activity (or the start) to a missing one (``forward``), or
    from a missing one to one that reaches the end (or the end)."""
    for r in rows:  # busiest first
        if (r["source"], r["target"]) in chosen:
            continue
        src, dst = r["source"], r["target"]
        if forward and (src is None or src in reached) and dst in missing:
            return r
        if not forward and (dst is None or dst in reached) and src in missing:
            return r
    return None


def kept(of: int, percent: int) -> int:
    """How many of ``of`` activities the activity slider at ``percent`` keeps: the most
    frequent ``percent`` per cent, at least one, at most :data:`MAX_DRAWN`."""
    return min(max(1, round(of * percent / 100)), MAX_DRAWN)


def percent_for(n: int, of: int) -> int:
    """The smallest activity-slider setting (per cent) that keeps ``n`` of ``of`` activities:
    the slider keeps ``max(1, round(of × percent / 100))``."""
    best = 100
    for p in range(100, 0, -1):
        kept = max(1, round(of * p / 100))
        if kept >= n:
            best = p
        else:
            break
    return best


def default_activities(counts: dict[str, int]) -> int:
    """The activity-slider setting of the default map: the most frequent activities covering
    :data:`EVENT_COVERAGE` of the events, at most :data:`MAX_ACTIVITIES` (all when there are
    no more than that)."""
    if len(counts) <= MAX_ACTIVITIES:
        return 100
    ranked = sorted(counts.values(), reverse=True)
    total = sum(ranked)
    n, covered = 0, 0
    for c in ranked:
        if n and covered >= EVENT_COVERAGE * total:
            break
        n += 1
        covered += c
    return percent_for(min(n, MAX_ACTIVITIES), len(counts))


def default_paths(paths: list[dict[str, Any]], activities: Iterable[str]) -> int:
    """The path-slider setting of the default map: the most detailed of :data:`PATH_STEPS`
    whose map has at most :data:`PATHS_PER_ACTIVITY` paths per activity."""
    nodes = list(activities)
    budget = math.ceil(PATHS_PER_ACTIVITY * max(len(nodes), 1))
    for p in PATH_STEPS:
        kept, _ = keep_paths(paths, p / 100, nodes)
        if len(kept) <= budget:
            return p
    return PATH_STEPS[-1]
