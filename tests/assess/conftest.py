"""Small plants for the assessment: days of one shift with two kinds of stop, chosen per test."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from pilotline.ingest import import_table
from pilotline.plant import Plant
from pilotline.store import Store

UTC = dt.UTC
#: The worked plant's breaks (06:00–14:00 shift): planned time excludes them.
BREAKS = ((dt.time(8, 0), 15), (dt.time(10, 0), 30), (dt.time(12, 0), 15))


def _planned_s(a: dt.datetime, b: dt.datetime) -> float:
    """Seconds of ``[a, b)`` outside the breaks of that day."""
    total = (b - a).total_seconds()
    for start, minutes in BREAKS:
        s = dt.datetime.combine(a.date(), start, UTC)
        e = s + dt.timedelta(minutes=minutes)
        total -= max(0.0, (min(b, e) - max(a, s)).total_seconds())
    return total


def fill(
    store: Store,
    plant: Plant,
    *,
    days: int,
    stops: list[tuple[str | None, int]],
    machines: tuple[str, ...] = ("m1",),
    last_day: dt.date = dt.date(2026, 3, 4),
) -> None:
    """``days`` days up to ``last_day`` of the 06:00–14:00 shift on each machine: running, with
    the ``stops`` (reason, minutes) at 06:30, 10:45 and 13:00 (the first one varying by ±2
    minutes, 0 on average over five days), and parts at 98 % of the ideal
    rate counted at the end of each running spell (1 % rejects)."""
    at = (dt.time(6, 30), dt.time(10, 45), dt.time(13, 0))
    st: dict[str, list[object]] = {"machine": [], "ts": [], "state": [], "reason": []}
    ct: dict[str, list[object]] = {"machine": [], "ts": [], "total": [], "reject": []}
    for m in machines:
        for n in range(days):
            day = last_day - dt.timedelta(days=days - 1 - n)
            t = dt.datetime.combine(day, dt.time(6, 0), UTC)
            spells = []
            for k, ((reason, minutes), when) in enumerate(zip(stops, at, strict=False)):
                s = dt.datetime.combine(day, when, UTC)
                if k == 0:  # a little variation from day to day, nothing on average over 5 days
                    minutes += (n * 7) % 5 - 2
                spells.append((t, s))
                st["machine"] += [m, m]
                st["ts"] += [t, s]
                st["state"] += ["running", "stopped"]
                st["reason"] += [None, reason]
                t = s + dt.timedelta(minutes=minutes)
            end = dt.datetime.combine(day, dt.time(14, 0), UTC)
            spells.append((t, end))
            st["machine"] += [m, m]
            st["ts"] += [t, end]
            st["state"] += ["running", "stopped"]
            st["reason"] += [None, "no orders"]
            for a, b in spells:
                total = int(_planned_s(a, b) * 0.98)
                ct["machine"].append(m)
                ct["ts"].append(b - dt.timedelta(seconds=30))
                ct["total"].append(total)
                ct["reject"].append(total // 100)
    import_table(store, plant, pa.table(st), kind="states")
    import_table(store, plant, pa.table(ct), kind="counts")


def process_values(store: Store, machine: str, *, days: int, last_day: dt.date) -> None:
    """A temperature every hour for ``days`` days up to ``last_day``."""
    ts = [
        dt.datetime.combine(last_day - dt.timedelta(days=d), dt.time(h), UTC).replace(tzinfo=None)
        for d in range(days)
        for h in range(24)
    ]
    table = pa.table(
        {
            "machine": [machine] * len(ts),
            "tag": ["temperature"] * len(ts),
            "ts": pa.array(ts, pa.timestamp("us")),
            "value": [20.0 + (i % 7) for i in range(len(ts))],
        }
    )
    with store.session(write=True) as s:
        s.insert_new("process_values", table)
