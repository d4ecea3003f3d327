"""Alarms on the floor: once a model's pilot is under way, its alarms are shown to the operators of
its machine (in a switchback, on the pilot's "on" days only) and their answers kept.

A model's pilot is the one registered (``pilotline pilot start``) under the id ``ai-NAME``, as
:func:`pilotline.ai.shadow.pilot_draft` writes it. Its alarms are shown from the pilot's first day
to its last (exclusive); after an "adopt" decision on every day from its start on; after
"abandon" never. Shadow mode marks each alarm ``shown`` when it starts on a day the pilot shows
alarms (the plant's local date), so the record says which alarms people saw.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from pilotline.store.session import Session

#: The id prefix of an AI model's pilot: ``ai-NAME``.
PREFIX = "ai-"
#: How long an unanswered alarm stays on the floor after it started.
OPEN_FOR = dt.timedelta(hours=12)
UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class Schedule:
    """The days a model's alarms are shown: ``start`` ≤ day < ``end`` (no end once adopted),
    and in a switchback only the ``on`` days (or every other day from ``start``)."""

    model: str
    start: dt.date
    end: dt.date | None
    on: frozenset[dt.date] | None = None
    alternate: bool = False

    def shows(self, day: dt.date) -> bool:
        if day < self.start or (self.end is not None and day >= self.end):
            return False
        if self.end is None:  # adopted: on every day
            return True
        if self.on is not None:
            return day in self.on
        if self.alternate:
            return (day - self.start).days % 2 == 0
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "start": self.start.isoformat(),
            "end": self.end.isoformat() if self.end else None,
            "switchback": self.on is not None or self.alternate,
        }


def schedules(session: Session) -> dict[str, Schedule]:
    """Model → its pilot's schedule, for every model whose pilot was started and not abandoned."""
    from pilotline.pilot.spec import Pilot

    versions = session.arrow(
        "SELECT title, frozen FROM pilot_versions WHERE starts_with(title, ?) ORDER BY recorded_at",
        [PREFIX],
    ).to_pylist()
    decided = {
        r["title"]: r["decision"]
        for r in session.arrow(
            "SELECT title, decision FROM pilot_decisions WHERE starts_with(title, ?) "
            "ORDER BY decided_at",
            [PREFIX],
        ).to_pylist()
    }
    latest = {r["title"]: r["frozen"] for r in versions}  # the last version of each wins
    out: dict[str, Schedule] = {}
    for title, frozen in latest.items():
        decision = decided.get(title)
        if decision == "abandon":
            continue
        try:
            raw = {k: v for k, v in json.loads(frozen).items() if not k.startswith("_")}
            pilot = Pilot.model_validate(raw | {"title": title, "owner": "-"})
        except (ValueError, TypeError, AttributeError):
            continue  # a version recorded by the first Pilotline froze no windows
        model = title[len(PREFIX) :]
        sb = pilot.switchback if pilot.design == "switchback" else None
        out[model] = Schedule(
            model=model,
            start=pilot.pilot.start,
            end=None if decision == "adopt" else pilot.pilot.end,
            on=frozenset(sb.on) if sb is not None and sb.on else None,
            alternate=sb is not None and sb.alternate,
        )
    return out


def local_day(t: dt.datetime, tz: ZoneInfo | None) -> dt.date:
    """The plant's date of ``t`` (naive times are UTC, as the store keeps them)."""
    aware = t if t.tzinfo else t.replace(tzinfo=dt.UTC)
    return aware.astimezone(tz or UTC).date()


def open_alarms(session: Session, now: dt.datetime) -> list[dict[str, Any]]:
    """The alarms on the floor now: shown, not answered, started in the last ``OPEN_FOR``, of a
    model whose pilot is still on; newest first. One small query on ``ai_alarms``."""
    live = schedules(session)
    if not live:
        return []
    since = (now - OPEN_FOR).astimezone(dt.UTC).replace(tzinfo=None)
    rows = session.arrow(
        "SELECT model, machine, start_ts, end_ts, peak FROM ai_alarms "
        "WHERE shown AND answer IS NULL AND start_ts >= ? ORDER BY start_ts DESC",
        [since],
    ).to_pylist()
    return [r for r in rows if r["model"] in live]
