"""The forwarder: buffered samples → the store's states, counts, counter readings and process values.

It runs in the collector every ``forward_every_s``. Each pass reads the next samples in the order
they were buffered, turns them into rows with the tag map, writes them in one store transaction and
only then moves the buffer's cursor. Every row has a natural key and the store inserts only keys it
does not hold, so a pass repeated after a crash writes nothing twice.

* A state tag, a running flag or a speed become state changes (unchanged states are not repeated).
* A source going offline becomes ``no_data`` for each of its machines until a reading says otherwise.
* Raw counters become counter readings and part increments, with the wrap/reset rule of file imports;
  a reading older than the last stored one is dropped and counted as out of order.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from pilotline.connect.buffer import Buffer, Row
from pilotline.connect.samples import SOURCE_EVENT, from_us, naive_us
from pilotline.connect.tags import STATE_WORDS, Tag
from pilotline.ingest.counters import counter_increments
from pilotline.store import Session, Store

log = logging.getLogger(__name__)

_TS = pa.timestamp("us")


@dataclass
class Forwarded:
    samples: int = 0
    states: int = 0
    counts: int = 0
    values: int = 0
    dropped: Counter[tuple[str, str]] = field(default_factory=Counter)


@dataclass
class _Machine:
    """What the forwarder remembers per machine between samples of one pass."""

    flag: bool | None = None
    speed: float | None = None
    threshold: float = 0.0
    product: str | None = None
    work_order: str | None = None


class Forwarder:
    def __init__(self, buffer: Buffer, store: Store, tags: dict[tuple[str, str], Tag]) -> None:
        self.buffer = buffer
        self.store = store
        self.tags = tags
        self.machines_of: dict[str, set[str]] = defaultdict(set)
        for (source, _), tag in tags.items():
            self.machines_of[source].add(tag.machine)
        self._memory: dict[str, _Machine] = defaultdict(_Machine)

    def forward(self, *, limit: int = 100_000) -> Forwarded:
        """One pass over at most ``limit`` buffered samples."""
        rows = self.buffer.pending(limit=limit)
        result = Forwarded(samples=len(rows))
        if not rows:
            return result
        with self.store.session(write=True) as session, session.transaction():
            self._write(session, rows, result)
        self.buffer.mark_forwarded(rows[-1].id)
        return result

    def forward_all(self, *, limit: int = 100_000) -> Forwarded:
        total = Forwarded()
        while True:
            step = self.forward(limit=limit)
            total.samples += step.samples
            total.states += step.states
            total.counts += step.counts
            total.values += step.values
            total.dropped.update(step.dropped)
            if step.samples < limit:
                return total

    # -- the tag map -----------------------------------------------------------------------------
    def _write(self, session: Session, rows: list[Row], result: Forwarded) -> None:
        states: list[tuple[str, int, str, str | None]] = []
        counters: dict[tuple[str, str, int | None], list[tuple[int, int]]] = defaultdict(list)
        increments: list[tuple[str, int, int, int]] = []  # machine, ts, total, reject
        labels: list[tuple[str, int, str, str]] = []
        values: list[tuple[str, str, int, float]] = []
        for row in sorted(rows, key=lambda r: (r.ts_us, r.id)):
            if row.tag == SOURCE_EVENT:
                if row.value == "offline":
                    states += [
                        (m, row.ts_us, "no_data", None) for m in self.machines_of[row.source]
                    ]
                continue
            tag = self.tags.get((row.source, row.tag))
            if tag is None:
                result.dropped[(f"{row.source}/{row.tag}", "unknown_tag")] += 1
                continue
            m = tag.machine
            kind = tag.kind
            if kind == "state":
                state = self._state(tag, row)
                if state is not None:
                    states.append((m, row.ts_us, *state))
            elif row.value is None:
                continue  # a bad-quality counter or value is no reading at all
            elif kind == "counter":
                counters[(m, tag.role, tag.bits)].append((row.ts_us, int(row.value)))
            elif kind == "count":
                n = int(row.value)
                increments.append(
                    (m, row.ts_us, n, 0) if tag.role == "parts" else (m, row.ts_us, 0, n)
                )
            elif kind == "label":
                labels.append((m, row.ts_us, tag.role, str(row.value)))
            else:
                values.append((m, tag.name, row.ts_us, float(row.value)))
        increments += self._counters(session, counters, result)
        result.states = self._store_states(session, states)
        result.counts = self._store_counts(session, increments, labels)
        if values:
            table = pa.table(
                {
                    "machine": [v[0] for v in values],
                    "tag": [v[1] for v in values],
                    "ts": _ts([v[2] for v in values]),
                    "value": [v[3] for v in values],
                }
            )
            result.values = session.insert_new("process_values", _unique(table, 3)).new

    def _state(self, tag: Tag, row: Row) -> tuple[str, str | None] | None:
        memory = self._memory[tag.machine]
        if row.value is None:
            if tag.role == "running":
                memory.flag = None
            elif tag.role == "speed":
                memory.speed = None
            return ("no_data", None)
        if tag.role == "state":
            word = str(row.value)
            if word in STATE_WORDS:
                return (word, None)
            return ("stopped", word.lower())
        if tag.role == "running":
            memory.flag = bool(row.value)
        else:
            memory.speed = float(row.value)
            memory.threshold = tag.running_above
        running = (memory.flag is None or memory.flag) and (
            memory.speed is None or memory.speed > memory.threshold
        )
        return ("running" if running else "stopped", None)

    def _counters(
        self,
        session: Session,
        counters: dict[tuple[str, str, int | None], list[tuple[int, int]]],
        result: Forwarded,
    ) -> list[tuple[str, int, int, int]]:
        out: list[tuple[str, int, int, int]] = []
        name = {"part_counter": "counter", "reject_counter": "reject_counter"}
        for (machine, role, bits), readings in counters.items():
            counter = name[role]
            first = min(ts for ts, _ in readings)
            stored = session.arrow(
                "SELECT ts FROM counter_readings WHERE machine = ? AND counter = ? AND ts >= ?",
                [machine, counter, from_us(first)],
            )
            known = {naive_us(t) for t in stored["ts"].to_pylist()}
            last = session.arrow(
                "SELECT ts, value FROM counter_readings WHERE machine = ? AND counter = ? "
                "ORDER BY ts DESC LIMIT 1",
                [machine, counter],
            )
            previous: int | None = None
            last_ts = -(2**62)
            if last.num_rows:
                previous = int(last["value"][0].as_py())
                last_ts = naive_us(last["ts"][0].as_py())
            keep: list[tuple[int, int]] = []
            seen: set[int] = set()
            for ts, value in readings:
                if ts in known or ts in seen:
                    continue  # already stored: a repeated pass or a duplicate
                if ts <= last_ts:
                    result.dropped[(f"{machine}/{counter}", "out_of_order")] += 1
                    continue
                seen.add(ts)
                keep.append((ts, value))
            if not keep:
                continue
            ts_list = [ts for ts, _ in keep]
            raw = np.array([v for _, v in keep], dtype=np.int64)
            inc = counter_increments(raw, previous=previous, bits=bits).increments
            session.insert_new(
                "counter_readings",
                pa.table(
                    {
                        "machine": [machine] * len(keep),
                        "counter": [counter] * len(keep),
                        "ts": _ts([t for t in ts_list]),
                        "value": pa.array(raw),
                    }
                ),
            )
            for ts, n in zip(ts_list, inc.tolist(), strict=True):
                if n:
                    out.append((machine, ts, n, 0) if counter == "counter" else (machine, ts, 0, n))
        return out

    def _store_states(
        self, session: Session, states: list[tuple[str, int, str, str | None]]
    ) -> int:
        if not states:
            return 0
        machines = sorted({s[0] for s in states})
        last = session.arrow(
            # The latest row as a whole (an aggregate per column would skip a NULL reason).
            "SELECT machine, state, reason FROM states WHERE machine IN (SELECT unnest(?)) "
            "QUALIFY row_number() OVER (PARTITION BY machine ORDER BY start_ts DESC) = 1",
            [machines],
        ).to_pylist()
        current: dict[str, tuple[str, str | None]] = {
            r["machine"]: (r["state"], r["reason"]) for r in last
        }
        keep: list[tuple[str, int, str, str | None]] = []
        for m, ts, state, reason in sorted(states, key=lambda s: (s[0], s[1])):
            if current.get(m) == (state, reason):
                continue
            current[m] = (state, reason)
            keep.append((m, ts, state, reason))
        if not keep:
            return 0
        table = pa.table(
            {
                "machine": [k[0] for k in keep],
                "start_ts": _ts([k[1] for k in keep]),
                "state": [k[2] for k in keep],
                "reason": pa.array([k[3] for k in keep], pa.string()),
            }
        )
        return session.insert_new("states", _unique(table, 2)).new

    def _store_counts(
        self,
        session: Session,
        increments: list[tuple[str, int, int, int]],
        labels: list[tuple[str, int, str, str]],
    ) -> int:
        if not increments and not labels:
            return 0
        # Labels first at equal times: a product change applies to the count stamped with it.
        events = sorted(
            [(m, ts, 0, role, text, 0, 0) for m, ts, role, text in labels]
            + [(m, ts, 1, "n", "", t, r) for m, ts, t, r in increments]
        )
        merged: dict[tuple[str, int], tuple[int, int, str | None, str | None]] = {}
        for m, ts, _, what, text, total, reject in events:
            memory = self._memory[m]
            if what == "product":
                memory.product = text
            elif what == "work_order":
                memory.work_order = text
            else:
                t0, r0, product, order = merged.get(
                    (m, ts), (0, 0, memory.product, memory.work_order)
                )
                merged[(m, ts)] = (t0 + total, r0 + reject, product, order)
        if not merged:
            return 0
        keys = list(merged)
        table = pa.table(
            {
                "machine": [k[0] for k in keys],
                "ts": _ts([k[1] for k in keys]),
                "total": pa.array([merged[k][0] for k in keys], pa.int64()),
                "reject": pa.array([merged[k][1] for k in keys], pa.int64()),
                "rework": pa.array([0] * len(keys), pa.int64()),
                "product": pa.array([merged[k][2] for k in keys], pa.string()),
                "work_order": pa.array([merged[k][3] for k in keys], pa.string()),
            }
        )
        return session.insert_new("counts", table).new


def _ts(values: list[int]) -> pa.Array:
    """UTC microseconds → the store's timestamp type, without a Python datetime per value."""
    return pa.array(values, pa.int64()).cast(_TS)


def _unique(table: pa.Table, key_columns: int) -> pa.Table:
    """Keep the first row of each natural key (the first ``key_columns`` columns)."""
    if table.num_rows < 2:
        return table
    keys = table.select(list(range(key_columns))).to_pylist()
    seen: set[tuple[object, ...]] = set()
    mask = []
    for k in keys:
        t = tuple(k.values())
        mask.append(t not in seen)
        seen.add(t)
    return table.filter(pa.array(mask))
