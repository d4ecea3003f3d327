"""The operator's tablet page: the machine's state now, one tap for the reason of the current or
last unexplained stop, and scrap with a reason and a count."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from pilotline.errors import InputError, NotFound
from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.plant.losses import CATEGORY_BY_KEY
from pilotline.store import Store
from pilotline.web.users import User

#: Loss categories an operator gives as the reason for a stop, in the order the buttons appear.
STOP_CATEGORIES = ("breakdown", "setup", "minor_stop", "planned_stop")
SCRAP_CATEGORIES = ("production_reject", "startup_reject")
LOOK_BACK = dt.timedelta(hours=12)


def machine_of(plant: Plant, user: User, machine_id: str) -> tuple[str, str]:
    """(line, label) of a machine the user may work on; NotFound / PermissionError otherwise."""
    for line, m in plant.machines:
        if m.id == machine_id:
            if not user.sees_line(line.name):
                raise PermissionError(
                    f"{machine_id} is on {line.name}, which is not assigned to you"
                )
            return line.name, m.label
    raise NotFound(f"unknown machine {machine_id!r}")


def reasons_by_category(plant: Plant, categories: tuple[str, ...]) -> list[dict[str, Any]]:
    codes = plant.reason_categories()
    return [
        {
            "category": c,
            "label": CATEGORY_BY_KEY[c].label,
            "reasons": sorted(r for r, cat in codes.items() if cat == c),
        }
        for c in categories
    ]


def stops(store: Store, plant: Plant, machine: str, now: dt.datetime) -> list[dict[str, Any]]:
    """Stops of the last hours, newest first, with their category after any reason given."""
    rows = Measure(store, plant).timeline(machine=machine, start=now - LOOK_BACK, end=now, now=now)
    out = [
        {
            "local_start": r["start"].astimezone(plant.tz).strftime("%H:%M"),
            "start": r["start"].isoformat(),
            "end": r["end"].isoformat(),
            "minutes": (r["end"] - r["start"]).total_seconds() / 60,
            "reason": r["reason"],
            "category": r["category"],
            "ongoing": r["end"] >= now - dt.timedelta(seconds=1),
        }
        for r in rows
        if r["category"] not in ("run", "no_data")
    ]
    return out[::-1]


def page(store: Store, plant: Plant, user: User, machine: str, now: dt.datetime) -> dict[str, Any]:
    line, label = machine_of(plant, user, machine)
    recent = stops(store, plant, machine, now)
    open_stop = next((s for s in recent if s["category"] == "unexplained"), None)
    current = recent[0] if recent and recent[0]["ongoing"] else None
    return {
        "machine": machine,
        "label": label,
        "line": line,
        "state": "stopped" if current else "running",
        "current": current,
        "unexplained": open_stop,
        "stop_reasons": reasons_by_category(plant, STOP_CATEGORIES),
        "scrap_reasons": reasons_by_category(plant, SCRAP_CATEGORIES),
        "recent": recent[:8],
    }


def give_reason(
    store: Store,
    plant: Plant,
    user: User,
    machine: str,
    *,
    start: dt.datetime,
    end: dt.datetime,
    reason: str,
) -> None:
    machine_of(plant, user, machine)
    code = reason.strip().lower()
    if code not in plant.reason_categories():
        raise InputError(f"{reason!r} is not a reason code of this plant")
    if end <= start:
        raise InputError("the stop must end after it starts")
    table = pa.table(
        {
            "machine": [machine],
            "start": pa.array([start], pa.timestamp("us", "UTC")),
            "end": pa.array([end], pa.timestamp("us", "UTC")),
            "reason": [code],
            "entered_by": [user.username],
        }
    )
    import_table(store, plant, table, kind="reasons", source=f"web: {user.username}")


def record_scrap(
    store: Store,
    plant: Plant,
    user: User,
    machine: str,
    *,
    count: int,
    reason: str,
    now: dt.datetime,
) -> None:
    machine_of(plant, user, machine)
    code = reason.strip().lower()
    if plant.reason_categories().get(code) not in SCRAP_CATEGORIES:
        raise InputError(f"{reason!r} is not a scrap reason of this plant")
    if not 1 <= count <= 100_000:
        raise InputError("the scrap count must be a whole number from 1 to 100,000")
    # Scrapped parts were counted when they were made: a row with no new parts, only rejects
    # (as a live reject counter gives), so quality drops and the part count stays right.
    row = pa.table(
        {
            "machine": [machine],
            "ts": pa.array([now.astimezone(dt.UTC).replace(tzinfo=None)], pa.timestamp("us")),
            "total": pa.array([0], pa.int64()),
            "reject": pa.array([count], pa.int64()),
            "rework": pa.array([0], pa.int64()),
            "reject_reason": [code],
        }
    )
    with store.session(write=True) as session:
        session.insert_new("counts", row)
