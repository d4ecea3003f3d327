"""What every store offers, whichever engine holds the data (the embedded DuckDB file or a
PostgreSQL server), and :func:`open_store`, which picks one from the settings.

The rest of Pilotline writes its few SQL statements in DuckDB's dialect; the PostgreSQL store
translates them (sqlglot). Analytics go through :meth:`Session.ibis`, written once in Ibis.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyarrow as pa

from pilotline import clock
from pilotline.store.schema import KEYS


@dataclass(frozen=True)
class InsertResult:
    new: int
    existing: int


@dataclass(frozen=True)
class Conflict:
    key: dict[str, Any]
    stored: dict[str, Any]
    incoming: dict[str, Any]


class Session:
    """One open connection to a store, for one piece of work: the base of every engine's session.

    An engine provides ``execute``, ``scalar``, ``arrow`` (DuckDB's SQL dialect), ``staged``,
    ``ibis``, ``transaction`` and ``insert_new``; the bookkeeping below (imports, pilots,
    decisions, conflicts, copies) is written once on top of them.
    """

    writable: bool

    def ibis(self) -> Any:
        """An Ibis backend over this connection, for portable analytics."""
        raise NotImplementedError

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        raise NotImplementedError

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        raise NotImplementedError

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        raise NotImplementedError

    def transaction(self) -> AbstractContextManager[None]:
        """All or nothing: everything inside commits together or not at all."""
        raise NotImplementedError

    def schema_version(self) -> int:
        """The schema version the store's data was written in."""
        return int(self.scalar("SELECT value FROM meta WHERE key = 'schema_version'"))

    def insert_new(self, table: str, data: pa.Table) -> InsertResult:
        """Insert the rows of ``data`` whose natural key is not stored yet (idempotent)."""
        raise NotImplementedError

    def staged(self, table: str, data: pa.Table) -> AbstractContextManager[str]:
        """``data`` readable by the next statements, shaped like ``table``: yields its name."""
        raise NotImplementedError

    def conflicts(self, table: str, data: pa.Table, *, limit: int = 5) -> list[Conflict]:
        """Rows in ``data`` whose natural key is stored with different values."""
        key = KEYS[table]
        compare = [c for c in data.column_names if c not in key and c != "import_id"]
        if not compare or data.num_rows == 0:
            return []
        with self.staged(table, data) as incoming:
            on = " AND ".join(f"s.{k} = i.{k}" for k in key)
            differs = " OR ".join(f"s.{c} IS DISTINCT FROM i.{c}" for c in compare)
            cols = ", ".join(
                [f"i.{k} AS k_{k}" for k in key]
                + [f"s.{c} AS s_{c}" for c in compare]
                + [f"i.{c} AS i_{c}" for c in compare]
            )
            rows = self.arrow(
                f"SELECT {cols} FROM {incoming} i JOIN {table} s ON {on} WHERE {differs} "
                f"ORDER BY {', '.join('i.' + k for k in key)} LIMIT {int(limit)}"
            ).to_pylist()
        return [
            Conflict(
                key={k: r[f"k_{k}"] for k in key},
                stored={c: r[f"s_{c}"] for c in compare},
                incoming={c: r[f"i_{c}"] for c in compare},
            )
            for r in rows
        ]

    def delete_where(self, table: str, where: str, params: Sequence[Any]) -> None:
        self.execute(f"DELETE FROM {table} WHERE {where}", list(params))

    def append(self, table: str, data: pa.Table) -> None:
        """Insert every row of ``data`` (no check for rows already stored)."""
        if data.num_rows == 0:
            return
        cols = ", ".join(data.column_names)
        with self.staged(table, data) as incoming:
            self.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {incoming}")

    def batches(self, sql: str, rows: int = 1_000_000) -> Iterator[pa.Table]:
        """A query's result in parts of about ``rows`` rows (here: one part)."""
        yield self.arrow(sql)

    def next_import_id(self) -> int:
        return int(self.scalar("SELECT coalesce(max(id), 0) + 1 FROM imports"))

    def record_import(
        self, *, import_id: int, file: str, sha256: str, kind: str, rows: int, new_rows: int
    ) -> None:
        self.execute(
            "INSERT INTO imports VALUES (?, ?, ?, ?, ?, ?, ?)",
            [import_id, file, sha256, kind, rows, new_rows, utc_now()],
        )

    def pilot_versions(self, title: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.arrow(
            "SELECT fingerprint, frozen, reason, recorded_at FROM pilot_versions WHERE title = ? "
            "ORDER BY recorded_at",
            [title],
        ).to_pylist()
        return rows

    def record_pilot_version(
        self, *, title: str, fingerprint: str, frozen: str, reason: str | None
    ) -> None:
        self.execute(
            "INSERT INTO pilot_versions VALUES (?, ?, ?, ?, ?)",
            [title, fingerprint, frozen, reason, utc_now()],
        )

    def record_decision(
        self,
        *,
        title: str,
        fingerprint: str,
        decision: str,
        reason: str,
        verdict: str | None,
        effect: float | None,
        low: float | None,
        high: float | None,
    ) -> None:
        self.execute(
            "INSERT INTO pilot_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [title, fingerprint, decision, reason, verdict, effect, low, high, utc_now()],
        )

    def decisions(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = self.arrow(
            "SELECT * FROM pilot_decisions ORDER BY decided_at"
        ).to_pylist()
        return rows


def utc_now() -> dt.datetime:
    """Now, as the store keeps times: UTC without a zone."""
    return clock.utc_naive()


class Store(Protocol):
    """Where the plant's data is kept: opened briefly for each piece of work."""

    engine: str
    home: Path
    lock_timeout_s: float

    @property
    def url(self) -> str | None:
        """The database's URL when the store is a server, else None."""
        ...

    @property
    def where(self) -> str: ...
    def session(self, *, write: bool = False) -> AbstractContextManager[Session]: ...
    def schema_version(self) -> int: ...


def open_store(
    home: Path, *, database_url: str | None = None, lock_timeout_s: float = 30.0
) -> Store:
    """The embedded store in ``home``, or the PostgreSQL database at ``database_url``."""
    if database_url:
        from pilotline.errors import SettingsError

        if not database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                f"PILOTLINE_DATABASE_URL={database_url!r} is not a PostgreSQL URL; expected "
                "postgresql://user:password@host:5432/database (or leave it unset for the "
                "embedded store)"
            )
        try:
            from pilotline.store._postgres import PostgresStore
        except ImportError as exc:
            raise SettingsError(
                f"PILOTLINE_DATABASE_URL is set but the PostgreSQL driver is missing ({exc.name}); "
                "install it with: pip install 'pilotline[postgres]'"
            ) from None
        return PostgresStore(database_url, home, lock_timeout_s=lock_timeout_s)
    from pilotline.store._duckdb import EmbeddedStore

    return EmbeddedStore(home, lock_timeout_s=lock_timeout_s)


def engine_backend(engine: str, *, database_url: str | None = None) -> tuple[Any, Any]:
    """An Ibis backend for analyses of data that is not stored (an event log), and a function
    ``load(arrow_table, name)`` that puts a table into it: DuckDB in memory (``embedded``), a
    PostgreSQL connection (``postgres``, at ``database_url``) or Spark (``spark``)."""
    if engine == "embedded":
        from pilotline.store._duckdb import scratch_backend

        backend = scratch_backend()
        return backend, lambda table, name: backend.create_table(name, table, temp=True)
    if engine == "postgres":
        from pilotline.errors import SettingsError

        if not database_url:
            raise SettingsError(
                "--engine postgres runs on the database in PILOTLINE_DATABASE_URL; set it"
            )
        open_store(Path("."), database_url=database_url)  # the same checks and messages
        from pilotline.store._postgres import postgres_backend, postgres_table

        backend = postgres_backend(database_url)
        return backend, lambda table, name: postgres_table(backend, table, name)
    if engine == "spark":
        from pilotline.store._spark import spark_backend, spark_table

        backend = spark_backend()
        return backend, lambda table, name: spark_table(backend, table, name)
    from pilotline.errors import InputError

    raise InputError(f"engine {engine!r} is not known; use embedded, postgres or spark")
