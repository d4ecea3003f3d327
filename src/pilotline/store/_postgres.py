"""The PostgreSQL store, for a plant server. The only module that imports psycopg.

Selected by ``PILOTLINE_DATABASE_URL=postgresql://…``; the data directory still holds the plant
model, reports and the collectors' buffers. The schema is the embedded store's
(:mod:`pilotline.store.schema`), translated from DuckDB's SQL by sqlglot, plus a unique index on
each table's natural key, so that several collectors, imports and web workers can write at once:
``INSERT … ON CONFLICT DO NOTHING`` keeps imports idempotent even when two of them race.

Each piece of work opens its own connection (as the embedded store opens its file), so a
server restart costs the work in flight, never more: a lost connection is a
:class:`~pilotline.errors.StoreUnavailable`, the caller keeps its data (a collector's buffer
keeps every acknowledged sample) and tries again.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import ibis
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
import sqlglot
from psycopg.types.numeric import FloatLoader
from psycopg.types.string import StrDumper

from pilotline.errors import StoreError, StoreUnavailable, TimeLimitExceeded
from pilotline.redact import redact
from pilotline.store.schema import KEYS, MIGRATIONS, SCHEMA_VERSION, refuse_newer
from pilotline.store.session import InsertResult, Session

log = logging.getLogger(__name__)

#: Postgres type OIDs → Arrow types for query results (anything else is inferred from values).
_ARROW_TYPES: dict[int, pa.DataType] = {
    16: pa.bool_(),
    20: pa.int64(),
    21: pa.int64(),
    23: pa.int64(),
    25: pa.string(),
    1043: pa.string(),
    700: pa.float64(),
    701: pa.float64(),
    1700: pa.float64(),
    1082: pa.date32(),
    1114: pa.timestamp("us"),
    1184: pa.timestamp("us", "UTC"),
}

#: UTC for every session. No JIT: PostgreSQL compiles the analytics' long queries to machine
#: code for seconds before running them in fractions of one. Room for the analytics' sorts and
#: hash joins in memory.
_OPTIONS = "-c TimeZone=UTC -c jit=off -c work_mem=64MB"

_PERCENT = re.compile(r"%(?!s\b)")


@functools.lru_cache(maxsize=512)
def translate(sql: str, *, with_params: bool = True) -> str:
    """DuckDB SQL (as the rest of Pilotline writes it) in PostgreSQL's dialect."""
    out = ";\n".join(
        s for s in sqlglot.transpile(sql, read="duckdb", write="postgres") if s.strip()
    )
    return _PERCENT.sub("%%", out) if with_params else out


class PostgresSession(Session):
    """One open connection. Use inside :meth:`PostgresStore.session`."""

    def __init__(self, con: psycopg.Connection[Any], *, writable: bool) -> None:
        self._con = con
        self.writable = writable
        self._in_transaction = False

    # -- queries ---------------------------------------------------------------------------------
    def ibis(self) -> Any:
        """An Ibis backend over this connection, for portable analytics."""
        return ibis.postgres.from_connection(self._con)

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        with self._con.cursor() as cur:
            cur.execute(translate(sql, with_params=bool(params)), params or None)
            return _to_arrow(cur)

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self._con.cursor() as cur:
            cur.execute(translate(sql, with_params=bool(params)), params or None)
            row = cur.fetchone()
        return row[0] if row else None

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        with self._con.cursor() as cur:
            cur.execute(translate(sql, with_params=bool(params)), params or None)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All or nothing: everything inside commits together or not at all."""
        with self._con.transaction():
            self._in_transaction = True
            try:
                yield
            finally:
                self._in_transaction = False

    # -- writes ----------------------------------------------------------------------------------
    @contextmanager
    def staged(self, table: str, data: pa.Table) -> Iterator[str]:
        """``data`` copied (COPY, as CSV) into a temporary table ``_incoming`` shaped like
        ``table``, dropped afterwards."""
        cols = ", ".join(data.column_names)
        with self._con.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS _incoming")
            cur.execute(f"CREATE TEMP TABLE _incoming AS SELECT {cols} FROM {table} WITH NO DATA")
            buf = io.BytesIO()
            pacsv.write_csv(data, buf, pacsv.WriteOptions(include_header=False))
            with cur.copy(f"COPY _incoming ({cols}) FROM STDIN (FORMAT csv)") as copy:
                copy.write(buf.getvalue())
        try:
            yield "_incoming"
        finally:
            with self._con.cursor() as cur:
                cur.execute("DROP TABLE IF EXISTS _incoming")

    def insert_new(self, table: str, data: pa.Table) -> InsertResult:
        """Insert the rows of ``data`` whose natural key is not stored yet (idempotent, also
        when another writer inserts the same rows at the same time)."""
        if data.num_rows == 0:
            return InsertResult(0, 0)
        cols = ", ".join(data.column_names)
        with self.staged(table, data) as incoming, self._con.cursor() as cur:
            cur.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {incoming} ON CONFLICT DO NOTHING"
            )
            new = max(cur.rowcount, 0)
        return InsertResult(new=new, existing=data.num_rows - new)

    def next_import_id(self) -> int:
        # Two imports at once must not take the same number: hold a lock until the import commits.
        if self._in_transaction:
            self.execute("SELECT pg_advisory_xact_lock(hashtext('pilotline.imports'))")
        return super().next_import_id()


def _to_arrow(cur: psycopg.Cursor[Any]) -> pa.Table:
    desc = cur.description or []
    rows = cur.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in desc]
    arrays = {}
    for d, values in zip(desc, columns, strict=True):
        kind = _ARROW_TYPES.get(d.type_code)
        if kind is not None and pa.types.is_floating(kind):
            values = tuple(None if v is None else float(v) for v in values)
        arrays[d.name] = pa.array(values, type=kind) if kind or values else pa.array([])
    return pa.table(arrays) if arrays else pa.table({})


#: A unique index on each natural key: what makes concurrent idempotent inserts safe.
_KEY_INDEXES = tuple(
    f"CREATE UNIQUE INDEX IF NOT EXISTS {table}_key ON {table} ({', '.join(cols)})"
    for table, cols in KEYS.items()
)


class PostgresStore:
    """A PostgreSQL database holding the store's tables; one connection per piece of work."""

    engine = "postgres"

    def __init__(self, url: str, home: Path, *, lock_timeout_s: float = 30.0) -> None:
        self.url = url
        self.home = home
        self.lock_timeout_s = lock_timeout_s
        self._checked = False

    @property
    def where(self) -> str:
        """Where the data is, for messages (the URL without its password)."""
        return redact(self.url)

    def _connect(self) -> psycopg.Connection[Any]:
        """Connect, waiting up to ``lock_timeout_s`` for a server that is starting or restarting."""
        deadline = time.monotonic() + self.lock_timeout_s
        delay = 0.05
        while True:
            try:
                con = psycopg.connect(
                    self.url, autocommit=True, connect_timeout=10, options=_OPTIONS
                )
                # Epoch arithmetic comes back as numeric; the analytics want float64 (as DuckDB).
                con.adapters.register_loader("numeric", FloatLoader)
                # Text parameters as text (not "unknown"), so unnest(?) of a list of names works.
                con.adapters.register_dumper(str, StrDumper)
                return con
            except psycopg.OperationalError as exc:
                if time.monotonic() >= deadline:
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "no answer"
                    raise StoreUnavailable(
                        f"Cannot reach the PostgreSQL store at {self.where}: {reason}. Is the "
                        "server running and PILOTLINE_DATABASE_URL right?"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def _migrate(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        con = self._connect()
        try:
            with con.transaction(), con.cursor() as cur:
                # One migrating process at a time; the others wait here and then find it done.
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('pilotline.migrate'))")
                cur.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
                cur.execute("SELECT value FROM meta WHERE key = 'schema_version'")
                row = cur.fetchone()
                version = int(row[0]) if row else 0
                refuse_newer(f"The PostgreSQL store at {self.where}", version)
                for m in MIGRATIONS:
                    if m.version <= version:
                        continue
                    log.info("migrating store to version %d: %s", m.version, m.description)
                    sql = m.sql.replace(
                        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);", ""
                    )
                    for statement in sqlglot.transpile(sql, read="duckdb", write="postgres"):
                        if statement.strip():
                            cur.execute(statement)
                for statement in _KEY_INDEXES:
                    cur.execute(statement)
                cur.execute(
                    "INSERT INTO meta VALUES ('schema_version', %s) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    [str(max(version, SCHEMA_VERSION))],
                )
        except psycopg.Error as exc:
            raise StoreError(
                f"Cannot prepare the PostgreSQL store at {self.where}: {exc}"
            ) from None
        finally:
            con.close()

    def schema_version(self) -> int:
        with self.session() as s:
            return s.schema_version()

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[PostgresSession]:
        """Open a connection for one piece of work; it is closed on exit. A connection lost on
        the way (a server restart) becomes :class:`StoreUnavailable`; nothing half-written stays."""
        if not self._checked:
            self._migrate()
            self._checked = True
        con = self._connect()
        try:
            yield PostgresSession(con, writable=write)
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"Lost the PostgreSQL store at {self.where} during the work: "
                f"{str(exc).strip() or type(exc).__name__}; nothing of it was kept. Try again."
            ) from None
        finally:
            con.close()


_PG_TYPES = (
    (pa.types.is_boolean, "boolean"),
    (pa.types.is_integer, "bigint"),
    (pa.types.is_floating, "double precision"),
    (pa.types.is_timestamp, "timestamp"),
    (pa.types.is_date, "date"),
)


def _ident(name: str) -> str:
    """A quoted SQL identifier: a double quote inside it is doubled."""
    return '"' + name.replace('"', '""') + '"'


def _pg_type(kind: pa.DataType) -> str:
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    for test, name in _PG_TYPES:
        if test(kind):
            return name
    return "text"


def postgres_backend(url: str) -> Any:
    """An Ibis backend on a PostgreSQL connection of its own, for analyses of data that is not
    stored (an event log); the connection lasts as long as the backend."""
    return PostgresSession(PostgresStore(url, Path("."))._connect(), writable=True).ibis()


def postgres_table(backend: Any, table: pa.Table, name: str) -> Any:
    """Copy an Arrow table into a temporary table ``name`` (COPY, not row by row) and return it
    as an Ibis table on ``backend``."""
    con: psycopg.Connection[Any] = backend.con
    # Column names come from the user's file (an event log's attributes): quoted identifiers.
    columns = ", ".join(f"{_ident(f.name)} {_pg_type(f.type)}" for f in table.schema)
    plain = table.cast(
        pa.schema(
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in table.schema
        )
    )
    buf = io.BytesIO()
    pacsv.write_csv(plain, buf, pacsv.WriteOptions(include_header=False))
    with con.cursor() as cur:
        cur.execute(f"CREATE TEMP TABLE {_ident(name)} ({columns})")
        names = ", ".join(_ident(c) for c in table.column_names)
        with cur.copy(f"COPY {_ident(name)} ({names}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cur.execute(f"ANALYZE {_ident(name)}")
    return backend.table(name)


def to_arrow_within(backend: Any, expr: Any, seconds: float) -> pa.Table:
    """Run an Ibis expression under PostgreSQL's own limit on one statement."""
    with backend.con.cursor() as cur:
        cur.execute(f"SET statement_timeout = {int(seconds * 1000)}")
    try:
        return backend.to_pyarrow(expr)
    except psycopg.errors.QueryCanceled:
        raise TimeLimitExceeded(
            f"stopped after the time limit of {seconds:g} s; raise --time-limit or filter the log"
        ) from None
    finally:
        with backend.con.cursor() as cur:
            cur.execute("SET statement_timeout = 0")
