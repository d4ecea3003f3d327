"""Pair start and complete events into activity instances, with processing and waiting times.

By default every event is an event named by its activity, as in pm4py. Logs with a lifecycle
attribute (XES ``lifecycle:transition``: start, complete, schedule, …) can instead be read as
activity *instances*: each ``complete`` is paired with the earliest open ``start`` of the same
activity in the same case. The instance keeps the complete event's time as ``ts`` and gains a
``start`` time, so processing time (start → complete) and waiting time (previous complete →
start) can be told apart.
"""

from __future__ import annotations

from collections import defaultdict, deque

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline.errors import InputError
from pilotline.map.log import EventLog, _finish

START_WORDS = {"start"}
COMPLETE_WORDS = {"complete"}


def pair_lifecycle(log: EventLog, column: str = "lifecycle:transition") -> EventLog:
    """Activity instances from start/complete events; other transitions are left out (noted)."""
    events = log.events
    if column not in events.column_names:
        raise InputError(
            f"{log.source}: no lifecycle column {column!r}; the log's columns are {events.column_names}"
        )
    order = np.argsort(events["seq"].to_numpy(), kind="stable")
    cases = pc.cast(events["case"], pa.string()).to_numpy(zero_copy_only=False)[order]
    acts = pc.cast(events["activity"], pa.string()).to_numpy(zero_copy_only=False)[order]
    stamps = events["ts"].to_numpy(zero_copy_only=False)[order]
    words = pc.utf8_lower(pc.cast(events[column], pa.string()).combine_chunks()).to_numpy(
        zero_copy_only=False
    )[order]
    open_starts: dict[tuple[str, str], deque[np.datetime64]] = defaultdict(deque)
    keep: list[int] = []
    starts: list[np.datetime64] = []
    other = unmatched_complete = 0
    for i in range(len(order)):
        word = words[i]
        key = (cases[i], acts[i])
        if word in START_WORDS:
            open_starts[key].append(stamps[i])
        elif word in COMPLETE_WORDS:
            queue = open_starts.get(key)
            if queue:
                starts.append(queue.popleft())
            else:
                starts.append(stamps[i])
                unmatched_complete += 1
            keep.append(int(order[i]))
        else:
            other += 1
    unmatched_start = sum(len(q) for q in open_starts.values())
    table = events.take(pa.array(keep, pa.int64())).drop_columns(["case_no", "pos"])
    start_col = pa.array(np.array(starts, dtype="datetime64[us]"), pa.timestamp("us"))
    if "start" in table.column_names:
        table = table.set_column(table.column_names.index("start"), "start", start_col)
    else:
        table = table.append_column("start", start_col)
    paired = _finish(table, log.source)
    notes = [f"{len(keep):,} activity instances from start/complete pairs"]
    if other:
        notes.append(f"{other:,} events with other lifecycle transitions were left out")
    if unmatched_complete:
        notes.append(
            f"{unmatched_complete:,} completions had no start (processing time counted as 0)"
        )
    if unmatched_start:
        notes.append(f"{unmatched_start:,} starts were never completed and were left out")
    return EventLog(paired.events, log.source, notes + paired.notes)
