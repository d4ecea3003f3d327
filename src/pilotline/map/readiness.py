"""Automation readiness per activity: is this step stable enough to automate?

"There is no point automating a bad process: you get an automated bad process." Each activity is
scored on figures a manager can check, and gets a plain verdict with the reasons behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Criterion:
    key: str
    label: str
    limit: float
    fails_when: str  # "above" or "below"
    reason: str


#: The checks, as data. Limits are defaults a coordinator may tune; each failed check is a reason.
CRITERIA: tuple[Criterion, ...] = (
    Criterion(
        "events",
        "events of this activity in the log",
        20,
        "below",
        "only {value:.0f} events: too few to judge it, or to repay automating it",
    ),
    Criterion(
        "case_share",
        "share of cases that include it",
        0.10,
        "below",
        "too rare to repay automation (in {value:.1%} of cases)",
    ),
    Criterion(
        "rework_share",
        "share of its cases where it is repeated",
        0.10,
        "above",
        "repeated in {value:.0%} of its cases (rework)",
    ),
    Criterion(
        "main_path_share",
        "share of its events on its most common (before, after) path",
        0.7,
        "below",
        "only {value:.0%} of its events follow its usual path (the flow around it varies)",
    ),
    Criterion(
        "wait_ratio",
        "waiting before it ÷ case median duration",
        0.25,
        "above",
        "work waits {value:.2g}× a typical case's duration before it (fix the flow first)",
    ),
)


def readiness(
    context: list[dict[str, Any]],
    rework: list[dict[str, Any]],
    *,
    cases: int,
    median_case_s: float,
    limits: dict[str, float] | None = None,
) -> list[dict[str, Any]]:
    """Score and verdict per activity; ``context`` and ``rework`` come from the analyses.
    ``limits`` overrides a criterion's limit by its key (see :data:`CRITERIA`)."""
    unknown = set(limits or {}) - {c.key for c in CRITERIA}
    if unknown:
        raise ValueError(
            f"unknown readiness criteria {sorted(unknown)}; known: {[c.key for c in CRITERIA]}"
        )
    rework_by = {r["activity"]: r for r in rework}
    out = []
    for c in context:
        a = c["activity"]
        r = rework_by[a]
        figures = {
            "events": c["events"],
            "cases": c["cases"],
            "case_share": c["cases"] / cases if cases else 0.0,
            "rework_share": r["rework_cases"] / r["cases"] if r["cases"] else 0.0,
            "main_path_share": c["dominant_context_events"] / c["events"] if c["events"] else 0.0,
            "contexts": c["contexts"],
            "wait_ratio": (c["median_wait_before_s"] or 0.0) / median_case_s
            if median_case_s
            else 0.0,
            "median_wait_before_s": c["median_wait_before_s"],
            "median_wait_after_s": c["median_wait_after_s"],
            "resources": c["resources"],
            "self_loops": c["self_loops"],
        }
        reasons = []
        passed = 0
        for crit in CRITERIA:
            value = figures[crit.key]
            limit = (limits or {}).get(crit.key, crit.limit)
            failed = value > limit if crit.fails_when == "above" else value < limit
            if failed:
                reasons.append(crit.reason.format(value=value))
            else:
                passed += 1
        score = round(100 * passed / len(CRITERIA))
        verdict = "candidate for automation" if not reasons else "stabilise the process first"
        if not reasons:
            reasons.append(
                f"stable: in {figures['case_share']:.0%} of cases, repeated in "
                f"{figures['rework_share']:.0%}, {figures['main_path_share']:.0%} of its events on "
                "its usual path"
            )
        out.append(
            {"activity": a, "score": score, "verdict": verdict, "reasons": reasons, **figures}
        )
    out.sort(key=lambda x: (-x["score"], -x["events"], x["activity"]))
    return out
