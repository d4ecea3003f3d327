"""The pilot record: one small change, pre-registered, written as a TOML file people can read.

See ``docs/pilots.md`` for every field; ``pilotline pilot new`` writes a commented example.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from pilotline.errors import InputError

Design = Literal["before_after", "control", "switchback", "stepped"]
Unit = Literal["shift", "day", "week", "month"]
#: A rhythm to allow for: one term per weekday, a smooth weekly rhythm (two sine/cosine pairs),
#: or a smooth yearly one (``yearly_harmonics`` pairs).
Season = Literal["weekday", "harmonic", "yearly"]

#: Money defaults: periods of each unit in a month (a shift has no default: say how many).
PERIODS_PER_MONTH = {"day": 21.0, "week": 52 / 12, "month": 1.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Window(_Model):
    start: dt.date
    end: dt.date = Field(description="exclusive")

    @model_validator(mode="after")
    def _order(self) -> Window:
        if self.end <= self.start:
            raise ValueError(f"the window ends ({self.end}) on or before it starts ({self.start})")
        return self

    def days(self) -> int:
        return (self.end - self.start).days


class Metric(_Model):
    """A KPI from the measure module for some machines, or a series from a CSV file."""

    kpi: str | None = Field(None, description="a KPI key such as oee, availability, scrap_ratio")
    machines: list[str] = Field(default_factory=list)
    file: Path | None = None
    column: str | None = None
    date_column: str = "date"
    exposure_column: str | None = Field(
        None,
        description="for counts (defects, stoppages): the column with the exposure (parts, hours)",
    )
    direction: Literal["increase", "decrease"] = "increase"
    name: str | None = None

    @model_validator(mode="after")
    def _source(self) -> Metric:
        if (self.kpi is None) == (self.file is None):
            raise ValueError("a metric needs either kpi (with machines) or file (with column)")
        if self.file is not None and not self.column:
            raise ValueError("a metric from a file needs column")
        if self.kpi is not None and self.exposure_column:
            raise ValueError("exposure_column is for a metric from a file (counts beside exposure)")
        return self

    @property
    def label(self) -> str:
        return self.name or self.kpi or self.column or "metric"


class Switchback(_Model):
    """When the change was on, in a switchback: explicit dates, or alternating periods."""

    on: list[dt.date] = Field(
        default_factory=list, description="periods (their dates) with the change on"
    )
    alternate: bool = Field(False, description="on, off, on, … from the pilot's first period")

    @model_validator(mode="after")
    def _one(self) -> Switchback:
        if bool(self.on) == self.alternate:
            raise ValueError(
                "give either the list of dates with the change on, or alternate = true"
            )
        return self


class Step(_Model):
    """One machine's start in a stepped roll-out."""

    machine: str
    start: dt.date


class Money(_Model):
    currency: str = "GBP"
    one_off: float = Field(0, ge=0, description="one-off cost of the change")
    running_per_month: float = Field(0, ge=0)
    value_per_unit: float = Field(
        description="value of one unit of the metric, per period (e.g. £ per OEE point per day)"
    )
    periods_per_month: float | None = Field(
        None,
        gt=0,
        description="periods (days, shifts) in a month; by default 21 days, 52/12 weeks or 1 month",
    )
    horizon_months: int = Field(12, gt=0, description="months over which ROI is counted")


class Pilot(_Model):
    title: str
    id: str | None = Field(
        None,
        description="the name the pilot is registered under; by default its title at "
        "'pilotline pilot start'",
    )
    owner: str
    hypothesis: str = Field(description='"If we X, metric Y moves by Z, because …"')
    metric: Metric
    target_effect: float | None = Field(None, description="the change hoped for, in metric units")
    guardrails: list[Metric] = Field(default_factory=list)
    unit: Unit = "day"
    design: Design = "before_after"
    control: Metric | None = None
    switchback: Switchback | None = None
    stepped: list[Step] = Field(
        default_factory=list, description="stepped roll-out: when each machine started"
    )
    baseline: Window
    pilot: Window
    review_date: dt.date
    money: Money | None = None
    people: list[str] = Field(default_factory=list)
    background: str = ""
    countermeasure: str = ""
    seasonality: tuple[Season, ...] = Field(
        (),
        description='"none", "weekday", "harmonic" (weekly), "yearly", or a list such as '
        '["weekday", "yearly"]',
    )
    yearly_harmonics: int = Field(
        2, ge=1, le=4, description='sine/cosine pairs for seasonality "yearly"'
    )
    its_model: Literal["level", "level_and_slope"] = Field(
        "level",
        description="interrupted time series: a level change, or a level and a slope change",
    )

    @field_validator("seasonality", mode="before")
    @classmethod
    def _seasons(cls, v: object) -> object:
        if v == "none" or v == ["none"]:
            return ()
        return (v,) if isinstance(v, str) else v

    @model_validator(mode="after")
    def _check(self) -> Pilot:
        weekly = [s for s in self.seasonality if s in ("weekday", "harmonic")]
        if len(weekly) > 1 or len(set(self.seasonality)) < len(self.seasonality):
            raise ValueError(
                "seasonality: give each rhythm once, and either weekday or harmonic (both are "
                "the weekly rhythm)"
            )
        if weekly and self.unit in ("week", "month"):
            raise ValueError(
                f"seasonality {weekly[0]!r} is a weekly rhythm; a {self.unit} has none "
                '(use "yearly" or "none")'
            )
        if self.metric.exposure_column and self.design in ("control", "stepped"):
            raise ValueError(
                f"design {self.design!r} is not available for counts with an exposure yet; "
                "use before_after or switchback"
            )
        if self.money and self.money.periods_per_month is None and self.unit == "shift":
            raise ValueError(
                "money.periods_per_month: say how many shifts make a month (e.g. 42 for two "
                "shifts a day on 21 days)"
            )
        if self.baseline.end > self.pilot.start:
            raise ValueError(
                f"the baseline ({self.baseline.start} to {self.baseline.end}) overlaps the pilot "
                f"(from {self.pilot.start}); the baseline must end before the pilot starts"
            )
        if self.design == "control" and self.control is None:
            raise ValueError("design 'control' needs a [control] metric (the comparison line)")
        if self.design == "stepped":
            if len(self.stepped) < 2:
                raise ValueError(
                    "design 'stepped' needs at least two [[stepped]] machines with their start dates"
                )
            if self.metric.kpi is None:
                raise ValueError("design 'stepped' needs a KPI metric (it is computed per machine)")
            for step in self.stepped:
                if not self.pilot.start <= step.start < self.pilot.end:
                    raise ValueError(
                        f"{step.machine} starts on {step.start}, outside the pilot window"
                    )
        if self.design == "switchback" and self.switchback is None:
            raise ValueError(
                "design 'switchback' needs a [switchback] schedule (on = [dates] or alternate = true)"
            )
        if self.review_date < self.pilot.start:
            raise ValueError("the review date is before the pilot starts")
        return self

    @property
    def periods_per_month(self) -> float:
        """How many of the pilot's units make a month, for the money."""
        given = self.money.periods_per_month if self.money else None
        return given if given is not None else PERIODS_PER_MONTH.get(self.unit, 21.0)

    @property
    def registered_as(self) -> str:
        """The name its versions and decisions are kept under: ``id``, or else the title."""
        return self.id or self.title

    def frozen_fields(self) -> str:
        """What may not change silently once the pilot has started: every field but those in
        :data:`NOT_FROZEN` (a new field is frozen unless it is named there), as the values in
        effect, so that a default spelled out or left out is the same setting."""
        frozen = {k: getattr(self, k) for k in type(self).model_fields if k not in NOT_FROZEN}
        plain = {k: _plain(v) for k, v in frozen.items()}
        return json.dumps(_effective(plain, self), sort_keys=True, default=str)

    def fingerprint(self) -> str:
        return hashlib.sha256(self.frozen_fields().encode()).hexdigest()[:12]

    def legacy_fingerprint(self) -> str:
        """The fingerprint earlier versions of Pilotline recorded, of the hypothesis, metrics,
        target and design only: a pilot started then is recognised, and told what was never
        frozen."""
        frozen = {
            k: getattr(self, k)
            for k in ("hypothesis", "metric", "guardrails", "target_effect", "design")
        }
        text = json.dumps({k: _plain(v) for k, v in frozen.items()}, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:12]


#: The fields a change to which does not move the goalposts, and why; every other field of a
#: pilot (its hypothesis, metrics, windows, unit, design, seasonality, model, review date and
#: money) is in the fingerprint that ``pilot start`` freezes.
NOT_FROZEN = {
    "title": "the pilot's name; versions are kept under its id (by default the title it was "
    "started with)",
    "id": "the name the versions are kept under; does not change an estimate",
    "owner": "who runs it; does not change an estimate",
    "people": "who takes part; does not change an estimate",
    "background": "the A3's narrative; does not change an estimate",
    "countermeasure": "the A3's narrative; does not change an estimate",
}


def _effective(frozen: dict[str, Any], pilot: Pilot) -> dict[str, Any]:
    """The frozen settings as they take effect: money's periods per month resolved from the unit,
    each metric's name as it is shown, the seasonal rhythms in one order."""
    out = dict(frozen)
    if isinstance(out.get("money"), dict):
        out["money"] = out["money"] | {"periods_per_month": pilot.periods_per_month}
    for key in ("metric", "control"):
        if isinstance(out.get(key), dict):
            out[key] = _metric(out[key])
    if isinstance(out.get("guardrails"), list):
        out["guardrails"] = [_metric(g) if isinstance(g, dict) else g for g in out["guardrails"]]
    if isinstance(out.get("seasonality"), list):
        out["seasonality"] = sorted(out["seasonality"])
    return out


def _metric(m: dict[str, Any]) -> dict[str, Any]:
    machines = m.get("machines")
    return m | {
        "name": m.get("name") or m.get("kpi") or m.get("column") or "metric",
        "machines": sorted(machines) if isinstance(machines, list) else machines,
    }


def settings_in_effect(frozen: str) -> dict[str, Any] | None:
    """A recorded version's frozen settings (its JSON) as this Pilotline reads them: fields added
    since filled with their defaults and defaults resolved as :meth:`Pilot.frozen_fields` does, so
    that a version recorded by an earlier Pilotline compares fairly; ``None`` if they no longer
    make a valid pilot (a version recorded by the first Pilotline froze only part)."""
    try:
        raw = json.loads(frozen)
    except ValueError:
        return None
    if not isinstance(raw, dict):
        return None
    raw = {k: v for k, v in raw.items() if not k.startswith("_")}  # kept data, not settings
    try:
        pilot = Pilot.model_validate(raw | {"title": "-", "owner": "-"})
    except ValidationError:
        return None
    settings: dict[str, Any] = json.loads(pilot.frozen_fields())
    return settings


def _plain(v: object) -> object:
    if isinstance(v, BaseModel):
        return v.model_dump(mode="json")
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v


def load_pilot(path: Path) -> Pilot:
    """Read and check a pilot file; errors name the field that is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such pilot file; 'pilotline pilot new FILE' writes an example"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    base = path.parent
    for section in [raw.get("metric"), raw.get("control"), *(raw.get("guardrails") or [])]:
        if isinstance(section, dict) and section.get("file"):
            section["file"] = str((base / section["file"]).resolve())
    try:
        return Pilot.model_validate(raw)
    except ValidationError as exc:
        lines = [
            f"  - {'.'.join(map(str, e['loc'])) or '(top level)'}: {e['msg']}" for e in exc.errors()
        ]
        raise InputError(f"{path} is not a valid pilot:\n" + "\n".join(lines)) from None
