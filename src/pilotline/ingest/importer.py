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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline import clock
from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.ingest.counters import counter_increments
from pilotline.ingest.operator import merge_operator_reasons
from pilotline.ingest.parse import (
    Problems,
    parse_counts,
    parse_text,
    parse_timestamps,
    required_present,
)
from pilotline.ingest.reader import Batch, Progress, read_batches, read_headers
from pilotline.ingest.schemas import SCHEMAS, STATE_WORDS, FileSchema, guess_kind
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


# -- columns -------------------------------------------------------------------------------------
def resolve_columns(
    headers: list[str], schema: FileSchema, options: ImportOptions, source: str
) -> dict[str, str]:
    """File header → schema column; raise with every missing or unexpected column."""
    names = {c.name for c in schema.columns}
    problems: list[Problem] = []
    mapping: dict[str, str] = {}
    user = {k.strip().lower(): v.strip() for k, v in options.mapping.items()}
    for target in user.values():
        if target not in names:
            problems.append(
                Problem(
                    source,
                    1,
                    None,
                    f"--map names the column {target!r}, which a {schema.kind} file does "
                    f"not have; its columns are {sorted(names)}",
                )
            )
    for header in headers:
        low = header.strip().lower()
        if low in user:
            mapping[header] = user[low]
        elif low in names:
            mapping[header] = low
        else:
            alias = next((c.name for c in schema.columns if low in c.aliases), None)
            if alias:
                mapping[header] = alias
    used = list(mapping.values())
    for dup in sorted({u for u in used if used.count(u) > 1}):
        sources = [h for h, t in mapping.items() if t == dup]
        problems.append(
            Problem(source, 1, None, f"columns {sources} all mean {dup!r}; keep one or use --map")
        )
    for col in schema.required:
        if col not in used:
            problems.append(
                Problem(
                    source,
                    1,
                    col,
                    f"required column is missing; expected a column named {col!r} "
                    f"({schema.column(col).help}) — name your column with --map 'YOUR HEADER={col}'",
                )
            )
    if not options.ignore_extra:
        for header in headers:
            if header not in mapping:
                problems.append(
                    Problem(
                        source,
                        1,
                        header,
                        f"unexpected column for a {schema.kind} file (columns: {[c.name for c in schema.columns]}); "
                        f"map it with --map '{header}=COLUMN' or pass --ignore-extra",
                    )
                )
    if problems:
        raise ImportRejected(problems)
    return mapping


# -- parsing ---------------------------------------------------------------------------------------
def _parse_batch(
    batch: Batch,
    mapping: dict[str, str],
    schema: FileSchema,
    problems: Problems,
    tz: ZoneInfo | None,
    options: ImportOptions,
) -> pa.Table:
    n = batch.table.num_rows
    rows = np.arange(batch.first_row, batch.first_row + n, dtype=np.int64)
    cols: dict[str, pa.Array] = {"_row": pa.array(rows)}
    present = {target: batch.table.column(src) for src, target in mapping.items()}
    for column in schema.columns:
        if column.name not in present:
            continue
        raw = present[column.name]
        if column.type == "timestamp":
            value = parse_timestamps(
                raw, rows, column.name, problems, tz=tz, fmt=options.timestamp_format
            )
        elif column.type == "count":
            value = parse_counts(raw, rows, column.name, problems)
        else:
            value = parse_text(raw)
            if column.type == "state":
                low = pc.utf8_lower(value)
                words = pa.array(list(STATE_WORDS))
                idx = pc.index_in(low, value_set=words)
                bad = np.asarray(
                    pc.and_(pc.is_valid(value), pc.is_null(idx)).to_numpy(zero_copy_only=False)
                )
                if bad.any():
                    problems.add_rows(
                        rows[bad],
                        column.name,
                        "is not a machine state; expected running, stopped or no_data",
                        value.filter(pa.array(bad)).to_pylist(),
                    )
                value = pc.take(pa.array(list(STATE_WORDS.values())), idx)
        if column.required:
            required_present(raw, rows, column.name, problems, f"a value ({column.help})")
        cols[column.name] = value
    return pa.table(cols)


def _check_machines(table: pa.Table, plant: Plant, problems: Problems) -> None:
    known = [m.id for _, m in plant.machines]
    unknown_mask = pc.invert(pc.is_in(table["machine"], value_set=pa.array(known)))
    unknown_mask = pc.and_(unknown_mask, pc.is_valid(table["machine"]))
    if pc.any(unknown_mask).as_py():
        bad = table.filter(unknown_mask)
        first = bad.group_by("machine", use_threads=False).aggregate(
            [("_row", "min"), ("_row", "count")]
        )
        for rec in first.to_pylist():
            problems.add(
                rec["_row_min"],
                "machine",
                f"unknown machine {rec['machine']!r} ({rec['_row_count']} row(s)); "
                f"plant.toml has {known}",
            )


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
        for rec in table.filter(bad).slice(0, 20).to_pylist():
            problems.add(
                rec["_row"], end, f"ends ({rec[end]} UTC) before it starts ({rec[start]} UTC)"
            )


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
    for i in np.flatnonzero(overlap)[:20]:
        problems.add(
            int(rows[i + 1]),
            "ts",
            f"this state starts at {starts[i + 1]} UTC, before the state in row {rows[i]} "
            f"ends ({ends[i]} UTC): states of one machine must not overlap",
        )


def _validate(
    table: pa.Table, kind: str, plant: Plant, problems: Problems, options: ImportOptions
) -> pa.Table:
    _check_machines(table, plant, problems)
    ts = "start" if kind in ("reasons", "orders") else "ts"
    keys = {"orders": ["work_order", "machine", "start"]}.get(kind, ["machine", ts])
    table = table.sort_by([(k, "ascending") for k in dict.fromkeys(["machine", ts, *keys])])
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
                for rec in table.filter(bad).slice(0, 20).to_pylist():
                    problems.add(
                        rec["_row"],
                        col,
                        f"{rec[col]} is more than {of} ({rec[of]}); "
                        f"{col} parts are part of the {of}",
                    )
    elif kind == "counters" and options.counter_bits:
        limit = 1 << options.counter_bits
        for col in ("counter", "reject_counter"):
            if col in table.column_names:
                bad = pc.fill_null(pc.greater_equal(table[col], limit), False)
                for rec in table.filter(bad).slice(0, 20).to_pylist():
                    problems.add(
                        rec["_row"],
                        col,
                        f"{rec[col]} does not fit a {options.counter_bits}-bit "
                        f"counter (0 to {limit - 1})",
                    )
    return table


# -- storing ---------------------------------------------------------------------------------------
def _column(table: pa.Table, name: str, typ: pa.DataType, default: object = None) -> pa.Array:
    if name in table.column_names:
        return table[name]
    return pa.array([default] * table.num_rows, typ)


def _store_rows(
    session: Session,
    kind: str,
    table: pa.Table,
    import_id: int,
    options: ImportOptions,
    source: str,
) -> tuple[int, list[str]]:
    ids = pa.array(np.full(table.num_rows, import_id, dtype=np.int64))
    notes: list[str] = []
    if kind == "states":
        data = pa.table(
            {
                "machine": table["machine"],
                "start_ts": table["ts"],
                "end_ts": _column(table, "end", pa.timestamp("us")),
                "state": table["state"],
                "reason": _column(table, "reason", pa.string()),
                "import_id": ids,
            }
        )
        return _insert(session, "states", data, source), notes
    if kind == "counts":
        zeros = pa.array(np.zeros(table.num_rows, dtype=np.int64))
        data = pa.table(
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
        return _insert(session, "counts", data, source), notes
    if kind == "counters":
        return _store_counters(session, table, import_id, options, source)
    if kind == "orders":
        data = pa.table(
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
        return _insert(session, "work_orders", data, source), notes
    return merge_operator_reasons(session, table, import_id), notes


def _insert(session: Session, table_name: str, data: pa.Table, source: str) -> int:
    conflicts = session.conflicts(table_name, data)
    if conflicts:
        raise ImportRejected(
            [
                Problem(
                    source,
                    None,
                    None,
                    f"{', '.join(f'{k}={v}' for k, v in c.key.items())} is already stored with "
                    f"{c.stored}, but this file says {c.incoming}; nothing was changed. Delete the "
                    "stored data first if the file is the correct one.",
                )
                for c in conflicts
            ]
        )
    return session.insert_new(table_name, data).new


def _store_counters(
    session: Session, table: pa.Table, import_id: int, options: ImportOptions, source: str
) -> tuple[int, list[str]]:
    new_total = 0
    wraps = resets = 0
    problems: list[Problem] = []
    count_parts: list[pa.Table] = []
    reading_parts: list[pa.Table] = []
    for machine in pc.unique(table["machine"]).to_pylist():
        part = table.filter(pc.equal(table["machine"], machine))
        increments: dict[str, np.ndarray] = {}
        keep = np.ones(part.num_rows, dtype=bool)
        for counter in ("counter", "reject_counter"):
            if counter not in part.column_names:
                continue
            stored = session.arrow(
                "SELECT ts, value FROM counter_readings WHERE machine = ? AND counter = ? ORDER BY ts",
                [machine, counter],
            )
            ts = part["ts"].to_numpy(zero_copy_only=False)
            values = part[counter].to_numpy(zero_copy_only=False).astype(np.int64)
            previous = None
            if stored.num_rows:
                s_ts = stored["ts"].to_numpy(zero_copy_only=False)
                known = np.isin(ts, s_ts)
                keep &= ~known
                last = s_ts[-1]
                late = ~known & (ts < last)
                if late.any():
                    row = int(part["_row"].to_numpy()[np.flatnonzero(late)[0]])
                    problems.append(
                        Problem(
                            source,
                            row,
                            "ts",
                            f"counter readings for {machine!r} are already stored up to {last} UTC; a raw "
                            "counter file must continue after them (import counter files in time order)",
                        )
                    )
                    continue
                previous = int(stored["value"].to_numpy()[-1])
            result = counter_increments(values[keep], previous=previous, bits=options.counter_bits)
            increments[counter] = result.increments
            wraps += result.wraps
            resets += result.resets
            reading_parts.append(
                pa.table(
                    {
                        "machine": pa.array([machine] * int(keep.sum()), pa.string()),
                        "counter": pa.array([counter] * int(keep.sum()), pa.string()),
                        "ts": part["ts"].filter(pa.array(keep)),
                        "value": pa.array(values[keep]),
                        "import_id": pa.array(np.full(int(keep.sum()), import_id, dtype=np.int64)),
                    }
                )
            )
        if "counter" not in increments or not keep.any():
            continue
        total = increments["counter"]
        reject = increments.get("reject_counter", np.zeros_like(total))
        count_parts.append(
            pa.table(
                {
                    "machine": pa.array([machine] * len(total), pa.string()),
                    "ts": part["ts"].filter(pa.array(keep)),
                    "total": pa.array(total),
                    "reject": pa.array(np.minimum(reject, total)),
                    "rework": pa.array(np.zeros_like(total)),
                    "product": pa.nulls(len(total), pa.string()),
                    "work_order": pa.nulls(len(total), pa.string()),
                    "reject_reason": pa.nulls(len(total), pa.string()),
                    "import_id": pa.array(np.full(len(total), import_id, dtype=np.int64)),
                }
            )
        )
    if problems:
        raise ImportRejected(problems)
    for readings in reading_parts:
        session.insert_new("counter_readings", readings)
    for counts in count_parts:
        new_total += _insert(session, "counts", counts, source)
    notes = []
    if wraps:
        notes.append(f"{wraps} counter wrap(s) handled")
    if resets:
        notes.append(f"{resets} counter reset(s) handled (counting restarted from the reset)")
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
            f"give --kind ({', '.join(SCHEMAS)})"
        )
    if kind not in SCHEMAS:
        raise InputError(f"unknown kind {kind!r}; expected one of {', '.join(SCHEMAS)}")
    schema = SCHEMAS[kind]
    mapping = resolve_columns(headers, schema, options, source)
    problems = Problems(source)
    parts = []
    for batch in batches:
        part = _parse_batch(batch, mapping, schema, problems, plant.tz, options)
        if not problems.items:
            parts.append(part)
    if not problems.items and not parts:
        problems.add(None, None, "has a header but no data rows")
    if problems.items:
        raise ImportRejected(problems.items + _more(problems, source))
    table = pa.concat_tables(parts)
    table = _validate(table, kind, plant, problems, options)
    if problems.items:
        raise ImportRejected(problems.items + _more(problems, source))
    with store.session(write=True) as session, session.transaction():
        import_id = session.next_import_id()
        new_rows, notes = _store_rows(session, kind, table, import_id, options, source)
        session.record_import(
            import_id=import_id,
            file=source,
            sha256=sha256,
            kind=kind,
            rows=table.num_rows,
            new_rows=new_rows,
        )
    log.info("imported %s: %d rows, %d new", source, table.num_rows, new_rows)
    return ImportSummary(source, kind, table.num_rows, new_rows, notes)


def _more(problems: Problems, source: str) -> list[Problem]:
    extra = problems.total - len(problems.items)
    return (
        [Problem(source, None, None, f"… and {extra} more problem(s) of the kinds above")]
        if extra > 0
        else []
    )


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
        options = ImportOptions(
            kind,
            options.mapping,
            options.timestamp_format,
            options.counter_bits,
            options.ignore_extra,
        )
    stamp = hashlib.sha256(
        f"{source}:{table.num_rows}:{clock.now()}".encode()
    ).hexdigest()
    return _run(store, plant, [Batch(table, 1)], list(table.column_names), source, stamp, options)
