"""The durable local buffer between the sources and the store (SQLite; the only sqlite3 import).

A sample is acknowledged to its source only after :meth:`Buffer.append` returned: the write is
committed with ``synchronous=FULL`` in WAL mode, so it survives a killed process or a power cut.
``(source, tag, ts, seq)`` is unique: a message delivered twice is stored once. The forwarder reads
samples in insertion order and moves a cursor (ids are never reused, even after pruning); forwarded samples are kept for a while
(``keep_forwarded_h``) so a late duplicate is still recognised, then pruned.

A sample the buffer cannot hold (a whole number beyond 64 bits, a time that is not one) is
checked before the write and goes to ``dead_letters`` with the reason instead, so that it is
acknowledged and never sent again; the rest of its batch is stored as usual. An error of the
buffer itself (a locked or broken file) is raised: nothing is acknowledged, the broker keeps it.
"""

from __future__ import annotations

import logging
import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilotline.connect.samples import Sample, Value, now_us
from pilotline.errors import BufferFull

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS samples (
    id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, tag TEXT NOT NULL, ts INTEGER NOT NULL,
    seq INTEGER NOT NULL, value ANY, UNIQUE (source, tag, ts, seq)
) STRICT;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value ANY) STRICT;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, source TEXT NOT NULL,
    tag TEXT NOT NULL, what TEXT NOT NULL, error TEXT NOT NULL
) STRICT;
"""

#: SQLite's integers are 64-bit and signed.
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
#: Dead letters kept (the newest); what each keeps of the message or sample.
KEEP_DEAD_LETTERS = 10_000
_WHAT_CHARS = 2_000


def unstorable(sample: Sample) -> str | None:
    """Why the buffer cannot hold ``sample`` as it is, or None when it can."""
    for name, number in (("time", sample.ts_us), ("sequence number", sample.seq)):
        if type(number) is not int or not _INT_MIN <= number <= _INT_MAX:
            return f"its {name} {_show(number)} is not a 64-bit whole number"
    value = sample.value
    if value is None or isinstance(value, bool | str):
        return None
    if isinstance(value, int):
        return None if _INT_MIN <= value <= _INT_MAX else f"{_show(value)} is beyond 64 bits"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    return f"a {type(value).__name__} is not a reading"


def _show(value: object) -> str:
    """A value for a message, short, for any value (even a whole number of 10,000 digits)."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a whole number of {value.bit_length()} bits"
    return repr(value)[:60]


@dataclass(frozen=True)
class Appended:
    new: int
    duplicates: int
    #: (tag, why) of each sample that went to the dead letters instead
    dead: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Row:
    id: int
    source: str
    tag: str
    ts_us: int
    seq: int
    value: Value


class Buffer:
    """One SQLite file. Each thread gets its own connection."""

    def __init__(self, path: Path, *, max_bytes: int, keep_forwarded_s: float = 86400) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.keep_forwarded_s = keep_forwarded_s
        self._local = threading.local()
        path.parent.mkdir(parents=True, exist_ok=True)
        con = self._con()
        con.executescript(_SCHEMA)

    def _con(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "con", None)
        if con is None:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("PRAGMA synchronous=FULL")
            # Checkpoints (WAL → database file) are the forwarder's job, off the acknowledgement path.
            con.execute("PRAGMA wal_autocheckpoint=0")
            con.execute("PRAGMA journal_size_limit=33554432")  # the WAL file shrinks back to 32 MB
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # -- writing (sources) --------------------------------------------------------------------
    def used_bytes(self) -> int:
        """Bytes the samples take (the database's pages in use, wherever they currently sit)."""
        con = self._con()
        pages = con.execute("PRAGMA page_count").fetchone()[0]
        free = con.execute("PRAGMA freelist_count").fetchone()[0]
        size = con.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def append(self, samples: Sequence[Sample]) -> Appended:
        """Store samples durably; raise :class:`BufferFull` (nothing stored) when over quota."""
        if not samples:
            return Appended(0, 0)
        if self.used_bytes() > self.max_bytes:
            raise BufferFull(
                f"the local buffer {self.path} holds {self.used_bytes() / 1e6:.1f} MB, over its "
                f"quota of {self.max_bytes / 1e6:.1f} MB; not acknowledging until the store takes it"
            )
        good, dead = [], []
        for s in samples:
            why = unstorable(s)
            if why is None:
                good.append(s)
            else:
                dead.append((s, why))
        con = self._con()
        try:
            con.execute("BEGIN IMMEDIATE")
            before = con.total_changes
            con.executemany(
                "INSERT OR IGNORE INTO samples (source, tag, ts, seq, value) VALUES (?, ?, ?, ?, ?)",
                [(s.source, s.tag, s.ts_us, s.seq, s.value) for s in good],
            )
            new = con.total_changes - before
            for s, why in dead:
                self._dead_letter(
                    con, s.source, s.tag, f"ts {_show(s.ts_us)} value {_show(s.value)}", why
                )
            con.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if con.in_transaction:
                con.execute("ROLLBACK")
            if "full" in str(exc).lower():
                raise BufferFull(f"the disk under {self.path} is full: {exc}") from None
            raise
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        return Appended(new, len(good) - new, tuple((s.tag, why) for s, why in dead))

    def dead_letter(self, source: str, tag: str, what: str, error: str) -> None:
        """Keep something that cannot become a sample (a message nothing could read), durably,
        so its source may acknowledge it."""
        con = self._con()
        con.execute("BEGIN IMMEDIATE")
        try:
            self._dead_letter(con, source, tag, what, error)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def _dead_letter(
        self, con: sqlite3.Connection, source: str, tag: str, what: str, error: str
    ) -> None:
        con.execute(
            "INSERT INTO dead_letters (at, source, tag, what, error) VALUES (?, ?, ?, ?, ?)",
            (now_us(), source, tag, what[:_WHAT_CHARS], error[:_WHAT_CHARS]),
        )

    def dead_letters(self, *, limit: int = 100) -> list[dict[str, Any]]:
        """The newest dead letters first: when, source, tag, what (cut short) and why."""
        rows = (
            self._con()
            .execute(
                "SELECT at, source, tag, what, error FROM dead_letters ORDER BY id DESC LIMIT ?",
                (limit,),
            )
            .fetchall()
        )
        return [
            dict(zip(("at_us", "source", "tag", "what", "error"), r, strict=True)) for r in rows
        ]

    def beat(self) -> None:
        """Record that the collector is alive (to date a gap after a crash)."""
        self._set("heartbeat", now_us())

    def last_beat(self) -> int | None:
        value = self._get("heartbeat")
        return int(value) if value is not None else None

    # -- reading (forwarder) -------------------------------------------------------------------
    def cursor(self) -> int:
        value = self._get("forwarded")
        return int(value) if value is not None else 0

    def pending(self, *, limit: int) -> list[Row]:
        rows = (
            self._con()
            .execute(
                "SELECT id, source, tag, ts, seq, value FROM samples WHERE id > ? ORDER BY id LIMIT ?",
                (self.cursor(), limit),
            )
            .fetchall()
        )
        return [Row(*r) for r in rows]

    def backlog(self) -> int:
        row = self._con().execute("SELECT count(*) FROM samples WHERE id > ?", (self.cursor(),))
        return int(row.fetchone()[0])

    def mark_forwarded(self, up_to: int) -> None:
        self._set("forwarded", up_to)
        self._con().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def prune(self, *, force: bool = False) -> int:
        """Delete forwarded samples older than the keep period (all forwarded ones if ``force``)."""
        horizon = now_us() if force else now_us() - int(self.keep_forwarded_s * 1e6)
        con = self._con()
        cur = con.execute("DELETE FROM samples WHERE id <= ? AND ts < ?", (self.cursor(), horizon))
        con.execute(
            "DELETE FROM dead_letters WHERE id <= (SELECT max(id) FROM dead_letters) - ?",
            (KEEP_DEAD_LETTERS,),
        )
        return cur.rowcount

    def _set(self, key: str, value: int) -> None:
        self._con().execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def _get(self, key: str) -> Any:
        row = self._con().execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None
