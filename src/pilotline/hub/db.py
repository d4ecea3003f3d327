"""The hub's connection layer: one interface for every hub module, over SQLite (the embedded
hub: one file, ``hub.sqlite``, in the hub's directory; :mod:`pilotline.hub._sqlite`) or
PostgreSQL (a real hub; :mod:`pilotline.hub._postgres`, the only hub module that imports
psycopg).

Statements are written once, in SQL both databases take: ``?`` placeholders (the PostgreSQL
module hands psycopg its own), ``INSERT … ON CONFLICT … DO NOTHING | DO UPDATE``, ``RETURNING``
for a new row's identity, rows read by column name, ``DOUBLE PRECISION`` for measured values.
What differs is declared by each backend and nowhere else:

- :attr:`Database.identity`, the DDL of a table's generated key;
- :meth:`Connection.lock`, a named lock held to the end of the transaction (PostgreSQL's
  advisory locks; SQLite needs none, as a write transaction there holds the whole file);
- :meth:`Database.vacuum`, what "erased" takes after the deleting transaction: nothing on
  SQLite (``secure_delete`` overwrites deleted rows as they go), ``VACUUM (FULL, ANALYZE)`` of
  the tables touched on PostgreSQL (a plain ``VACUUM`` leaves the bytes of the last row of a
  page in its free space), once older snapshots have ended; never an error for the erasure
  that committed (what it could not do is logged and retried).

Errors from the drivers come out as :class:`~pilotline.errors.StoreError` (the database refused
the work), :class:`~pilotline.errors.StoreUnavailable` (it cannot be reached) or
:class:`~pilotline.errors.StoreBusy` (SQLite: another process held the file too long); a
message never shows a password from the database URL.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from pilotline.redact import redact, redact_text, scrub

__all__ = ["FILE", "URL_ENV", "Connection", "Database", "Result", "open_database", "redact",
           "redact_text", "scrub"]  # fmt: skip

FILE = "hub.sqlite"
#: The environment variable naming a PostgreSQL database for the hub.
URL_ENV = "PILOTLINE_HUB_DATABASE_URL"


class Result:
    """What a statement gave: its rows (dicts by column name), how many rows it changed, and
    the names of its columns."""

    __slots__ = ("columns", "rowcount", "rows")

    def __init__(self, rows: list[dict[str, Any]], rowcount: int, columns: list[str]) -> None:
        self.rows = rows
        self.rowcount = rowcount
        self.columns = columns

    def fetchone(self) -> dict[str, Any] | None:
        return self.rows[0] if self.rows else None

    def fetchall(self) -> list[dict[str, Any]]:
        return self.rows

    def scalar(self) -> Any:
        """The first column of the first row (``None`` without a row)."""
        return next(iter(self.rows[0].values())) if self.rows else None

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.rows)


class Connection(ABC):
    """One open transaction."""

    @abstractmethod
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        """Run one statement (``?`` placeholders) and read what it returns."""

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        for params in rows:
            self.execute(sql, params)

    @abstractmethod
    def lock(self, name: str) -> None:
        """Hold the lock ``name`` until this transaction ends; another transaction asking for
        it waits. Used where a decision reads before it writes (the last place at an event, the
        next release's number) so that two hub processes cannot both decide the same."""


class Database(ABC):
    """Where a hub's tables are; opened briefly for each piece of work."""

    #: DDL of a generated integer key column.
    identity: str

    @property
    @abstractmethod
    def where(self) -> str:
        """Where the hub's data is, for messages (never with a password)."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether a hub was made here (``hub init``)."""

    @abstractmethod
    def tables(self) -> set[str]:
        """The names of the tables in the database (its current schema)."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[Connection]:
        """One write transaction: committed when the block ends, rolled back on any error."""

    @abstractmethod
    def snapshot(self) -> AbstractContextManager[Connection]:
        """Reading only, every statement seeing the same committed state."""

    @abstractmethod
    def vacuum(self, tables: Sequence[str], *, wait: bool = True) -> bool:
        """After a committed erasure: make the deleted rows gone from the tables' files too
        (``wait=False``: in the background). Never raises (the erasure has committed): what it
        could not do is logged and done at a later call. Whether it is all done."""

    def vacuumed(self, timeout_s: float = 120.0) -> None:  # noqa: B027 - nothing in the background
        """Wait (at most ``timeout_s`` each) for the vacuums started with ``wait=False``."""

    def close(self) -> None:  # noqa: B027 - a backend with nothing to close keeps this
        """Close what the backend keeps open between pieces of work."""


def open_database(home: Path | None, url: str | None) -> Database:
    """The hub's database: PostgreSQL at ``url``, or else the SQLite file in ``home``."""
    if url:
        from pilotline.hub._postgres import PostgresHub

        return PostgresHub(url)
    if home is None:
        raise ValueError("a hub needs a directory or a database URL")
    from pilotline.hub._sqlite import SqliteHub

    return SqliteHub(home / FILE)
