"""The connector interface and what the runtime gives each source.

A connector is one folder with ``config.py`` (its settings, no driver import) and ``source.py``
(a :class:`Source` subclass that imports the driver). A source implements :meth:`Source.run`:
connect, stream readings into :meth:`Intake.accept` and return only when asked to stop; on a lost
connection it raises :class:`~pilotline.errors.SourceUnavailable`. Reconnecting, back-off, gaps
and logging of state changes belong to the runtime (:mod:`pilotline.connect.runtime`).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pilotline.connect.buffer import Buffer
from pilotline.connect.samples import SOURCE_EVENT, Sample, now_us

log = logging.getLogger(__name__)


@dataclass
class SourceStatus:
    """What the status line and ``connect test`` show for one source."""

    name: str
    endpoint: str
    state: str = "starting"  # starting, online, offline, buffer full, failed, stopped
    detail: str = ""
    since_us: int = field(default_factory=now_us)
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    problems: Counter[tuple[str, str]] = field(default_factory=Counter)

    def problem_total(self) -> int:
        return sum(self.problems.values())


@dataclass(frozen=True)
class Found:
    """One thing ``connect test`` found: a topic, a node or a register, and what it holds."""

    address: str
    tag: str | None
    value: str


class Intake:
    """Where a source hands its samples: the durable buffer, the counters and the limits."""

    def __init__(
        self, buffer: Buffer, status: SourceStatus, *, max_skew_s: float, max_payload: int
    ) -> None:
        self.buffer = buffer
        self.status = status
        self.max_skew_us = int(max_skew_s * 1e6)
        self.max_payload = max_payload
        self._warned: set[tuple[str, str]] = set()

    def accept(self, samples: Sequence[Sample]) -> None:
        """Store durably; when this returns the source may acknowledge. Raises BufferFull."""
        horizon = now_us() + self.max_skew_us
        good = [s for s in samples if s.ts_us <= horizon]
        for s in samples:
            if s.ts_us > horizon:
                self.reject(
                    s.tag, "clock_skew", f"stamped {(s.ts_us - now_us()) / 1e6:.0f} s in the future"
                )
        result = self.buffer.append(good)
        self.status.stored += result.new
        self.status.duplicates += result.duplicates
        for tag, why in result.dead:
            self.reject(tag, "unstorable", f"{why} (kept in the buffer's dead letters)")

    def unreadable(self, where: str, what: bytes, exc: BaseException) -> None:
        """A message nothing could make sense of, not even to refuse it: kept in the buffer's
        dead letters (so it is acknowledged and not sent again), counted and logged once."""
        error = f"{type(exc).__name__}: {exc}"
        self.buffer.dead_letter(
            self.status.name, where, what[:2000].decode("utf-8", "replace"), error
        )
        self.reject(where, "unreadable", f"{error} (kept in the buffer's dead letters)")

    def reject(self, tag: str, kind: str, message: str) -> None:
        """Count a reading that was not stored, and log the first of each kind per tag."""
        self.status.problems[(tag, kind)] += 1
        if (tag, kind) not in self._warned:
            self._warned.add((tag, kind))
            log.warning(
                "%s: %s %s: %s (further ones are only counted)",
                self.status.name,
                tag or "message",
                kind,
                message,
            )

    def event(self, what: str, ts_us: int | None = None) -> None:
        """Record a source-level event (``offline`` starts a gap for the source's machines)."""
        self.buffer.append([Sample(self.status.name, SOURCE_EVENT, ts_us or now_us(), what)])


class Source(ABC):
    """One connection to one endpoint (a broker, an OPC UA server, a Modbus device)."""

    def __init__(self, config: Any, intake: Intake) -> None:
        self.config = config
        self.intake = intake

    @abstractmethod
    async def run(self) -> None:
        """Connect and stream until cancelled; raise SourceUnavailable when the connection fails."""

    @abstractmethod
    async def probe(self, seconds: float) -> list[Found]:
        """Connect, look around for ``seconds`` and say what is there; raise SourceUnavailable."""

    def online(self, detail: str = "") -> None:
        self.intake.status.state = "online"
        self.intake.status.detail = detail
        self.intake.status.since_us = now_us()
