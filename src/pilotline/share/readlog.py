"""The record of partner reads: append-only and hash-chained, so that tampering shows.

Each record holds who read, when, which route, which grants allowed it, what was returned and the
result, plus the previous record's hash; its own hash covers all of that. :func:`verify` walks the
chain and names the first record that is edited, missing, inserted or out of order. The newest
record's number and hash are also kept in ``<home>/share/reads.head``, so that cutting records
off the end shows too.

Writes are grouped: a request queues its record with :class:`ReadLog`, and a writer thread stores
what is queued every 5 seconds (sooner when 5,000 wait) in one transaction, at exit, and before a
partner reads its own record. Before the request is answered its
record is also appended (one ``write``, no ``fsync``) to this process's journal,
``<home>/share/reads-<pid>-<random>.journal``, locked while the process lives; the writer thread
notes in it what the store holds and syncs it to disk once a second. A server that is killed
(even ``kill -9``) leaves its journal unlocked, and the next server, ``share audit verify`` or
``share audit list`` writes the records the store did not get (:func:`recover`). Only a crash of
the operating system or the power can lose the last second's records. If the store cannot take
the records, partner requests are refused once 20,000 wait.
"""

from __future__ import annotations

import atexit
import datetime as dt
import fcntl
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from pilotline.errors import PilotlineError, StoreError
from pilotline.share import anchor
from pilotline.store import Store

GENESIS = "0" * 64
MAX_BACKLOG = 20_000  # about 20 MB of queued records
#: The writer thread stores the queue this often, or sooner once :data:`STORE_AT` records wait.
#: (Each store write costs 70-250 ms of CPU whether it holds one record or thousands — opening
#: the store, and the checkpoint at its close, which rewrites the table's newest row group: once a
#: second, that was up to a quarter of a core taken from the partners' reads.)
STORE_EVERY_S = 5.0
STORE_AT = MAX_BACKLOG // 4
#: A journal past this size is replaced, after a store write, by one holding only the records
#: still waiting (under steady reads the queue is never empty after a write, so it was never
#: emptied and grew by every read: about 700 MB an hour at 1,000 reads a second).
JOURNAL_MAX = 16 * 2**20
_SCHEMA = pa.schema([
    ("seq", pa.int64()), ("read_at", pa.timestamp("us")), ("partner", pa.string()),
    ("route", pa.string()), ("grants", pa.string()), ("returned", pa.string()),
    ("status", pa.int32()), ("prev_hash", pa.string()), ("hash", pa.string()),
])  # fmt: skip
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


_encode = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class _Row:
    """A read ready for the chain: its columns but ``seq``, ``prev_hash`` and ``hash``, and
    ``middle``, the part of :func:`_digest`'s body between the number and the previous hash.
    Made when the read is queued (in the request's thread), so that the writer thread, which
    holds up every request while it runs Python, only numbers and hashes each record."""

    at: dt.datetime
    partner: str
    route: str
    grants: str
    returned: str
    status: int
    middle: str

    @classmethod
    def of(cls, r: Read) -> _Row:
        at, grants = _stamp(r.at), json.dumps(r.grants)
        returned = json.dumps(r.returned, ensure_ascii=False)
        status = int(r.status)
        middle = ",".join((_encode(at), _encode(r.partner), _encode(r.route), _encode(grants),
                           _encode(returned), str(status)))  # fmt: skip
        return cls(r.at.replace(tzinfo=None), r.partner, r.route, grants, returned, status, middle)

    def digest(self, seq: int, prev: str) -> str:
        """:func:`_digest` of this record as number ``seq`` after ``prev``: the same bytes (a
        JSON list's items are encoded one by one, as here; ``prev`` is hexadecimal)."""
        return hashlib.sha256(f'[{seq},{self.middle},"{prev}"]'.encode()).hexdigest()


class _Journal:
    """One journal file of this process, locked while it lives. A record is put in it with one
    ``write`` (no ``fsync``): in the kernel's cache at once, so in the file whatever becomes of
    the process, ``kill -9`` included; :meth:`sync` puts it on disk (an operating-system crash
    or a power cut loses what was not synced).

    (Tried and left: copying records into the file mapped into memory, which saves the system
    call but can stall the whole process on a page fault while the disk is busy: in the
    benchmark under others' load its p99 reached 240 ms.)"""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd, self.path, self.pos = fd, path, 0

    def write(self, data: bytes) -> None:
        if data:
            os.write(self.fd, data)  # O_APPEND
            self.pos += len(data)

    def clear(self) -> None:
        """Empty it (everything in it is stored)."""
        os.ftruncate(self.fd, 0)  # O_APPEND: the next record starts the file
        self.pos = 0

    def sync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


class ReadLog:
    """Appends read records for one store. A request puts its record in the journal, queues it
    and goes on; a writer thread syncs the journal to disk every ``interval_s`` and stores what
    is queued every ``store_every_s`` (or once :data:`STORE_AT` wait) in one transaction
    (opening, writing and closing the store costs 70-250 ms of CPU whatever the number of
    records, far more than a read of the API). At exit, and whenever :meth:`flush` is called,
    the queue is written at once. If records cannot be written and :data:`MAX_BACKLOG` pile up,
    :meth:`append` refuses, so nothing is served unrecorded for long.
    """

    def __init__(self, store: Store, home: Path, *, interval_s: float = 1.0,
                 store_every_s: float = STORE_EVERY_S) -> None:  # fmt: skip
        self.store, self.home, self.interval_s = store, home, interval_s
        self.store_every_s = store_every_s
        self.head = home / "share" / "reads.head"
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        self._queue: list[tuple[int, Read, _Row]] = []
        self._thread: threading.Thread | None = None
        self._journal: _Journal | None = None  # this process's journal, locked while it lives
        self._n = 0  # records put in the journal
        self.error: BaseException | None = None
        self._head: tuple[int, str] | None = None  # the newest head written, not yet signed
        self._signed_at = -anchor.EVERY_S
        self._stored_at = time.monotonic()

    def append(self, read: Read) -> None:
        """Put ``read`` in the journal and queue it for the store (raises :class:`StoreError`
        when the record cannot keep up or the journal cannot be written)."""
        row = _Row.of(read)
        with self._lock:
            if len(self._queue) >= MAX_BACKLOG:
                raise StoreError(
                    f"the record of partner reads cannot be written ({self.error}); "
                    "partner reads are refused until it can"
                )
            try:
                journal = self._open_journal()
                self._n += 1
                journal.write(_line(self._n, read))
            except OSError as exc:
                raise StoreError(f"the journal of partner reads cannot be written: {exc}") from exc
            self._queue.append((self._n, read, row))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="share-reads", daemon=True)
                self._thread.start()
                atexit.register(self.close)

    def _open_journal(self) -> _Journal:
        """This process's journal (opened, locked and the journals of dead processes recovered
        on first use); call with ``_lock`` held."""
        if self._journal is None:
            self._journal = self._new_journal()
            try:
                recover(self.store, self.home)
            except Exception:  # tried again by the next verify, list or server
                log.warning("journals of partner reads not recovered", exc_info=True)
        return self._journal

    def _new_journal(self, lines: bytes = b"") -> _Journal:
        """A new journal of this process holding ``lines`` (synced), locked: made under a name
        :func:`recover` does not look at, and renamed once locked, so that no other process
        takes it for a dead one's."""
        folder = self.home / "share"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"reads-{os.getpid()}-{secrets.token_hex(4)}.journal"
        making = folder / f".{name}.new"
        fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        journal = _Journal(fd, folder / name)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            journal.write(lines)
            if lines:
                journal.sync()
            os.rename(making, folder / name)
        except BaseException:
            journal.close()
            making.unlink(missing_ok=True)
            raise
        return journal

    def _replace_journal(self) -> None:
        """Move the records still queued to a new journal and retire the old one (its other
        records are in the store); call with ``_lock`` held and records queued. A crash between
        the two steps leaves the queued records in both, so they would be recorded twice (never
        lost)."""
        old = self._journal
        assert old is not None and self._queue
        new = self._new_journal(b"".join(_line(n, r) for n, r, _ in self._queue))
        try:  # the old journal now says every record in it is stored (or in the new one)
            old.write(f'{{"stored": {self._queue[-1][0]}}}\n'.encode())
            old.sync()
        except OSError:
            new.path.unlink(missing_ok=True)
            new.close()
            raise
        self._journal = new
        old.path.unlink(missing_ok=True)
        old.close()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval_s)
            try:
                self.tick()
            except Exception:  # kept in the queue; tried again, refused once it piles up
                log.warning("the record of partner reads could not be written", exc_info=True)

    def tick(self) -> None:
        """One round of the writer thread: store the queue when it is due (else sync the
        journal), and sign the newest head written once :data:`anchor.EVERY_S` have passed
        since the last signing — also when no partner has read since, so the records after the
        last signed head wait at most that long (and the store interval) for one."""
        if (
            time.monotonic() - self._stored_at >= self.store_every_s
            or len(self._queue) >= STORE_AT
            or self.error is not None  # tried again every interval until it works
        ):
            self._stored_at = time.monotonic()
            self.flush()
        else:
            self._sync()
        self._sign_due()

    def _sign_due(self) -> None:
        if self._head is not None and time.monotonic() - self._signed_at >= anchor.EVERY_S:
            self.sign()

    def _sync(self) -> None:
        """Sync the journal to disk (what the requests since the last sync put in it). Not
        under ``_lock``, which the requests wait for; under ``_writing``, as a store write may
        replace the journal."""
        with self._writing:
            journal = self._journal
            if journal is not None:
                journal.sync()

    def flush(self) -> None:
        """Write every queued record now."""
        with self._writing:
            with self._lock:
                batch, self._queue = self._queue, []
            if not batch:
                return
            try:
                self._head = _write(self.store, self.head, [row for _, _, row in batch])
                self.error = None
            except BaseException as exc:
                with self._lock:
                    self._queue[:0] = batch
                self.error = exc
                raise
            with self._lock:  # the store holds records up to batch[-1]: say so in the journal
                journal = self._journal
                try:
                    if journal is None:
                        pass
                    elif not self._queue:
                        journal.clear()
                    elif journal.pos > JOURNAL_MAX:
                        self._replace_journal()  # synced
                        journal = None
                    else:
                        journal.write(f'{{"stored": {batch[-1][0]}}}\n'.encode())
                except OSError:
                    log.warning("the journal of partner reads not updated", exc_info=True)
                    journal = None
            if journal is not None:  # on disk, without holding up the requests meanwhile
                try:
                    journal.sync()
                except OSError:
                    log.warning("the journal of partner reads not synced", exc_info=True)
            self._sign_due()

    def sign(self) -> anchor.Anchor | None:
        """Sign the newest head written (when a signing key is set and there is one to sign)."""
        head, self._head = self._head, None
        if head is None:
            return None
        try:
            key = anchor.signing_key(self.home)
            if key is None:
                return None
            self._signed_at = time.monotonic()
            return anchor.sign(self.home, key, *head)
        except (PilotlineError, OSError):
            log.warning("the head of the record of partner reads not signed", exc_info=True)
            return None

    def close(self) -> None:
        """Write what is queued and sign the head (at exit); the journal, then empty, goes."""
        self.flush()
        self.sign()
        with self._lock:
            journal = self._journal
            if journal is not None and not self._queue:
                self._journal = None
                journal.path.unlink(missing_ok=True)  # still locked: nobody recovers it meanwhile
                journal.close()


def _line(n: int, r: Read) -> bytes:
    """Read number ``n`` of this process as a line of its journal."""
    return (json.dumps({"n": n, **_fields(r)}, ensure_ascii=False) + "\n").encode()


def _fields(r: Read) -> dict[str, Any]:
    return {"at": r.at.isoformat(), "partner": r.partner, "route": r.route, "grants": r.grants,
            "returned": r.returned, "status": r.status}  # fmt: skip


def recover(store: Store, home: Path) -> int:
    """Write to the store the records that processes which stopped (killed, crashed) left in
    their journals and the store did not get; returns how many. A journal still locked belongs
    to a live server and is left alone."""
    n = 0
    for path in sorted((home / "share").glob("reads-*.journal")):
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                if os.fstat(fd).st_ino != path.stat().st_ino:
                    continue  # recovered and removed by another process meanwhile
            except OSError:
                continue  # a live process's, or gone
            pending: dict[int, Read] = {}
            text = path.read_bytes().split(b"\0", 1)[0].decode("utf-8", errors="replace")
            for line in text.splitlines():
                try:
                    o = json.loads(line)
                    if "stored" in o:
                        pending = {k: v for k, v in pending.items() if k > int(o["stored"])}
                        continue
                    pending[int(o["n"])] = Read(
                        dt.datetime.fromisoformat(o["at"]), str(o["partner"]), str(o["route"]),
                        list(o["grants"]), list(o["returned"]), int(o["status"]),
                    )  # fmt: skip
                except (ValueError, KeyError, TypeError):
                    log.warning("%s: a line that is not a record skipped", path)
            if pending:
                _write(store, home / "share" / "reads.head",
                       [_Row.of(pending[k]) for k in sorted(pending)])  # fmt: skip
                n += len(pending)
            os.ftruncate(fd, 0)  # whoever opened it meanwhile finds nothing to write again
            path.unlink()
        finally:
            os.close(fd)
    return n


def _write(store: Store, head: Path, reads: list[_Row]) -> tuple[int, str]:
    """Append ``reads`` to the chain in one transaction and note the new head (returned)."""
    for attempt in range(5):
        try:
            with store.session(write=True) as s, s.transaction():
                last = s.arrow(
                    "SELECT seq, hash FROM share_reads ORDER BY seq DESC LIMIT 1"
                ).to_pylist()
                seq, prev = (last[0]["seq"], last[0]["hash"]) if last else (0, GENESIS)
                numbers = list(range(seq + 1, seq + 1 + len(reads)))
                prevs, hashes = [], []
                for n, r in zip(numbers, reads, strict=True):
                    prevs.append(prev)
                    prev = r.digest(n, prev)
                    hashes.append(prev)
                seq = numbers[-1] if numbers else seq
                rows = {
                    "seq": numbers, "read_at": [r.at for r in reads],
                    "partner": [r.partner for r in reads], "route": [r.route for r in reads],
                    "grants": [r.grants for r in reads], "returned": [r.returned for r in reads],
                    "status": [r.status for r in reads], "prev_hash": prevs, "hash": hashes,
                }  # fmt: skip
                s.append("share_reads", pa.table(rows, schema=_SCHEMA))
            head.parent.mkdir(parents=True, exist_ok=True)
            head.write_text(f"{seq} {prev}\n")
            return seq, prev
        except StoreError:
            raise
        except Exception:  # another process took the same number: read the head again
            if attempt == 4:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def records(store: Store, home: Path | None = None, *, partner: str | None = None,
            limit: int = 100, after: int = 0, newest: bool = False) -> list[dict[str, Any]]:  # fmt: skip
    """Records oldest first, from number ``after`` + 1 (one partner's when named); with
    ``newest``, the last ``limit`` records, newest first. With ``home``, records left in the
    journals of processes that stopped are written first (:func:`recover`)."""
    if home is not None:
        recover(store, home)
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


def verify(store: Store, home: Path, *, public_key: Ed25519PublicKey | None = None,
           require_signed: bool = True) -> int:  # fmt: skip
    """Check the whole chain; returns how many records there are, or raises
    :class:`ChainBroken` naming the first broken record. Records left in the journals of
    processes that stopped are written first (:func:`recover`).

    The signed heads (:mod:`pilotline.share.anchor`) are checked too: each against the record it
    names, and — with ``public_key``, or the public half of the signing key set for this
    process — its signature. With a key, a chain with records but no signed head is broken (the
    anchors were deleted), unless ``require_signed`` is False (about to sign the first)."""
    recover(store, home)
    public = public_key
    if public is None:
        key = anchor.signing_key(home)
        public = key.public_key() if key is not None else None
    signed = _signed_heads(home, public)
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
            for a in signed.get(seq, []):
                if h != a.hash:
                    raise ChainBroken(seq, f"differs from the head signed {a.at}: this record, or "
                                           "one before it, was rewritten with every later hash "
                                           "recomputed")  # fmt: skip
            if seq == head_n and h != head_hash:
                raise ChainBroken(seq, "is not the record that was written as number "
                                       f"{seq} (the newest records were replaced)")  # fmt: skip
            prev, expect = h, expect + 1
    count = expect - 1
    if count < head_n:
        raise ChainBroken(count + 1, f"missing: the record ends at {count}, but {head_n} "
                                     "were written")  # fmt: skip
    beyond = [a for seq, heads in signed.items() if seq > count for a in heads]
    if beyond:
        a = min(beyond, key=lambda x: x.seq)
        raise ChainBroken(count + 1, f"missing: the record ends at {count}, but a head was "
                                     f"signed at record {a.seq} ({a.at})")  # fmt: skip
    if public is not None and count and not signed and require_signed:
        raise ChainBroken(1, f"no signed head in {anchor.anchors_file(home).name}, yet a signing "
                             "key is given: the signed heads were deleted (if the key was only "
                             "just set, run 'pilotline share audit anchor' once)")  # fmt: skip
    return count


def _signed_heads(home: Path, public: Ed25519PublicKey | None) -> dict[int, list[anchor.Anchor]]:
    """The signed heads by record number, each signature checked when ``public`` is known."""
    try:
        heads = anchor.read_anchors(home)
    except anchor.AnchorError as exc:
        raise ChainBroken(0, f"{exc.why} (the signed heads were edited)") from None
    out: dict[int, list[anchor.Anchor]] = {}
    last = 0
    for a in heads:
        if public is not None:
            why = anchor.check(a, public)
            if why is not None:
                raise ChainBroken(a.seq, why)
        if a.seq < last:
            raise ChainBroken(a.seq, f"the head signed {a.at} names record {a.seq}, before the "
                                     f"one signed earlier ({last}): the signed heads were "
                                     "re-ordered")  # fmt: skip
        last = a.seq
        out.setdefault(a.seq, []).append(a)
    return out


def newest_signed(home: Path) -> anchor.Anchor | None:
    """The newest signed head, or None."""
    try:
        heads = anchor.read_anchors(home)
    except anchor.AnchorError:
        return None
    return heads[-1] if heads else None
