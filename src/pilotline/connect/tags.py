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
#: The largest count or counter reading the store holds (a signed 64-bit whole number).
MAX_WHOLE = 2**63 - 1
#: The longest state code, product or work order kept (characters).
MAX_TEXT = 200
_TRUE = {"1", "true", "on", "yes", "run", "running"}
_FALSE = {"0", "false", "off", "no", "stop", "stopped"}


class BadValue(ValueError):
    """A raw value does not fit its tag; ``kind`` is how it is counted (wrong_type, out_of_range)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Tag(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    name: str = Field(description="Unique within its source; shown in status and problem counts.")
    machine: str = Field(description="The machine in plant.toml this signal belongs to.")
    role: Role = Field(description="What the signal means (see the role catalogue).")
    states: dict[str, str] = Field(
        default_factory=dict,
        description="For role state: raw code → running, stopped, no_data or a reason code.",
    )
    running_above: float = Field(
        0.0, ge=-1e12, le=1e12, description="For role speed: speeds above this are running."
    )
    scale: float = Field(
        1.0, ge=-1e12, le=1e12, description="Numeric values are multiplied by this …"
    )
    offset: float = Field(0.0, ge=-1e12, le=1e12, description="… and then this is added.")
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
            if isinstance(raw, dict | list):
                raise BadValue("wrong_type", f"expected a state code, got {type(raw).__name__}")
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
        if role in ("parts", "rejects", "part_counter", "reject_counter"):
            return self._whole(raw)
        number = _number(raw) * self.scale + self.offset
        if not math.isfinite(number):
            raise BadValue("out_of_range", f"{raw!r} scaled is beyond what a number can hold")
        return number

    def _whole(self, raw: Any) -> int:
        """A count or counter reading: a whole number from 0 to the counter's range (its
        ``bits``) or what the store holds; whole numbers are kept exact."""
        if type(raw) is int and self.scale == 1 and self.offset == 0:
            whole = raw
        else:
            number = _number(raw) * self.scale + self.offset
            if not math.isfinite(number) or number != math.floor(number):
                raise BadValue("out_of_range", f"a count must be a whole number, got {number:g}")
            whole = int(number)
        counter = self.role in ("part_counter", "reject_counter") and self.bits
        top = min(2**self.bits - 1, MAX_WHOLE) if counter and self.bits else MAX_WHOLE
        if not 0 <= whole <= top:
            what = f"a {self.bits}-bit counter" if counter else "a count"
            shown = f"{whole:,}" if whole.bit_length() <= 64 else f"{whole.bit_length()} bits"
            raise BadValue("out_of_range", f"{what} goes from 0 to {top:,}, got {shown}")
        return whole


def _text(raw: Any) -> str:
    if isinstance(raw, bool):
        return "1" if raw else "0"
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, int) and raw.bit_length() > 64:
        raise BadValue("out_of_range", f"a code of {raw.bit_length()} bits is no code")
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise BadValue("out_of_range", f"{len(text):,} characters; at most {MAX_TEXT} are kept")
    return text


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
        try:
            value = float(raw)
        except OverflowError:  # only a whole number can be too large for a float
            raise BadValue("out_of_range", "a whole number beyond what a float holds") from None
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
