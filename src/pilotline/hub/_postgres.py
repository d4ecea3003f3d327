"""A hub on PostgreSQL, for a real campaign: several hub processes (the server's workers, the
coordinator's commands, cron) on one database. The only hub module that imports psycopg.

The statements are the same as on SQLite; only their ``?`` placeholders are handed to psycopg
as ``%s`` (:func:`to_psycopg`). Each piece of work runs in its own transaction on a connection
from a small pool (a page of the hub asks a dozen small questions). Where a decision reads
before it writes, the hub module takes a named lock first (:meth:`_Connection.lock`, a
transaction-scoped advisory lock), and unique keys catch the rest: two processes cannot give
away the last place at an event twice, promote one waiting person twice, number two releases
alike or accept one signed request twice.

Erasure: a deleted row stays in its table's file until it is vacuumed, and a plain ``VACUUM``
leaves the bytes of a page's last row in the page's free space, so after an erasure the
tables touched are rewritten with ``VACUUM (FULL, ANALYZE)`` (:meth:`PostgresHub.vacuum`).
What this does not reach (WAL, backups, replicas) is written down in ``docs/hub.md``.
"""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, dict_row

from pilotline.errors import InputError, StoreBusy, StoreError, StoreUnavailable
from pilotline.hub.db import URL_ENV, Connection, Database, Result, redact, scrub

log = logging.getLogger(__name__)

PgConnection = psycopg.Connection[DictRow]
#: Connections kept open between pieces of work.
IDLE = 4
#: Every session in UTC; a lock (a row, an advisory lock, a table to vacuum) waited for at
#: most 30 s, then the work fails as busy instead of hanging.
OPTIONS = "-c TimeZone=UTC -c lock_timeout=30s"
_TABLE = re.compile(r"[a-z_]+")


@lru_cache(maxsize=1024)
def to_psycopg(sql: str) -> str:
    """``?`` placeholders as psycopg's ``%s`` (not inside quoted text); ``%`` doubled."""
    out: list[str] = []
    quoted = False
    for ch in sql:
        if ch == "'":
            quoted = not quoted  # '' inside a string toggles twice: still inside
        if ch == "%":
            out.append("%%")
        elif ch == "?" and not quoted:
            out.append("%s")
        else:
            out.append(ch)
    return "".join(out)


def check_url(url: str) -> str:
    """The URL, if it is a PostgreSQL URL with a host or socket and a database name."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError as exc:
        raise InputError(
            f"database URL {redact(url)!r}: {scrub(str(exc), url)}; expected "
            "postgresql://user:password@host:5432/database"
        ) from None
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        raise InputError(
            f"database URL {redact(url)!r}: expected postgresql://user:password@host:5432/"
            f"database (from --database or {URL_ENV})"
        )
    return url


def _reason(exc: BaseException, url: str) -> str:
    """The driver's message on one line: its first (the failure; hints follow it)."""
    lines = [" ".join(ln.split()) for ln in str(exc).strip().splitlines() if ln.strip()]
    return scrub(lines[0] if lines else type(exc).__name__, url)


class _Connection(Connection):
    def __init__(self, con: PgConnection) -> None:
        self._con = con

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Result:
        cur = self._con.execute(to_psycopg(sql), tuple(params))
        columns = [d.name for d in cur.description] if cur.description else []
        rows = [dict(r) for r in cur.fetchall()] if columns else []
        return Result(rows, cur.rowcount, columns)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._con.cursor() as cur:  # psycopg pipelines them: one round trip, not one each
            cur.executemany(to_psycopg(sql), [tuple(r) for r in rows])

    def lock(self, name: str) -> None:
        self._con.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"pilotline.hub:{name}",))


def _close_all(idle: list[PgConnection]) -> None:
    while idle:
        idle.pop().close()


class PostgresHub(Database):
    identity = "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY"

    def __init__(self, url: str) -> None:
        self.url = check_url(url)
        self._idle: list[PgConnection] = []
        self._guard = threading.Lock()
        self._finalizer = weakref.finalize(self, _close_all, self._idle)

    @property
    def where(self) -> str:
        return f"the PostgreSQL database {redact(self.url)}"

    # -- connections -----------------------------------------------------------------------------
    def _connect(self) -> PgConnection:
        try:
            return psycopg.connect(
                self.url, autocommit=True, connect_timeout=10, options=OPTIONS, row_factory=dict_row
            )
        except psycopg.Error as exc:
            raise StoreUnavailable(
                f"cannot reach the hub's database at {redact(self.url)}: "
                f"{_reason(exc, self.url)} (is the server running, and the URL of --database "
                f"or {URL_ENV} right?)"
            ) from None

    def _checkout(self) -> tuple[PgConnection, bool]:
        with self._guard:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _checkin(self, con: PgConnection) -> None:
        if not con.closed and con.info.transaction_status == TransactionStatus.IDLE:
            with self._guard:
                if len(self._idle) < IDLE:
                    self._idle.append(con)
                    return
        con.close()

    def close(self) -> None:
        with self._guard:
            _close_all(self._idle)

    @contextmanager
    def _run(self, begin: str) -> Iterator[Connection]:
        con, pooled = self._checkout()
        try:
            try:
                con.execute(begin)
            except psycopg.OperationalError:
                if not pooled:
                    raise
                con.close()  # the server dropped it while it waited (a restart): a new one
                con = self._connect()
                con.execute(begin)
            yield _Connection(con)
            con.execute("COMMIT")
        except pg_errors.LockNotAvailable:
            raise StoreBusy(
                f"the hub's database at {redact(self.url)}: other work held what this needed "
                "for more than 30 s; nothing was changed, try again"
            ) from None
        except psycopg.OperationalError as exc:
            raise StoreUnavailable(
                f"lost the hub's database at {redact(self.url)} during the work: "
                f"{_reason(exc, self.url)}; nothing of it was kept, try again"
            ) from None
        except psycopg.Error as exc:
            raise StoreError(
                f"the hub's database at {redact(self.url)} refused the work: "
                f"{_reason(exc, self.url)}"
            ) from None
        finally:
            if not con.closed and con.info.transaction_status != TransactionStatus.IDLE:
                try:
                    con.execute("ROLLBACK")
                except psycopg.Error:
                    con.close()
            self._checkin(con)

    def transaction(self) -> AbstractContextManager[Connection]:
        return self._run("BEGIN")

    def snapshot(self) -> AbstractContextManager[Connection]:
        return self._run("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")

    def exists(self) -> bool:
        with self.snapshot() as con:
            return bool(con.execute("SELECT to_regclass('settings') IS NOT NULL AS made").scalar())

    def tables(self) -> set[str]:
        with self.snapshot() as con:
            return {
                r["tablename"]
                for r in con.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            }

    def vacuum(self, tables: Sequence[str]) -> None:
        """Rewrite the tables (and their indexes and TOAST tables) without the dead rows, and
        refresh their statistics, outside any transaction. A table the database user does not
        own is not vacuumed (PostgreSQL only warns): that is an error here."""
        names = ", ".join(t for t in dict.fromkeys(tables) if _TABLE.fullmatch(t))
        if not names:
            return
        skipped: list[str] = []
        con = self._connect()
        con.add_notice_handler(
            lambda d: (
                skipped.append(d.message_primary or "")
                if "skipping" in (d.message_primary or "")
                else None
            )
        )
        try:
            con.execute(f"VACUUM (FULL, ANALYZE) {names}")
        except psycopg.Error as exc:
            skipped.append(_reason(exc, self.url))
        finally:
            con.close()
        if skipped:
            raise StoreError(
                f"the erasure is kept, but {names} could not be vacuumed ({'; '.join(skipped)}): "
                "the erased rows stay in the tables' files until they are; run "
                f"VACUUM (FULL) {names} on {redact(self.url)} as the tables' owner"
            )
        log.info("vacuumed %s after an erasure", names)
