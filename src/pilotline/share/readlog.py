"""The record of partner reads: append-only and hash-chained, so that tampering shows.

Each record holds who read, when, which route, which grants allowed it, what was returned and the
result, plus the previous record's hash; its own hash covers all of that. :func:`verify` walks the
chain and names the first record that is edited, missing, inserted or out of order. The newest
record's number and hash are also kept in ``<home>/share/reads.head``, so that cutting records
off the end shows too.

Writes are grouped: a request queues its record with :class:`ReadLog`, and a writer thread stores
what is queued every second in one transaction, and at exit; a crash loses at most that last
group (a second of reads). If the store cannot take the records, partner requests are refused
once 10,000 wait.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from pilotline.errors import PilotlineError, StoreError
from pilotline.store import Store

GENESIS = "0" * 64
MAX_BACKLOG = 10_000
_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("read_at", pa.timestamp("us")), ("partner", pa.string()),
    ("route", pa.string()), ("grants", pa.string()), ("returned", pa.string()),
    ("status", pa.int32()), ("prev_hash", pa.string()), ("hash", pa.string()),
])  # fmt: skip
_COLUMNS = _SCHEMA.names
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Read:
    at: dt.datetime
    partner: str
    route: str
    grants: list[str]
    returned: list[str]
    status: int


def _digest(seq: int, at: str, partner: str, route: str, grants: str, returned: str,
            status: int, prev: str) -> str:  # fmt: skip
    body = json.dumps([seq, at, partner, route, grants, returned, status, prev],
                      ensure_ascii=False, separators=(",", ":"))  # fmt: skip
    return hashlib.sha256(body.encode()).hexdigest()


def _stamp(at: dt.datetime) -> str:
    return at.replace(tzinfo=None).isoformat(timespec="microseconds")


class ReadLog:
    """Appends read records for one store. A request queues its record and goes on; a writer
    thread stores what is queued every ``interval_s`` in one transaction (opening the store
    costs tens of milliseconds, far more than a read of the API). At exit, and whenever
    :meth:`flush` is called, the queue is written at once. If records cannot be written and
    :data:`MAX_BACKLOG` pile up, :meth:`append` refuses, so nothing is served unrecorded for long.
    """

    def __init__(self, store: Store, home: Path, *, interval_s: float = 1.0) -> None:
        self.store, self.head, self.interval_s = store, home / "share" / "reads.head", interval_s
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._queue: list[Read] = []
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def append(self, read: Read) -> None:
        """Queue ``read`` for the record (raises :class:`StoreError` when the record cannot
        keep up)."""
        with self._lock:
            if len(self._queue) >= MAX_BACKLOG:
                raise StoreError(
                    f"the record of partner reads cannot be written ({self.error}); "
                    "partner reads are refused until it can"
                )
            self._queue.append(read)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="share-reads", daemon=True)
                self._thread.start()
                atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval_s)
            try:
                self.flush()
            except Exception:  # kept in the queue; tried again, refused once it piles up
                log.warning("the record of partner reads could not be written", exc_info=True)

    def flush(self) -> None:
        """Write every queued record now."""
        with self._writing:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                self._write(batch)
                self.error = None
            except BaseException as exc:
                with self._lock:
                    self._queue[:0] = batch
                self.error = exc
                raise

    def _write(self, reads: list[Read]) -> None:
        for attempt in range(5):
            try:
                with self.store.session(write=True) as s, s.transaction():
                    last = s.arrow(
                        "SELECT seq, hash FROM share_reads ORDER BY seq DESC LIMIT 1"
                    ).to_pylist()
                    seq, prev = (last[0]["seq"], last[0]["hash"]) if last else (0, GENESIS)
                    rows: dict[str, list[Any]] = {c: [] for c in _COLUMNS}
                    for r in reads:
                        seq += 1
                        at, grants = _stamp(r.at), json.dumps(r.grants)
                        returned = json.dumps(r.returned, ensure_ascii=False)
                        h = _digest(seq, at, r.partner, r.route, grants, returned, r.status, prev)
                        for c, v in zip(_COLUMNS, (seq, r.at.replace(tzinfo=None), r.partner,
                                                   r.route, grants, returned, r.status, prev, h),
                                        strict=True):  # fmt: skip
                            rows[c].append(v)
                        prev = h
                    s.append("share_reads", pa.table(rows, schema=_SCHEMA))
                self.head.parent.mkdir(parents=True, exist_ok=True)
                self.head.write_text(f"{seq} {prev}\n")
                return
            except StoreError:
                raise
            except Exception:  # another process took the same number: read the head again
                if attempt == 4:
                    raise


def records(store: Store, *, partner: str | None = None, limit: int = 100, after: int = 0,
            newest: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Records oldest first, from number ``after`` + 1 (one partner's when named); with
    ``newest``, the last ``limit`` records, newest first."""
    sql, params = "SELECT * FROM share_reads WHERE seq > ?", list[Any]([after])
    if partner is not None:
        sql += " AND partner = ?"
        params.append(partner)
    order = "seq DESC" if newest else "seq"
    with store.session() as s:
        rows: list[dict[str, Any]] = s.arrow(
            sql + f" ORDER BY {order} LIMIT ?", [*params, limit]
        ).to_pylist()
    for r in rows:
        r["read_at"] = r["read_at"].isoformat() + "Z"
        r["grants"], r["returned"] = json.loads(r["grants"]), json.loads(r["returned"])
    return rows


class ChainBroken(PilotlineError):
    """The read record was changed: ``seq`` is the first record that does not fit."""

    def __init__(self, seq: int, why: str) -> None:
        super().__init__(f"record {seq}: {why}")
        self.seq, self.why = seq, why


def verify(store: Store, home: Path) -> int:
    """Check the whole chain; returns how many records there are, or raises
    :class:`ChainBroken` naming the first broken record."""
    # the head first: records written while the chain is read only make it longer than the head
    head_n, head_hash = 0, ""
    head = home / "share" / "reads.head"
    if head.exists():
        parts = head.read_text().split()
        if len(parts) == 2 and parts[0].isdigit():
            head_n, head_hash = int(parts[0]), parts[1]
    prev, expect = GENESIS, 1
    last = 0
    while True:
        with store.session() as s:
            part = s.arrow(
                "SELECT * FROM share_reads WHERE seq > ? ORDER BY seq LIMIT 50000", [last]
            ).to_pylist()
        if not part:
            break
        last = int(part[-1]["seq"])
        for r in part:
            seq = int(r["seq"])
            if seq != expect:
                what = "missing" if seq > expect else "out of order"
                raise ChainBroken(expect if seq > expect else seq,
                                  f"record {expect} is {what} (found {seq} next)")  # fmt: skip
            if r["prev_hash"] != prev:
                raise ChainBroken(seq, f"does not follow record {seq - 1} (a record deleted, "
                                       "inserted or swapped before it)")  # fmt: skip
            h = _digest(seq, _stamp(r["read_at"]), r["partner"], r["route"], r["grants"],
                        r["returned"], int(r["status"]), r["prev_hash"])  # fmt: skip
            if h != r["hash"]:
                raise ChainBroken(seq, "its contents were changed after it was written")
            if seq == head_n and h != head_hash:
                raise ChainBroken(seq, "is not the record that was written as number "
                                       f"{seq} (the newest records were replaced)")  # fmt: skip
            prev, expect = h, expect + 1
    count = expect - 1
    if count < head_n:
        raise ChainBroken(count + 1, f"missing: the record ends at {count}, but {head_n} "
                                     "were written")  # fmt: skip
    return count
