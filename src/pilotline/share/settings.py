"""What the firm shares and how it is worked out: ``share.toml`` in the data directory (optional).

::

    [api]
    rate_per_s = 20                # requests per partner and second (burst 40)
    refresh_s = 60                 # shells and submodels are rebuilt at most this often

    [kpi]
    days = 7                       # the KPI submodel covers the last N complete days (1–366)

    [carbon]
    emission_factor_kg_per_kwh = 0.207   # kg CO2e per kWh of electricity
    energy_tag = "energy_kwh"      # a process value: a cumulative energy meter in kWh
    method = "ISO 14067"           # declared calculation method
    [carbon.declared_kwh_per_part] # for products without a meter: kWh per good part
    "BRK-100" = 0.12

    [[timeseries]]                 # a signal (process value) or KPI over a window
    name = "press-1-temperature"
    machine = "press-1"
    tag = "temperature"            # or kpi = "oee" (per shift)
    hours = 24
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pilotline.errors import InputError
from pilotline.plant.model import Plant, validation_lines

#: Calculation methods of the Carbon Footprint template (IDTA 02023-1-0, PcfCalculationMethod).
METHODS = (
    "EN 15804",
    "GHG Protocol",
    "IEC TS 63058",
    "ISO 14040",
    "ISO 14044",
    "ISO 14067",
    "IEC 63366",
    "PACT Methodology 2.0",
    "TfS Guideline",
)
KPI_SERIES = ("oee", "availability", "performance", "quality", "total_count", "good_count")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class KpiShare(_Model):
    days: int = Field(7, ge=1, le=366, description="The KPI submodel covers this many days.")


class Carbon(_Model):
    emission_factor_kg_per_kwh: float = Field(0.207, ge=0, le=10)
    energy_tag: str = Field("energy_kwh", min_length=1, max_length=100)
    method: str = "ISO 14067"
    declared_kwh_per_part: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(
        default_factory=dict
    )

    @model_validator(mode="after")
    def _check_method(self) -> Carbon:
        if self.method not in METHODS:
            raise ValueError(f"method {self.method!r} is not one of {list(METHODS)}")
        return self


class Series(_Model):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
    machine: str
    tag: str | None = None
    kpi: str | None = None
    hours: float = Field(24, gt=0, le=24 * 366)

    @model_validator(mode="after")
    def _one_source(self) -> Series:
        if (self.tag is None) == (self.kpi is None):
            raise ValueError(f"time series {self.name!r}: give either tag or kpi")
        if self.kpi is not None and self.kpi not in KPI_SERIES:
            raise ValueError(f"time series {self.name!r}: kpi must be one of {list(KPI_SERIES)}")
        return self


class Api(_Model):
    rate_per_s: float = Field(
        20, gt=0, le=100_000, description="Requests a partner may make a second."
    )
    burst: int = Field(40, ge=1, le=1_000_000, description="… and at once after a pause.")
    refresh_s: float = Field(
        60, ge=1, le=86_400, description="Rebuild the shells at most this often."
    )


class ShareSettings(_Model):
    api: Api = Field(default_factory=Api)
    kpi: KpiShare = Field(default_factory=KpiShare)
    carbon: Carbon = Field(default_factory=Carbon)
    timeseries: list[Series] = Field(default_factory=list)

    def check(self, plant: Plant) -> ShareSettings:
        machines = {m.id for _, m in plant.machines}
        products = {p.id for p in plant.products}
        for s in self.timeseries:
            if s.machine not in machines:
                raise InputError(
                    f"share.toml: time series {s.name!r} names machine {s.machine!r}, "
                    f"which plant.toml does not have ({sorted(machines)})"
                )
        unknown = sorted(set(self.carbon.declared_kwh_per_part) - products)
        if unknown:
            raise InputError(
                f"share.toml: carbon.declared_kwh_per_part names unknown product(s) {unknown}; "
                f"plant.toml has {sorted(products)}"
            )
        names = [s.name for s in self.timeseries]
        if len(set(names)) != len(names):
            raise InputError(f"share.toml: time series names must be unique: {names}")
        return self


def load_share_settings(home: Path, plant: Plant) -> ShareSettings:
    """``<home>/share.toml`` checked against the plant, or the defaults when there is none."""
    path = home / "share.toml"
    if not path.exists():
        return ShareSettings()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not valid TOML: {exc}") from None
    try:
        settings = ShareSettings.model_validate(raw)
    except ValidationError as exc:
        raise InputError(f"{path} is not valid:\n{validation_lines(exc)}") from None
    return settings.check(plant)
