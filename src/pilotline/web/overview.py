"""The plant overview: one tile per machine, grouped by line — state, for how long, the last stop
reason, and OEE of the current shift against the plant's target."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.store import Store
from pilotline.web.users import User


def for_user(full: dict[str, Any], user: User, now: dt.datetime) -> dict[str, Any]:
    """The overview of every machine, cut down to the user's lines, durations as of ``now``."""
    lines = []
    for line in full["lines"]:
        if not user.sees_line(line["line"]):
            continue
        machines = []
        for m in line["machines"]:
            since = dt.datetime.fromisoformat(m["since"]) if m["since"] else None
            machines.append({**m, "for_s": (now - since).total_seconds() if since else None})
        lines.append({**line, "machines": machines})
    return {**full, "now": now.isoformat(), "lines": lines}


def shift_oee(
    store: Store, plant: Plant, machines: list[str], now: dt.datetime
) -> dict[str, dict[str, Any]]:
    """Machine → the KPI row of the shift it is in now (the costly part of the overview)."""
    shifts: dict[str, dict[str, Any]] = {}
    if machines:
        rows = Measure(store, plant).oee(
            start=now - dt.timedelta(days=1),
            end=now,
            by="machine,shift",
            machines=machines,
            now=now,
        )
        for row in rows:
            if row["period_start"] <= now < row["period_end"]:
                shifts[row["machine"]] = row
    return shifts


def overview(
    store: Store,
    plant: Plant,
    user: User | None,
    now: dt.datetime,
    *,
    shifts: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Tiles for the user's machines (every machine when ``user`` is None); ``shifts`` from
    :func:`shift_oee` when it was computed already."""
    visible = [(line, m) for line, m in plant.machines if user is None or user.sees_line(line.name)]
    ids = [m.id for _, m in visible]
    naive_now = now.astimezone(dt.UTC).replace(tzinfo=None)
    with store.session() as s:
        current = {
            r["machine"]: r
            for r in s.arrow(
                "SELECT machine, state, reason, start_ts FROM states "
                "WHERE machine IN (SELECT unnest(?)) AND start_ts <= ? "
                "QUALIFY row_number() OVER (PARTITION BY machine ORDER BY start_ts DESC) = 1",
                [ids, naive_now],
            ).to_pylist()
        }
        last_stop = {
            r["machine"]: r
            for r in s.arrow(
                "SELECT machine, reason, start_ts FROM states "
                "WHERE machine IN (SELECT unnest(?)) AND start_ts <= ? AND state = 'stopped' "
                "AND reason IS NOT NULL "
                "QUALIFY row_number() OVER (PARTITION BY machine ORDER BY start_ts DESC) = 1",
                [ids, naive_now],
            ).to_pylist()
        }
    if shifts is None:
        shifts = shift_oee(store, plant, ids, now)
    lines: list[dict[str, Any]] = []
    for line, machine in visible:
        if not lines or lines[-1]["line"] != line.name:
            lines.append({"line": line.name, "machines": []})
        state = current.get(machine.id)
        stop = last_stop.get(machine.id)
        shift = shifts.get(machine.id)
        since = state["start_ts"].replace(tzinfo=dt.UTC) if state else None
        lines[-1]["machines"].append(
            {
                "id": machine.id,
                "name": machine.label,
                "state": state["state"] if state else "no_data",
                "reason": state["reason"] if state else None,
                "since": since.isoformat() if since else None,
                "for_s": (now - since).total_seconds() if since else None,
                "last_stop_reason": stop["reason"] if stop else None,
                "shift": shift["shift_key"] if shift else None,
                "oee": shift["oee"] if shift else None,
                "target": plant.oee_target,
            }
        )
    return {
        "site": plant.site.name,
        "now": now.isoformat(),
        "timezone": plant.site.timezone,
        "lines": lines,
    }
