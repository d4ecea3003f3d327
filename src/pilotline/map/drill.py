"""Click into a process map: the cases and variants behind one activity or one path.

A :class:`CaseIndex` holds, once per map, each case's figures and variant; :func:`drill` then
answers for an activity (the cases that do it) or a path (the cases that take that step, or start
or end there) with their number and share, the ``statistic`` of their durations, their variants
and their ids.
"""

from __future__ import annotations

import csv
import io
import statistics as stats
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pilotline.errors import InputError
from pilotline.map.render import Statistic
from pilotline.map.summary import Miner

#: How many case ids an answer lists; the CSV has them all.
CASE_IDS = 100
#: How many variants an answer lists.
VARIANTS = 10


def statistic_of(values: Iterable[float | None], statistic: Statistic) -> float | None:
    """The median, mean, longest or total of ``values`` (missing ones left out); None if none."""
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return None
    if statistic == "median":
        return float(stats.median(xs))
    if statistic == "mean":
        return stats.fmean(xs)
    if statistic == "max":
        return max(xs)
    if statistic == "total":
        return float(sum(xs))
    raise InputError(f"unknown statistic {statistic!r}; use median, mean, max or total")


@dataclass(frozen=True)
class CaseIndex:
    """A map's cases by id (``events``, ``start``, ``end``, ``duration_s``...), each case's
    variant (its place in ``variants``, 0 the most frequent) and the variants."""

    miner: Miner
    cases: dict[str, dict[str, Any]]
    variant: dict[str, int]
    variants: list[dict[str, Any]]

    @classmethod
    def of(cls, miner: Miner) -> CaseIndex:
        variants = miner.variants()
        return cls(
            miner=miner,
            cases={c["case"]: c for c in miner.cases()},
            variant=miner.variant_of_cases(variants),
            variants=variants,
        )

    def durations(self, statistic: Statistic) -> float | None:
        """The ``statistic`` of every case's duration."""
        return statistic_of((c["duration_s"] for c in self.cases.values()), statistic)


def drill(
    index: CaseIndex,
    *,
    activity: str | None = None,
    source: str | None = None,
    target: str | None = None,
    statistic: Statistic = "median",
    ids: list[str] | None = None,
) -> dict[str, Any]:
    """The cases of an activity, or of a path (``source`` → ``target``; no ``source`` for the
    start, no ``target`` for the end): how many and which share of all cases, the ``statistic``
    of their durations, their variants (most cases first) and their first :data:`CASE_IDS` ids
    (``more`` says how many are not listed). ``ids`` are those cases when already found by
    ``index.miner.cases_with``."""
    if activity is None and source is None and target is None:
        raise InputError("name an activity, or the step's activity before and after")
    if ids is None:
        ids = index.miner.cases_with(activity=activity, source=source, target=target)
    total = len(index.cases) or 1
    counts = Counter(index.variant[c] for c in ids)
    variants = [
        {
            "variant": rank + 1,
            "cases": n,
            "share": n / len(ids),
            "steps": len(index.variants[rank]["activities"]),
            "activities": index.variants[rank]["activities"],
        }
        for rank, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:VARIANTS]
    ]
    return {
        "what": "activity" if activity is not None else "path",
        "activity": activity,
        "source": source,
        "target": target,
        "cases": len(ids),
        "share": len(ids) / total,
        "statistic": statistic,
        "case_duration_s": statistic_of((index.cases[c]["duration_s"] for c in ids), statistic),
        "variant_count": len(counts),
        "variants": variants,
        "case_ids": ids[:CASE_IDS],
        "more": max(0, len(ids) - CASE_IDS),
    }


def cases_csv(index: CaseIndex, ids: Iterable[str]) -> str:
    """The cases as CSV: id, events, first and last event (UTC), duration in seconds, variant."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["case", "events", "start_utc", "end_utc", "duration_s", "variant"])
    for c in ids:
        row = index.cases[c]
        w.writerow(
            [
                cell(c),
                row["events"],
                row["start"].isoformat() if row["start"] is not None else "",
                row["end"].isoformat() if row["end"] is not None else "",
                f"{row['duration_s']:.0f}" if row["duration_s"] is not None else "",
                index.variant[c] + 1,
            ]
        )
    return out.getvalue()


def cell(text: str) -> str:
    """A text a spreadsheet will not run as a formula (``=``, ``+``, ``-``, ``@`` at the start,
    unless it is a number)."""
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        try:
            float(text)
        except ValueError:
            return "'" + text
    return text
