"""The plant overview: one tile per machine, grouped by line — state and its loss category, for
how long, the last stop reason, and OEE of the current shift against the plant's target; line
and plant totals of the shift; worst first; an alert for a stop left without a reason.

The totals are Measure's own roll-ups (``by="line,shift"`` and ``by="site,shift"``: times and
counts summed, then divided), never an average of the machines' ratios.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.plant.calendar import shift_instances
from pilotline.store import Store
from pilotline.web.users import User

#: A machine stopped this many minutes of planned time without a reason raises the alert, unless
#: the page or API asks for another threshold (``?alert_min=``).
STOP_ALERT_MIN = 10.0
#: How far back a stop's planned time is counted for the alert.
ALERT_LOOK_BACK = dt.timedelta(days=7)


@dataclass(frozen=True)
class TileCategory:
    """How a tile shows the machine's state: its loss category, in a word, an icon and a colour."""

    key: str
    label: str
    icon: str
    meaning: str


#: What a tile can show, in the legend's order. A stop's category comes from its reason (the
#: plant's reason codes); a stop without one is a minor stop up to the minor-stop limit and then
#: unexplained; a stop outside planned time (a break, no shift) is a planned stop.
TILE_CATEGORIES: tuple[TileCategory, ...] = (
    TileCategory("running", "Running", "▶", "Making parts."),
    TileCategory(
        "planned_stop", "Planned stop", "Ⅱ", "Break, no orders, no shift, planned maintenance."
    ),
    TileCategory("setup", "Setup / changeover", "⚙", "Changeover, setup or adjustment."),
    TileCategory("breakdown", "Breakdown", "✖", "A failure, or waiting for material or people."),
    TileCategory(
        "unexplained",
        "Stop, no reason given",
        "?",
        "Stopped longer than a minor stop; nobody said why.",
    ),
    TileCategory("minor_stop", "Minor stop", "…", "A short stop: a jam, a blocked sensor."),
    TileCategory(
        "other_stop", "Other stop", "■", "A stop whose reason is a speed or quality loss."
    ),
    TileCategory("no_data", "No data", "∅", "No signal from the machine."),
)
TILE_BY_KEY = {c.key: c for c in TILE_CATEGORIES}
#: Where a stop takes its time from; the worst-first order puts these stops first.
UNPLANNED_STOPS = ("breakdown", "setup", "unexplained", "minor_stop", "other_stop")
TOTAL_FIELDS = ("oee", "availability", "performance", "quality", "planned_s", "good_ideal_s")


def for_user(
    full: dict[str, Any], user: User, now: dt.datetime, *, alert_min: float = STOP_ALERT_MIN
) -> dict[str, Any]:
    """The overview of every machine, cut down to the user's lines, durations as of ``now``, and
    the machines stopped ``alert_min`` minutes of planned time without a reason marked."""
    computed = dt.datetime.fromisoformat(full["now"])
    later = max(0.0, (now - computed).total_seconds())
    lines, alerts = [], []
    for line in full["lines"]:
        if not user.sees_line(line["line"]):
            continue
        machines = []
        for m in line["machines"]:
            since = dt.datetime.fromisoformat(m["since"]) if m["since"] else None
            waiting = m["no_reason_s"]
            if waiting is not None and m["planned_now"]:
                waiting += later
            alert = waiting is not None and waiting >= alert_min * 60
            machines.append(
                {
                    **m,
                    "for_s": (now - since).total_seconds() if since else None,
                    "no_reason_s": waiting,
                    "alert": alert,
                }
            )
            if alert and waiting is not None:
                alerts.append(
                    {
                        "machine": m["id"],
                        "name": m["name"],
                        "line": line["line"],
                        "stopped_s": waiting,
                        "text": f"{m['name']} stopped {int(waiting // 60)} min, no reason yet",
                    }
                )
        lines.append({**line, "machines": machines})
    alerts.sort(key=lambda a: -a["stopped_s"])
    every_line = len(lines) == len(full["lines"])
    return {
        **full,
        "now": now.isoformat(),
        "lines": lines,
        "total": full["total"] if every_line else None,
        "alert_after_min": alert_min,
        "alerts": alerts,
    }


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


def shift_totals(store: Store, plant: Plant, now: dt.datetime) -> dict[str, Any]:
    """Measure's roll-up of the shift running now, per line (``lines``) and for the site
    (``site``); a line or site whose machines are in different shifts now has no total."""
    measure = Measure(store, plant)
    out: dict[str, Any] = {"lines": {}, "site": None}
    if not plant.machines:
        return out
    start = now - dt.timedelta(days=1)
    for dim in ("line", "site"):
        current: dict[str, list[dict[str, Any]]] = {}
        for row in measure.oee(start=start, end=now, by=f"{dim},shift", now=now):
            if row["period_start"] <= now < row["period_end"]:
                current.setdefault(row[dim], []).append(row)
        for name, rows in current.items():
            if len(rows) != 1:
                continue
            row = rows[0]
            total = {k: row[k] for k in TOTAL_FIELDS}
            total |= {
                "shift": row["shift_key"],
                "shift_name": row["shift"],
                "machines": row["machines"],
                "target": plant.oee_target,
            }
            if dim == "line":
                out["lines"][name] = total
            else:
                out["site"] = total
    return out


def _category(state: str, reason: str | None, stopped_s: float, planned: bool, plant: Plant) -> str:
    """The tile category of a machine's state now (the engine's rules, for the state running now)."""
    if state == "running":
        return "running"
    if state == "no_data":
        return "no_data"
    if not planned:
        return "planned_stop"
    if reason:
        key = plant.reason_categories().get(reason.strip().lower())
        if key is None:
            return "unexplained"
        return key if key in TILE_BY_KEY else "other_stop"
    return "minor_stop" if stopped_s <= plant.cleaning.minor_stop_s else "unexplained"


def _planned_segments(
    plant: Plant, now: dt.datetime
) -> dict[str, list[tuple[dt.datetime, dt.datetime]]]:
    """Calendar → its planned segments (shifts minus breaks) of the last days, up to ``now``."""
    start = now - ALERT_LOOK_BACK - dt.timedelta(days=2)
    return {
        c.name: [
            seg for s in shift_instances(c, plant.tz, start, now) for seg in s.planned_segments()
        ]
        for c in plant.calendars
    }


def _planned(
    segments: list[tuple[dt.datetime, dt.datetime]], since: dt.datetime, now: dt.datetime
) -> tuple[bool, float]:
    """Whether ``now`` is planned time, and the planned seconds in ``[since, now]`` (a week at most)."""
    since = max(since, now - ALERT_LOOK_BACK)
    inside = any(a <= now < b for a, b in segments)
    seconds = sum(max(0.0, (min(b, now) - max(a, since)).total_seconds()) for a, b in segments)
    return inside, seconds


def _worst_first(machines: list[dict[str, Any]]) -> list[str]:
    """Machines stopped in planned time, longest first; then the rest, lowest OEE first."""

    def key(m: dict[str, Any]) -> tuple[int, float]:
        if m["category"] in UNPLANNED_STOPS:
            return 0, -(m["for_s"] or 0.0)
        return 1, m["oee"] if m["oee"] is not None else 2.0

    return [m["id"] for m in sorted(machines, key=key)]


def overview(
    store: Store,
    plant: Plant,
    user: User | None,
    now: dt.datetime,
    *,
    shifts: dict[str, dict[str, Any]] | None = None,
    totals: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Tiles for the user's machines (every machine when ``user`` is None); ``shifts`` from
    :func:`shift_oee` and ``totals`` from :func:`shift_totals` when they were computed already."""
    visible = [(line, m) for line, m in plant.machines if user is None or user.sees_line(line.name)]
    ids = [m.id for _, m in visible]
    naive_now = now.astimezone(dt.UTC).replace(tzinfo=None)
    with store.session() as s:
        # The state now, with the reason an operator gave for it if any (as the engine does).
        current = {
            r["machine"]: r
            for r in s.arrow(
                "SELECT s.machine, s.state, coalesce(o.reason, s.reason) AS reason, s.start_ts "
                "FROM (SELECT machine, state, reason, start_ts FROM states "
                "  WHERE machine IN (SELECT unnest(?)) AND start_ts <= ? "
                "  QUALIFY row_number() OVER (PARTITION BY machine ORDER BY start_ts DESC) = 1) s "
                "LEFT JOIN operator_reasons o ON o.machine = s.machine "
                "  AND s.start_ts >= o.start_ts AND s.start_ts < o.end_ts "
                "QUALIFY row_number() OVER (PARTITION BY s.machine ORDER BY o.start_ts DESC) = 1",
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
    if totals is None:
        totals = shift_totals(store, plant, now)
    segments = _planned_segments(plant, now)
    lines: list[dict[str, Any]] = []
    for line, machine in visible:
        if not lines or lines[-1]["line"] != line.name:
            lines.append(
                {"line": line.name, "machines": [], "total": totals["lines"].get(line.name)}
            )
        state = current.get(machine.id)
        stop = last_stop.get(machine.id)
        shift = shifts.get(machine.id)
        since = state["start_ts"].replace(tzinfo=dt.UTC) if state else None
        for_s = (now - since).total_seconds() if since else None
        planned, stopped_planned_s = _planned(
            segments[plant.calendar_of(line, machine).name], since or now, now
        )
        reason = state["reason"] if state else None
        category = (
            _category(state["state"], reason, for_s or 0.0, planned, plant) if state else "no_data"
        )
        waiting = state is not None and state["state"] == "stopped" and not reason
        tile = TILE_BY_KEY[category]
        lines[-1]["machines"].append(
            {
                "id": machine.id,
                "name": machine.label,
                "state": state["state"] if state else "no_data",
                "reason": reason,
                "since": since.isoformat() if since else None,
                "for_s": for_s,
                "last_stop_reason": stop["reason"] if stop else None,
                "shift": shift["shift_key"] if shift else None,
                "shift_name": shift["shift"] if shift else None,
                "oee": shift["oee"] if shift else None,
                "target": plant.oee_target,
                "category": category,
                "category_label": tile.label,
                "icon": tile.icon,
                "planned_now": planned,
                "no_reason_s": stopped_planned_s if waiting else None,
            }
        )
    for entry in lines:
        entry["worst_first"] = _worst_first(entry["machines"])
    return {
        "site": plant.site.name,
        "now": now.isoformat(),
        "timezone": plant.site.timezone,
        "lines": lines,
        "total": totals["site"],
        "categories": [
            {"key": c.key, "label": c.label, "icon": c.icon, "meaning": c.meaning}
            for c in TILE_CATEGORIES
        ],
        "order": "worst first: machines stopped in planned time, longest first; "
        "then the lowest OEE this shift first",
    }
