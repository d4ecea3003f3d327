"""Kill -9 the collector at random points of a stream: every message is stored exactly once."""

from __future__ import annotations

import datetime as dt
import json
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto

PILOTLINE = str(Path(sys.executable).parent / "pilotline")
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
N = 6000


def config(broker: Mosquitto, version: str) -> str:
    return f"""
forward_every_s = 0.3

[[source]]
kind = "mqtt"
name = "broker"
port = {broker.port}
version = "{version}"
client_id = "zero-loss-collector"

[[source.tag]]
name = "press-1 parts"
machine = "press-1"
role = "parts"
topic = "plant/press-1/parts"
path = "n"
ts_path = "ts"
seq_path = "seq"
"""


def buffered(path: Path) -> int:
    if not path.exists():
        return 0
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        return int(con.execute("SELECT count(*) FROM samples WHERE tag <> ''").fetchone()[0])
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def wait(check: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


def message(i: int) -> bytes:
    ts = (T0 + dt.timedelta(milliseconds=100 * i)).isoformat()
    return json.dumps({"ts": ts, "seq": i, "n": 1}).encode()


@pytest.mark.slow
@pytest.mark.parametrize("version", ["5", "3.1.1"])
def test_kill_nine_ten_times_loses_nothing_and_stores_nothing_twice(
    broker: Mosquitto, home: Path, tmp_path: Path, version: str
) -> None:
    cfg = tmp_path / "collect.toml"
    cfg.write_text(config(broker, version))
    buffer = home / "buffer.sqlite"

    started: list[float] = []

    def start() -> subprocess.Popen[bytes]:
        started.append(time.time())
        return subprocess.Popen(
            [PILOTLINE, "--home", str(home), "collect", str(cfg)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="zero-loss-publisher")
    pub.max_inflight_messages_set(100)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    collector: subprocess.Popen[bytes] | None = None
    try:
        # The collector's first start creates its persistent session; from then on the broker queues.
        collector = start()
        deadline = time.monotonic() + 60
        while buffered(buffer) < 1:  # sent again until the collector is subscribed (stored once)
            assert collector.poll() is None, "the collector stopped"
            assert time.monotonic() < deadline, "the first message never reached the buffer"
            pub.publish("plant/press-1/parts", message(0), qos=1).wait_for_publish(10)
            time.sleep(0.5)

        def stream() -> None:
            for i in range(1, N):
                pub.publish("plant/press-1/parts", message(i), qos=1)
                if i % 200 == 0:
                    time.sleep(0.1)

        sender = threading.Thread(target=stream)
        sender.start()
        rng = random.Random(7)
        kills = 0
        while kills < 10:
            time.sleep(rng.uniform(0.3, 1.8))
            collector.send_signal(signal.SIGKILL)
            collector.wait(10)
            kills += 1
            collector = start()
        sender.join(60)
        pub.loop_stop()
        pub.disconnect()
        wait(lambda: buffered(buffer) >= N, 90, f"only {buffered(buffer)} of {N} messages buffered")
        # The last collector is up (it has written its status, so it handles SIGTERM): on a loaded
        # machine its start can take longer than the buffering did.
        status = home / "status" / f"collector-{cfg.stem}.json"
        wait(lambda: status.exists() and status.stat().st_mtime > started[-1], 90, "no status")
        time.sleep(1.5)  # let the forwarder take the last batch
        collector.send_signal(signal.SIGTERM)
        assert collector.wait(30) == 0
    finally:
        if (
            collector is not None and collector.poll() is None
        ):  # a failed test leaves nothing running
            collector.kill()
            collector.wait(10)
    assert buffered(buffer) == N
    with EmbeddedStore(home).session() as s:
        rows, parts, first, last = (
            s.arrow(
                "SELECT count(*) AS n, sum(total) AS parts, min(ts) AS first, max(ts) AS last FROM counts"
            )
            .to_pylist()[0]
            .values()
        )
    assert (rows, parts) == (N, N)
    assert first == T0.replace(tzinfo=None)
    assert last == (T0 + dt.timedelta(milliseconds=100 * (N - 1))).replace(tzinfo=None)
