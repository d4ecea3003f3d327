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
import json
import logging
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pilotline import clock
from pilotline.connect.base import Found, Intake, Source, SourceStatus
from pilotline.connect.buffer import Buffer
from pilotline.connect.config import CollectConfig, SourceConfig
from pilotline.connect.forward import Forwarder
from pilotline.connect.samples import now_us
from pilotline.errors import BufferFull, SourceUnavailable, StoreError
from pilotline.store import Store, open_store
from pilotline.store.retention import prune

log = logging.getLogger(__name__)

#: kind → module with a ``SOURCE`` class; importing it imports the driver.
CONNECTORS: dict[str, str] = {
    "mqtt": "pilotline.connect.mqtt.source",
    "opcua": "pilotline.connect.opcua.source",
    "modbus": "pilotline.connect.modbus.source",
}

HEARTBEAT_S = 2.0
MAX_BACKOFF_S = 30.0
RETENTION_EVERY_S = 24 * 3600.0


def make_source(config: SourceConfig, intake: Intake) -> Source:
    module = importlib.import_module(CONNECTORS[config.kind])
    cls: type[Source] = module.SOURCE
    return cls(config, intake)


@dataclass
class StoreStatus:
    state: str = "waiting"
    detail: str = ""
    forwarded: int = 0


class Collector:
    def __init__(
        self,
        config: CollectConfig,
        store: Store,
        buffer_path: Path,
        *,
        status_path: Path | None = None,
        retention: dict[str, float] | None = None,
    ) -> None:
        self.config = config
        self.status_path = status_path
        self.retention = retention or {}
        self.store = store
        self.buffer = Buffer(
            buffer_path,
            max_bytes=int(config.buffer.max_mb * 1e6),
            keep_forwarded_s=config.buffer.keep_forwarded_h * 3600,
        )
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
        finish = asyncio.Event()
        forwarding = asyncio.create_task(self._forward_loop(finish))
        try:
            while not stop.is_set():
                self.buffer.beat()
                self.write_status()
                if on_tick:
                    on_tick()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), HEARTBEAT_S)
        finally:
            stop.set()
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for source in self.sources:
                source.intake.event("offline")  # a stopped collector knows nothing more
                source.intake.status.state = "stopped"
            finish.set()
            await forwarding  # a last pass takes everything buffered into the store
            self.buffer.close()
            self.write_status()

    def write_status(self) -> None:
        """Write what the status line shows to ``status_path`` (JSON, replaced atomically) for
        the web app's data page; it judges a collector gone when the file stops being renewed."""
        if self.status_path is None:
            return
        data = {
            "pid": os.getpid(),
            "updated_us": now_us(),
            "heartbeat_s": HEARTBEAT_S,
            "store": {
                "state": self.store_status.state,
                "detail": self.store_status.detail,
                "forwarded": self.store_status.forwarded,
            },
            "sources": [
                {
                    "name": st.name,
                    "endpoint": st.endpoint,
                    "state": st.state,
                    "detail": st.detail,
                    "since_us": st.since_us,
                    "received": st.received,
                    "stored": st.stored,
                    "duplicates": st.duplicates,
                    "problems": st.problem_total(),
                }
                for st in self.statuses
            ],
        }
        try:
            self.status_path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.status_path.with_suffix(".tmp")
            tmp.write_text(json.dumps(data))
            tmp.replace(self.status_path)
        except OSError as exc:  # the status file is a convenience: never stop collecting for it
            log.warning("cannot write the status file %s: %s", self.status_path, exc)

    async def _supervise(self, source: Source, stop: asyncio.Event) -> None:
        """Run one source until ``stop``; whatever ends it, say so and start it again, with
        back-off (1 s doubling to 30 s; soon again after it had been up for 10 s)."""
        status = source.intake.status
        backoff = 1.0
        while not stop.is_set():
            started = now_us()
            try:
                await source.run()
                if stop.is_set():
                    return
                raise SourceUnavailable("the connection ended")
            except SourceUnavailable as exc:
                self._lost(source, "offline", str(exc))
            except BufferFull as exc:
                if status.state != "buffer full":
                    log.error("%s: %s", status.name, exc)
                status.state, status.detail, status.since_us = "buffer full", str(exc), now_us()
            except Exception as exc:  # a bug or a broken buffer: the source must not just vanish
                if status.state != "failed":
                    log.error("%s failed; starting it again", status.name, exc_info=exc)
                self._lost(source, "failed", f"{type(exc).__name__}: {exc}")
            if now_us() - started > 10e6:
                backoff = 1.0  # it had been up for a while: try again soon
            delay = backoff * (0.5 + random.random())
            backoff = min(backoff * 2, MAX_BACKOFF_S)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    def _lost(self, source: Source, state: str, detail: str) -> None:
        """The source is down (``offline``) or broken (``failed``): a gap starts for its
        machines, and the status says why."""
        status = source.intake.status
        if status.state not in ("offline", "failed"):
            if state == "offline":
                log.warning("%s is offline: %s", status.name, detail)
            try:
                source.intake.event("offline")
            except Exception as exc:  # the buffer itself may be what failed
                log.error("%s: cannot record the gap in the buffer: %s", status.name, exc)
        status.state, status.detail, status.since_us = state, detail, now_us()

    async def _forward_loop(self, finish: asyncio.Event) -> None:
        """Run the forwarder in its own process and relay its status; restart it if it dies.

        Its own process keeps the store's work (DuckDB) from competing with receiving and
        acknowledging for Python's interpreter lock.
        """
        ctx = multiprocessing.get_context("spawn")
        while True:
            parent, child = ctx.Pipe()
            proc = ctx.Process(
                target=forward_process,
                args=(
                    self.config.model_dump_json(by_alias=True),
                    str(self.store.home),
                    self.store.url,
                    self.store.lock_timeout_s,
                    str(self.buffer.path),
                    self.retention,
                    child,
                ),
                name="pilotline-forwarder",
                daemon=True,
            )
            proc.start()
            child.close()
            while proc.is_alive() and not finish.is_set():
                if await asyncio.to_thread(parent.poll, 0.2):
                    self._relay(parent.recv())
            if finish.is_set():
                with contextlib.suppress(OSError):
                    parent.send("stop")
            await asyncio.to_thread(self._finish, proc, parent)
            if finish.is_set():
                return
            log.error(
                "the forwarder process ended (exit code %s); starting it again", proc.exitcode
            )
            await asyncio.sleep(1)

    def _finish(self, proc: Any, parent: Any) -> None:
        proc.join(60)
        with contextlib.suppress(EOFError, OSError):
            while parent.poll(0):
                self._relay(parent.recv())
        parent.close()

    def _relay(self, message: tuple[str, str, int]) -> None:
        state, detail, forwarded = message
        if state != self.store_status.state:
            if state == "ok":
                log.info("store is taking samples")
            else:
                log.warning("store unavailable, samples stay in the buffer: %s", detail)
        self.store_status.state, self.store_status.detail = state, detail
        self.store_status.forwarded = forwarded


def forward_process(
    config_json: str,
    home: str,
    database_url: str | None,
    lock_timeout_s: float,
    buffer_path: str,
    retention: dict[str, float],
    conn: Any,
) -> None:
    """The forwarder's process: every ``forward_every_s`` move buffered samples into the store."""
    config = CollectConfig.model_validate_json(config_json)
    buffer = Buffer(
        Path(buffer_path),
        max_bytes=int(config.buffer.max_mb * 1e6),
        keep_forwarded_s=config.buffer.keep_forwarded_h * 3600,
    )
    store = open_store(Path(home), database_url=database_url, lock_timeout_s=lock_timeout_s)
    forwarder = Forwarder(buffer, store, config.tags())
    forwarded = 0
    pruned_at = now_us()
    retained_at = 0.0  # the store's retention runs at the start and then once a day
    stopping = False
    while True:
        state, detail = "ok", ""
        try:
            result = forwarder.forward_all()
            forwarded += result.samples
            for (tag, kind), n in result.dropped.items():
                log.warning("forwarder dropped %d reading(s) of %s: %s", n, tag, kind)
        except StoreError as exc:
            state, detail = "waiting", str(exc)
        if retention and time.monotonic() - retained_at > RETENTION_EVERY_S:
            try:
                for p in prune(store, retention, now=clock.now()):
                    if p.rows:
                        log.info(
                            "retention: deleted %d %s row(s) before %s", p.rows, p.table, p.before
                        )
                retained_at = time.monotonic()
            except StoreError as exc:
                log.warning("retention did not run: %s", exc)
        full = buffer.used_bytes() > 0.8 * buffer.max_bytes
        if full or now_us() - pruned_at > 60e6:
            buffer.prune(force=full)
            pruned_at = now_us()
        try:
            conn.send((state, detail, forwarded))
            if stopping:
                break
            if conn.poll(config.forward_every_s):
                stopping = conn.recv() == "stop"
        except (EOFError, OSError):
            break  # the collector is gone (killed): what is buffered waits for its next start
    buffer.close()
    conn.close()


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
