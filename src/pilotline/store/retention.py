"""Data retention: delete rows older than the settings keep, table by table, on any store.

A disk that fills up is how systems like this one usually fail: process values (one row per
reading of a temperature or a speed) grow fastest, so they are kept 180 days by default; the OEE
history (states, counts) is small and kept until a setting says otherwise. Deleting frees space
for new rows; to shrink the embedded store's file, back it up and restore the copy.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pilotline.store.session import Store

#: The time column that ages each table's rows.
AGE_COLUMN = {
    "process_values": "ts",
    "states": "start_ts",
    "counts": "ts",
    "counter_readings": "ts",
    "operator_reasons": "start_ts",
}


#: Tables whose latest row before the cut stays: a machine's state lasts until its next state,
#: and a counter's last reading is where the next file's increments start.
LAST_KEPT = {"states": ("machine",), "counter_readings": ("machine", "counter")}


@dataclass(frozen=True)
class Pruned:
    table: str
    before: dt.datetime
    rows: int


def prune(
    store: Store, keep_days: dict[str, float], *, now: dt.datetime, dry_run: bool = False
) -> list[Pruned]:
    """Delete (or, with ``dry_run``, count) each table's rows older than its days to keep."""
    out = []
    with store.session(write=not dry_run) as s:
        for table, days in keep_days.items():
            column = AGE_COLUMN[table]
            cut = (now - dt.timedelta(days=days)).astimezone(dt.UTC).replace(tzinfo=None)
            rows = int(s.scalar(f"SELECT count(*) FROM {table} WHERE {column} < ?", [cut]))
            where, params = f"{column} < ?", [cut]
            if table in LAST_KEPT:  # the row in force at the cut still says what happened after it
                key = ", ".join(LAST_KEPT[table])
                where += (
                    f" AND ({key}, {column}) NOT IN (SELECT {key}, max({column}) FROM {table} "
                    f"WHERE {column} < ? GROUP BY {key})"
                )
                params.append(cut)
                rows = int(s.scalar(f"SELECT count(*) FROM {table} WHERE {where}", params))
            if rows and not dry_run:
                s.delete_where(table, where, params)
            out.append(Pruned(table, cut.replace(tzinfo=dt.UTC), rows))
    return out
