"""Storing a checked file: each kind in its table, in the import's transaction; raw counter
readings turned into part counts after the readings stored before; rows that contradict stored
data refused."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline.errors import ImportRejected, Problem
from pilotline.ingest.checks import intervals_s, min_cycle, rate_limits, too_many_parts
from pilotline.ingest.counters import counter_increments
from pilotline.ingest.operator import merge_operator_reasons
from pilotline.plant.model import Plant
from pilotline.store import Session, Store


# -- storing ---------------------------------------------------------------------------------------
def _column(table: pa.Table, name: str, typ: pa.DataType, default: object = None) -> pa.Array:
    if name in table.column_names:
        return table[name]
    return pa.array([default] * table.num_rows, typ)


#: The store's table for each kind stored row by row, and its natural key in the file's terms.
_TABLE_OF = {"states": "states", "counts": "counts", "orders": "work_orders"}


def _shaped(kind: str, table: pa.Table, import_id: int) -> pa.Table:
    """A states, counts or orders table in the store's columns."""
    ids = pa.array(np.full(table.num_rows, import_id, dtype=np.int64))
    if kind == "states":
        return pa.table(
            {
                "machine": table["machine"],
                "start_ts": table["ts"],
                "end_ts": _column(table, "end", pa.timestamp("us")),
                "state": table["state"],
                "reason": _column(table, "reason", pa.string()),
                "import_id": ids,
            }
        )
    if kind == "counts":
        zeros = pa.array(np.zeros(table.num_rows, dtype=np.int64))
        return pa.table(
            {
                "machine": table["machine"],
                "ts": table["ts"],
                "total": table["total"],
                "reject": pc.fill_null(table["reject"], 0)
                if "reject" in table.column_names
                else zeros,
                "rework": pc.fill_null(table["rework"], 0)
                if "rework" in table.column_names
                else zeros,
                "product": _column(table, "product", pa.string()),
                "work_order": _column(table, "work_order", pa.string()),
                "reject_reason": _column(table, "reject_reason", pa.string()),
                "import_id": ids,
            }
        )
    return pa.table(
        {
            "work_order": table["work_order"],
            "machine": table["machine"],
            "product": _column(table, "product", pa.string()),
            "start_ts": table["start"],
            "end_ts": _column(table, "end", pa.timestamp("us")),
            "quantity": _column(table, "quantity", pa.int64()),
            "import_id": ids,
        }
    )


def _conflict_problems(
    session: Session, table_name: str, data: pa.Table, source: str
) -> list[Problem]:
    return [
        Problem(
            source,
            None,
            None,
            f"{', '.join(f'{k}={v}' for k, v in c.key.items())} is already stored with "
            f"{c.stored}, but this file says {c.incoming}; nothing was changed. Delete the "
            "stored data first if the file is the correct one.",
        )
        for c in session.conflicts(table_name, data)
    ]


def stored_conflicts(store: Store, kind: str, table: pa.Table, source: str) -> list[Problem]:
    """Rows that contradict stored data, checked with the file's other problems (so that they
    do not appear only once those are fixed). Rows whose key could not be read are left out."""
    if kind not in _TABLE_OF:
        return []
    needed = {
        "states": ["machine", "ts", "state"],
        "counts": ["machine", "ts", "total"],
        "orders": ["work_order", "machine", "start"],
    }[kind]
    if not set(needed) <= set(table.column_names):
        return []
    valid: Any = None
    for c in needed:
        ok = pc.is_valid(table[c])
        valid = ok if valid is None else pc.and_(valid, ok)
    readable = table.filter(valid)
    if readable.num_rows == 0:
        return []
    with store.session() as session:
        return _conflict_problems(session, _TABLE_OF[kind], _shaped(kind, readable, 0), source)


def store_rows(
    session: Session,
    plant: Plant,
    kind: str,
    table: pa.Table,
    import_id: int,
    counter_bits: int | None,
    source: str,
) -> tuple[int, list[str]]:
    if kind in _TABLE_OF:
        data = _shaped(kind, table, import_id)
        return _insert(session, _TABLE_OF[kind], data, source), []
    if kind == "counters":
        return _store_counters(session, table, import_id, counter_bits, source, plant)
    return merge_operator_reasons(session, table, import_id), []


def _insert(session: Session, table_name: str, data: pa.Table, source: str) -> int:
    conflicts = _conflict_problems(session, table_name, data, source)
    if conflicts:
        raise ImportRejected(conflicts)
    return session.insert_new(table_name, data).new


@dataclass
class _Readings:
    """One machine's readings of one counter in a file: which rows, and the new parts."""

    rows: np.ndarray  # positions in the machine's rows that have a new reading
    ts: pa.Array
    values: np.ndarray
    increments: np.ndarray
    previous_us: int | None


def _new_readings(
    session: Session,
    machine: str,
    counter: str,
    part: pa.Table,
    keep: np.ndarray,
    bits: int | None,
    source: str,
    problems: list[Problem],
) -> tuple[_Readings | None, int, int]:
    """The readings of ``counter`` not stored yet (an empty cell is no reading), turned into
    increments after the last stored reading; ``keep`` loses rows already stored."""
    have = np.asarray(pc.is_valid(part[counter]).to_numpy(zero_copy_only=False))
    values = np.asarray(pc.fill_null(part[counter], 0).to_numpy(zero_copy_only=False))
    ts_us = np.asarray(pc.cast(part["ts"], pa.int64()).to_numpy(zero_copy_only=False))
    stored = session.arrow(
        "SELECT ts, value FROM counter_readings WHERE machine = ? AND counter = ? ORDER BY ts",
        [machine, counter],
    )
    previous = previous_us = None
    if stored.num_rows:
        s_ts = np.asarray(pc.cast(stored["ts"], pa.int64()).to_numpy(zero_copy_only=False))
        known = have & np.isin(ts_us, s_ts)
        if counter == "counter":
            keep &= ~known
        have &= ~known
        late = have & (ts_us < s_ts[-1])
        if late.any():
            row = int(part["_row"].to_numpy()[np.flatnonzero(late)[0]])
            last = stored["ts"][-1].as_py()
            problems.append(
                Problem(
                    source,
                    row,
                    "ts",
                    f"{counter} readings for {machine!r} are already stored up to {last} UTC; a "
                    "raw counter file must continue after them (import counter files in time "
                    "order)",
                )
            )
            return None, 0, 0
        previous, previous_us = int(stored["value"][-1].as_py()), int(s_ts[-1])
    have &= keep
    at = np.flatnonzero(have)
    result = counter_increments(values[at], previous=previous, bits=bits)
    readings = _Readings(
        at, part["ts"].take(pa.array(at)), values[at], result.increments, previous_us
    )
    return readings, result.wraps, result.resets


def _spread_rejects(
    total: np.ndarray, rejects: _Readings, rows: np.ndarray, machine: str, source: str
) -> tuple[np.ndarray, list[Problem]]:
    """Rejects per row: each reject reading's increment at its row, and what exceeds that row's
    parts on the rows since the reject reading before (their rejects were read late). Never
    more rejects than parts: what cannot be placed is a problem, not dropped."""
    reject = np.zeros_like(total)
    problems: list[Problem] = []
    start = 0
    for pos, inc in zip(rejects.rows.tolist(), rejects.increments.tolist(), strict=True):
        left = int(inc)
        for i in range(pos, start - 1, -1):
            if left <= 0:
                break
            room = int(total[i] - reject[i])
            take = min(room, left)
            reject[i] += take
            left -= take
        if left > 0:
            problems.append(
                Problem(
                    source,
                    int(rows[pos]),
                    "reject_counter",
                    f"the reject counter of {machine!r} rose by {int(inc):,} since its reading "
                    f"before, but the part counter by only {int(total[start : pos + 1].sum()):,};"
                    " rejects are part of the parts (is a counter wrong, or reset at another "
                    "time?)",
                )
            )
        start = pos + 1
    return reject, problems


def _store_counters(
    session: Session,
    table: pa.Table,
    import_id: int,
    counter_bits: int | None,
    source: str,
    plant: Plant,
) -> tuple[int, list[str]]:
    wraps = resets = 0
    problems: list[Problem] = []
    count_parts: list[pa.Table] = []
    reading_parts: list[pa.Table] = []
    cycles = min_cycle(plant)
    for machine in pc.unique(table["machine"]).to_pylist():
        part = table.filter(pc.equal(table["machine"], machine))
        rows = part["_row"].to_numpy()
        keep = np.ones(part.num_rows, dtype=bool)
        found: dict[str, _Readings] = {}
        for counter in ("counter", "reject_counter"):
            if counter not in part.column_names:
                continue
            readings, w, r = _new_readings(
                session, machine, counter, part, keep, counter_bits, source, problems
            )
            if readings is None:
                continue
            found[counter] = readings
            wraps, resets = wraps + w, resets + r
            n = len(readings.rows)
            reading_parts.append(
                pa.table(
                    {
                        "machine": pa.array([machine] * n, pa.string()),
                        "counter": pa.array([counter] * n, pa.string()),
                        "ts": readings.ts,
                        "value": pa.array(readings.values, pa.int64()),
                        "import_id": pa.array(np.full(n, import_id, dtype=np.int64)),
                    }
                )
            )
        if "counter" not in found or not keep.any():
            continue
        parts = found["counter"]
        total = np.zeros(part.num_rows, dtype=np.int64)
        total[parts.rows] = parts.increments
        ts_us = np.asarray(pc.cast(part["ts"], pa.int64()).to_numpy(zero_copy_only=False))
        seconds = intervals_s(ts_us[parts.rows], parts.previous_us)
        limit = rate_limits(cycles[machine], seconds)
        for i in np.flatnonzero(parts.increments > limit):
            problems.append(
                Problem(
                    source,
                    int(rows[parts.rows[i]]),
                    "counter",
                    too_many_parts(
                        machine,
                        int(parts.increments[i]),
                        seconds[i],
                        cycles[machine],
                        int(limit[i]),
                        "counter (a reset or wrap read wrongly?)",
                    ),
                )
            )
        reject = np.zeros_like(total)
        if "reject_counter" in found:
            reject, unplaced = _spread_rejects(
                total, found["reject_counter"], rows, machine, source
            )
            problems.extend(unplaced)
        kept = np.flatnonzero(keep)
        n = len(kept)
        count_parts.append(
            pa.table(
                {
                    "machine": pa.array([machine] * n, pa.string()),
                    "ts": part["ts"].take(pa.array(kept)),
                    "total": pa.array(total[kept]),
                    "reject": pa.array(reject[kept]),
                    "rework": pa.array(np.zeros(n, dtype=np.int64)),
                    "product": pa.nulls(n, pa.string()),
                    "work_order": pa.nulls(n, pa.string()),
                    "reject_reason": pa.nulls(n, pa.string()),
                    "import_id": pa.array(np.full(n, import_id, dtype=np.int64)),
                }
            )
        )
    if problems:
        raise ImportRejected(problems[:200], total=len(problems))
    new_total = 0
    for readings in reading_parts:
        session.insert_new("counter_readings", readings)
    for counts in count_parts:
        new_total += _insert(session, "counts", counts, source)
    notes = []
    if wraps:
        notes.append(f"{wraps} counter wrap(s) handled")
    if resets:
        notes.append(
            f"{resets} counter reset(s) handled (the counter restarted from 0: the reading after "
            "a reset is the parts made since)"
        )
    return new_total, notes
