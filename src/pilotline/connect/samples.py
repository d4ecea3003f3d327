"""What a connector hands over: one sample per tag reading, and the roles a tag can play.

A sample's time is UTC microseconds since the epoch (``ts_us``). ``value`` is ``None`` when the
source said the reading is bad (OPC UA status, Modbus exception): that is "no data", never a zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from pilotline import clock

#: Tag name used for source-level events (``offline`` / ``online``) in the buffer.
SOURCE_EVENT = ""

Value = float | int | str | bool | None

Role = Literal[
    "state",
    "running",
    "speed",
    "parts",
    "rejects",
    "part_counter",
    "reject_counter",
    "product",
    "work_order",
    "value",
]


@dataclass(frozen=True)
class RoleInfo:
    key: str
    kind: Literal["state", "count", "counter", "label", "value"]
    help: str


#: The tag-map catalogue: what a signal can mean.
ROLES: tuple[RoleInfo, ...] = (
    RoleInfo(
        "state",
        "state",
        "A state code; `states` maps each code to running, stopped, no_data or a reason code.",
    ),
    RoleInfo(
        "running",
        "state",
        "A running flag (true/1 = running); with a `speed` tag, running needs both.",
    ),
    RoleInfo("speed", "state", "Machine speed; above `running_above` counts as running."),
    RoleInfo("parts", "count", "Parts made since the previous message (an increment)."),
    RoleInfo("rejects", "count", "Rejected parts since the previous message (an increment)."),
    RoleInfo(
        "part_counter",
        "counter",
        "A raw cumulative part counter; wraps and resets handled as in file imports.",
    ),
    RoleInfo("reject_counter", "counter", "A raw cumulative reject counter."),
    RoleInfo("product", "label", "The product being made; attached to the counts that follow."),
    RoleInfo(
        "work_order", "label", "The work order being run; attached to the counts that follow."
    ),
    RoleInfo(
        "value", "value", "A process value (temperature, pressure …), stored as a time series."
    ),
)
ROLE_BY_KEY = {r.key: r for r in ROLES}


@dataclass(frozen=True, slots=True)
class Sample:
    source: str
    tag: str
    ts_us: int
    value: Value
    seq: int = 0


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def now_us() -> int:
    return clock.now_us()


def to_us(moment: dt.datetime) -> int:
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no time zone; give it one (UTC)")
    return int(moment.timestamp() * 1_000_000)


def from_us(ts_us: int) -> dt.datetime:
    """UTC datetime without tzinfo, as the store keeps times."""
    return (_EPOCH + dt.timedelta(microseconds=ts_us)).replace(tzinfo=None)


def naive_us(moment: dt.datetime) -> int:
    """Microseconds since the epoch of a store time (naive UTC)."""
    return (moment.replace(tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(microseconds=1)
