"""The planned segments a KPI query runs over: every machine's shift instances minus breaks.

Built in Python from the plant model (a small table: machines × shifts × segments) and handed to
the engine as an in-memory table. Each segment carries the keys and UTC bounds of the shift, the
local day, ISO week and month it belongs to (a shift belongs to the day it starts on).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import pyarrow as pa

from pilotline.plant.calendar import ShiftInstance, local_instant, shift_instances
from pilotline.plant.model import Plant

GRAINS = ("shift", "day", "week", "month", "all")


@dataclass(frozen=True)
class Order:
    """A work order's run on one machine, in epoch seconds (``end`` is ``inf`` while running)."""

    work_order: str
    machine: str
    product: str | None
    start: float
    end: float


def _split(a: float, b: float, orders: list[Order]) -> list[tuple[float, float, Order | None]]:
    """Cut ``(a, b)`` at order boundaries; pieces outside every order carry ``None``."""
    pieces: list[tuple[float, float, Order | None]] = []
    cursor = a
    for o in orders:
        if o.end <= cursor or o.start >= b:
            continue
        if o.start > cursor:
            pieces.append((cursor, o.start, None))
        lo, hi = max(o.start, cursor), min(o.end, b)
        pieces.append((lo, hi, o))
        cursor = hi
    if cursor < b:
        pieces.append((cursor, b, None))
    return pieces


def _bounds(day: dt.date, grain: str) -> tuple[dt.date, dt.date]:
    if grain == "day":
        return day, day + dt.timedelta(days=1)
    if grain == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    start = day.replace(day=1)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start, nxt


_TEXT = pa.string()
_TIME = pa.float64()

#: One row per planned segment; times are epoch seconds, period bounds are local-time bounds.
SEGMENT_SCHEMA = pa.schema(
    [
        ("machine", _TEXT),
        ("line", _TEXT),
        ("site", _TEXT),
        ("shift", _TEXT),
        ("shift_key", _TEXT),
        ("work_order", _TEXT),
        ("product", _TEXT),
        ("shift_start", _TIME),
        ("shift_end", _TIME),
        ("day_start", _TIME),
        ("day_end", _TIME),
        ("week_start", _TIME),
        ("week_end", _TIME),
        ("month_start", _TIME),
        ("month_end", _TIME),
        ("seg_start", _TIME),
        ("seg_end", _TIME),
    ]
)

#: The columns that describe a segment (everything but its own bounds).
SEGMENT_KEYS = tuple(n for n in SEGMENT_SCHEMA.names if n not in ("seg_start", "seg_end"))


def segments_table(
    plant: Plant,
    start: dt.datetime,
    end: dt.datetime,
    machines: list[str] | None = None,
    *,
    now: float | None = None,
    orders: list[Order] | None = None,
    planned: bool = True,
) -> pa.Table:
    """One row per machine × planned segment of shifts starting in ``[start, end)``.

    Segments are cut at ``now`` (epoch seconds): time that has not happened yet is not planned.
    Given work ``orders``, segments are also cut where an order starts or ends and carry its
    work order and product, so that KPIs can be grouped by order or product.

    With ``planned=False``, the rest of the time each shift owns instead: its breaks, and the
    time from its end until the next shift of its calendar starts. Parts counted then were made
    outside planned time; they belong to that shift (the last one that started) but not to its
    OEE.
    """
    by_machine: dict[str, list[Order]] = {}
    for o in sorted(orders or [], key=lambda o: o.start):
        by_machine.setdefault(o.machine, []).append(o)
    tz = plant.tz
    bounds: dict[tuple[str, dt.date], tuple[float, float]] = {}

    def local_bounds(grain: str, day: dt.date) -> tuple[float, float]:
        if (grain, day) not in bounds:
            a, b = _bounds(day, grain)
            bounds[grain, day] = (
                local_instant(a, dt.time(0), tz).timestamp(),
                local_instant(b, dt.time(0), tz).timestamp(),
            )
        return bounds[grain, day]

    rows: list[dict[str, object]] = []
    # A shift owns the time up to the next one's start: look far enough ahead to find it.
    ahead = end + dt.timedelta(days=0 if planned else 32)
    instances_by_calendar = {c.name: shift_instances(c, tz, start, ahead) for c in plant.calendars}
    for line, machine in plant.machines:
        if machines and machine.id not in machines:
            continue
        instances = instances_by_calendar[plant.calendar_of(line, machine).name]
        for i, inst in enumerate(instances):
            if inst.start >= end:
                break
            shift = {
                "machine": machine.id,
                "line": line.name,
                "site": plant.site.name,
                "shift": inst.shift,
                "shift_key": inst.key,
                "shift_start": inst.start.timestamp(),
                "shift_end": inst.end.timestamp(),
            }
            for grain in ("day", "week", "month"):
                shift[f"{grain}_start"], shift[f"{grain}_end"] = local_bounds(
                    grain, inst.production_date
                )
            if planned:
                pieces = [(a.timestamp(), b.timestamp()) for a, b in inst.planned_segments()]
            else:
                owned_until = (
                    instances[i + 1].start.timestamp() if i + 1 < len(instances) else math.inf
                )
                pieces = _unplanned(inst, max(owned_until, inst.end.timestamp()))
            for seg_start, seg_end in pieces:
                if now is not None:
                    if seg_start >= now:
                        continue
                    seg_end = min(seg_end, now)
                if not math.isfinite(seg_end):
                    continue
                for lo, hi, order in _split(seg_start, seg_end, by_machine.get(machine.id, [])):
                    rows.append(
                        {
                            **shift,
                            "seg_start": lo,
                            "seg_end": hi,
                            "work_order": order.work_order if order else None,
                            "product": order.product if order else None,
                        }
                    )
    return pa.Table.from_pylist(rows, schema=SEGMENT_SCHEMA)


def _unplanned(inst: ShiftInstance, until: float) -> list[tuple[float, float]]:
    """The time from the shift's start to ``until`` that is not in its planned segments."""
    out: list[tuple[float, float]] = []
    cursor = inst.start.timestamp()
    for a, b in inst.planned_segments():
        if a.timestamp() > cursor:
            out.append((cursor, a.timestamp()))
        cursor = max(cursor, b.timestamp())
    if cursor < until:
        out.append((cursor, until))
    return out


BUCKET_S = 3600.0


def segment_buckets(segments: pa.Table) -> pa.Table:
    """(machine, hour bucket) → segment start, for every hour a segment ``(start, end]`` touches.

    Lets the engine find a count's segment with an equality join on (machine, bucket) and a
    range check, instead of comparing every count with every segment of its machine.
    """
    import numpy as np

    start = segments["seg_start"].to_numpy()
    end = segments["seg_end"].to_numpy()
    first = np.floor(start / BUCKET_S).astype(np.int64)
    last = np.floor(end / BUCKET_S).astype(np.int64)
    n = last - first + 1
    index = np.repeat(np.arange(len(start)), n)
    offset = np.arange(index.size) - np.repeat(np.cumsum(n) - n, n)
    return pa.table(
        {
            "b_machine": segments["machine"].take(pa.array(index)),
            "bucket": pa.array(first[index] + offset),
            "b_seg_start": pa.array(start[index]),
            "b_seg_end": pa.array(end[index]),
        }
    )
