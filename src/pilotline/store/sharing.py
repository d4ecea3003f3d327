"""One open database per file and process, shared by every thread's work (the embedded store).

DuckDB lets a process hold a file either read-only or read-write, never both at once, and it
keeps one database instance per file: a thread that asks for the other mode while another
thread's connection is open gets "different configuration" or "Unique file handle conflict".
A web server's threads read and write at the same time, so they must not each open the file.

:class:`SharedFile` is the gate in front of the file. Every piece of work gets its own cursor
on the one open database (DuckDB's way to work from several threads):

* readers share whatever is open: a read-only database, or a read-write one while a write runs;
* writes in this process take turns (one lock), and share a read-write database with readers;
* a write that finds the file open read-only waits until the readers in flight are done (new
  readers wait behind it, so writes are never starved), then reopens it read-write;
* when the last piece of work ends, the file is closed, so other processes (the CLI, a
  collector) can have it between pieces of work, as before.

Every wait ends after ``timeout_s`` with :class:`~pilotline.errors.StoreBusy`. A session inside
another in the same thread joins it rather than wait (it would wait for itself); so a session
must not be held across an ``await``, where other work of the same thread could take it for its
own. Nothing here knows DuckDB: the store passes the function that opens the file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pilotline.errors import StoreBusy, StoreError


class SharedFile:
    """The gate for one database file in this process (get it with :func:`shared_file`)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._cond = threading.Condition(threading.Lock())
        self._writes = threading.RLock()  # one write at a time; a write may nest in a write
        self._con: Any = None
        self._writable = False
        self._users = 0
        self._opening = False
        self._upgrading = 0  # writes waiting for the read-only database to drain
        self._held = threading.local()  # this thread's sessions: (readers, writers)

    @contextmanager
    def use(
        self,
        *,
        write: bool,
        timeout_s: float,
        open_db: Callable[[bool, float], Any],
    ) -> Iterator[Any]:
        """A cursor on the shared database; ``open_db(read_only, deadline)`` opens the file."""
        deadline = time.monotonic() + timeout_s
        reads, writes = getattr(self._held, "count", (0, 0))
        if write and reads and not writes:
            raise StoreError(
                "a write was started inside a read of the store in the same thread; "
                "open the session with write=True from the start"
            )
        if write and not self._writes.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise self._busy(timeout_s, "other writes in this process")
        try:
            cursor = self._enter(
                write=write,
                nested=bool(reads or writes),
                deadline=deadline,
                timeout_s=timeout_s,
                open_db=open_db,
            )
            self._held.count = (reads + (not write), writes + write)
            try:
                yield cursor
            finally:
                self._held.count = (reads, writes)
                self._leave(cursor)
        finally:
            if write:
                self._writes.release()

    @contextmanager
    def closed(self, *, timeout_s: float) -> Iterator[None]:
        """Hold the file closed in this process (every other piece of work waits): for
        swapping the file underneath, as a restore does."""
        deadline = time.monotonic() + timeout_s
        if not self._writes.acquire(timeout=timeout_s):
            raise self._busy(timeout_s, "other writes in this process")
        try:
            with self._cond:
                self._upgrading += 1
                try:
                    self._wait(lambda: self._users or self._opening, deadline, timeout_s)
                    yield
                finally:
                    self._upgrading -= 1
                    self._cond.notify_all()
        finally:
            self._writes.release()

    # -- inside -------------------------------------------------------------------------------
    def _enter(
        self,
        *,
        write: bool,
        nested: bool,
        deadline: float,
        timeout_s: float,
        open_db: Callable[[bool, float], Any],
    ) -> Any:
        with self._cond:
            if nested and self._con is not None:
                pass  # this thread holds the database open already: waiting would deadlock
            elif write:
                self._upgrading += 1
                try:
                    # a read-only database must drain before it can be reopened for writing
                    self._wait(
                        lambda: self._opening or (self._users and not self._writable),
                        deadline,
                        timeout_s,
                    )
                finally:
                    self._upgrading -= 1
                if self._con is not None and not self._writable:
                    self._close()
            else:
                self._wait(lambda: self._opening or self._upgrading, deadline, timeout_s)
            if self._con is None:
                self._opening = True
                self._cond.release()  # opening may wait for another process: let others queue
                try:
                    con = open_db(not write, deadline)
                finally:
                    self._cond.acquire()
                    self._opening = False
                    self._cond.notify_all()
                self._con, self._writable = con, write
            self._users += 1
            try:
                return self._con.cursor()  # created under the lock, as is every close
            except BaseException:
                self._users -= 1
                if self._users == 0:
                    self._close()
                raise

    def _leave(self, cursor: Any) -> None:
        with self._cond:
            cursor.close()
            self._users -= 1
            if self._users == 0:
                self._close()  # free the file for other processes between pieces of work
            self._cond.notify_all()

    def _close(self) -> None:
        con, self._con, self._writable = self._con, None, False
        if con is not None:
            con.close()

    def _wait(self, blocked: Callable[[], Any], deadline: float, timeout_s: float) -> None:
        while blocked():
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._busy(timeout_s, "other work in this process")
            self._cond.wait(left)

    def _busy(self, timeout_s: float, what: str) -> StoreBusy:
        return StoreBusy(
            f"The store {self.path} stayed busy with {what} for {timeout_s:.0f} s; try again, "
            "or raise PILOTLINE_LOCK_TIMEOUT."
        )


_FILES: dict[str, SharedFile] = {}
_FILES_LOCK = threading.Lock()


def shared_file(path: Path) -> SharedFile:
    """The one gate for ``path`` in this process, whichever store object asks."""
    key = os.path.realpath(path)
    with _FILES_LOCK:
        gate = _FILES.get(key)
        if gate is None:
            gate = _FILES[key] = SharedFile(path)
        return gate
