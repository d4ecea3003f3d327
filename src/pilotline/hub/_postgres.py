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
tables touched are rewritten with ``VACUUM (FULL, ANALYZE)`` (:meth:`PostgresHub.vacuum`). A
rewrite keeps every row that a snapshot older than the erasure may still see, so the vacuum
first waits (up to :data:`SNAPSHOT_WAIT_S`) for other sessions' older snapshots to end, takes
each table's lock for at most :data:`VACUUM_LOCK_TIMEOUT` (the hub's other requests do not
queue behind it for longer), and reads in VACUUM's own report whether dead rows were kept. A
table not cleanly rewritten is logged as a warning (naming the session in the way) and recorded
in ``vacuum_due``; every later vacuum (the next erasure or withdrawal) takes those tables too.
What this does not reach (WAL, backups, replicas) is written down in ``docs/hub.md``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import weakref
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict
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
#: After an erasure, how long the vacuum waits for older snapshots (other sessions' open
#: transactions that began before it) to end; a rewrite meanwhile would keep the erased rows.
SNAPSHOT_WAIT_S = 30.0
#: How long ``VACUUM FULL`` waits for a table's lock; requests queue behind it while it waits.
VACUUM_LOCK_TIMEOUT = "2s"
#: Tables that still hold erased rows in their files (created when first needed).
DUE = "vacuum_due"
_KEPT = re.compile(r"(\d+) dead row versions cannot be removed yet")
#: A hub is these tables with (at least) these columns; anything else is not a hub.
HUB_COLUMNS = {
    "settings": {"name", "value"},
    "firms": {"id", "name", "sector", "size_band", "region", "public_key"},
    "items": {"firm_id", "item_id", "kind", "content", "received_at"},
    "consents": {"firm_id", "person", "item_id", "text_version", "text_sha256", "given_at"},
}
#: Other sessions whose snapshot or transaction began before the transaction id given: the
#: rows the erasure deleted are still theirs to see, and a rewrite would keep them.
_OLDER = """
SELECT pid, application_name, usename, backend_type, state,
       coalesce(xact_start, backend_start) AS since
  FROM pg_stat_activity
 WHERE pid <> pg_backend_pid() AND backend_type <> 'autovacuum worker'
   AND (datname = current_database() OR datname IS NULL)
   AND (age(backend_xmin) > age(%(x)s::text::xid) OR age(backend_xid) > age(%(x)s::text::xid))
 ORDER BY since
"""


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
    except ValueError:  # urllib's own message would show what it took for the port
        raise InputError(
            f"database URL {redact(url)!r}: cannot read its host and port (a password holding "
            "/ # ? or @ must be percent-encoded, / as %2F); expected "
            "postgresql://user:password@host:5432/database"
        ) from None
    if parts.scheme not in ("postgresql", "postgres") or not parts.path.strip("/"):
        if "://" not in url and "=" in url:
            raise InputError(
                f"database {redact(url)!r}: a key=value connection string is not taken here; "
                "write it as postgresql://user:password@host:5432/database (from --database "
                f"or {URL_ENV})"
            )
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

    #: See :data:`SNAPSHOT_WAIT_S` and :data:`VACUUM_LOCK_TIMEOUT`.
    snapshot_wait_s = SNAPSHOT_WAIT_S
    vacuum_lock_timeout = VACUUM_LOCK_TIMEOUT

    def __init__(self, url: str) -> None:
        self.url = check_url(url)
        # the URL's own options (say, -c search_path=camp_a) first, the hub's after them
        try:
            own = conninfo_to_dict(url).get("options")
        except psycopg.Error as exc:
            raise InputError(f"database URL {redact(url)!r}: {_reason(exc, url)}") from None
        self.options = f"{own} {OPTIONS}" if own else OPTIONS
        self._pending: set[str] = set()
        self._vacuuming = threading.Lock()
        self._vacuums: list[threading.Thread] = []
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
                self.url,
                autocommit=True,
                connect_timeout=10,
                options=self.options,
                row_factory=dict_row,
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
        """Whether the hub's own tables are here with their columns: another program's
        ``settings`` table (or a half of a hub) is not a hub."""
        with self.snapshot() as con:
            rows = con.execute(
                "SELECT table_name, column_name FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = ANY(?)",
                (list(HUB_COLUMNS),),
            ).rows
        have: dict[str, set[str]] = {}
        for r in rows:
            have.setdefault(r["table_name"], set()).add(r["column_name"])
        return all(cols <= have.get(t, set()) for t, cols in HUB_COLUMNS.items())

    def tables(self) -> set[str]:
        with self.snapshot() as con:
            return {
                r["tablename"]
                for r in con.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                )
            }

    def vacuum(self, tables: Sequence[str], *, wait: bool = True) -> bool:
        """Rewrite the tables (and their indexes and TOAST tables) without the dead rows, and
        refresh their statistics, outside any transaction; with them the tables an earlier
        vacuum left due. Never raises: the erasure has committed; what could not be rewritten
        is logged and stays due. ``wait=False``: in a background thread (one at a time per
        hub; :meth:`vacuumed` waits for it). Whether every table is clean now (``False`` in
        the background)."""
        with self._guard:
            self._pending.update(t for t in tables if _TABLE.fullmatch(t))
        if wait:
            return self._vacuum_pending()
        worker = threading.Thread(target=self._vacuum_pending, name="pilotline-hub-vacuum")
        with self._guard:
            self._vacuums = [t for t in self._vacuums if t.is_alive()] + [worker]
        worker.start()
        return False

    def vacuumed(self, timeout_s: float = 120.0) -> None:
        """Wait for the background vacuums started so far."""
        with self._guard:
            workers = list(self._vacuums)
        for worker in workers:
            worker.join(timeout_s)

    def _vacuum_pending(self) -> bool:
        with self._vacuuming:  # one at a time; a later one takes what earlier ones added
            with self._guard:
                wanted, self._pending = sorted(self._pending), set()
            try:
                con = self._connect()
            except StoreUnavailable as exc:
                reason = str(exc)
            else:
                try:
                    return self._vacuum(con, wanted)
                except psycopg.Error as exc:
                    reason = _reason(exc, self.url)
                finally:
                    con.close()
            with self._guard:  # this process tries them again at its next vacuum
                self._pending.update(wanted)
            log.warning(
                "not vacuumed after an erasure (%s): the erased rows of %s stay in the tables' "
                "files; this process tries again at its next erasure, or run VACUUM (FULL) on "
                "them as the tables' owner",
                reason,
                ", ".join(wanted) or f"the tables in {DUE}",
            )
            return False

    def _vacuum(self, con: PgConnection, wanted: list[str]) -> bool:
        with suppress(pg_errors.UniqueViolation):  # another hub process made it just now
            con.execute(f"CREATE TABLE IF NOT EXISTS {DUE} (name TEXT PRIMARY KEY, since TEXT)")
        con.execute(
            f"INSERT INTO {DUE} (name, since) SELECT t, now()::text FROM unnest(%s::text[]) t "
            "ON CONFLICT (name) DO NOTHING",
            (wanted,),
        )  # recorded first: a process stopped during the wait leaves them due
        names = [r["name"] for r in con.execute(f"SELECT name FROM {DUE} ORDER BY name")]
        names = [t for t in names if _TABLE.fullmatch(t)]
        if not names:
            return True
        xid = int(con.execute("SELECT pg_current_xact_id()::text AS x").fetchone()["x"])  # type: ignore[index]
        blockers: list[dict[str, Any]] = []
        deadline = time.monotonic() + self.snapshot_wait_s
        while blockers := con.execute(_OLDER, {"x": str(xid % 2**32)}).fetchall():
            if time.monotonic() >= deadline:
                shown = "; ".join(
                    f"pid {b['pid']} ({b['application_name'] or b['backend_type']}, "
                    f"user {b['usename']}, {b['state']}) since {b['since']:%Y-%m-%d %H:%M:%S %Z}"
                    for b in blockers[:3]
                )
                log.warning(
                    "not vacuumed after an erasure: other sessions still hold snapshots older "
                    "than it (%s) after %g s, and a rewrite would keep the erased rows for them; "
                    "%s stay due (recorded in %s) and are vacuumed at the next erasure, or run "
                    "VACUUM (FULL) %s once those sessions have ended",
                    shown,
                    self.snapshot_wait_s,
                    ", ".join(names),
                    DUE,
                    ", ".join(names),
                )
                return False
            time.sleep(0.1)
        con.execute(f"SET lock_timeout = '{self.vacuum_lock_timeout}'")
        failed: dict[str, str] = {}
        for table in names:
            said: list[str] = []

            def heard(d: psycopg.errors.Diagnostic, said: list[str] = said) -> None:
                said.append(f"{d.message_primary or ''}\n{d.message_detail or ''}")

            con.add_notice_handler(heard)
            try:
                con.execute(f"VACUUM (FULL, ANALYZE, VERBOSE) {table}")
            except psycopg.Error as exc:
                failed[table] = _reason(exc, self.url)
            finally:
                con.remove_notice_handler(heard)
            if table not in failed:
                if skipped := [m.split("\n")[0] for m in said if "skipping" in m]:
                    failed[table] = skipped[0]
                elif kept := sum(int(n) for m in said for n in _KEPT.findall(m)):
                    failed[table] = f"{kept} dead row versions could not be removed yet"
        done = [t for t in names if t not in failed]
        con.execute(f"DELETE FROM {DUE} WHERE name = ANY(%s)", (done,))
        if failed:
            log.warning(
                "after an erasure, %s could not be vacuumed (%s): the erased rows stay in those "
                "tables' files; they stay due (recorded in %s) and are vacuumed at the next "
                "erasure, or run VACUUM (FULL) on them as the tables' owner",
                ", ".join(failed),
                "; ".join(f"{t}: {why}" for t, why in failed.items()),
                DUE,
            )
            return False
        log.info("vacuumed %s after an erasure", ", ".join(done))
        return True
