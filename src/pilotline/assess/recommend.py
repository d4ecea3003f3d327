"""Recommendations: the catalogue's steps ranked for this firm, and the one next small step with
a pilot file filled from its template and the firm's data.

Value a year = the measured loss a step addresses (hours a year on the machines its gates allow,
× the value of an hour) × its typical effect range. Open steps are ranked by their first-year net
value: the middle of that range × (52 − weeks to first value) ÷ 52, less the middle of the cost
band; steps with no measured loss to value follow, cheapest and quickest first. Blocked steps
carry the gates that failed and what opens them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pilotline import clock
from pilotline.assess.answers import Answers
from pilotline.assess.catalogue import Step, skills, steps
from pilotline.assess.evidence import CATEGORY_OF, LOSS_COLUMNS, Evidence
from pilotline.assess.gates import check, gates
from pilotline.errors import InputError
from pilotline.plant.model import Plant
from pilotline.store import Store

#: A skill holds a step back when the firm's best is more than this many levels short of it.
SKILL_SLACK = 1


def _weeks(n: float) -> str:
    return f"{n:g} week" + ("" if n == 1 else "s")


def _money(x: float, currency: str) -> str:
    symbol = {"GBP": "£", "EUR": "€", "USD": "$"}.get(currency, f"{currency} ")
    return f"{symbol}{x:,.0f}"


@dataclass
class Recommendation:
    step: Step
    rank: int | None
    blocked_by: list[str]
    machines: list[str]
    hours_per_year: float
    low: float
    high: float
    why: str
    skill_gaps: dict[str, int]

    @property
    def net(self) -> float:
        mid = (self.low + self.high) / 2
        return mid * max(0.0, 52 - self.step.weeks_to_value) / 52 - self.step.cost_mid

    def as_json(self) -> dict[str, Any]:
        s = self.step
        return {
            "step": s.id,
            "title": s.title,
            "category": s.category,
            "addresses": s.addresses,
            "rank": self.rank,
            "blocked_by": self.blocked_by,
            "value_per_year": {"low": round(self.low, 2), "high": round(self.high, 2)},
            "why": self.why,
            "machines": self.machines,
            "cost": {"low": s.cost[0], "high": s.cost[1]},
            "weeks_to_value": s.weeks_to_value,
            "effect": {
                "low": s.effect[0],
                "high": s.effect[1],
                "source": s.source,
                "assumption": s.assumption,
            },
            "skill_gaps": self.skill_gaps,
        }


def _addressed_s(step: Step, evidence: Evidence, machines: list[str]) -> tuple[float, list[str]]:
    cats = sorted({CATEGORY_OF[c] for c in step.addresses})
    chosen = [m for m in evidence.machines if m.id in set(machines)]
    return sum(m.loss_s(c) for m in chosen for c in cats), cats


def recommend(
    evidence: Evidence,
    answers: Answers | None = None,
    *,
    matrix: dict[str, dict[str, int]] | None = None,
) -> list[Recommendation]:
    """Every step, ranked where open (1 = the next small step), blocked ones after."""
    out: list[Recommendation] = []
    for step in steps().values():
        opening = check(step.gates, evidence, answers)
        best = {
            sk: max((levels.get(sk, 0) for levels in (matrix or {}).values()), default=0)
            for sk in step.skills
        }
        gaps = {sk: need for sk, need in step.skills.items() if matrix and best[sk] < need}
        held = [f"skill:{sk}" for sk, need in gaps.items() if best[sk] < need - SKILL_SLACK]
        seconds, _cats = _addressed_s(step, evidence, opening.machines)
        hours = evidence.per_year(seconds)
        money = hours * evidence.value_per_hour
        low, high = money * step.effect[0], money * step.effect[1]
        blocked = opening.failed + held
        out.append(
            Recommendation(step, None, blocked, opening.machines, hours, low, high, "", gaps)
        )
    open_ = [r for r in out if not r.blocked_by]
    valued = sorted(
        (r for r in open_ if r.high > 0),
        key=lambda r: (-r.net, r.step.cost_mid, r.step.weeks_to_value, r.step.id),
    )
    rest = sorted(
        (r for r in open_ if r.high <= 0),
        key=lambda r: (r.step.cost_mid, r.step.weeks_to_value, r.step.id),
    )
    for n, r in enumerate([*valued, *rest], start=1):
        r.rank = n
    for r in out:
        r.why = _why(r, evidence)
    ranked = sorted((r for r in out if r.rank is not None), key=lambda r: r.rank or 0)
    return ranked + [r for r in out if r.rank is None]


def _why(r: Recommendation, evidence: Evidence) -> str:
    s, cur = r.step, evidence.currency
    cost = f"{_money(s.cost[0], cur)}–{_money(s.cost[1], cur)}"
    if r.blocked_by:
        known = gates()
        first = r.blocked_by[0]
        if first.startswith("skill:"):
            sk = first.split(":", 1)[1]
            return (
                f"Held back: nobody in the firm is near the level {s.skills[sk]} it needs in "
                f"{skills()[sk].title}; train someone first (see the skills plan)."
            )
        opener = steps()[known[first].opened_by].title
        return f"Blocked: {known[first].reason} First: {opener.lower()}."
    if r.high <= 0:
        return (
            f"Ranked {r.rank}: no measured loss to value it by ({s.problem.rstrip('.').lower()}); "
            f"it costs {cost} and shows first value in {_weeks(s.weeks_to_value)}."
        )
    labels = ", ".join(
        LOSS_COLUMNS[c][1].lower() for c in sorted({CATEGORY_OF[a] for a in s.addresses})
    )
    where = (
        f"{len(r.machines)} machines"
        if len(r.machines) > 3
        else ", ".join(r.machines) or "the plant"
    )
    return (
        f"Ranked {r.rank}: {r.hours_per_year:,.0f} h a year of {labels} on {where} "
        f"({_money(r.hours_per_year * evidence.value_per_hour, cur)}); a {s.effect[0]:.0%}–"
        f"{s.effect[1]:.0%} cut is worth {_money(r.low, cur)}–{_money(r.high, cur)} a year, "
        f"against {cost} and first value in {_weeks(s.weeks_to_value)}."
    )


# -- the next small step: a pilot file ---------------------------------------------------------
RATIO_POINTS = {"oee", "availability", "performance", "quality", "scrap_ratio", "setup_rate"}


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pilot_text(r: Recommendation, evidence: Evidence, plant: Plant | None) -> str:
    """A pilot file (TOML) for the step, filled from its template and the firm's data: the
    machine with the largest addressed loss, the last four weeks as baseline, the metric, the
    target (the middle of the typical effect on that machine) and the value of one unit."""
    s, t = r.step, r.step.pilot
    today = clock.now().astimezone(plant.tz if plant else dt.UTC).date()
    cats = sorted({CATEGORY_OF[c] for c in s.addresses})
    chosen = [m for m in evidence.machines if m.id in set(r.machines)]
    machine = max(chosen, key=lambda m: (sum(m.loss_s(c) for c in cats), m.id), default=None)
    days = {"shift": 28, "day": 28, "week": 84, "month": 365}[t.unit]
    base_start, base_end = today - dt.timedelta(days=days), today
    pilot_start = today + dt.timedelta(days=7)
    pilot_end = pilot_start + dt.timedelta(days=days)
    mid = (s.effect[0] + s.effect[1]) / 2
    lines = [
        "# A pilot for the next small step, filled by 'pilotline assess recommend'.",
        "# Check every line, then: pilotline pilot plan THIS_FILE; pilotline pilot start THIS_FILE",
        f"title = {_q(s.title + (f' on {machine.label}' if machine and t.kpi else ''))}",
        'owner = "Operations manager"',
    ]
    target: float | None = None
    value_per_unit = 0.0
    periods = None
    if t.kpi and machine is not None:
        planned = machine.sums.get("planned_s", 0.0)
        share = sum(machine.loss_s(c) for c in cats) / planned if planned else 0.0
        if t.kpi in RATIO_POINTS:
            target = round(100 * share * mid, 2)
        per_day_h = planned / 3600 / evidence.covered_days
        shifts_per_day = machine.shifts_with_data / evidence.covered_days
        per_period_h = {
            "shift": per_day_h / max(shifts_per_day, 1e-9),
            "day": per_day_h,
            "week": per_day_h * 7,
            "month": per_day_h * 365 / 12,
        }[t.unit]
        value_per_unit = round(per_period_h * evidence.value_per_hour / 100, 2)
        if t.unit == "shift":
            periods = round(shifts_per_day * 365 / 12, 1)
        verb = "falls" if t.direction == "decrease" else "rises"
        amount = f" by {target:g} points" if target else ""
        lines.append(
            "hypothesis = "
            + _q(
                f"If we introduce {s.title[0].lower() + s.title[1:]}, {t.kpi} on {machine.label} "
                f"{verb}{amount}, because it addresses: {s.problem.rstrip('.').lower()}."
            )
        )
    else:
        lines.append(
            "hypothesis = "
            + _q(
                f"If we introduce {s.title[0].lower() + s.title[1:]}, {t.column} improves, "
                f"because it addresses: {s.problem.rstrip('.').lower()}."
            )
        )
    lines += [
        f"background = {_q(r.why)}",
        f"countermeasure = {_q(s.effort)}",
        f'unit = "{t.unit}"',
        f'design = "{t.design}"',
    ]
    if target:
        lines.append(f"target_effect = {target}")
    lines += [f"review_date = {pilot_end + dt.timedelta(days=7)}", "", "[baseline]"]
    lines += [f"start = {base_start}", f"end = {base_end}", "", "[pilot]"]
    lines += [f"start = {pilot_start}", f"end = {pilot_end}", "", "[metric]"]
    if t.kpi and machine is not None:
        lines += [f'kpi = "{t.kpi}"', f'machines = ["{machine.id}"]']
    else:
        lines += [f"file = {_q(t.file or 'metric.csv')}", f"column = {_q(t.column or 'value')}"]
        lines.append("# fill this CSV with a date column and one row per " + t.unit)
    lines.append(f'direction = "{t.direction}"')
    if t.kpi and machine is not None:
        for g in t.guardrails:
            lines += ["", "[[guardrails]]", f'kpi = "{g}"', f'machines = ["{machine.id}"]']
    if value_per_unit > 0:
        lines += ["", "[money]", f'currency = "{evidence.currency}"', f"one_off = {s.cost_mid:g}"]
        lines.append(f"value_per_unit = {value_per_unit:g}   # one point of {t.kpi} per {t.unit}")
        if periods:
            lines.append(f"periods_per_month = {periods:g}")
    return "\n".join(lines) + "\n"


def plan_for(text: str, store: Store, plant: Plant | None) -> dict[str, Any]:
    """The planner's minimum detectable effect and the periods needed for the pilot file, or
    the reason it cannot plan yet."""
    import tomllib

    from pilotline.pilot import Sources, plan
    from pilotline.pilot.spec import Pilot

    pilot = Pilot.model_validate(tomllib.loads(text))
    if pilot.metric.kpi is None:
        return {"verdict": f"Fill {pilot.metric.file} first; then 'pilotline pilot plan'."}
    try:
        return plan(pilot, Sources(store, plant))
    except InputError as exc:
        return {"verdict": f"Cannot plan yet: {exc}"}
