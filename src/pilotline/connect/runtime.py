"""The collector: runs every source, reconnects with back-off, records gaps, forwards to the store.

The runtime owns the loop (see STYLE.md: Home Assistant's update coordinator): sources only connect
and stream. Logs say what changed ("offline", "back online", "buffer full"), not every retry.

Gaps are honest. When a source is lost the runtime buffers an ``offline`` event, which the forwarder
turns into ``no_data`` for the source's machines until readings say otherwise. After a crash or
kill, the time since the collector's last heartbeat is a gap as well.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pilotline.connect.base import Found, Intake, Source, SourceStatus
from pilotline.connect.buffer import Buffer
from pilotline.connect.config import CollectConfig, SourceConfig
from pilotline.connect.forward import Forwarder
from pilotline.connect.samples import now_us
from pilotline.errors import BufferFull, SourceUnavailable, StoreError
from pilotline.store import EmbeddedStore

log = logging.getLogger(__name__)

#: kind → module with a ``SOURCE`` class; importing it imports the driver.
CONNECTORS: dict[str, str] = {
    "mqtt": "pilotline.connect.mqtt.source",
    "opcua": "pilotline.connect.opcua.source",
    "modbus": "pilotline.connect.modbus.source",
}

HEARTBEAT_S = 2.0
MAX_BACKOFF_S = 30.0


def make_source(config: SourceConfig, intake: Intake) -> Source:
    module = importlib.import_module(CONNECTORS[config.kind])
    cls: type[Source] = module.SOURCE
    return cls(config, intake)


@dataclass
class StoreStatus:
    state: str = "waiting"
    detail: str = ""
    forwarded: int = 0
    backlog: int = 0


class Collector:
    def __init__(self, config: CollectConfig, store: EmbeddedStore, buffer_path: Path) -> None:
        self.config = config
        self.store = store
        self.buffer = Buffer(
            buffer_path,
            max_bytes=int(config.buffer.max_mb * 1e6),
            keep_forwarded_s=config.buffer.keep_forwarded_h * 3600,
        )
        self.forwarder = Forwarder(self.buffer, store, config.tags())
        self.statuses = [SourceStatus(s.name, s.endpoint()) for s in config.sources]
        self.store_status = StoreStatus()
        self.sources = [
            make_source(s, self._intake(st))
            for s, st in zip(config.sources, self.statuses, strict=True)
        ]

    def _intake(self, status: SourceStatus) -> Intake:
        return Intake(
            self.buffer,
            status,
            max_skew_s=self.config.max_clock_skew_s,
            max_payload=int(self.config.max_payload_kb * 1024),
        )

    async def run(self, *, stop: asyncio.Event, on_tick: Callable[[], None] | None = None) -> None:
        """Collect until ``stop`` is set; then forward what is buffered and return."""
        last = self.buffer.last_beat()
        if last is not None:
            # The collector was not running since its last heartbeat: nobody knows what happened.
            for source in self.sources:
                source.intake.event("offline", last)
        self.buffer.beat()
        tasks = [asyncio.create_task(self._supervise(s, stop)) for s in self.sources]
        tasks.append(asyncio.create_task(self._forward_loop(stop)))
        try:
            while not stop.is_set():
                self.buffer.beat()
                if on_tick:
                    on_tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for source in self.sources:
                source.intake.event("offline")  # a stopped collector knows nothing more
                source.intake.status.state = "stopped"
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(self._forward_once)
            self.buffer.close()

    async def _supervise(self, source: Source, stop: asyncio.Event) -> None:
        status = source.intake.status
        backoff = 1.0
        while not stop.is_set():
            started = now_us()
            try:
                await source.run()
                return
            except SourceUnavailable as exc:
                if status.state != "offline":
                    log.warning("%s is offline: %s", status.name, exc)
                    source.intake.event("offline")
                status.state, status.detail, status.since_us = "offline", str(exc), now_us()
            except BufferFull as exc:
                if status.state != "buffer full":
                    log.error("%s: %s", status.name, exc)
                status.state, status.detail, status.since_us = "buffer full", str(exc), now_us()
            if now_us() - started > 10e6:
                backoff = 1.0  # it had been up for a while: try again soon
            delay = backoff * (0.5 + random.random())
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def _forward_once(self) -> None:
        result = self.forwarder.forward_all()
        self.store_status.forwarded += result.samples
        for (tag, kind), n in result.dropped.items():
            log.warning("forwarder dropped %d reading(s) of %s: %s", n, tag, kind)

    async def _forward_loop(self, stop: asyncio.Event) -> None:
        pruned_at = now_us()
        while not stop.is_set():
            try:
                await asyncio.to_thread(self._forward_once)
                if self.store_status.state != "ok":
                    log.info("store is taking samples")
                self.store_status.state, self.store_status.detail = "ok", ""
            except StoreError as exc:
                if self.store_status.state != "waiting":
                    log.warning("store unavailable, samples stay in the buffer: %s", exc)
                self.store_status.state, self.store_status.detail = "waiting", str(exc)
            if (
                now_us() - pruned_at > 60e6
                or self.buffer.used_bytes() > 0.8 * self.buffer.max_bytes
            ):
                await asyncio.to_thread(
                    self.buffer.prune, force=self.buffer.used_bytes() > 0.8 * self.buffer.max_bytes
                )
                pruned_at = now_us()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.config.forward_every_s)


async def probe(
    config: CollectConfig, buffer: Buffer, *, seconds: float
) -> list[tuple[SourceStatus, list[Found] | str]]:
    """Connect to every source and report what it found or exactly why it failed."""
    out: list[tuple[SourceStatus, list[Found] | str]] = []
    for s in config.sources:
        status = SourceStatus(s.name, s.endpoint())
        intake = Intake(
            buffer,
            status,
            max_skew_s=config.max_clock_skew_s,
            max_payload=int(config.max_payload_kb * 1024),
        )
        try:
            found = await make_source(s, intake).probe(seconds)
            out.append((status, found))
        except SourceUnavailable as exc:
            out.append((status, str(exc)))
    return out
