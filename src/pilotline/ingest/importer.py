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
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline import clock
from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.ingest.checks import unknown_reasons, validate
from pilotline.ingest.counters import COUNTER_BITS
from pilotline.ingest.mapping import Sample, detect_kind, suggest
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
    MAX_PARTS,
    SCHEMAS,
    STATE_WORDS,
    FileSchema,
    guess_kind,
)
from pilotline.ingest.storing import store_rows, stored_conflicts
from pilotline.plant.model import Plant
from pilotline.store import Store

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
            # Text that is only spaces is as empty as no text (a blank id names nothing).
            given = raw
            if column.type in ("text", "state"):
                given = _text_column(raw, column.name, Problems(problems.file))
            required_present(given, rows, column.name, problems, f"a value ({column.help})")
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
    table, unknown = validate(table, kind, plant, problems, notes)
    reasons = unknown_reasons(table, plant, "reason")
    if problems.items:
        for p in stored_conflicts(store, kind, table, source):
            problems.add(p.row, p.column, p.message)
        # In the file's order: whole columns first, then row by row (a stable sort).
        problems.items.sort(key=lambda p: -1 if p.row is None else p.row)
        raise FileRejected(
            problems.items,
            total=problems.total,
            unknown_machines=unknown,
            unknown_reasons=reasons,
        )
    with store.session(write=True) as session, session.transaction():
        import_id = session.next_import_id()
        new_rows, stored_notes = store_rows(
            session, plant, kind, table, import_id, options.counter_bits, source
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
