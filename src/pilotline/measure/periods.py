"""The planned segments a KPI query runs over: every machine's shift instances minus breaks.

Built in Python from the plant model (a small table: machines × shifts × segments) and handed to
the engine as an in-memory table. Each segment carries the keys and UTC bounds of the shift, the
local day, ISO week and month it belongs to (a shift belongs to the day it starts on).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pyarrow as pa

from pilotline.plant.calendar import local_instant, shift_instances
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


def _bounds(day: dt.date, grain: str, tz: ZoneInfo) -> tuple[dt.date, dt.date]:
    if grain == "day":
        return day, day + dt.timedelta(days=1)
    if grain == "week":
        start = day - dt.timedelta(days=day.weekday())
        return start, start + dt.timedelta(days=7)
    start = day.replace(day=1)
    nxt = (start + dt.timedelta(days=32)).replace(day=1)
    return start, nxt


def _epoch(ts: dt.datetime) -> float:
    return ts.timestamp()


def segments_table(
    plant: Plant,
    start: dt.datetime,
    end: dt.datetime,
    machines: list[str] | None = None,
    *,
    now: float | None = None,
    orders: list[Order] | None = None,
) -> pa.Table:
    """One row per machine × planned segment of shifts starting in ``[start, end)``.

    Segments are cut at ``now`` (epoch seconds): time that has not happened yet is not planned.
    Given work ``orders``, segments are also cut where an order starts or ends and carry its
    work order and product, so that KPIs can be grouped by order or product.
    """
    by_machine: dict[str, list[Order]] = {}
    for o in sorted(orders or [], key=lambda o: o.start):
        by_machine.setdefault(o.machine, []).append(o)
    tz = plant.tz
    cols: dict[str, list[object]] = {
        k: []
        for k in (
            "machine",
            "line",
            "site",
            "shift",
            "shift_key",
            "shift_start",
            "shift_end",
            "day_start",
            "day_end",
            "week_start",
            "week_end",
            "month_start",
            "month_end",
            "seg_start",
            "seg_end",
            "work_order",
            "product",
        )
    }
    cache: dict[tuple[str, str, dt.date], tuple[float, float]] = {}

    def local_bounds(grain: str, day: dt.date) -> tuple[float, float]:
        key = (grain, tz.key, day)
        if key not in cache:
            a, b = _bounds(day, grain, tz)
            cache[key] = (
                _epoch(local_instant(a, dt.time(0), tz)),
                _epoch(local_instant(b, dt.time(0), tz)),
            )
        return cache[key]

    instances_by_calendar = {c.name: shift_instances(c, tz, start, end) for c in plant.calendars}
    for line, machine in plant.machines:
        if machines and machine.id not in machines:
            continue
        calendar = plant.calendar_of(line, machine)
        for inst in instances_by_calendar[calendar.name]:
            d0, d1 = local_bounds("day", inst.production_date)
            w0, w1 = local_bounds("week", inst.production_date)
            m0, m1 = local_bounds("month", inst.production_date)
            for a, b in inst.planned_segments():
                seg_start, seg_end = _epoch(a), _epoch(b)
                if now is not None:
                    if seg_start >= now:
                        continue
                    seg_end = min(seg_end, now)
                pieces = _split(seg_start, seg_end, by_machine.get(machine.id, []))
                for piece_start, piece_end, piece_order in pieces:
                    for k, v in (
                        ("machine", machine.id),
                        ("line", line.name),
                        ("site", plant.site.name),
                        ("shift", inst.shift),
                        ("shift_key", inst.key),
                        ("shift_start", _epoch(inst.start)),
                        ("shift_end", _epoch(inst.end)),
                        ("day_start", d0),
                        ("day_end", d1),
                        ("week_start", w0),
                        ("week_end", w1),
                        ("month_start", m0),
                        ("month_end", m1),
                        ("seg_start", piece_start),
                        ("seg_end", piece_end),
                        ("work_order", piece_order.work_order if piece_order else None),
                        ("product", piece_order.product if piece_order else None),
                    ):
                        cols[k].append(v)
    schema = pa.schema(
        [
            (
                k,
                pa.string()
                if k in ("machine", "line", "site", "shift", "shift_key", "work_order", "product")
                else pa.float64(),
            )
            for k in cols
        ]
    )
    return pa.table(cols, schema=schema)


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
