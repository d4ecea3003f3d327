"""Shift calendars turned into real time: shift instances and their planned segments in UTC.

Local wall-clock times (a shift from 22:00 to 06:00, a break at 02:00) are turned into UTC
instants with the site's time zone, so a night shift across the spring-forward change lasts
7 real hours and one across the fall-back change 9, in Europe/London.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from pilotline.plant.model import WEEKDAYS, Calendar, Shift

UTC = dt.UTC


@dataclass(frozen=True)
class ShiftInstance:
    """One occurrence of a shift: its production date (local date it starts) and UTC bounds."""

    calendar: str
    shift: str
    production_date: dt.date
    start: dt.datetime
    end: dt.datetime
    breaks: tuple[tuple[dt.datetime, dt.datetime], ...]

    @property
    def key(self) -> str:
        return f"{self.production_date.isoformat()} {self.shift}"

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()

    def planned_segments(self) -> list[tuple[dt.datetime, dt.datetime]]:
        """The shift minus its breaks, as UTC intervals in time order."""
        segments: list[tuple[dt.datetime, dt.datetime]] = []
        cursor = self.start
        for b_start, b_end in sorted(self.breaks):
            if b_start > cursor:
                segments.append((cursor, b_start))
            cursor = max(cursor, b_end)
        if cursor < self.end:
            segments.append((cursor, self.end))
        return segments


def local_instant(day: dt.date, clock: dt.time, tz: ZoneInfo) -> dt.datetime:
    """A local wall-clock time on a date as a UTC instant (a time in the spring gap moves on)."""
    return dt.datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def _instance(calendar: Calendar, shift: Shift, day: dt.date, tz: ZoneInfo) -> ShiftInstance:
    start_t, end_t = shift.start_time, shift.end_time
    end_day = day if end_t > start_t else day + dt.timedelta(days=1)
    start = local_instant(day, start_t, tz)
    end = local_instant(end_day, end_t, tz)
    breaks = []
    for b in shift.breaks:
        b_t = dt.time.fromisoformat(b.start)
        b_day = day if b_t >= start_t else day + dt.timedelta(days=1)
        b_start = local_instant(b_day, b_t, tz)
        b_end = b_start + dt.timedelta(minutes=b.minutes)
        b_start, b_end = max(b_start, start), min(b_end, end)
        if b_start < b_end:
            breaks.append((b_start, b_end))
    return ShiftInstance(calendar.name, shift.name, day, start, end, tuple(sorted(breaks)))


def shift_instances(
    calendar: Calendar, tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[ShiftInstance]:
    """Shift instances that start in ``[start, end)`` (UTC-aware datetimes), in time order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    holidays = set(calendar.holidays)
    first = start.astimezone(tz).date() - dt.timedelta(days=1)
    last = end.astimezone(tz).date()
    out: list[ShiftInstance] = []
    day = first
    while day <= last:
        if day not in holidays:
            weekday = WEEKDAYS[day.weekday()]
            for shift in calendar.shifts:
                if weekday in shift.days:
                    inst = _instance(calendar, shift, day, tz)
                    if start <= inst.start < end:
                        out.append(inst)
        day += dt.timedelta(days=1)
    out.sort(key=lambda i: i.start)
    return out
