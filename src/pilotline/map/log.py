"""Event logs: read CSV, Parquet and XES into one columnar shape.

Every log becomes an Arrow table with ``case`` and ``activity`` (always text: an id such as
``NA`` is an id, not a missing value), ``ts`` (the event's completion time, UTC, stored without a zone), optional
``start`` and ``resource``, any other attributes as text, and ``seq``: the event's position in
the log's order. Events are ordered by timestamp within a case, and events with equal timestamps
keep the file's order (or follow a tie-break column), so variants never depend on an unstable
sort. After reading, ``seq`` numbers the events in that order, case by case, so **a case's events
carry consecutive ``seq`` numbers** — the invariant the analyses rely on — ``case_no`` numbers
the cases and ``pos`` is the event's position in its case (0 for the first). Rows themselves stay
in file order.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline import clock
from pilotline.errors import ImportRejected, InputError, PilotlineError, Problem
from pilotline.ingest.parse import (
    Problems,
    parse_text,
    parse_timestamps,
    unclear_local_time,
    unclear_local_times,
)
from pilotline.ingest.reader import file_format, read_batches, read_headers

log = logging.getLogger(__name__)

#: Timestamps are UTC instants stored without a zone (as in the store), so engines do no
#: time-zone arithmetic while they compute.
UTC_NAIVE = pa.timestamp("us")
Progress = Callable[[int, int], None]

#: At most this many attribute columns are kept besides case, activity, timestamps and resource
#: (the first ones met in the file); the values of further columns or keys are dropped, with a
#: note. Memory then grows with the events, never with the number of distinct keys squared.
MAX_ATTRIBUTES = 250
#: Event times before this are refused: no event log reaches back so far; such a time is a
#: placeholder for a missing one (0001-01-01, Excel's 1899-12-30).
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
_LAST = dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
#: Event times later than now by more than this are kept, with a note (a wrong clock or zone).
FUTURE_SLACK = dt.timedelta(days=1)

#: The columns every log has: an attribute of the same name is renamed "<name> (attribute)".
RESERVED = frozenset({"case", "activity", "ts", "start", "resource", "seq"})


def attribute_name(name: str) -> str:
    return f"{name} (attribute)" if name in RESERVED else name


#: Where an event is, for a problem: ``(source, seq, message) → Problem`` (``seq`` is the event's
#: 0-based position in the file).
Place = Callable[[str, int, str], Problem]


def _row(first_row: int, column: str) -> Place:
    """Events located by their row (``first_row`` is the first event's row) and ``column``."""
    return lambda source, seq, message: Problem(source, seq + first_row, column, message)


def _limited(names: list[str]) -> tuple[list[str], str | None]:
    """The attribute names kept under :data:`MAX_ATTRIBUTES`, and a note if some were dropped."""
    if len(names) <= MAX_ATTRIBUTES:
        return names, None
    extra = names[MAX_ATTRIBUTES:]
    return names[:MAX_ATTRIBUTES], (
        f"only the first {MAX_ATTRIBUTES} attribute columns are kept; {len(extra):,} more "
        f"(such as {', '.join(map(repr, extra[:3]))}) were dropped"
    )


def _us(t: dt.datetime) -> int:
    return (t - _EPOCH) // dt.timedelta(microseconds=1)


def check_times(ts: pa.ChunkedArray | pa.Array, seq: Any, source: str, place: Place) -> list[str]:
    """Refuse event times before :data:`EARLIEST` or after the year 9999 (with where they are);
    a note when some lie more than :data:`FUTURE_SLACK` after now. ``ts`` are UTC without a
    zone, ``seq`` the events' positions in the file."""
    if len(ts) == 0:
        return []
    us = pc.cast(ts, pa.int64())  # year 10000 has no Python datetime: compare microseconds
    bounds = pc.min_max(us).as_py()
    low, high = bounds["min"], bounds["max"]
    if low is None:
        return []
    first, last = _us(EARLIEST), _us(_LAST)
    if low < first or high > last:
        bad = pc.or_(pc.less(us, first), pc.greater(us, last))
        where = pc.filter(seq, bad).to_pylist()[:20]
        values = pc.filter(us, bad).to_pylist()[:20]
        shown = pc.strftime(pc.filter(ts, bad)[:20], "%Y-%m-%d %H:%M").to_pylist()
        raise ImportRejected(
            [
                place(
                    source,
                    int(s),
                    f"{t} is {f'before {EARLIEST.year}' if v < first else 'after the year 9999'}"
                    ": no event happened then (a placeholder for a missing time?); expected the "
                    "time the event happened",
                )
                for s, v, t in zip(where, values, shown, strict=True)
            ]
        )
    latest = _us(clock.now() + FUTURE_SLACK)
    if high <= latest:
        return []
    late = pc.greater(us, latest)
    count = int(pc.sum(pc.cast(late, pa.int64())).as_py())
    at = place(source, int(pc.filter(seq, late)[0].as_py()), "is later than now")
    return [_late(count, _EPOCH + dt.timedelta(microseconds=high), at)]


def _late(count: int, last: dt.datetime, first: Problem) -> str:
    return (
        f"{count:,} event(s) are later than now, the last at {last:%Y-%m-%d %H:%M} UTC; check "
        f"the exporting system's clock and time zone. The first: {first}"
    )


@dataclass(frozen=True)
class LogColumns:
    """Which columns of a CSV/Parquet file hold what (``pilotline map --case … --activity …``)."""

    case: str = "case"
    activity: str = "activity"
    timestamp: str = "timestamp"
    start_timestamp: str | None = None
    resource: str | None = None
    timestamp_format: str | None = None
    tie_break: str | None = None  # a column that orders events with equal timestamps
    sep: str | None = None  # CSV separator; guessed from the header when not given


class EventLog:
    """An event log: an Arrow table in memory, or tables in an engine (see :func:`read_log`).

    A log read straight into an engine keeps integers there (``pl_events``) and the names beside
    them; ``events`` then builds the Arrow table only when something asks for it.
    """

    def __init__(
        self,
        events: pa.Table | None,
        source: str,
        notes: list[str] | None = None,
        *,
        engine: Any = None,
        num_events: int | None = None,
        columns: list[str] | None = None,
    ) -> None:
        self._events = events
        self.source = source
        self.notes = notes if notes is not None else []
        self.engine = engine  # an Ibis backend holding pl_events, pl_activities and pl_case_ids
        self._num = num_events
        self._columns = columns
        self._spool: Any = None  # a temporary folder the engine reads from (streamed CSV)

    @property
    def events(self) -> pa.Table:
        if self._events is None:
            from pilotline.store import to_arrow

            try:
                self._events = to_arrow(self.engine, named_events(self.engine).order_by("seq"))
            except Exception as exc:  # the other columns stay in the file until now: damaged?
                raise InputError(
                    f"{self.source}: cannot read the rest of this file: {_first_line(exc)}"
                ) from None
        return self._events

    @property
    def column_names(self) -> list[str]:
        if self._events is None and self._columns is not None:
            return self._columns
        return list(self.events.column_names)

    @property
    def num_events(self) -> int:
        if self._events is None and self._num is not None:
            return self._num
        return int(self.events.num_rows)


def named_events(engine: Any) -> Any:
    """The engine's coded events with case ids and activity names joined back (an Ibis table)."""
    ev = engine.table("pl_events")
    acts = engine.table("pl_activities")
    ids = engine.table("pl_case_ids")
    attrs = engine.table("pl_attributes")
    j = ev.join(acts, "a").join(ids, "case_no").join(attrs, "row")
    first = ["case", "activity", "ts", "resource", "seq", "case_no", "pos", "a"]
    return j.select(*first, *[c for c in attrs.columns if c not in first and c != "row"])


def _by_number(column: str) -> Place:
    return lambda source, seq, message: Problem(source, None, column, f"event {seq + 1}: {message}")


def _finish(
    table: pa.Table, source: str, tie_break: str | None = None, *, place: Place | None = None
) -> EventLog:
    """Sort stably by case, time and file order; count ties; make column names unique
    regardless of case (engines such as DuckDB and Spark compare names case-insensitively);
    keep at most :data:`MAX_ATTRIBUTES` attribute columns; check the times (see
    :func:`check_times`; ``place`` says where an event is, by default its number)."""
    notes = check_times(table["ts"], table["seq"], source, place or _by_number("timestamp"))
    if "start" in table.column_names:  # refused when impossible; a late start is a late event
        start = table["start"]
        start = pc.if_else(pc.is_null(start), table["ts"], start)
        check_times(start, table["seq"], source, place or _by_number("start"))
    fixed = {"case", "activity", "ts", "start", "resource", "seq"}
    kept, dropped = _limited([c for c in table.column_names if c not in fixed])
    if dropped:
        table = table.select([c for c in table.column_names if c in fixed or c in set(kept)])
        notes.append(dropped)
    if "resource" not in table.column_names:
        table = table.add_column(3, "resource", pa.nulls(table.num_rows, pa.string()))
    seen: set[str] = {"case_no", "pos", "a"}  # added below: an attribute of that name is renamed
    names = []
    for name in table.column_names:
        unique, n = name, 1
        while unique.lower() in seen:
            n += 1
            unique = f"{name} ({n})"
        seen.add(unique.lower())
        names.append(unique)
    table = table.rename_columns(names)
    # Order events by case, time, tie-break and file position without moving the data: only
    # ``seq`` is rewritten to each event's place in that order. Cases are ordered by first
    # appearance (their order does not matter; the order within a case does).
    n = table.num_rows
    case = table["case"]
    if pa.types.is_dictionary(case.type):  # dictionaries were unified when the table was built
        codes = (case.combine_chunks() if isinstance(case, pa.ChunkedArray) else case).indices
    else:
        codes = pc.dictionary_encode(case).combine_chunks().indices
    order = pa.table({"c": codes, "t": table["ts"], "s": table["seq"]})
    keys = [("c", "ascending"), ("t", "ascending")]
    if tie_break:
        order = order.append_column("b", table[tie_break])
        keys.append(("b", "ascending"))
    keys.append(("s", "ascending"))
    idx = pc.sort_indices(order, sort_keys=keys).to_numpy()
    seq = np.empty(n, dtype=np.int64)
    seq[idx] = np.arange(n, dtype=np.int64)
    # The case's dictionary code is its number; in sorted order, each event's position in its case.
    c = codes.to_numpy(zero_copy_only=False)[idx]
    first = np.ones(n, dtype=bool)
    first[1:] = c[1:] != c[:-1]
    starts = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    pos = np.empty(n, dtype=np.int32)
    pos[idx] = np.arange(n, dtype=np.int64) - starts[run]
    del first, starts, run
    table = table.set_column(table.column_names.index("seq"), "seq", pa.array(seq))
    table = table.append_column(
        "case_no", pa.array(codes, pa.int32()) if isinstance(codes, pa.Array) else codes
    )
    table = table.append_column("pos", pa.array(pos))
    # The activity's number (its dictionary code): the heavy analyses group integers.
    act = table["activity"]
    if not pa.types.is_dictionary(act.type):
        act = pc.dictionary_encode(act)
    if isinstance(act, pa.ChunkedArray):
        act = pa.table({"x": act}).unify_dictionaries()["x"].combine_chunks()
    table = table.set_column(table.column_names.index("activity"), "activity", act)
    table = table.append_column("a", pc.cast(act.indices, pa.int32()))
    if n > 1:
        t = table["ts"].combine_chunks().cast(pa.int64()).to_numpy(zero_copy_only=False)[idx]
        ties = int(np.count_nonzero((c[1:] == c[:-1]) & (t[1:] == t[:-1])))
        if ties:
            notes.append(
                f"{ties:,} events ({ties / n:.1%}) share their timestamp with the previous event of "
                "the same case; they keep the file's order"
                + (f" after '{tie_break}'" if tie_break else "")
            )
    return EventLog(table, source, notes)


def _as_text(col: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    t = col.type
    if pa.types.is_string(t) or (pa.types.is_dictionary(t) and pa.types.is_string(t.value_type)):
        return col
    return pc.cast(col, pa.string())


def _engine_times(engine: Any, source: str, place: Place) -> list[str]:
    """:func:`check_times` for a log read into the engine: only its few out-of-range events
    come back to Python."""
    from pilotline.store import to_arrow

    ev = engine.table("pl_events")
    naive = {t: t.replace(tzinfo=None) for t in (EARLIEST, _LAST)}
    wrong = ev.filter((ev.ts < naive[EARLIEST]) | (ev.ts > naive[_LAST]))
    found = to_arrow(engine, wrong.select("row", "ts").order_by("row").limit(20))
    check_times(found["ts"], found["row"], source, place)  # refuses them
    latest = clock.now().astimezone(dt.UTC).replace(tzinfo=None) + FUTURE_SLACK
    late = ev.filter(ev.ts > latest)
    totals = to_arrow(
        engine, late.aggregate(n=late.count(), last=late.ts.max(), row=late.row.min())
    ).to_pylist()[0]
    if not totals["n"]:
        return []
    return [
        _late(int(totals["n"]), totals["last"], place(source, totals["row"], "is later than now"))
    ]


# -- CSV, Excel and Parquet -----------------------------------------------------------------------
def read_table_log(
    path: Path,
    columns: LogColumns,
    *,
    tz: ZoneInfo | None = None,
    progress: Progress | None = None,
    stream: bool | None = None,
) -> EventLog:
    """Read a CSV/Excel/Parquet event log; every problem is reported with row and column.

    A CSV file larger than :data:`STREAM_ABOVE_BYTES` (or any, with ``stream``) is streamed:
    checked and parsed batch by batch into a Parquet file beside it in a temporary folder, which
    the engine then orders, so the file is never held in memory whole."""
    source = str(path)
    headers = read_headers(path, sep=columns.sep)
    wanted = {
        "case": columns.case,
        "activity": columns.activity,
        "ts": columns.timestamp,
        "start": columns.start_timestamp,
        "resource": columns.resource,
    }
    missing = [f"{k} column {v!r}" for k, v in wanted.items() if v and v not in headers]
    if columns.tie_break and columns.tie_break not in headers:
        missing.append(f"tie-break column {columns.tie_break!r}")
    if missing:
        raise ImportRejected(
            [Problem(source, 1, None, f"no {m}; the file's columns are {headers}") for m in missing]
        )
    if file_format(path) == "parquet" and not columns.start_timestamp:
        fast = _read_parquet_in_engine(path, columns, tz, headers)
        if fast is not None:
            return fast
    if (
        file_format(path) == "csv"
        and not columns.start_timestamp
        and (stream or (stream is None and path.stat().st_size > STREAM_ABOVE_BYTES))
    ):
        return _stream_csv(path, columns, tz, headers, progress)
    problems = Problems(source)
    parts: list[pa.Table] = []
    seq0 = 0
    # Text from CSV and Excel is trimmed and empty cells become missing; Parquet keeps its values.
    text = parse_text if file_format(path) != "parquet" else _as_text
    for batch in read_batches(path, progress=progress, sep=columns.sep, dictionary=True):
        t = batch.table
        n = t.num_rows
        rows = np.arange(batch.first_row, batch.first_row + n, dtype=np.int64)
        cols: dict[str, pa.Array] = {}
        for key in ("case", "activity"):
            value = text(t[wanted[key]])
            missing_mask = np.asarray(pc.is_null(value).to_numpy(zero_copy_only=False))
            if missing_mask.any():
                problems.add_rows(rows[missing_mask], wanted[key], f"is empty; expected the {key}")
            cols[key] = value
        for key in ("ts", "start"):
            name = wanted[key]
            if name:
                parsed = parse_timestamps(
                    t[name], rows, name, problems, tz=tz, fmt=columns.timestamp_format
                )
                cols[key] = parsed
        if wanted["resource"]:
            cols["resource"] = text(t[wanted["resource"]])
        used = {v for v in wanted.values() if v}
        for name in t.column_names:
            if name not in used:
                cols[attribute_name(name)] = text(t[name])
        cols["seq"] = pa.array(np.arange(seq0, seq0 + n, dtype=np.int64))
        seq0 += n
        if not problems.items:
            parts.append(pa.table(cols))
    if problems.items:
        raise ImportRejected(problems.items)
    if not parts:
        raise ImportRejected([Problem(source, None, None, "the log has no events")])
    missing_ts = pc.sum(pc.cast(pc.is_null(pa.concat_tables(parts)["ts"]), pa.int64())).as_py()
    if missing_ts:
        table = pa.concat_tables(parts)
        bad = table.filter(pc.is_null(table["ts"]))["seq"].to_numpy()[:20]
        first_row = 2 if path.suffix.lower() in (".csv", ".txt", ".xlsx") else 1
        raise ImportRejected(
            [
                Problem(
                    source, int(s) + first_row, columns.timestamp, "is empty; expected a timestamp"
                )
                for s in bad
            ]
        )
    first_row = 2 if file_format(path) != "parquet" else 1
    return _finish(
        pa.concat_tables(parts).unify_dictionaries(),
        source,
        columns.tie_break,
        place=_row(first_row, columns.timestamp),
    )


#: CSV logs above this size are streamed through a Parquet spool file (see read_table_log).
STREAM_ABOVE_BYTES = 256 * 1024 * 1024

#: The spool file's own columns (an attribute of the log keeps its name beside them).
_SPOOL = {
    "case": "__pl_case",
    "activity": "__pl_activity",
    "ts": "__pl_ts",
    "resource": "__pl_resource",
}


def _stream_csv(
    path: Path,
    columns: LogColumns,
    tz: ZoneInfo | None,
    headers: list[str],
    progress: Progress | None,
) -> EventLog:
    """Parse a CSV log batch by batch into a Parquet spool file, then read that into the engine.

    Every batch is checked as the in-memory reader checks it (empty ids, timestamps that do not
    parse, with rows); nothing is kept when a problem is found. The spool lives in a temporary
    folder as long as the log does: the engine reads attributes from it by row."""
    import shutil
    import tempfile
    import weakref

    import pyarrow.parquet as pq

    source = str(path)
    spool = Path(tempfile.mkdtemp(prefix="pilotline-log-"))
    out = spool / "log.parquet"
    problems = Problems(source)
    used = {columns.case, columns.activity, columns.timestamp, columns.resource} - {None}
    writer: pq.ParquetWriter | None = None
    try:
        for batch in read_batches(path, progress=progress, sep=columns.sep):
            t = batch.table
            rows = np.arange(batch.first_row, batch.first_row + t.num_rows, dtype=np.int64)
            cols: dict[str, Any] = {}
            for key, name in (("case", columns.case), ("activity", columns.activity)):
                value = parse_text(t[name])
                empty = np.asarray(pc.is_null(value).to_numpy(zero_copy_only=False))
                if empty.any():
                    problems.add_rows(rows[empty], name, f"is empty; expected the {key}")
                cols[_SPOOL[key]] = value
            ts = parse_timestamps(
                t[columns.timestamp],
                rows,
                columns.timestamp,
                problems,
                tz=tz,
                fmt=columns.timestamp_format,
            )
            empty = np.asarray(pc.is_null(ts).to_numpy(zero_copy_only=False))
            if empty.any() and not problems.items:
                problems.add_rows(rows[empty], columns.timestamp, "is empty; expected a timestamp")
            cols[_SPOOL["ts"]] = pc.cast(ts, pa.timestamp("us", "UTC"))
            if columns.resource:
                cols[_SPOOL["resource"]] = parse_text(t[columns.resource])
            for name in t.column_names:
                if name not in used:
                    cols[name] = parse_text(t[name])
            if problems.items:
                continue  # keep checking for the report; write nothing more
            table = pa.table(cols)
            if writer is None:
                writer = pq.ParquetWriter(out, table.schema)
            writer.write_table(table.cast(writer.schema))
        if writer is not None:
            writer.close()
        if problems.items:
            raise ImportRejected(problems.items)
        if writer is None:
            raise ImportRejected([Problem(source, None, None, "the log has no events")])
        spooled = LogColumns(
            case=_SPOOL["case"],
            activity=_SPOOL["activity"],
            timestamp=_SPOOL["ts"],
            resource=_SPOOL["resource"] if columns.resource else None,
            tie_break=columns.tie_break,
        )
        names = list(pq.ParquetFile(out).schema_arrow.names)
        log = _read_parquet_in_engine(
            out, spooled, tz, names, source=source, spill=spool, named=columns.timestamp
        )
    except BaseException:
        if writer is not None and writer.is_open:
            writer.close()
        shutil.rmtree(spool, ignore_errors=True)
        raise
    assert log is not None  # the spool's timestamps are typed
    # The engine reads attributes from the spool file: it goes when the log goes (or at exit).
    weakref.finalize(log, shutil.rmtree, spool, ignore_errors=True)
    return log


def _load_parquet(
    engine: Any,
    path: Path,
    columns: LogColumns,
    attributes: dict[str, str],
    zone: ZoneInfo,
    ts_type: pa.DataType,
) -> Any:
    from pilotline.store import load_parquet_log

    return load_parquet_log(
        engine,
        str(path),
        case=columns.case,
        activity=columns.activity,
        timestamp=columns.timestamp,
        resource=columns.resource,
        tie_break=columns.tie_break,
        attributes=attributes,
        tz=zone.key,
        zoned=ts_type.tz is not None,
        unclear=lambda first, last: unclear_local_times(zone, first, last),
    )


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def _read_parquet_in_engine(
    path: Path,
    columns: LogColumns,
    tz: ZoneInfo | None,
    headers: list[str],
    *,
    source: str | None = None,
    spill: Path | None = None,
    named: str | None = None,
) -> EventLog | None:
    """Read a Parquet log with typed timestamps straight into the engine (no Arrow copy in
    Python); None when the timestamps are text, which the general reader parses. A CSV log's
    spool file (``spill``) names its problems by the CSV's rows and ``named`` column."""
    import pyarrow.parquet as pq

    from pilotline.store import scratch_backend

    schema = pq.ParquetFile(path).schema_arrow
    ts_type = schema.field(columns.timestamp).type
    if not pa.types.is_timestamp(ts_type):
        return None
    used = {columns.case, columns.activity, columns.timestamp, columns.resource}
    seen = {"case", "activity", "ts", "resource", "seq", "case_no", "pos", "a", "start"}
    attributes: dict[str, str] = {}
    for name in headers:
        if name in used:
            continue
        unique, n = name, 1
        while unique.lower() in seen:
            n += 1
            unique = f"{name} ({n})"
        seen.add(unique.lower())
        attributes[name] = unique
    kept, dropped = _limited(list(attributes))
    attributes = {k: attributes[k] for k in kept}
    zone = tz or ZoneInfo("UTC")
    engine = scratch_backend()
    if spill is not None:  # where the engine may spill what does not fit in memory
        quoted = str(spill).replace("'", "''")  # a path is data, never SQL
        engine.raw_sql(f"SET temp_directory = '{quoted}'")
    try:
        loaded = _load_parquet(engine, path, columns, attributes, zone, ts_type)
    except PilotlineError:
        raise
    except Exception as exc:  # the engine's word on a file it cannot read: damaged, odd types
        raise InputError(
            f"{source or path}: cannot read this Parquet file: {_first_line(exc)}"
        ) from None
    source = source or str(path)
    if loaded.unclear:  # as the CSV reader says it (a guess would shift those events an hour)
        raise ImportRejected(
            [
                Problem(source, row, columns.timestamp, unclear_local_time(value, zone) or "")
                for row, value in loaded.unclear
            ]
        )
    if loaded.missing:
        what = {columns.case: "the case", columns.activity: "the activity"}
        raise ImportRejected(
            [
                Problem(source, row, col, f"is empty; expected {what.get(col, 'a timestamp')}")
                for row, col in loaded.missing
            ]
        )
    if not loaded.events:
        raise ImportRejected([Problem(source, None, None, "the log has no events")])
    notes = _engine_times(engine, source, _row(2, named) if named else _row(1, columns.timestamp))
    if dropped:
        notes.append(dropped)
    if loaded.ties:
        notes.append(
            f"{loaded.ties:,} events ({loaded.ties / loaded.events:.1%}) share their timestamp with "
            "the previous event of the same case; they keep the file's order"
            + (f" after '{columns.tie_break}'" if columns.tie_break else "")
        )
    names = ["case", "activity", "ts", "resource", "seq", "case_no", "pos", "a"]
    return EventLog(
        None,
        source,
        notes,
        engine=engine,
        num_events=loaded.events,
        columns=names + loaded.attributes,
    )


def read_log(
    path: Path,
    columns: LogColumns | None = None,
    *,
    tz: ZoneInfo | None = None,
    progress: Progress | None = None,
    object_type: str | None = None,
    stream: bool | None = None,
    max_xml_bytes: int | None = None,
) -> EventLog:
    """Read an event log by its file type: .xes/.xes.gz; OCEL 2.0 (.json, .xml, .sqlite), flattened
    on ``object_type``; or CSV/Excel/Parquet with ``columns``.

    Every problem with the file raises :class:`~pilotline.errors.InputError` (most often
    :class:`~pilotline.errors.ImportRejected`, with each problem's row or event): never another
    exception. ``max_xml_bytes`` caps the XML an XES file may unpack to."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    name = path.name.lower()
    if name.endswith((".json", ".jsonocel", ".xml", ".xmlocel", ".sqlite", ".sqlite3", ".db")):
        from pilotline.map.ocel import flatten, read_ocel

        ocel = read_ocel(path)
        if object_type is None:
            types = ", ".join(f"{t} ({n} objects)" for t, n in ocel.object_types().items())
            raise InputError(
                f"{path} is an object-centric log: choose --object-type, one of {types}"
            )
        return flatten(ocel, object_type)
    if name.endswith((".xes", ".xes.gz")):
        from pilotline.map.xes import read_xes

        return read_xes(path, progress=progress, max_bytes=max_xml_bytes)
    try:
        return read_table_log(
            path,
            columns or LogColumns(),
            tz=tz or ZoneInfo("UTC"),
            progress=progress,
            stream=stream,
        )
    except pa.ArrowException as exc:  # a damaged file: Arrow's word on it, with the file's name
        raise InputError(f"{path}: cannot read this file: {_first_line(exc)}") from None
