"""Real peers for connector tests: Mosquitto (Debian's package) started on 127.0.0.1 per test."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pilotline import clock
from pilotline.connect import Collector, parse_collect_config
from pilotline.connect.net import free_port, wait_port
from pilotline.plant import example_plant_text, load_plant
from pilotline.store import EmbeddedStore


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Collectors stamp what arrives with the time it arrives, as peers do: these tests run on
    the wall clock (they compare times with each other, never with a date)."""
    monkeypatch.delenv(clock.ENV, raising=False)
    monkeypatch.setattr(clock, "_set_at", None)


class Mosquitto:
    """A throwaway broker with a persistent store, so queued messages survive its restart."""

    def __init__(self, workdir: Path, *, extra: str = "") -> None:
        self.dir = workdir
        self.port = free_port()
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            f"persistence true\npersistence_location {workdir}/\n"
            "max_inflight_messages 0\nmax_queued_messages 0\n"
            "log_dest none\n" + ("user root\n" if os.geteuid() == 0 else "") + extra
            # As root, Mosquitto would switch to the 'mosquitto' user and could not save its store here.
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.proc = subprocess.Popen(
            [exe, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_port(self.port)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # saves its persistent store
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Mosquitto]:
    (tmp_path / "broker").mkdir()
    m = Mosquitto(tmp_path / "broker")
    m.start()
    try:
        yield m
    finally:
        m.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A data directory with the example plant (machines press-1, press-2, cnc-1)."""
    h = tmp_path / "home"
    h.mkdir()
    (h / "plant.toml").write_text(example_plant_text())
    return h


class Running:
    """A collector running in a background thread with its own event loop (as `pilotline collect`)."""

    def __init__(self, collector: Collector) -> None:
        self.collector = collector
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        ready = threading.Event()

        def main() -> None:
            async def go() -> None:
                self.stop_event = asyncio.Event()
                ready.set()
                await collector.run(stop=self.stop_event)

            try:
                self.loop.run_until_complete(go())
                self.loop.close()
            except BaseException as exc:  # surfaced by stop()
                self.error = exc

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(5)

    def wait_for(self, check: Callable[[], bool], timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            if time.monotonic() > deadline:
                raise TimeoutError(f"condition not met; statuses: {self.collector.statuses}")
            time.sleep(0.05)

    def stop(self) -> None:
        assert self.stop_event is not None
        self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(30)
        if self.error:
            raise self.error


def start_collector(
    config_text: str, home: Path, *, buffer: str = "buffer.sqlite", lock_timeout_s: float = 30
) -> Running:
    config = parse_collect_config(config_text)
    config.check_plant(load_plant(home / "plant.toml"))
    store = EmbeddedStore(home, lock_timeout_s=lock_timeout_s)
    return Running(Collector(config, store, home / buffer))
