"""Tags: which signal means what, and how a raw value becomes a sample value.

Every connector's tag model extends :class:`Tag` with its own address (an MQTT topic and JSON
path, an OPC UA node id, a Modbus register) and shares everything else.
"""

from __future__ import annotations

import math
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pilotline.connect.samples import ROLE_BY_KEY, Role, Value

STATE_WORDS = {"running", "stopped", "no_data"}
_TRUE = {"1", "true", "on", "yes", "run", "running"}
_FALSE = {"0", "false", "off", "no", "stop", "stopped"}


class BadValue(ValueError):
    """A raw value does not fit its tag; ``kind`` is how it is counted (wrong_type, out_of_range)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Tag(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="Unique within its source; shown in status and problem counts.")
    machine: str = Field(description="The machine in plant.toml this signal belongs to.")
    role: Role = Field(description="What the signal means (see the role catalogue).")
    states: dict[str, str] = Field(
        default_factory=dict,
        description="For role state: raw code → running, stopped, no_data or a reason code.",
    )
    running_above: float = Field(0.0, description="For role speed: speeds above this are running.")
    scale: float = Field(1.0, description="Numeric values are multiplied by this …")
    offset: float = Field(0.0, description="… and then this is added.")
    bits: int | None = Field(
        None,
        description="For counters: the counter's width (16, 32), so a wrap is told from a reset.",
    )

    @model_validator(mode="after")
    def _check(self) -> Tag:
        if self.bits is not None and self.bits not in (8, 16, 32, 64):
            raise ValueError("bits must be 8, 16, 32 or 64")
        return self

    @property
    def kind(self) -> str:
        return ROLE_BY_KEY[self.role].kind

    def convert(self, raw: Any) -> Value:
        """The sample value for a raw reading, or :class:`BadValue`."""
        if raw is None:
            return None
        role = self.role
        if role == "state":
            key = _text(raw)
            if self.states:
                if key not in self.states:
                    raise BadValue(
                        "unknown_code", f"state code {key!r} is not in the tag's states map"
                    )
                return self.states[key]
            return key
        if role == "running":
            return _flag(raw)
        if role in ("product", "work_order"):
            if isinstance(raw, dict | list):
                raise BadValue("wrong_type", f"expected text, got {type(raw).__name__}")
            return _text(raw)
        number = _number(raw) * self.scale + self.offset
        if role in ("parts", "rejects", "part_counter", "reject_counter"):
            if number < 0 or number != math.floor(number):
                raise BadValue(
                    "out_of_range", f"a count must be a whole number ≥ 0, got {number:g}"
                )
            return int(number)
        return number


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _flag(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, int | float):
        return raw != 0
    text = str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue("wrong_type", f"expected a running flag (true/false, 1/0), got {raw!r}")


def _number(raw: Any) -> float:
    if isinstance(raw, bool):
        return float(raw)
    if isinstance(raw, int | float):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            raise BadValue("wrong_type", f"expected a number, got {raw!r}") from None
    else:
        raise BadValue("wrong_type", f"expected a number, got {type(raw).__name__}")
    if not math.isfinite(value):
        raise BadValue("out_of_range", f"expected a finite number, got {raw!r}")
    return value
