"""Conformance to an intended routing: which cases follow it, and where and how the rest deviate.

A routing model says which activities may start and end a case, which activity may directly
follow which, and which activities every case must contain. Deviations, by kind:

* **unexpected step** – an activity the routing does not know;
* **repeated step** – a step done again (a loop back) where the routing does not allow it;
* **out of sequence** – a known step after one it may not follow;
* **missing step** – a case that does not start or end as allowed, or lacks a required step.

Unexpected steps are passed over when judging the order of the known ones. Each deviation's time
impact is the time from the previous event to the deviating one. Deviations on the allow-list are
accepted and not counted. Fitness per case = 1 − deviations ÷ checks (one check per event, one
for the end and one per required step).
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pilotline.errors import InputError
from pilotline.map.analyses import _order, _seconds

START, END = "▶", "■"
KINDS = ("unexpected step", "repeated step", "out of sequence", "missing step")


class Routing(BaseModel):
    """The intended routing, usually written as a TOML file (see docs/map.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: list[str] = Field(min_length=1)
    end: list[str] = Field(min_length=1)
    transitions: dict[str, list[str]] = Field(
        description="activity → activities that may directly follow it"
    )
    required: list[str] = Field(default_factory=list)
    accepted: list[str] = Field(
        default_factory=list,
        description="accepted deviations: 'A -> B' transitions or activity names",
    )

    @model_validator(mode="after")
    def _check(self) -> Routing:
        for item in self.accepted:
            if "->" in item and len([p for p in item.split("->") if p.strip()]) != 2:
                raise ValueError(f"accepted deviation {item!r}: write a transition as 'A -> B'")
        return self

    @property
    def activities(self) -> set[str]:
        acts = set(self.start) | set(self.end) | set(self.transitions) | set(self.required)
        for targets in self.transitions.values():
            acts |= set(targets)
        return acts

    def allowed_pairs(self) -> set[tuple[str, str]]:
        pairs = {(START, a) for a in self.start} | {(a, END) for a in self.end}
        pairs |= {(a, b) for a, targets in self.transitions.items() for b in targets}
        for item in self.accepted:
            if "->" in item:
                a, b = (x.strip() for x in item.split("->"))
                pairs.add((a, b))
        return pairs

    @property
    def accepted_activities(self) -> set[str]:
        return {x.strip() for x in self.accepted if "->" not in x}


def load_routing(path: Path) -> Routing:
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such routing model") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    try:
        return Routing.model_validate(raw)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise InputError(f"{path} is not a valid routing model:\n" + "\n".join(lines)) from None


def deviations(t: Any, routing: Routing) -> Any:
    """One row per deviation: case, kind, the step and where it happened, time impact."""
    known = routing.activities - routing.accepted_activities  # accepted extras are passed over
    tolerated = routing.activities | routing.accepted_activities
    pairs = routing.allowed_pairs()
    allowed = ibis.memtable(
        pa.table(
            {
                "a_src": [p[0] for p in pairs],
                "a_dst": [p[1] for p in pairs],
                "ok": [True] * len(pairs),
            }
        )
    )
    order = _order(t)
    w_case = ibis.window(group_by=t.case, order_by=order)
    t = t.mutate(gap_s=_seconds(t.ts) - _seconds(t.ts.lag().over(w_case)))
    unexpected = t.filter(~t.activity.isin(sorted(tolerated))).select(
        case=t.case,
        kind=ibis.literal("unexpected step"),
        activity=t.activity,
        after=ibis.literal(None, "string"),
        impact_s=t.gap_s.fill_null(0.0),
    )
    k = t.filter(t.activity.isin(sorted(known)))
    wk = ibis.window(group_by=k.case, order_by=_order(k))
    k = k.mutate(
        src=k.activity.lag().over(wk).fill_null(START),
        nxt=k.activity.lead().over(wk),
        seen=ibis.row_number().over(ibis.window(group_by=[k.case, k.activity], order_by=_order(k))),
    )
    j = k.left_join(allowed, [k.src == allowed.a_src, k.activity == allowed.a_dst])
    steps = j.filter(j.ok.isnull())
    steps = steps.select(
        case=steps.case,
        kind=ibis.cases(
            (steps.src == START, "missing step"),
            (steps.seen > 0, "repeated step"),
            else_="out of sequence",
        ),
        activity=steps.activity,
        after=steps.src,
        impact_s=steps.gap_s.fill_null(0.0),
    )
    last = k.filter(k.nxt.isnull())
    j_end = last.left_join(allowed, [last.activity == allowed.a_src, allowed.a_dst == END])
    ends = j_end.filter(j_end.ok.isnull()).select(
        case=j_end.case,
        kind=ibis.literal("missing step"),
        activity=ibis.literal(END),
        after=j_end.activity,
        impact_s=ibis.literal(0.0),
    )
    parts = [unexpected, steps, ends]
    if routing.required:
        cases = t.select("case").distinct()
        req = ibis.memtable(pa.table({"r_activity": routing.required}))
        expected = cases.cross_join(req)
        present = t.select(p_case=t.case, p_activity=t.activity).distinct()
        absent = expected.anti_join(
            present, [expected.case == present.p_case, expected.r_activity == present.p_activity]
        )
        parts.append(
            absent.select(
                case=absent.case,
                kind=ibis.literal("missing step"),
                activity=absent.r_activity,
                after=ibis.literal(None, "string"),
                impact_s=ibis.literal(0.0),
            )
        )
    return ibis.union(*parts)


def case_fitness(t: Any, devs: Any, routing: Routing) -> Any:
    """Per case: events, deviations, fitness and the time spent on deviations."""
    per_case = t.group_by("case").aggregate(events=t.count())
    d = devs.group_by(devs.case.name("d_case")).aggregate(
        deviations=devs.count(), impact_s=devs.impact_s.sum()
    )
    j = per_case.left_join(d, per_case.case == d.d_case)
    n_dev = j.deviations.fill_null(0)
    checks = j.events + 1 + len(routing.required)
    return j.select(
        "case",
        "events",
        deviations=n_dev,
        impact_s=j.impact_s.fill_null(0.0),
        fitness=ibis.greatest(1.0 - n_dev / checks, 0.0),
    ).order_by(["fitness", "case"])


#: What went wrong, in one word per deviation kind (the failing-cases list and its CSV).
WHAT_WENT_WRONG = {
    "unexpected step": "extra",
    "repeated step": "extra",
    "out of sequence": "wrong order",
    "missing step": "missing",
}


def describe(kind: str, activity: str, after: str | None) -> dict[str, str]:
    """One deviation in plain words: ``what`` (missing, extra, wrong order) and ``detail``."""
    if kind == "unexpected step":
        detail = f"{activity}: a step the routing does not have"
    elif kind == "repeated step":
        detail = f"{activity} again, after {after}"
    elif kind == "out of sequence":
        detail = f"{activity} after {after}, which it may not follow"
    elif activity == END:
        detail = f"the end: the case stops after {after}, which may not end a case"
    elif after == START:
        detail = f"the start: the case begins with {activity}, which may not start a case"
    else:
        detail = f"{activity}, a required step"
    return {"what": WHAT_WENT_WRONG[kind], "detail": detail}
