"""The embedded hub: one SQLite file in the hub's directory. The only hub module that imports
``sqlite3``.

A write transaction starts with ``BEGIN IMMEDIATE``: it holds the file for writing from its
first statement, so what it read before writing is still true when it writes (two processes
serving one hub cannot both give away the last place). Foreign keys are enforced, and
``secure_delete`` overwrites deleted rows in the file as they go, so erased means gone from
the file when the transaction commits.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from pilotline.errors import StoreBusy, StoreError
from pilotline.hub.db import Connection, Database, Result

TIMEOUT_S = 30


class _Connection(Connection):
    def __init__(self, con: sqlite3.Connection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        cur = self._con.execute(sql, tuple(params))
        columns = [d[0] for d in cur.description] if cur.description else []
        rows = [dict(zip(columns, r, strict=True)) for r in cur.fetchall()] if columns else []
        return Result(rows, cur.rowcount, columns)

    def lock(self, name: str) -> None:
        """Nothing to do: the write transaction already holds the whole file."""


class SqliteHub(Database):
    identity = "INTEGER PRIMARY KEY AUTOINCREMENT"

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def where(self) -> str:
        return str(self.path.parent)

    def exists(self) -> bool:
        return self.path.exists()

    def tables(self) -> set[str]:
        if not self.exists():
            return set()
        with self.snapshot() as con:
            return {
                r["name"]
                for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            }

    def _open(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; each block says BEGIN itself.
        con = sqlite3.connect(self.path, timeout=TIMEOUT_S, isolation_level=None)
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA secure_delete = ON")  # erased means gone from the file too
        return con

    @contextmanager
    def _run(self, begin: str) -> Iterator[Connection]:
        try:
            con = self._open()
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the hub's database {self.path}: {exc}") from None
        try:
            con.execute(begin)
            yield _Connection(con)
            con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise StoreBusy(
                    f"the hub's database {self.path} was held by another process for more "
                    f"than {TIMEOUT_S} s; try again"
                ) from None
            raise StoreError(f"the hub's database {self.path} refused the work: {exc}") from None
        except sqlite3.Error as exc:
            raise StoreError(f"the hub's database {self.path} refused the work: {exc}") from None
        finally:
            if con.in_transaction:
                con.execute("ROLLBACK")
            con.close()

    def transaction(self) -> AbstractContextManager[Connection]:
        return self._run("BEGIN IMMEDIATE")

    def snapshot(self) -> AbstractContextManager[Connection]:
        return self._run("BEGIN")

    def vacuum(self, tables: Sequence[str], *, wait: bool = True) -> bool:
        """Nothing to do: ``secure_delete`` overwrote the rows when they were deleted."""
        return True
