"""Import machine data files into the store: validate everything, then store all or nothing.

An import is *atomic* (one bad cell and nothing is stored; every problem is reported with file,
row, column and what was expected) and *idempotent* (a row whose natural key is already stored is
skipped, so importing the same file twice adds nothing; a row that contradicts stored data is a
problem).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline import clock
from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.ingest.counters import COUNTER_BITS, counter_increments
from pilotline.ingest.mapping import Sample, detect_kind, suggest
from pilotline.ingest.operator import merge_operator_reasons
from pilotline.ingest.parse import (
    INT64_MAX,
    Implausible,
    Problems,
    check_instants,
    parse_counts,
    parse_text,
    parse_timestamps,
    required_present,
)
from pilotline.ingest.phrasing import Surface, say
from pilotline.ingest.reader import (
    Batch,
    Progress,
    check_unique_headers,
    csv_separator,
    file_format,
    read_batches,
    read_headers,
)
from pilotline.ingest.schemas import (
    FIRST_INTERVAL_S,
    MAX_PARTS,
    SCHEMAS,
    SLACK_PARTS,
    SPEED_MARGIN,
    STATE_WORDS,
    FileSchema,
    guess_kind,
)
from pilotline.plant.model import Plant
from pilotline.store import Session, Store

log = logging.getLogger(__name__)


@dataclass
class ImportSummary:
    file: str
    kind: str
    rows: int
    new_rows: int
    notes: list[str] = field(default_factory=list)
    #: Reason codes the plant model does not know → rows; stored, and counted as stops
    #: without a known loss category until the code is added to the plant model.
    unknown_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def skipped(self) -> int:
        return self.rows - self.new_rows


@dataclass(frozen=True)
class ImportOptions:
    kind: str | None = None
    mapping: dict[str, str] = field(default_factory=dict)  # file header → Pilotline column
    timestamp_format: str | None = None
    counter_bits: int | None = None
    ignore_extra: bool = False
    #: Counts written with a decimal comma (12,0; 1.234): None reads them so when a CSV file is
    #: ';' separated, as German and French Excel save it.
    decimal_comma: bool | None = None
    #: Where the messages are read: their hints name CLI flags or the upload form's fields.
    surface: Surface = "cli"


class FileRejected(ImportRejected):
    """An ImportRejected that also names the machines and reason codes the plant model lacks
    (so that the upload form can offer to add them)."""

    def __init__(
        self,
        problems: list[Problem],
        *,
        total: int | None = None,
        unknown_machines: dict[str, int] | None = None,
        unknown_reasons: dict[str, int] | None = None,
    ) -> None:
        super().__init__(problems, total=total)
        self.unknown_machines = unknown_machines or {}
        self.unknown_reasons = unknown_reasons or {}


# -- columns -------------------------------------------------------------------------------------
def resolve_columns(
    headers: list[str], schema: FileSchema, options: ImportOptions, source: str
) -> tuple[dict[str, str], list[Problem]]:
    """File header → schema column, and every missing, doubled or unexpected column."""
    names = {c.name for c in schema.columns}
    surface = options.surface
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    user = {k.strip().lower(): v.strip() for k, v in options.mapping.items()}
    ignored = {k for k, v in user.items() if v == ""}
    for header, target in user.items():
        if target and target not in names:
            problems.append(
                Problem(
                    source,
                    1,
                    None,
                    say("map_target", surface, target=target, header=header)
                    + f", which a {schema.kind} file does not have; its columns are "
                    f"{sorted(names)}",
                )
            )
    for header in headers:
        low = header.strip().lower()
        if low in ignored:
            continue
        if low in user:
            if user[low] in names:
                mapping[header] = user[low]
        elif low in names:
            mapping[header] = low
        else:
            alias = next((c.name for c in schema.columns if low in c.aliases), None)
            if alias:
                mapping[header] = alias
    used = list(mapping.values())
    # For a missing column, the header whose words suggest it (Maschine → machine).
    guesses = {
        g.column: g.header
        for g in suggest(Sample(headers), schema.kind)
        if g.column and g.header not in mapping and g.header.strip().lower() not in ignored
    }
    for dup in sorted({u for u in used if used.count(u) > 1}):
        sources = [h for h, t in mapping.items() if t == dup]
        problems.append(
            Problem(
                source,
                1,
                None,
                f"columns {sources} all mean {dup!r}; " + say("map_twice", surface),
            )
        )
    for col in schema.required:
        if col not in used:
            problems.append(
                Problem(
                    source,
                    1,
                    col,
                    f"required column is missing; expected a column named {col!r} "
                    f"({schema.column(col).help}) — "
                    + say(
                        "map_missing",
                        surface,
                        column=col,
                        header=guesses.get(col, "YOUR HEADER"),
                        probably=f" (probably {guesses[col]!r})" if col in guesses else "",
                    ),
                )
            )
    if not options.ignore_extra:
        for header in headers:
            if header not in mapping and header.strip().lower() not in ignored:
                problems.append(
                    Problem(
                        source,
                        1,
                        header,
                        f"unexpected column for a {schema.kind} file (columns: "
                        f"{[c.name for c in schema.columns]}); "
                        + say("map_extra", surface, header=header),
                    )
                )
    return mapping, problems


# -- parsing ---------------------------------------------------------------------------------------
def _count_limit(column: str, options: ImportOptions) -> tuple[int, str]:
    """The largest value a count column may hold, and what to say about it."""
    if column in ("counter", "reject_counter"):
        bits = options.counter_bits
        if bits and bits < 64:
            return (1 << bits) - 1, f" (the most a {bits}-bit counter holds)"
        return INT64_MAX, " (the largest counter reading Pilotline stores)"
    return MAX_PARTS, " in one row"


def _text_column(raw: pa.Array | pa.ChunkedArray, name: str, problems: Problems) -> pa.Array:
    typ = raw.type
    if pa.types.is_dictionary(typ):
        typ = typ.value_type
    simple = (
        pa.types.is_null(typ)
        or pa.types.is_string(typ)
        or pa.types.is_large_string(typ)
        or pa.types.is_integer(typ)
        or pa.types.is_floating(typ)
        or pa.types.is_boolean(typ)
    )
    if not simple:
        problems.add(None, name, f"holds {typ} values; expected text")
        return pa.nulls(len(raw), pa.string())
    if isinstance(raw, pa.ChunkedArray):
        raw = raw.combine_chunks()
    if pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    return parse_text(raw)


def _parse_batch(
    batch: Batch,
    mapping: dict[str, str],
    schema: FileSchema,
    problems: Problems,
    tz: ZoneInfo | None,
    options: ImportOptions,
    warnings: dict[tuple[str, str], Implausible],
) -> pa.Table:
    rows = batch.rows()
    cols: dict[str, pa.Array] = {"_row": pa.array(rows)}
    present = {target: batch.table.column(src) for src, target in mapping.items()}
    for column in schema.columns:
        if column.name not in present:
            continue
        raw = present[column.name]
        try:
            value = _parse_column(raw, rows, column.name, column.type, problems, tz, options)
        except (pa.ArrowException, ValueError, OverflowError) as exc:
            problems.add(None, column.name, f"cannot be read: {str(exc)[:200]}")
            value = pa.nulls(len(rows), _TYPES[column.type])
        if column.type == "timestamp":
            future = not (schema.kind == "orders" and column.name == "end")
            value, said = check_instants(value, rows, column.name, problems, warn_future=future)
            for w in said:
                seen = warnings.get((w.column, w.what))
                if seen is not None:
                    w = replace(seen, count=seen.count + w.count)
                warnings[w.column, w.what] = w
        if column.required:
            required_present(raw, rows, column.name, problems, f"a value ({column.help})")
        cols[column.name] = value
    return pa.table(cols)


_TYPES = {
    "timestamp": pa.timestamp("us"),
    "count": pa.int64(),
    "text": pa.string(),
    "state": pa.string(),
}


def _parse_column(
    raw: pa.Array | pa.ChunkedArray,
    rows: np.ndarray,
    name: str,
    kind: str,
    problems: Problems,
    tz: ZoneInfo | None,
    options: ImportOptions,
) -> pa.Array:
    if kind == "timestamp":
        return parse_timestamps(raw, rows, name, problems, tz=tz, fmt=options.timestamp_format)
    if kind == "count":
        maximum, why = _count_limit(name, options)
        return parse_counts(
            raw,
            rows,
            name,
            problems,
            maximum=maximum,
            why=why,
            decimal_comma=bool(options.decimal_comma),
        )
    value = _text_column(raw, name, problems)
    if kind != "state":
        return value
    low = pc.utf8_lower(value)
    idx = pc.index_in(low, value_set=pa.array(list(STATE_WORDS)))
    bad = np.asarray(pc.and_(pc.is_valid(value), pc.is_null(idx)).to_numpy(zero_copy_only=False))
    if bad.any():
        problems.add_rows(
            rows[bad],
            name,
            "is not a machine state; expected running, stopped or no_data",
            value.filter(pa.array(bad)).to_pylist(),
        )
    return pc.take(pa.array(list(STATE_WORDS.values())), idx)


def _check_machines(table: pa.Table, plant: Plant, problems: Problems) -> dict[str, int]:
    """Every machine the plant model does not know, with its first row; returns them → rows."""
    known = [m.id for _, m in plant.machines]
    unknown_mask = pc.invert(pc.is_in(table["machine"], value_set=pa.array(known, pa.string())))
    unknown_mask = pc.and_(unknown_mask, pc.is_valid(table["machine"]))
    found: dict[str, int] = {}
    if pc.any(unknown_mask).as_py():
        bad = table.filter(unknown_mask)
        first = bad.group_by("machine", use_threads=False).aggregate(
            [("_row", "min"), ("_row", "count")]
        )
        for rec in sorted(first.to_pylist(), key=lambda r: r["_row_min"]):
            found[rec["machine"]] = rec["_row_count"]
            problems.add(
                rec["_row_min"],
                "machine",
                f"unknown machine {rec['machine']!r} ({rec['_row_count']} row(s)); "
                f"plant.toml has {known}; " + say("unknown_machine", problems.surface),
            )
    return found


def _unknown_reasons(table: pa.Table, plant: Plant, column: str) -> dict[str, int]:
    """Reason codes (compared as the KPIs compare them: trimmed, lower case) that the plant
    model does not know → rows."""
    if column not in table.column_names:
        return {}
    known = pa.array(list(plant.reason_categories()), pa.string())
    codes = pc.utf8_lower(pc.utf8_trim_whitespace(table[column]))
    mask = pc.and_(pc.is_valid(codes), pc.invert(pc.is_in(codes, value_set=known)))
    if not pc.any(mask).as_py():
        return {}
    counted = (
        pa.table({"code": table[column].filter(mask)})
        .group_by("code")
        .aggregate([("code", "count")])
    )
    return {r["code"]: r["code_count"] for r in counted.to_pylist()}


def _check_duplicates(table: pa.Table, keys: list[str], problems: Problems, what: str) -> None:
    """Rows with the same key; ``table`` must be sorted by ``keys`` (neighbours are compared)."""
    if table.num_rows < 2:
        return
    same: Any = None
    for key in keys:
        col = table[key]
        eq = pc.fill_null(pc.equal(col.slice(1), col.slice(0, table.num_rows - 1)), False)
        same = eq if same is None else pc.and_(same, eq)
    repeat = np.flatnonzero(np.asarray(same.to_numpy(zero_copy_only=False)))
    if repeat.size == 0:
        return
    rows = table["_row"].to_numpy()
    for i in repeat[:20]:
        first, again = sorted((int(rows[i]), int(rows[i + 1])))
        problems.add(
            again,
            None,
            f"repeats row {first}: the same {what} appears twice; keep one row per {what}",
        )
    problems.total += max(0, repeat.size - 20)


def _check_order(table: pa.Table, start: str, end: str, problems: Problems) -> None:
    if end not in table.column_names:
        return
    bad = pc.fill_null(pc.less(table[end], table[start]), False)
    if pc.any(bad).as_py():
        wrong = table.filter(bad)
        for rec in wrong.slice(0, 20).to_pylist():
            problems.add(
                rec["_row"], end, f"ends ({rec[end]} UTC) before it starts ({rec[start]} UTC)"
            )
        problems.total += max(0, wrong.num_rows - 20)


def _check_state_overlaps(table: pa.Table, problems: Problems) -> None:
    if "end" not in table.column_names:
        return
    m = table["machine"].to_numpy(zero_copy_only=False)
    starts = table["ts"].to_numpy(zero_copy_only=False)
    ends = table["end"].to_numpy(zero_copy_only=False)
    rows = table["_row"].to_numpy()
    same = m[1:] == m[:-1]
    has_end = ~np.isnat(ends[:-1])
    overlap = same & has_end & (ends[:-1] > starts[1:])
    problems.total += max(0, int(overlap.sum()) - 20)
    for i in np.flatnonzero(overlap)[:20]:
        problems.add(
            int(rows[i + 1]),
            "ts",
            f"this state starts at {starts[i + 1]} UTC, before the state in row {rows[i]} "
            f"ends ({ends[i]} UTC): states of one machine must not overlap",
        )


def _to_the_minute(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether every time in ``col`` is on a whole minute: the file gives times to the minute
    (as exports with a format such as '%d.%m.%Y %H:%M' do)."""
    us = pc.cast(pc.drop_null(col), pa.int64())
    if len(us) == 0:
        return False
    return not pc.any(pc.not_equal(pc.remainder(us, 60_000_000), 0)).as_py()


def _merge_repeats(table: pa.Table, kind: str, notes: list[str]) -> pa.Table:
    """Rows of one machine at one time that can be merged without guessing. ``table`` is sorted
    by machine, time and file row. A states row that repeats the one before exactly is kept
    once. When the file gives times to the minute, states of one machine in one minute keep
    the last (the earlier ones lasted less than the minute the file can show), and counts in
    one minute are added up (they are increments). Anything else stays for the duplicate check."""
    if kind not in ("states", "counts") or table.num_rows < 2:
        return table
    machine = table["machine"].to_numpy(zero_copy_only=False)
    us = np.asarray(
        pc.fill_null(pc.cast(table["ts"], pa.int64()), -1).to_numpy(zero_copy_only=False)
    )
    same = (machine[1:] == machine[:-1]) & (us[1:] == us[:-1]) & (us[1:] >= 0)
    if not same.any():
        return table
    minute = _to_the_minute(table["ts"])
    if kind == "states":
        rest = [c for c in ("state", "reason", "end") if c in table.column_names]
        identical = same.copy()
        for c in rest:
            col = table[c]
            eq = pc.fill_null(pc.equal(col.slice(1), col.slice(0, table.num_rows - 1)), False)
            both_null = pc.and_(
                pc.is_null(col.slice(1)), pc.is_null(col.slice(0, table.num_rows - 1))
            )
            identical &= np.asarray(pc.or_(eq, both_null).to_numpy(zero_copy_only=False))
        drop = identical | (same if minute else np.zeros_like(same))
        if not drop.any():
            return table
        keep = np.r_[~drop, True]
        exact, merged = int(identical.sum()), int((drop & ~identical).sum())
        if exact:
            notes.append(f"{exact:,} row(s) repeat the row before exactly; each was kept once")
        if merged:
            notes.append(
                f"{merged:,} state change(s) came less than a minute before the next one of the "
                "same machine (the file gives times to the minute); the later state of each "
                "minute was kept"
            )
        return table.filter(pa.array(keep))
    if not minute:
        return table
    text = [c for c in ("product", "work_order", "reject_reason") if c in table.column_names]
    sums = [c for c in ("total", "reject", "rework") if c in table.column_names]
    grouped = table.group_by(["machine", "ts"], use_threads=False).aggregate(
        [(c, "sum") for c in sums]
        + [("_row", "max"), ("_row", "count")]
        + [(c, "count_distinct") for c in text]
        + [(c, "first") for c in text]
    )
    if any(pc.any(pc.greater(grouped[f"{c}_count_distinct"], 1)).as_py() for c in text):
        return table  # one minute with two products or orders: said by the duplicate check
    added = int(pc.sum(pc.subtract(grouped["_row_count"], 1)).as_py() or 0)
    notes.append(
        f"{added:,} count row(s) shared a minute with another row of the same machine (the file "
        "gives times to the minute); their parts were added up"
    )
    out = {"_row": grouped["_row_max"], "machine": grouped["machine"], "ts": grouped["ts"]}
    out |= {c: grouped[f"{c}_sum"] for c in sums}
    out |= {c: grouped[f"{c}_first"] for c in text}
    return pa.table(out).sort_by([("machine", "ascending"), ("ts", "ascending")])


def _validate(
    table: pa.Table,
    kind: str,
    plant: Plant,
    problems: Problems,
    options: ImportOptions,
    notes: list[str],
) -> tuple[pa.Table, dict[str, int]]:
    """Checks across rows; returns the table in key order and the unknown machines."""
    unknown: dict[str, int] = {}
    if "machine" in table.column_names:
        unknown = _check_machines(table, plant, problems)
    ts = "start" if kind in ("reasons", "orders") else "ts"
    keys = {"orders": ["work_order", "machine", "start"]}.get(kind, ["machine", ts])
    if not set(keys) <= set(table.column_names):
        return table, unknown  # a required column is missing: said already
    order = dict.fromkeys(["machine", ts, *keys, "_row"])
    table = table.sort_by([(k, "ascending") for k in order])
    table = _merge_repeats(table, kind, notes)
    _check_duplicates(
        table,
        keys,
        problems,
        "work order on a machine at one start time" if kind == "orders" else "machine and time",
    )
    if kind == "states":
        _check_order(table, "ts", "end", problems)
        _check_state_overlaps(table, problems)
    elif kind in ("reasons", "orders"):
        _check_order(table, "start", "end", problems)
    elif kind == "counts":
        for col, of in (("reject", "total"), ("rework", "reject")):
            if col in table.column_names and of in table.column_names:
                bad = pc.fill_null(pc.greater(table[col], table[of]), False)
                wrong = table.filter(bad)
                for rec in wrong.slice(0, 20).to_pylist():
                    problems.add(
                        rec["_row"],
                        col,
                        f"{rec[col]} is more than {of} ({rec[of]}); "
                        f"{col} parts are part of the {of}",
                    )
                problems.total += max(0, wrong.num_rows - 20)
        if "total" in table.column_names:
            _check_rates(table, plant, problems)
    return table, unknown


def _min_cycle(plant: Plant) -> dict[str, float]:
    """Each machine's shortest ideal cycle time (its own, or a product's on it)."""
    out = {m.id: m.ideal_cycle_s for _, m in plant.machines}
    for product in plant.products:
        for machine, seconds in product.ideal_cycle_s.items():
            out[machine] = min(out.get(machine, seconds), seconds)
    return out


def rate_limits(ict: float, seconds: np.ndarray) -> np.ndarray:
    """The most parts a machine with ideal cycle ``ict`` can plausibly count in intervals of
    ``seconds``: :data:`SPEED_MARGIN` times its ideal rate, plus :data:`SLACK_PARTS`."""
    limit = np.floor(SPEED_MARGIN * np.maximum(seconds, 0.0) / ict) + SLACK_PARTS
    return np.asarray(np.minimum(limit, float(MAX_PARTS)), dtype=np.int64)


def intervals_s(ts_us: np.ndarray, previous_us: int | None) -> np.ndarray:
    """Seconds since the reading before each one (one machine, in time order); the first row
    uses ``previous_us``, or the next interval and at least :data:`FIRST_INTERVAL_S`."""
    seconds = np.empty(len(ts_us), dtype=float)
    if len(ts_us) == 0:
        return seconds
    seconds[1:] = np.diff(ts_us) / 1e6
    if previous_us is not None:
        seconds[0] = (ts_us[0] - previous_us) / 1e6
    else:
        seconds[0] = max(seconds[1] if len(ts_us) > 1 else 0.0, FIRST_INTERVAL_S)
    return seconds


def too_many_parts(
    machine: str, parts: int, seconds: float, ict: float, limit: int, column: str
) -> str:
    return (
        f"{parts:,} parts in {seconds:,.0f} s is more than {SPEED_MARGIN} × what {machine!r} "
        f"makes at its ideal cycle time ({ict:g} s per part): at most {limit:,}; check the "
        f"{column}, or the ideal cycle time in plant.toml"
    )


def _check_rates(table: pa.Table, plant: Plant, problems: Problems) -> None:
    """A count above what its machine can make in the interval is a problem at its row.
    ``table`` is sorted by machine and time."""
    if table.num_rows == 0:
        return  # nothing counted (a shutdown): nothing to check
    cycles = _min_cycle(plant)
    machines = table["machine"].to_numpy(zero_copy_only=False)
    ts = np.asarray(
        pc.fill_null(pc.cast(table["ts"], pa.int64()), 0).to_numpy(zero_copy_only=False)
    )
    total = np.asarray(pc.fill_null(table["total"], 0).to_numpy(zero_copy_only=False))
    rows = table["_row"].to_numpy()
    bounds = np.flatnonzero(machines[1:] != machines[:-1]) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(machines)], strict=True):
        machine = machines[lo]
        if machine not in cycles:
            continue  # an unknown machine: said already
        seconds = intervals_s(ts[lo:hi], None)
        limit = rate_limits(cycles[machine], seconds)
        over = np.flatnonzero(total[lo:hi] > limit)
        for i in over:
            problems.add(
                int(rows[lo + i]),
                "total",
                too_many_parts(
                    machine, int(total[lo + i]), seconds[i], cycles[machine], limit[i], "count"
                ),
            )


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


def _stored_conflicts(store: Store, kind: str, table: pa.Table, source: str) -> list[Problem]:
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


def _store_rows(
    session: Session,
    plant: Plant,
    kind: str,
    table: pa.Table,
    import_id: int,
    options: ImportOptions,
    source: str,
) -> tuple[int, list[str]]:
    if kind in _TABLE_OF:
        data = _shaped(kind, table, import_id)
        return _insert(session, _TABLE_OF[kind], data, source), []
    if kind == "counters":
        return _store_counters(session, table, import_id, options, source, plant)
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
    options: ImportOptions,
    source: str,
    plant: Plant,
) -> tuple[int, list[str]]:
    wraps = resets = 0
    problems: list[Problem] = []
    count_parts: list[pa.Table] = []
    reading_parts: list[pa.Table] = []
    cycles = _min_cycle(plant)
    for machine in pc.unique(table["machine"]).to_pylist():
        part = table.filter(pc.equal(table["machine"], machine))
        rows = part["_row"].to_numpy()
        keep = np.ones(part.num_rows, dtype=bool)
        found: dict[str, _Readings] = {}
        for counter in ("counter", "reject_counter"):
            if counter not in part.column_names:
                continue
            readings, w, r = _new_readings(
                session, machine, counter, part, keep, options.counter_bits, source, problems
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


# -- entry points ------------------------------------------------------------------------------------
def _run(
    store: Store,
    plant: Plant,
    batches: Iterable[Batch],
    headers: list[str],
    source: str,
    sha256: str,
    options: ImportOptions,
) -> ImportSummary:
    kind = options.kind or guess_kind(headers)
    if kind is None:
        raise InputError(
            f"{source}: cannot tell what this file holds from its columns {headers}; "
            + _kind_hint(headers, options.surface)
        )
    if kind not in SCHEMAS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    if options.counter_bits is not None and options.counter_bits not in COUNTER_BITS:
        raise InputError(f"a counter has 8, 16, 32 or 64 bits, not {options.counter_bits}")
    schema = SCHEMAS[kind]
    check_unique_headers(headers, source)
    mapping, column_problems = resolve_columns(headers, schema, options, source)
    # Every problem in one pass: the columns that could be placed are read and checked even
    # when others could not, so that a second try does not bring new problems to light.
    problems = Problems(source, surface=options.surface)
    for p in column_problems:
        problems.add(p.row, p.column, p.message)
    warnings: dict[tuple[str, str], Implausible] = {}
    parts = []
    for batch in batches:
        parts.append(_parse_batch(batch, mapping, schema, problems, plant.tz, options, warnings))
    if not parts:
        problems.add(None, None, "has a header but no data rows")
        raise FileRejected(problems.items, total=problems.total)
    table = pa.concat_tables(parts)
    notes: list[str] = []
    table, unknown = _validate(table, kind, plant, problems, options, notes)
    reasons = _unknown_reasons(table, plant, "reason")
    if problems.items:
        for p in _stored_conflicts(store, kind, table, source):
            problems.add(p.row, p.column, p.message)
        raise FileRejected(
            problems.items,
            total=problems.total,
            unknown_machines=unknown,
            unknown_reasons=reasons,
        )
    with store.session(write=True) as session, session.transaction():
        import_id = session.next_import_id()
        new_rows, stored_notes = _store_rows(
            session, plant, kind, table, import_id, options, source
        )
        session.record_import(
            import_id=import_id,
            file=source,
            sha256=sha256,
            kind=kind,
            rows=table.num_rows,
            new_rows=new_rows,
        )
    log.info("imported %s: %d rows, %d new", source, table.num_rows, new_rows)
    notes += stored_notes
    if reasons:
        listed = ", ".join(f"{code!r} ({n} row(s))" for code, n in sorted(reasons.items())[:20])
        notes.append(
            f"reason code(s) the plant model does not know: {listed}; their stops count as "
            "stops without a known loss category until you "
            + say("unknown_reason", options.surface)
        )
    notes += [w.note() for w in warnings.values()]
    return ImportSummary(source, kind, table.num_rows, new_rows, notes, reasons)


def _kind_hint(headers: list[str], surface: Surface) -> str:
    """What to do when the headers name no kind outright: the kind and columns their words
    suggest (German, French …), else the list of kinds."""
    sample = Sample(headers)
    kind = detect_kind(sample)
    if kind is None:
        return say("kind", surface, kinds=", ".join(SCHEMAS))
    maps = " ".join(
        f"--map '{s.header}={s.column}'"
        for s in suggest(sample, kind)
        if s.column and s.header.strip().lower() != s.column
    )
    return say("kind_guess", surface, kind=kind, maps=maps, title=SCHEMAS[kind].title.lower())


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def import_file(
    store: Store,
    plant: Plant,
    path: Path,
    *,
    options: ImportOptions | None = None,
    progress: Progress | None = None,
    name: str | None = None,
) -> ImportSummary:
    """Validate a CSV, Excel or Parquet file completely, then store it in one transaction.

    ``name`` is what messages and the import record call the file (default: its path), e.g.
    the name of an uploaded file rather than where it was spooled."""
    options = options or ImportOptions()
    headers = read_headers(path)
    if options.decimal_comma is None:
        comma = file_format(path) == "csv" and csv_separator(path) == ";"
        options = replace(options, decimal_comma=comma)
    return _run(
        store,
        plant,
        read_batches(path, progress=progress),
        headers,
        name or str(path),
        _sha256(path),
        options,
    )


def import_table(
    store: Store,
    plant: Plant,
    table: pa.Table,
    *,
    kind: str,
    source: str = "(table)",
    options: ImportOptions | None = None,
) -> ImportSummary:
    """Import an Arrow table with the same checks as a file (used by the simulator and the API)."""
    options = options or ImportOptions(kind=kind)
    if options.kind != kind:
        options = replace(options, kind=kind)
    stamp = hashlib.sha256(f"{source}:{table.num_rows}:{clock.now()}".encode()).hexdigest()
    return _run(store, plant, [Batch(table, 1)], list(table.column_names), source, stamp, options)
