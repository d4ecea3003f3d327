"""The plant model: site, lines, machines, products, shift calendars, reason codes.

It lives in ``plant.toml`` in the data directory, a file people edit by hand;
``pilotline init`` writes a commented example. Load it with :func:`load_plant`.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pilotline.errors import PlantModelError
from pilotline.plant.losses import CATEGORY_BY_KEY, DEFAULT_REASONS

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

#: The range of an ideal cycle time: from a tenth of a millisecond (10,000 parts a second) to a
#: day per part. Anything outside is a typing error, and would make every figure meaningless.
MIN_CYCLE_S, MAX_CYCLE_S = 1e-4, 86_400.0
CycleSeconds = Annotated[float, Field(ge=MIN_CYCLE_S, le=MAX_CYCLE_S)]
#: A plant model is a handful of levels deep (calendars → shifts → breaks); deeper is refused.
MAX_DEPTH = 10


class _Model(BaseModel):
    # Every number is finite: inf and nan are refused, with the field named.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _clock(value: str) -> dt.time:
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a time of day as HH:MM, got {value!r}") from None


class Break(_Model):
    """A planned break inside a shift, at a local time of day."""

    start: str
    minutes: Annotated[float, Field(gt=0, le=24 * 60)]

    @field_validator("start")
    @classmethod
    def _check_start(cls, value: str) -> str:
        _clock(value)
        return value


class Shift(_Model):
    """A shift in the weekly pattern. An end at or before the start means the next day."""

    name: str
    start: str
    end: str
    days: list[str] = Field(default_factory=lambda: list(WEEKDAYS[:5]))
    breaks: list[Break] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _check_clock(cls, value: str) -> str:
        _clock(value)
        return value

    @field_validator("days")
    @classmethod
    def _check_days(cls, value: list[str]) -> list[str]:
        days = [d.strip().lower()[:3] for d in value]
        bad = [d for d in value if d.strip().lower()[:3] not in WEEKDAYS]
        if bad:
            raise ValueError(f"unknown day(s) {bad}; use mon, tue, wed, thu, fri, sat, sun")
        return days

    @property
    def start_time(self) -> dt.time:
        return _clock(self.start)

    @property
    def end_time(self) -> dt.time:
        return _clock(self.end)


class Calendar(_Model):
    """A weekly shift pattern with exceptions (holidays: no shift starts on these dates)."""

    name: str
    shifts: list[Shift]
    holidays: list[dt.date] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_shift_names(self) -> Calendar:
        names = [s.name for s in self.shifts]
        if len(set(names)) != len(names):
            raise ValueError(f"shift names must be unique within calendar {self.name!r}: {names}")
        return self


class Machine(_Model):
    id: str
    name: str = ""
    ideal_cycle_s: CycleSeconds = Field(
        description="Ideal cycle time in seconds per part, used when the product is unknown."
    )
    calendar: str | None = None  # overrides the line's calendar

    @property
    def label(self) -> str:
        return self.name or self.id


class Line(_Model):
    name: str
    calendar: str
    machines: list[Machine]


class Product(_Model):
    id: str
    name: str = ""
    ideal_cycle_s: dict[str, CycleSeconds] = Field(
        default_factory=dict, description="Ideal cycle time per machine id, in seconds."
    )


class Site(_Model):
    name: str
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as 'Europe/London'"
            ) from None
        return value


class Company(_Model):
    """Who runs the plant: named in what is shared with partners (nameplates, AAS shells)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    street: Annotated[str, Field(max_length=200)] = ""
    postcode: Annotated[str, Field(max_length=20)] = ""
    city: Annotated[str, Field(max_length=100)] = ""
    country: str = Field("", description="ISO 3166-1 alpha-2 code, such as GB or DE.")
    email: Annotated[str, Field(max_length=200)] = ""
    phone: Annotated[str, Field(max_length=50)] = ""
    website: Annotated[str, Field(max_length=200)] = ""

    @field_validator("country")
    @classmethod
    def _check_country(cls, value: str) -> str:
        code = value.strip().upper()
        if code and not (len(code) == 2 and code.isascii() and code.isalpha()):
            raise ValueError(f"expected a two-letter country code such as GB or DE, got {value!r}")
        return code

    @field_validator("email")
    @classmethod
    def _check_email(cls, value: str) -> str:
        value = value.strip()
        if value and (value.count("@") != 1 or " " in value or value.startswith("@")):
            raise ValueError(
                f"expected an e-mail address such as quality@example.com, got {value!r}"
            )
        return value

    @field_validator("website")
    @classmethod
    def _check_website(cls, value: str) -> str:
        value = value.strip()
        if value and not value.startswith(("https://", "http://")):
            raise ValueError(f"expected an address starting https://, got {value!r}")
        return value


class Cleaning(_Model):
    """State-cleaning rules, applied when KPIs are computed (the stored data is never changed)."""

    minor_stop_s: float = Field(
        120,
        ge=0,
        le=86_400,
        description="An unexplained stop of this many seconds or less is a minor stop.",
    )
    performance_flag: float = Field(
        1.0,
        gt=0,
        le=10,
        description="Flag a performance above this (the ideal cycle time is wrong).",
    )


class Plant(_Model):
    site: Site
    company: Company | None = None
    calendars: list[Calendar]
    lines: list[Line]
    products: list[Product] = Field(default_factory=list)
    reasons: dict[str, str] = Field(
        default_factory=dict, description="Reason code → loss category; adds to the defaults."
    )
    cleaning: Cleaning = Field(default_factory=Cleaning)
    oee_target: float = Field(0.85, gt=0, le=1)

    @model_validator(mode="after")
    def _check_references(self) -> Plant:
        calendars = {c.name for c in self.calendars}
        machine_ids: list[str] = []
        for line in self.lines:
            if line.calendar not in calendars:
                raise ValueError(
                    f"line {line.name!r} uses calendar {line.calendar!r}, "
                    f"which is not defined (defined: {sorted(calendars)})"
                )
            for machine in line.machines:
                if machine.calendar and machine.calendar not in calendars:
                    raise ValueError(
                        f"machine {machine.id!r} uses undefined calendar {machine.calendar!r}"
                    )
                machine_ids.append(machine.id)
        dupes = sorted({m for m in machine_ids if machine_ids.count(m) > 1})
        if dupes:
            raise ValueError(f"machine ids must be unique; repeated: {dupes}")
        for product in self.products:
            unknown = sorted(set(product.ideal_cycle_s) - set(machine_ids))
            if unknown:
                raise ValueError(f"product {product.id!r} names unknown machine(s) {unknown}")
        for code, category in self.reasons.items():
            if category not in CATEGORY_BY_KEY or category == "no_data":
                allowed = sorted(k for k in CATEGORY_BY_KEY if k != "no_data")
                raise ValueError(
                    f"reason {code!r} maps to unknown loss category {category!r}; use one of {allowed}"
                )
        return self

    # -- look-ups ------------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.site.timezone)

    @property
    def machines(self) -> list[tuple[Line, Machine]]:
        return [(line, m) for line in self.lines for m in line.machines]

    def machine(self, machine_id: str) -> Machine:
        for _, m in self.machines:
            if m.id == machine_id:
                return m
        raise KeyError(machine_id)

    def calendar_of(self, line: Line, machine: Machine) -> Calendar:
        name = machine.calendar or line.calendar
        return next(c for c in self.calendars if c.name == name)

    def reason_categories(self) -> dict[str, str]:
        """Every reason code (lower-cased) → loss category, defaults overridden by the plant."""
        merged = dict(DEFAULT_REASONS)
        merged.update({k.strip().lower(): v for k, v in self.reasons.items()})
        return merged


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def validation_lines(exc: ValidationError) -> str:
    """A pydantic error as one line per problem, each naming the field (``lines[0].machines``)."""
    return "\n".join(f"  - {_where(e['loc'])}: {e['msg']}" for e in exc.errors())


def _too_deep(raw: object) -> str | None:
    """Where the data is nested deeper than :data:`MAX_DEPTH` levels, or None. Iterative: a
    hostile file cannot exhaust the interpreter's stack here."""
    stack: list[tuple[object, int, str]] = [(raw, 0, "")]
    while stack:
        value, depth, where = stack.pop()
        if depth > MAX_DEPTH:
            return where or "(top level)"
        if isinstance(value, dict):
            stack.extend(
                (v, depth + 1, f"{where}.{k}" if where else str(k)) for k, v in value.items()
            )
        elif isinstance(value, list):
            stack.extend((v, depth + 1, f"{where}[{i}]") for i, v in enumerate(value))
    return None


def parse_plant(text: str, *, source: str = "plant.toml") -> Plant:
    deep = f"{source}: nested more than {MAX_DEPTH} levels deep; a plant model needs at most"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PlantModelError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise PlantModelError(f"{deep} a few (calendars → shifts → breaks)") from None
    where = _too_deep(raw)
    if where is not None:
        raise PlantModelError(f"{deep} a few (calendars → shifts → breaks); see {where}")
    try:
        return Plant.model_validate(raw)
    except ValidationError as exc:
        raise PlantModelError(
            f"{source} is not a valid plant model:\n{validation_lines(exc)}"
        ) from None


def load_plant(path: Path) -> Plant:
    """Read and validate a plant model file; errors name the field that is wrong."""
    if not path.exists():
        raise PlantModelError(
            f"No plant model at {path}. Run 'pilotline init' to write a commented example."
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PlantModelError(
            f"{path}: not UTF-8 text (byte {exc.start:,} is not UTF-8); save it as UTF-8"
        ) from None
    except OSError as exc:
        raise PlantModelError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return parse_plant(text, source=str(path))
