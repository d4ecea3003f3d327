"""The catalogue of small steps and the skills they need, as data (``steps.toml``)."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pilotline.assess.evidence import CATEGORY_OF
from pilotline.assess.gates import gates
from pilotline.errors import InputError
from pilotline.plant.model import validation_lines

Category = Literal[
    "basics", "data", "analytics", "iot", "ai", "automation", "supply_chain", "skills", "energy"
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Skill(_Model):
    id: str
    title: str


class PilotTemplate(_Model):
    """What a step's pilot measures: a KPI of the step's machines, or a column of a CSV file."""

    kpi: str | None = None
    file: str | None = None
    column: str | None = None
    unit: Literal["shift", "day", "week", "month"] = "day"
    design: Literal["before_after", "control", "switchback", "stepped"] = "before_after"
    guardrails: list[str] = Field(default_factory=list)
    direction: Literal["increase", "decrease"] = "increase"


class Step(_Model):
    id: str
    title: str
    category: Category
    problem: str
    addresses: list[str] = Field(description="loss categories the step reduces")
    kpis: list[str]
    gates: list[str]
    cost: tuple[float, float] = Field(description="cost band, low and high, in the firm's currency")
    weeks_to_value: float = Field(gt=0, description="weeks to the first value")
    effort: str
    skills: dict[str, int]
    effect: tuple[float, float] = Field(description="share of the addressed loss removed")
    source: str
    assumption: bool
    pilot: PilotTemplate

    @model_validator(mode="after")
    def _check(self) -> Step:
        if not 0 <= self.effect[0] <= self.effect[1] <= 1:
            raise ValueError(f"effect {self.effect} must be two shares 0–1, low first")
        if not 0 <= self.cost[0] <= self.cost[1]:
            raise ValueError(f"cost {self.cost} must be low then high, not negative")
        unknown = sorted(set(self.addresses) - set(CATEGORY_OF))
        if unknown:
            raise ValueError(f"unknown loss categories {unknown}; known: {sorted(CATEGORY_OF)}")
        if any(not 0 <= v <= 4 for v in self.skills.values()):
            raise ValueError("skill levels are 0–4")
        return self

    @property
    def cost_mid(self) -> float:
        return (self.cost[0] + self.cost[1]) / 2


class Catalogue(_Model):
    skill: list[Skill]
    step: list[Step]

    @model_validator(mode="after")
    def _references(self) -> Catalogue:
        skills = {s.id for s in self.skill}
        ids = [s.id for s in self.step]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        known_gates = gates()
        for s in self.step:
            for g in s.gates:
                if g not in known_gates:
                    raise ValueError(f"step {s.id!r} names unknown gate {g!r}")
            bad = sorted(set(s.skills) - skills)
            if bad:
                raise ValueError(f"step {s.id!r} needs unknown skills {bad}")
        for gate in known_gates.values():
            if gate.opened_by not in ids:
                raise ValueError(f"gate {gate.id!r} is opened by unknown step {gate.opened_by!r}")
        return self


def parse_catalogue(text: str, *, source: str = "steps.toml") -> Catalogue:
    try:
        return Catalogue.model_validate(tomllib.loads(text))
    except ValidationError as exc:
        raise InputError(f"{source} is not a valid catalogue:\n{validation_lines(exc)}") from None


@cache
def catalogue() -> Catalogue:
    return parse_catalogue((files("pilotline.assess") / "steps.toml").read_text(encoding="utf-8"))


def steps() -> dict[str, Step]:
    return {s.id: s for s in catalogue().step}


def skills() -> dict[str, Skill]:
    return {s.id: s for s in catalogue().skill}
