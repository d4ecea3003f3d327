"""Operator-entered reasons: merged per machine so that no moment has two reasons.

Entries are kept non-overlapping. Where a new entry overlaps a stored one, the newer entry wins
on the overlap and the older keeps the rest, so time is never counted twice.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from pilotline import clock
from pilotline.store import Session


@dataclass(frozen=True)
class Entry:
    start: dt.datetime
    end: dt.datetime
    reason: str
    entered_by: str | None
    entered_at: dt.datetime | None
    priority: tuple[int, int]


def merge_entries(entries: list[Entry]) -> list[Entry]:
    """Non-overlapping pieces; on any overlap the entry with the highest priority wins."""
    cuts = sorted({e.start for e in entries} | {e.end for e in entries})
    pieces: list[Entry] = []
    for a, b in itertools.pairwise(cuts):
        covering = [e for e in entries if e.start <= a and e.end >= b]
        if not covering:
            continue
        best = max(covering, key=lambda e: e.priority)
        last = pieces[-1] if pieces else None
        if last and last.end == a and last.priority == best.priority:
            pieces[-1] = Entry(
                last.start, b, last.reason, last.entered_by, last.entered_at, last.priority
            )
        else:
            pieces.append(Entry(a, b, best.reason, best.entered_by, best.entered_at, best.priority))
    return pieces


def merge_operator_reasons(session: Session, table: pa.Table, import_id: int) -> int:
    """Store the file's entries merged with the stored ones; return how many pieces are new."""
    now = clock.utc_naive()
    new_pieces = 0
    for machine in pc.unique(table["machine"]).to_pylist():
        part = table.filter(pc.equal(table["machine"], machine))
        lo, hi = pc.min(part["start"]).as_py(), pc.max(part["end"]).as_py()
        stored = session.arrow(
            "SELECT start_ts, end_ts, reason, entered_by, entered_at FROM operator_reasons "
            "WHERE machine = ? AND start_ts < ? AND end_ts > ? ORDER BY start_ts",
            [machine, hi, lo],
        )
        entries = [
            Entry(r["start_ts"], r["end_ts"], r["reason"], r["entered_by"], r["entered_at"], (0, i))
            for i, r in enumerate(stored.to_pylist())
        ]
        by = (
            part["entered_by"].to_pylist()
            if "entered_by" in part.column_names
            else [None] * part.num_rows
        )
        for i, (s, e, reason, who) in enumerate(
            zip(
                part["start"].to_pylist(),
                part["end"].to_pylist(),
                part["reason"].to_pylist(),
                by,
                strict=True,
            )
        ):
            entries.append(Entry(s, e, reason, who, now, (1, i)))
        merged = merge_entries(entries)
        before = {(e.start, e.end, e.reason) for e in entries if e.priority[0] == 0}
        new_pieces += sum((e.start, e.end, e.reason) not in before for e in merged)
        session.delete_where(
            "operator_reasons", "machine = ? AND start_ts < ? AND end_ts > ?", [machine, hi, lo]
        )
        if merged:
            session.insert_new(
                "operator_reasons",
                pa.table(
                    {
                        "machine": pa.array([machine] * len(merged), pa.string()),
                        "start_ts": pa.array([e.start for e in merged], pa.timestamp("us")),
                        "end_ts": pa.array([e.end for e in merged], pa.timestamp("us")),
                        "reason": pa.array([e.reason for e in merged], pa.string()),
                        "entered_by": pa.array([e.entered_by for e in merged], pa.string()),
                        "entered_at": pa.array([e.entered_at for e in merged], pa.timestamp("us")),
                        "import_id": pa.array([import_id] * len(merged), pa.int64()),
                    }
                ),
            )
    return new_pieces
