"""The operator's tablet page: the machine's state now, one tap for the reason of the current or
last unexplained stop, and scrap with a reason and a count."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pyarrow as pa

from pilotline.errors import InputError, NotFound
from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.plant.calendar import ShiftInstance, shift_instances
from pilotline.plant.losses import CATEGORY_BY_KEY
from pilotline.store import Store, audit
from pilotline.web.users import User

#: Loss categories an operator gives as the reason for a stop, in the order the buttons appear.
STOP_CATEGORIES = ("breakdown", "setup", "minor_stop", "planned_stop")
SCRAP_CATEGORIES = ("production_reject", "startup_reject")
LOOK_BACK = dt.timedelta(hours=12)  # an operator's reach, and the stops the page lists
MANAGER_REACH = dt.timedelta(days=92)  # how far back a manager may give or change a reason
CLOCK_SLACK = dt.timedelta(minutes=2)  # a tablet's clock may run a little ahead
UNDO_WINDOW = dt.timedelta(minutes=5)
MAX_SCRAP = 100_000
LARGE_SCRAP_MIN = 20  # an entry above this many parts …
LARGE_SCRAP_SHARE = 0.25  # … and this share of the shift's parts asks "is that right?"


class NeedsConfirmation(InputError):
    """The entry is possible but unusual: ask the person to confirm it, then send it again."""


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


def offered(plant: Plant, user: User, stop: dict[str, Any] | None) -> tuple[str, ...]:
    """The stop categories a person is offered: a manager all; an operator not planned time,
    and not a minor stop for a stop longer than the plant's minor-stop limit."""
    if user.at_least("manager"):
        return STOP_CATEGORIES
    long = stop is not None and stop["minutes"] * 60 > plant.cleaning.minor_stop_s
    return tuple(
        c
        for c in STOP_CATEGORIES
        if CATEGORY_BY_KEY[c].bucket != "planned" and not (long and c == "minor_stop")
    )


def page(store: Store, plant: Plant, user: User, machine: str, now: dt.datetime) -> dict[str, Any]:
    line, label = machine_of(plant, user, machine)
    recent = stops(store, plant, machine, now)
    current = recent[0] if recent and recent[0]["ongoing"] else None
    # The stop running now first (it is fresh in mind), then the others, newest first.
    waiting = [s for s in recent if s["category"] == "unexplained"]
    open_stop = waiting[0] if waiting else None
    return {
        "machine": machine,
        "label": label,
        "line": line,
        "state": "stopped" if current else "running",
        "current": current,
        "unexplained": open_stop,
        "waiting": len(waiting),
        "stop_reasons": reasons_by_category(plant, offered(plant, user, open_stop)),
        "scrap_reasons": reasons_by_category(plant, SCRAP_CATEGORIES),
        "recent": recent[:8],
        "shift": shift_pace(store, plant, machine, now),
    }


def shift_pace(store: Store, plant: Plant, machine: str, now: dt.datetime) -> dict[str, Any] | None:
    """This shift's parts against what the ideal cycle makes in the planned time so far (pace)
    and in the whole shift (target); None outside a shift."""
    found = shift_so_far(store, plant, machine, now)
    if found is None:
        return None
    shift, made, scrapped = found
    end = shift.end
    m = plant.machine(machine)
    planned = shift.planned_segments()
    so_far = sum(max(0.0, (min(b, now) - a).total_seconds()) for a, b in planned if a < now)
    whole = sum((b - a).total_seconds() for a, b in planned)
    by_now = int(so_far / m.ideal_cycle_s)
    return {
        "name": shift.shift,
        "ends": end.astimezone(plant.tz).strftime("%H:%M"),
        "running": now < end,
        "good": made - scrapped,
        "made": made,
        "by_now": by_now,
        "target": int(whole / m.ideal_cycle_s),
        "pace": (made / by_now) if by_now else None,
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
    now: dt.datetime,
) -> list[tuple[dt.datetime, dt.datetime]]:
    """Give the reason for the stops in ``[start, end)``; returns the stretches it now covers.

    A reason applies only to stops that exist (never to running time), inside the last
    ``LOOK_BACK`` for an operator (a manager may reach back ``MANAGER_REACH``), and only a manager
    may turn stopped time into planned time. Every entry goes into the audit trail.
    """
    machine_of(plant, user, machine)
    code = reason.strip().lower()
    category = plant.reason_categories().get(code)
    if category is None:
        raise InputError(f"{reason!r} is not a reason code of this plant")
    if end <= start:
        raise InputError("the stop must end after it starts")
    manager = user.at_least("manager")
    reach = MANAGER_REACH if manager else LOOK_BACK
    if start < now - reach or end > now + CLOCK_SLACK:
        who = "a manager" if manager else "an operator"
        raise InputError(
            f"{who} can give reasons for stops of the last {_span(reach)} only, up to now "
            f"(this one is {start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} UTC)"
            + ("" if manager else "; ask a manager to explain older stops")
        )
    if category not in STOP_CATEGORIES:
        raise InputError(
            f"{code!r} is a {CATEGORY_BY_KEY[category].label.lower()} reason, not a reason a "
            "machine stops for; pick one of the stop reasons"
        )
    if CATEGORY_BY_KEY[category].bucket == "planned" and not manager:
        raise InputError(
            f"{code!r} would make this stop planned time, which only a manager can do; "
            "pick the reason that stopped the machine, or ask a manager"
        )
    # One write session around the check, the entry and its audit record: the file is opened
    # once for the tap (opening and closing it per step cost more than the work).
    with store.session(write=True):
        measure = Measure(store, plant)
        # A reason belongs to the stops that begin in the range (the engine gives a state the
        # reason whose range holds its start): one for the middle of a stop would be stored and
        # audited, and change nothing.
        stops = measure.stopped(machine=machine, start=start, end=end, now=now, begun=True)
        if not stops:
            during = measure.stopped(machine=machine, start=start, end=end, now=now)
            if during:
                raise InputError(
                    f"{machine} was already stopped at {start:%Y-%m-%d %H:%M:%S} UTC: a reason is "
                    "given from the start of the stop; pick the stop in the list"
                )
            raise InputError(
                f"{machine} did not stop between {start:%Y-%m-%d %H:%M} and {end:%Y-%m-%d %H:%M} UTC; "
                "a reason is given for a stop"
            )
        limit = plant.cleaning.minor_stop_s
        if category == "minor_stop" and not manager:
            long = [(a, b) for a, b in stops if (b - a).total_seconds() > limit]
            if long:
                a, b = long[0]
                raise InputError(
                    f"a stop of {(b - a).total_seconds() / 60:.0f} min is longer than a minor stop "
                    f"(at most {limit:g} s here): pick what held the machine up (breakdown, setup…), "
                    "or ask a manager"
                )
        table = pa.table(
            {
                "machine": [machine] * len(stops),
                "start": pa.array([a for a, _ in stops], pa.timestamp("us", "UTC")),
                "end": pa.array([b for _, b in stops], pa.timestamp("us", "UTC")),
                "reason": [code] * len(stops),
                "entered_by": [user.username] * len(stops),
            }
        )
        import_table(store, plant, table, kind="reasons", source=f"web: {user.username}")
        with store.session(write=True) as session:
            for a, b in stops:
                audit.record(
                    session,
                    user.username,
                    "reason",
                    machine,
                    start=a,
                    end=b,
                    reason=code,
                    account=user.account,
                )
    return stops


def _span(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:.0f} hours" if hours < 48 else f"{hours / 24:.0f} days"


def shift_so_far(
    store: Store, plant: Plant, machine: str, now: dt.datetime
) -> tuple[ShiftInstance, int, int] | None:
    """(shift, parts made, parts already scrapped) of the shift running at ``now``, or of
    the last one that ended in the ``LOOK_BACK`` before it; None when there was none. Parts are
    summed straight from the counts (a tap must answer at once, not after a KPI run)."""
    line, m = next((ln, mc) for ln, mc in plant.machines if mc.id == machine)
    shifts = [
        s
        for s in shift_instances(
            plant.calendar_of(line, m), plant.tz, now - LOOK_BACK - dt.timedelta(days=1), now
        )
        if s.start <= now and s.end > now - LOOK_BACK
    ]
    if not shifts:
        return None
    shift = shifts[-1]
    # Parts up to now only: rows stamped later (a clock ahead, a replay) are not parts made yet.
    naive = [t.astimezone(dt.UTC).replace(tzinfo=None) for t in (shift.start, min(shift.end, now))]
    with store.session() as session:
        got = session.arrow(
            "SELECT coalesce(sum(total), 0) AS made, coalesce(sum(reject), 0) AS scrapped "
            "FROM counts WHERE machine = ? AND ts > ? AND ts <= ?",
            [machine, *naive],
        ).to_pylist()[0]
    return shift, int(got["made"]), int(got["scrapped"])


def record_scrap(
    store: Store,
    plant: Plant,
    user: User,
    machine: str,
    *,
    count: int,
    reason: str,
    now: dt.datetime,
    confirmed: bool = False,
) -> dict[str, Any]:
    """Record scrapped parts of the current (or last) shift; returns the entry (for undo).

    The scrap of a shift can never exceed the parts the machine made in it (quality would go
    below zero); an entry above ``LARGE_SCRAP_SHARE`` of them (and above ``LARGE_SCRAP_MIN``
    parts) needs ``confirmed``; the person who made it can undo it for ``UNDO_WINDOW``.
    """
    machine_of(plant, user, machine)
    code = reason.strip().lower()
    if plant.reason_categories().get(code) not in SCRAP_CATEGORIES:
        raise InputError(f"{reason!r} is not a scrap reason of this plant")
    if not 1 <= count <= MAX_SCRAP:
        raise InputError(f"the scrap count must be a whole number from 1 to {MAX_SCRAP:,}")
    shift = shift_so_far(store, plant, machine, now)
    if shift is None:
        raise InputError(
            f"{machine} has had no shift in the last {_span(LOOK_BACK)}: there are no parts to "
            "scrap; a manager can correct older shifts"
        )
    current, made, scrapped = shift
    last = current.end
    room = made - scrapped
    if count > room:
        raise InputError(
            f"{count:,} scrapped is more than this shift's {made:,} parts less the "
            f"{scrapped:,} already scrapped (at most {max(room, 0):,}); check the count"
        )
    if count > max(LARGE_SCRAP_MIN, LARGE_SCRAP_SHARE * made) and not confirmed:
        raise NeedsConfirmation(
            f"{count:,} parts is {count / made:.0%} of the {made:,} made this shift. Is that right?"
        )
    # Scrapped parts were counted when they were made: a row with no new parts, only rejects
    # (as a live reject counter gives), inside the shift they belong to.
    ts = min(now, last - dt.timedelta(microseconds=1)).astimezone(dt.UTC).replace(tzinfo=None)
    row = pa.table(
        {
            "machine": [machine],
            "ts": pa.array([ts], pa.timestamp("us")),
            "total": pa.array([0], pa.int64()),
            "reject": pa.array([count], pa.int64()),
            "rework": pa.array([0], pa.int64()),
            "reject_reason": [code],
        }
    )
    with store.session(write=True) as session:
        # An entry is named by its machine and moment: a second one in the same microsecond
        # (two tablets, or a clock standing still) takes the next free microsecond before it.
        while session.scalar(
            "SELECT count(*) FROM counts WHERE machine = ? AND ts = ?", [machine, ts]
        ):
            ts -= dt.timedelta(microseconds=1)
        session.insert_new("counts", row.set_column(1, "ts", pa.array([ts], pa.timestamp("us"))))
        audit.record(
            session,
            user.username,
            "scrap",
            machine,
            ts=ts,
            count=count,
            reason=code,
            account=user.account,
        )
    return {"entry": ts.isoformat(), "count": count, "reason": code}


def change_scrap(
    store: Store,
    plant: Plant,
    user: User,
    machine: str,
    *,
    entry: str,
    count: int,
    now: dt.datetime,
) -> None:
    """Undo (``count`` 0) or correct a scrap entry: its maker may undo it within
    ``UNDO_WINDOW``; a manager may undo or correct any, within the shift's parts."""
    machine_of(plant, user, machine)
    try:
        ts = dt.datetime.fromisoformat(entry)
    except ValueError:
        raise InputError(f"{entry[:40]!r} is not a scrap entry") from None
    ts = ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts
    with store.session(write=True) as session:
        rows = session.arrow(
            "SELECT total, reject, reject_reason FROM counts WHERE machine = ? AND ts = ?",
            [machine, ts],
        ).to_pylist()
        if not rows or rows[0]["total"] != 0:
            raise NotFound(f"no scrap entry {entry!r} on {machine}")
        old = int(rows[0]["reject"])
        made = session.arrow(
            "SELECT logged_at, username, detail FROM audit_log WHERE action = 'scrap' "
            "AND machine = ? AND detail LIKE ? ORDER BY logged_at DESC LIMIT 1",
            [machine, f'%"ts": "{ts}"%'],
        ).to_pylist()
        manager = user.at_least("manager")
        if not manager:
            if count != 0:
                raise PermissionError("only a manager can change a scrap entry; you can undo it")
            maker = json.loads(made[0]["detail"]).get("account") if made else None
            mine = bool(made) and made[0]["username"] == user.username and maker == user.account
            recent = bool(made) and made[0]["logged_at"] >= (now - UNDO_WINDOW).astimezone(
                dt.UTC
            ).replace(tzinfo=None)
            if not (mine and recent):
                raise PermissionError(
                    f"an entry can be undone by whoever made it, for {_span_min(UNDO_WINDOW)}; "
                    "ask a manager to correct it"
                )
        if count < 0 or count > MAX_SCRAP:
            raise InputError(f"the scrap count must be a whole number from 0 to {MAX_SCRAP:,}")
        if count > old:
            made, rejected = _parts_around(session, machine, ts)
            if rejected - old + count > made:
                raise InputError(
                    f"{count:,} scrapped would be more than the {made:,} parts made in that shift "
                    f"(with {rejected - old:,} scrapped otherwise)"
                )
        if count == 0:
            session.execute("DELETE FROM counts WHERE machine = ? AND ts = ?", [machine, ts])
        else:
            session.execute(
                "UPDATE counts SET reject = ? WHERE machine = ? AND ts = ?", [count, machine, ts]
            )
        audit.record(
            session,
            user.username,
            "scrap undone" if count == 0 else "scrap corrected",
            machine,
            account=user.account,
            ts=ts,
            count=count,
            was=old,
            reason=rows[0]["reject_reason"],
        )


def _span_min(delta: dt.timedelta) -> str:
    return f"{delta.total_seconds() / 60:.0f} minutes"


def _parts_around(session: Any, machine: str, ts: dt.datetime) -> tuple[int, int]:
    """Parts made and rejected on the machine in the ``LOOK_BACK`` before ``ts`` (a bound for a
    manager's correction when the shift itself is not at hand)."""
    got = session.arrow(
        "SELECT coalesce(sum(total), 0) AS made, coalesce(sum(reject), 0) AS rejected "
        "FROM counts WHERE machine = ? AND ts > ? AND ts <= ?",
        [machine, ts - LOOK_BACK, ts],
    ).to_pylist()[0]
    return int(got["made"]), int(got["rejected"])
