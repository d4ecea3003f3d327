"""The embedded store: one DuckDB file in the data directory. The only module that imports duckdb.

DuckDB lets one process write a file at a time. Pilotline opens the file only while some piece
of work needs it and waits (``lock_timeout_s``) when another process — a server, a collector,
an import — has it, so a CLI command and a running server can share a data directory. If the
wait runs out, :class:`~pilotline.errors.StoreBusy` says which process holds the file. Inside
one process, every thread's work shares the one open database (:mod:`pilotline.store.sharing`).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import ibis
import pyarrow as pa

from pilotline import clock
from pilotline.errors import (
    SettingsError,
    StoreBusy,
    StoreError,
    TimeLimitExceeded,
)
from pilotline.store.schema import KEYS, MIGRATIONS, SCHEMA_VERSION, refuse_newer
from pilotline.store.session import InsertResult, Session
from pilotline.store.sharing import shared_file

log = logging.getLogger(__name__)

DB_FILE = "pilotline.duckdb"


class StoreSession(Session):
    """One open connection. Use inside :meth:`EmbeddedStore.session`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, *, writable: bool) -> None:
        self._con = con
        self.writable = writable

    # -- queries ---------------------------------------------------------------------------------
    def ibis(self) -> Any:
        """An Ibis backend over this connection, for portable analytics."""
        return ibis.duckdb.from_connection(self._con)

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        result = self._con.execute(sql, params or [])
        return result.to_arrow_table()

    def batches(self, sql: str, rows: int = 1_000_000) -> Iterator[pa.Table]:
        """A query's result streamed in parts of ``rows`` rows."""
        reader = self._con.execute(sql).fetch_record_batch(rows)
        for batch in reader:
            yield pa.Table.from_batches([batch])

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        rows = self._con.execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement to completion (DuckDB wants results consumed before other work)."""
        self._con.execute(sql, params or []).fetchall()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: everything inside commits together or not at all."""
        self.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.execute("ROLLBACK")
            raise
        self.execute("COMMIT")

    # -- writes ----------------------------------------------------------------------------------
    @contextmanager
    def staged(self, table: str, data: pa.Table) -> Iterator[str]:
        """``data`` registered as ``_incoming`` (DuckDB scans the Arrow table in place)."""
        self._con.register("_incoming", data)
        try:
            yield "_incoming"
        finally:
            self._con.unregister("_incoming")

    def insert_new(self, table: str, data: pa.Table) -> InsertResult:
        """Insert the rows of ``data`` whose natural key is not stored yet (idempotent)."""
        if data.num_rows == 0:
            return InsertResult(0, 0)
        key = KEYS[table]
        cols = ", ".join(data.column_names)
        with self.staged(table, data) as incoming:
            before = self.scalar(f"SELECT count(*) FROM {table}")
            on = " AND ".join(f"i.{k} = s.{k}" for k in key)
            self.execute(
                f"INSERT INTO {table} ({cols}) SELECT {', '.join('i.' + c for c in data.column_names)} "
                f"FROM {incoming} i ANTI JOIN {table} s ON {on}"
            )
            after = self.scalar(f"SELECT count(*) FROM {table}")
        new = int(after) - int(before)
        return InsertResult(new=new, existing=data.num_rows - new)


_LOCK_PID = re.compile(r"PID (\d+)")


class EmbeddedStore:
    """The data directory's DuckDB file, open only while some piece of work needs it.

    Within one process every piece of work shares one open database through
    :func:`~pilotline.store.sharing.shared_file` (a cursor each; writes take turns), so a web
    server's writes never fail because its reads are running. Between pieces of work the file
    is closed and other processes can have it.
    """

    engine = "embedded"
    url: str | None = None  # not a server

    def __init__(self, home: Path, *, lock_timeout_s: float = 30.0) -> None:
        self.home = home
        self.path = home / DB_FILE
        self.lock_timeout_s = lock_timeout_s
        self._checked = False
        self._gate = shared_file(self.path)

    @property
    def where(self) -> str:
        """Where the data is, for messages."""
        return str(self.path)

    def _open(self, read_only: bool, deadline: float) -> duckdb.DuckDBPyConnection:
        """Open the file, waiting until ``deadline`` while another process holds it."""
        delay = 0.02
        waited = False
        while True:
            try:
                con = duckdb.connect(str(self.path), read_only=read_only)
                if waited:
                    log.info("store %s is free again", self.path)
                return con
            except duckdb.IOException as exc:
                text = str(exc)
                if "lock" not in text.lower():
                    raise StoreError(f"Cannot open the store {self.path}: {text}") from None
                if time.monotonic() >= deadline:
                    pid = _LOCK_PID.search(text)
                    holder = f"process {pid.group(1)}" if pid else "another process"
                    raise StoreBusy(
                        f"The data directory {self.home} is in use by {holder} and stayed busy for "
                        f"{self.lock_timeout_s:.0f} s. Wait for it to finish, stop it, or raise "
                        "PILOTLINE_LOCK_TIMEOUT."
                    ) from None
                if not waited:
                    log.info("store %s is busy; waiting", self.path)
                    waited = True
                time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
                delay = min(delay * 2, 0.25)

    @contextmanager
    def _cursor(self, *, write: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        with self._gate.use(write=write, timeout_s=self.lock_timeout_s, open_db=self._open) as c:
            yield c

    def _migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        with self._cursor(write=True) as con:
            has_meta = con.execute(
                "SELECT count(*) FROM information_schema.tables WHERE table_name = 'meta'"
            ).fetchone()
            version = 0
            if has_meta and has_meta[0]:
                row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = int(row[0]) if row else 0
            refuse_newer(f"The store {self.path}", version)
            pending = [m for m in MIGRATIONS if m.version > version]
            if pending:
                con.execute("BEGIN TRANSACTION")
                try:
                    for m in pending:
                        log.info("migrating store to version %d: %s", m.version, m.description)
                        con.execute(m.sql)
                    con.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)",
                        [str(SCHEMA_VERSION)],
                    )
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")

    def _ready(self) -> None:
        if not self._checked:
            self._migrate()
            self._checked = True

    def schema_version(self) -> int:
        with self.session() as s:
            return s.schema_version()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[StoreSession]:
        """The store for one piece of work: a cursor of its own on the database this process
        shares (writes take turns); the file is closed when no work in this process needs it."""
        self._ready()
        with self._cursor(write=write) as con:
            yield StoreSession(con, writable=write)

    def backup(self, target: Path) -> int:
        """Copy the store into a new DuckDB file ``target``, consistent as of one moment.

        The copy is one read (writers in other processes wait, up to their lock timeout); it is
        written beside ``target`` and renamed when complete. Returns the schema version.
        """
        if target.exists():
            raise StoreError(f"{target} exists already; choose a new file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.unlink(missing_ok=True)
        self._ready()
        alias = f"pl_backup_{os.getpid()}_{threading.get_ident()}"
        try:
            with self._cursor(write=False) as con:
                version = int(
                    con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]  # type: ignore[index]
                )
                name = con.execute("SELECT current_database()").fetchone()[0]  # type: ignore[index]
                # ATTACH and COPY take no parameters: the path is a quoted literal
                con.execute(f"ATTACH {_quote(str(partial))} AS {_ident(alias)} (READ_WRITE)")
                try:
                    con.execute(f"COPY FROM DATABASE {_ident(name)} TO {_ident(alias)}")
                finally:
                    con.execute(f"DETACH {_ident(alias)}")
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        partial.rename(target)
        return version

    def restore(self, source: Path) -> Path:
        """Replace the store with a backup made by :meth:`backup`; the current store file is
        kept beside it (``pilotline.duckdb.before-restore-<time>``). Refuses a file that is not a
        Pilotline store, or one from a newer Pilotline. Returns where the old store was kept."""
        try:
            probe = duckdb.connect(str(source), read_only=True)
        except duckdb.Error as exc:
            raise StoreError(f"{source} is not a DuckDB file: {exc}") from None
        try:
            row = probe.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        except duckdb.Error:
            raise StoreError(
                f"{source} is not a Pilotline store (it has no schema version)"
            ) from None
        finally:
            probe.close()
        version = int(row[0]) if row else 0
        refuse_newer(str(source), version)
        with self._gate.closed(timeout_s=self.lock_timeout_s):
            # Wait until no other process uses the store, then swap the files.
            self._open(False, time.monotonic() + self.lock_timeout_s).close()
            stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
            kept = self.path.with_name(f"{DB_FILE}.before-restore-{stamp}")
            incoming = self.path.with_name(f".{DB_FILE}.restoring")
            import shutil

            shutil.copyfile(source, incoming)
            if self.path.exists():
                self.path.rename(kept)
            wal = self.path.with_name(DB_FILE + ".wal")
            if wal.exists():
                wal.rename(kept.with_name(kept.name + ".wal"))
            incoming.rename(self.path)
        self._checked = False  # migrate an older backup on the next session
        return kept

    def export_parquet(self, target: Path, *, plant_text: str | None = None) -> dict[str, Any]:
        """Write the store as a Parquet lake for other engines (Spark, PostgreSQL loaders).

        Machine data is partitioned by machine and month (``states/machine=press-1/
        month=2026-03/data_0.parquet``, Hive style), other tables are single files; users and
        API tokens are never exported. ``_pilotline.json`` lists the tables, their rows and the
        schema version, and the plant model is copied beside it. The lake is written into a
        temporary folder next to ``target`` and renamed when complete, so a failed export
        leaves no half lake behind. Returns the manifest.
        """
        if target.exists():
            raise StoreError(f"{target} exists already; choose a new folder or remove it first")
        target.parent.mkdir(parents=True, exist_ok=True)
        work = target.with_name(f".{target.name}.partial")
        if work.exists():
            import shutil

            shutil.rmtree(work)
        work.mkdir()
        tables: dict[str, dict[str, Any]] = {}
        with self.session() as s:
            con = s._con
            version = int(s.scalar("SELECT value FROM meta WHERE key = 'schema_version'"))
            for table, (time_col, partitioned) in LAKE_TABLES.items():
                rows = int(s.scalar(f"SELECT count(*) FROM {table}"))
                out = work / table
                if partitioned and rows:
                    con.execute(
                        f"COPY (SELECT *, strftime({time_col}, '%Y-%m') AS month FROM {table}) "
                        f"TO {_quote(str(out))} (FORMAT parquet, PARTITION_BY (machine, month))"
                    )
                else:
                    out.mkdir()
                    file = _quote(str(out / "data_0.parquet"))
                    con.execute(f"COPY {table} TO {file} (FORMAT parquet)")
                tables[table] = {
                    "rows": rows,
                    "partitioned_by": ["machine", "month"] if partitioned else [],
                }
        manifest = {
            "format": "pilotline-lake",
            "schema_version": version,
            "created_at": clock.now().isoformat(),
            "tables": tables,
        }
        if plant_text is not None:
            (work / "plant.toml").write_text(plant_text, encoding="utf-8")
        import json

        (work / "_pilotline.json").write_text(json.dumps(manifest, indent=2))
        work.rename(target)
        return manifest


#: Tables in a Parquet lake: the time column that gives the month, and whether the table is
#: partitioned by machine and month. Users and API tokens stay behind.
LAKE_TABLES: dict[str, tuple[str, bool]] = {
    "states": ("start_ts", True),
    "counts": ("ts", True),
    "counter_readings": ("ts", True),
    "operator_reasons": ("start_ts", True),
    "work_orders": ("start_ts", True),
    "process_values": ("ts", True),
    "imports": ("imported_at", False),
    "pilot_versions": ("recorded_at", False),
    "pilot_decisions": ("decided_at", False),
}


def _cheaper_hash() -> None:
    """Ibis turns DuckDB's unsigned 64-bit ``hash`` into a signed one through a bit string, which
    costs a third of the map's per-case pass; shifting it right by one bit gives a non-negative
    63-bit hash for the price of a shift. Only the variant keys hash, and 62 bits is what they
    use (see :func:`pilotline.map.analyses.cases`)."""
    import sqlglot.expressions as sge
    from ibis.backends.sql.compilers.duckdb import DuckDBCompiler

    def hash63(self: Any, op: Any, *, arg: Any) -> Any:
        return self.cast(
            sge.BitwiseRightShift(this=self.f.hash(arg), expression=sge.convert(1)), op.dtype
        )

    DuckDBCompiler.visit_Hash = hash63


_cheaper_hash()


def scratch_backend() -> Any:
    """An in-memory Ibis backend for analyses of data that is not stored (an event log file).

    ``PILOTLINE_MAP_MEMORY_MB`` caps the memory it uses; beyond that DuckDB spills to disk."""
    backend = ibis.duckdb.connect(":memory:", threads=2)
    limit = os.environ.get("PILOTLINE_MAP_MEMORY_MB", "").strip()
    if limit:
        try:
            mb = int(float(limit))
            if mb < 64:
                raise ValueError
        except ValueError:
            raise SettingsError(
                f"PILOTLINE_MAP_MEMORY_MB={limit!r} is not a number of megabytes (64 or more)"
            ) from None
        backend.raw_sql(f"SET memory_limit = '{mb}MB'")
    return backend


def to_arrow(backend: Any, expr: Any) -> Any:
    """An Ibis expression's result: an Arrow table, or an Arrow scalar for a scalar expression.

    On DuckDB the result is fetched straight from DuckDB and cast to the expression's schema:
    Ibis's own path imports pandas to convert types (0.2 s on the first query of every
    process, a tenth of a 5-million-event summary) although nothing here uses pandas.
    """
    if getattr(backend, "name", None) != "duckdb":
        return backend.to_pyarrow(expr)
    table_expr = expr.as_table()
    backend._run_pre_execute_hooks(table_expr)  # registers in-memory (Arrow) tables
    result = backend.con.sql(str(backend.compile(table_expr))).to_arrow_table()
    result = result.cast(table_expr.schema().to_pyarrow())
    if isinstance(expr, ibis.expr.types.Scalar):
        return result.column(0)[0]
    return result


def to_arrow_within(backend: Any, expr: Any, seconds: float | None) -> pa.Table:
    """Run an Ibis expression, interrupting it after ``seconds`` (DuckDB and PostgreSQL).

    Raises :class:`~pilotline.errors.TimeLimitExceeded` when the limit stops the query.
    """
    if seconds is None or getattr(backend, "name", None) not in ("duckdb", "postgres"):
        return to_arrow(backend, expr)
    if backend.name == "postgres":
        from pilotline.store._postgres import to_arrow_within as postgres_within

        return postgres_within(backend, expr, seconds)
    timer = threading.Timer(seconds, backend.con.interrupt)
    timer.start()
    try:
        return to_arrow(backend, expr)
    except duckdb.InterruptException:
        raise TimeLimitExceeded(
            f"stopped after the time limit of {seconds:g} s; raise --time-limit or filter the log"
        ) from None
    finally:
        timer.cancel()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class LoadedLog:
    """An event log loaded into a scratch backend by :func:`load_parquet_log`."""

    events: int
    ties: int
    attributes: list[str]
    missing: list[tuple[int, str]]  # (1-based row, column) of empty required cells, the first 20
    #: (1-based row, local time) of times the zone skips or repeats, the first 20
    unclear: list[tuple[int, dt.datetime]] = field(default_factory=list)


def load_parquet_log(
    backend: Any,
    path: str,
    *,
    case: str,
    activity: str,
    timestamp: str,
    resource: str | None,
    tie_break: str | None,
    attributes: dict[str, str],
    tz: str,
    zoned: bool,
    unclear: Callable[[dt.datetime, dt.datetime], list[tuple[dt.datetime, dt.datetime]]]
    | None = None,
) -> LoadedLog:
    """Read a Parquet event log straight into the engine, in the shape of :mod:`pilotline.map.log`.

    The engine keeps integers where the analyses work: ``pl_events`` holds ``case_no``, ``a`` (the
    activity's number), ``ts`` (UTC, no zone), ``seq``, ``pos``, ``row`` (the file's row) and
    the next event's activity and the microseconds until it (``next_a``, ``next_gap_us``, found in the
    same pass that orders the events);
    ``pl_case_ids`` and ``pl_activities`` hold the names, and the view ``pl_attributes`` the
    resource and the other columns as text, by row. Events are ordered by time
    within a case, then by ``tie_break``, then by their row in the file (a stable order).
    ``attributes`` maps each other column to the name it gets (unique regardless of case);
    ``zoned`` says the timestamp column carries a time zone, else it is local time in ``tz``;
    then ``unclear(first, last)`` gives the wall-clock intervals the zone skips or repeats
    between the log's first and last time, and rows in them are reported, not guessed.
    """
    con = backend.con
    src = f"read_parquet({_quote(path)}, file_row_number = true)"
    c, a, t = _ident(case), _ident(activity), _ident(timestamp)
    if zoned:  # an instant: its epoch is UTC already (arithmetic, no time-zone rules needed)
        ts = f"make_timestamp(epoch_us({t}))"
    elif tz == "UTC":
        ts = t
    else:  # local wall-clock time: the zone's rules (daylight saving) make it an instant
        ts = f"timezone('UTC', timezone({_quote(tz)}, {t}))"
    missing = con.execute(
        f"SELECT file_row_number + 1, {c} IS NULL, {a} IS NULL, {t} IS NULL FROM {src} "
        f"WHERE {c} IS NULL OR {a} IS NULL OR {t} IS NULL ORDER BY 1 LIMIT 20"
    ).fetchall()
    if missing:
        cells = []
        for row, no_case, no_activity, no_ts in missing:
            for empty, col in ((no_case, case), (no_activity, activity), (no_ts, timestamp)):
                if empty:
                    cells.append((int(row), col))
        return LoadedLog(0, 0, [], cells)
    if not zoned and tz != "UTC" and unclear is not None:
        first, last = con.execute(f"SELECT min({t}), max({t}) FROM {src}").fetchone()
        windows = unclear(first, last) if first is not None else []  # None: no events
        if windows:
            inside = " OR ".join(f"({t} >= ? AND {t} < ?)" for _ in windows)
            found = con.execute(
                f"SELECT file_row_number + 1, {t} FROM {src} WHERE {inside} ORDER BY 1 LIMIT 20",
                [x for w in windows for x in w],
            ).fetchall()
            if found:
                return LoadedLog(0, 0, [], [], [(int(r), v) for r, v in found])
    rows = con.execute(f"SELECT count(*) FROM {src}").fetchone()[0]  # from the metadata
    row_type = "INTEGER" if rows < 2**31 else "BIGINT"
    con.execute(
        "CREATE OR REPLACE TABLE pl_activities AS SELECT (row_number() OVER (ORDER BY activity)"
        f" - 1)::INTEGER AS a, activity FROM (SELECT DISTINCT {a}::VARCHAR AS activity FROM {src})"
    )
    con.execute(
        "CREATE OR REPLACE TABLE pl_case_ids AS SELECT (row_number() OVER () - 1)::INTEGER AS "
        f'case_no, "case" FROM (SELECT DISTINCT {c}::VARCHAR AS "case" FROM {src})'
    )
    extra = "".join(f", {_ident(k)}::VARCHAR AS {_ident(v)}" for k, v in attributes.items())
    res = f"{_ident(resource)}::VARCHAR" if resource else "NULL::VARCHAR"
    # Text attributes stay in the file (a view): the heavy analyses never touch them, and a
    # filter or a resource analysis reads them from there, joined on the row.
    con.execute(
        f"CREATE OR REPLACE VIEW pl_attributes AS SELECT file_row_number::{row_type} AS row, "
        f"{res} AS resource{extra} FROM {src}"
    )
    tie = f", s.{_ident(tie_break)} AS pl_tie" if tie_break else ""
    raw = (
        "SELECT k.case_no, x.a, "
        f"{ts.replace(t, 's.' + t)}::TIMESTAMP AS ts, s.file_row_number::{row_type} AS row{tie} "
        f'FROM {src} s JOIN pl_case_ids k ON k."case" = s.{c}::VARCHAR '
        f"JOIN pl_activities x ON x.activity = s.{a}::VARCHAR"
    )
    order = "ts, pl_tie, row" if tie else "ts, row"
    con.execute(
        "CREATE OR REPLACE TABLE pl_ordered AS SELECT case_no, a, ts, "
        "(row_number() OVER w - 1)::INTEGER AS pos, row, lead(a) OVER w AS next_a, "
        "epoch_us(lead(ts) OVER w) - epoch_us(ts) AS next_gap_us "
        f"FROM ({raw}) WINDOW w AS (PARTITION BY case_no ORDER BY {order})"
    )
    events, ties = con.execute(
        # an event tied with the previous one of its case: the previous one's gap is zero
        "SELECT count(*), count(*) FILTER (next_gap_us = 0) FROM pl_ordered"
    ).fetchone()
    # seq: the case's number in the high 32 bits and the position in the low ones, so a case's
    # events are consecutive; computed when read, it takes no memory.
    con.execute(
        "CREATE OR REPLACE VIEW pl_events AS SELECT case_no, a, ts, "
        "(case_no::BIGINT << 32) + pos AS seq, pos, row, next_a, next_gap_us FROM pl_ordered"
    )
    return LoadedLog(int(events), int(ties), list(attributes.values()), [])


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
