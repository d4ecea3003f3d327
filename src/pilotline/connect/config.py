"""The collector's configuration file (TOML): the local buffer and the sources with their tags.

::

    [buffer]
    max_mb = 256

    [[source]]
    kind = "mqtt"
    name = "line-1 broker"
    host = "127.0.0.1"

    [[source.tag]]
    name = "press-1 state"
    machine = "press-1"
    role = "state"
    topic = "plant/press-1"
    path = "state"
    ts_path = "ts"
    states = { "1" = "running", "0" = "stopped", "2" = "breakdown" }
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pilotline.connect.modbus.config import ModbusSource
from pilotline.connect.mqtt.config import MqttSource
from pilotline.connect.opcua.config import OpcuaSource
from pilotline.connect.tags import STATE_WORDS, Tag
from pilotline.errors import InputError
from pilotline.plant import Plant
from pilotline.plant.model import MAX_DEPTH, validation_lines
from pilotline.plant.model import _too_deep as too_deep

SourceConfig = Annotated[MqttSource | OpcuaSource | ModbusSource, Field(discriminator="kind")]


class BufferConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    path: str | None = Field(
        None, description="Buffer file; default: <data directory>/buffer.sqlite"
    )
    max_mb: float = Field(
        256,
        gt=0,
        le=1_000_000,
        description="Quota: above it the collector stops acknowledging until space frees.",
    )
    keep_forwarded_h: float = Field(
        24,
        ge=0,
        le=24 * 366,
        description="Hours forwarded samples are kept, to recognise late duplicates.",
    )


class CollectConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, allow_inf_nan=False)

    buffer: BufferConfig = Field(default_factory=BufferConfig)
    max_clock_skew_s: float = Field(
        300,
        gt=0,
        le=7 * 86400,
        description="A reading stamped further than this in the future is rejected.",
    )
    max_payload_kb: float = Field(
        256, gt=0, le=65536, description="Larger messages are rejected and counted."
    )
    forward_every_s: float = Field(
        1.0, ge=0.01, le=3600, description="How often buffered samples go to the store."
    )
    sources: list[SourceConfig] = Field(default_factory=list, alias="source")

    @model_validator(mode="after")
    def _unique(self) -> CollectConfig:
        names = [s.name for s in self.sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique; repeated: {dupes}")
        for s in self.sources:
            tag_names = [t.name for t in s.tags]
            dupes = sorted({n for n in tag_names if tag_names.count(n) > 1})
            if dupes:
                raise ValueError(f"source {s.name!r}: tag names must be unique; repeated: {dupes}")
        return self

    def tags(self) -> dict[tuple[str, str], Tag]:
        return {(s.name, t.name): t for s in self.sources for t in s.tags}

    def check_plant(self, plant: Plant, *, source: str = "collect.toml") -> None:
        """Every tag's machine exists and every state code maps to a state or a known reason."""
        machines = {m.id for _, m in plant.machines}
        reasons = set(plant.reason_categories())
        problems: list[str] = []
        for s in self.sources:
            for t in s.tags:
                where = f"source {s.name!r}, tag {t.name!r}"
                if t.machine not in machines:
                    problems.append(
                        f"{where}: machine {t.machine!r} is not in plant.toml ({sorted(machines)})"
                    )
                for code, meaning in t.states.items():
                    if meaning not in STATE_WORDS and meaning.lower() not in reasons:
                        problems.append(
                            f"{where}: state code {code!r} means {meaning!r}, which is neither "
                            f"running/stopped/no_data nor a reason code in plant.toml"
                        )
        if problems:
            raise InputError(
                f"{source} does not fit the plant model:\n"
                + "\n".join(f"  - {p}" for p in problems)
            )


def parse_collect_config(text: str, *, source: str = "collect.toml") -> CollectConfig:
    deep = f"{source}: nested more than {MAX_DEPTH} levels deep; a collector configuration needs 3"
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{source}: not valid TOML: {exc}") from None
    except RecursionError:
        raise InputError(deep) from None
    where = too_deep(raw)
    if where is not None:
        raise InputError(f"{deep}; see {where}")
    # [[source.tag]] reads naturally in TOML; the models call the list "tags".
    sources = raw.get("source", [])
    for s in sources if isinstance(sources, list) else []:
        if isinstance(s, dict) and "tag" in s:
            s["tags"] = s.pop("tag")
    try:
        return CollectConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(
            f"{source} is not a valid collector configuration:\n{validation_lines(exc)}"
        ) from None


def load_collect_config(path: Path) -> CollectConfig:
    if not path.exists():
        raise InputError(f"No collector configuration at {path}.")
    return parse_collect_config(path.read_text(encoding="utf-8"), source=str(path))
