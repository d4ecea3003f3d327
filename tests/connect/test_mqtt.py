"""MQTT into the store through a real Mosquitto: states, counters, problems, restarts."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def config(broker: Mosquitto, *, version: str = "5", extra: str = "", top: str = "") -> str:
    return f"""
forward_every_s = 0.2
{top}

[[source]]
kind = "mqtt"
name = "broker"
port = {broker.port}
version = "{version}"
{extra}

[[source.tag]]
name = "press-1 state"
machine = "press-1"
role = "state"
topic = "plant/press-1"
path = "state"
ts_path = "ts"
states = {{ "1" = "running", "0" = "stopped", "7" = "tool failure" }}

[[source.tag]]
name = "press-1 counter"
machine = "press-1"
role = "part_counter"
bits = 16
topic = "plant/press-1"
path = "counter"
ts_path = "ts"
"""


def publisher(broker: Mosquitto) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-publisher")
    c.connect("127.0.0.1", broker.port)
    c.loop_start()
    return c


def send(c: mqtt.Client, topic: str, payload: object, *, qos: int = 1) -> None:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    c.publish(topic, body, qos=qos).wait_for_publish(5)


def at(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).isoformat()


def test_states_and_counter_arrive_in_the_store(broker: Mosquitto, home: Path) -> None:
    run = start_collector(config(broker), home)
    run.wait_for(lambda: run.collector.statuses[0].state == "online")
    pub = publisher(broker)
    readings = [(0, 1, 65530), (60, 1, 65534), (120, 7, 3), (180, 7, 3), (240, 1, 10)]
    for t, state, counter in readings:
        send(pub, "plant/press-1", {"ts": at(t), "state": state, "counter": counter})
    run.wait_for(lambda: run.collector.statuses[0].stored >= 2 * len(readings))
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    run.stop()
    pub.disconnect()
    with EmbeddedStore(home).session() as s:
        states = s.arrow("SELECT start_ts, state, reason FROM states ORDER BY start_ts").to_pylist()
        counts = s.arrow("SELECT ts, total FROM counts ORDER BY ts").to_pylist()
    naive = T0.replace(tzinfo=None)
    live = [r for r in states if r["start_ts"] < naive + dt.timedelta(hours=1)]
    assert [(r["state"], r["reason"]) for r in live] == [
        ("running", None),
        ("stopped", "tool failure"),
        ("running", None),
    ]
    # 65530 → 65534: 4 parts; wrap to 3: 5 parts; 3 → 3: none; 3 → 10: 7 parts.
    assert [(r["ts"] - naive).total_seconds() for r in counts] == [60, 120, 240]
    assert [r["total"] for r in counts] == [4, 5, 7]
    # The collector stopped: from then on nobody knows (no_data), never a breakdown.
    assert states[-1]["state"] == "no_data"


def test_malformed_messages_are_counted_never_stored(broker: Mosquitto, home: Path) -> None:
    run = start_collector(config(broker, top="max_payload_kb = 1"), home)
    run.wait_for(lambda: run.collector.statuses[0].state == "online")
    pub = publisher(broker)
    far_future = (dt.datetime.now(dt.UTC) + dt.timedelta(days=1)).isoformat()
    send(pub, "plant/press-1", b"{not json")
    send(pub, "plant/press-1", {"ts": at(0), "state": "fast", "counter": -5})
    send(pub, "plant/press-1", {"ts": at(1), "state": 1})  # counter missing
    send(pub, "plant/press-1", {"ts": "yesterday", "state": 1, "counter": 1})
    send(pub, "plant/press-1", {"ts": far_future, "state": 1, "counter": 1})
    send(pub, "plant/press-1", {"ts": at(2), "state": 1, "pad": "x" * 5000})
    send(pub, "plant/press-1", {"ts": at(4), "state": 0, "counter": 100})
    send(pub, "plant/press-1", {"ts": at(4), "state": 0, "counter": 100})  # duplicate
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.received >= 8)
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    run.stop()
    pub.disconnect()
    problems = {k: v for k, v in status.problems.items()}
    assert problems == {
        ("plant/press-1", "bad_json"): 1,
        ("press-1 state", "unknown_code"): 1,
        ("press-1 counter", "out_of_range"): 1,
        ("press-1 counter", "missing_field"): 1,
        ("press-1 state", "bad_time"): 1,
        ("press-1 counter", "bad_time"): 1,
        ("press-1 state", "clock_skew"): 1,
        ("press-1 counter", "clock_skew"): 1,
        ("plant/press-1", "oversize"): 1,
    }
    assert status.duplicates == 2  # both tags of the repeated message
    with EmbeddedStore(home).session() as s:
        stored = s.arrow("SELECT state FROM states ORDER BY start_ts").to_pylist()
        readings = s.arrow("SELECT value FROM counter_readings").to_pylist()
    assert [r["state"] for r in stored] == ["running", "stopped", "no_data"]
    assert readings == [{"value": 100}]


def parts_config(broker: Mosquitto, *, client_id: str, top: str = "", extra: str = "") -> str:
    return f"""
forward_every_s = 0.2
{top}

[[source]]
kind = "mqtt"
name = "broker"
port = {broker.port}
client_id = "{client_id}"
{extra}

[[source.tag]]
name = "parts"
machine = "press-1"
role = "parts"
topic = "plant/press-1/parts"
path = "n"
ts_path = "ts"
seq_path = "seq"
"""


def send_parts(pub: mqtt.Client, first: int, last: int) -> None:
    info = None
    for i in range(first, last):
        info = pub.publish(
            "plant/press-1/parts", json.dumps({"ts": at(i), "seq": i, "n": 1}), qos=1
        )
    assert info is not None
    info.wait_for_publish(30)


def stored_parts(home: Path) -> tuple[int, int]:
    with EmbeddedStore(home).session() as s:
        rows, parts = (
            s.arrow("SELECT count(*) AS n, coalesce(sum(total), 0) AS p FROM counts")
            .to_pylist()[0]
            .values()
        )
    return rows, parts


def test_broker_restart_is_a_gap_and_loses_nothing(broker: Mosquitto, home: Path) -> None:
    run = start_collector(parts_config(broker, client_id="restart-test"), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "online")
    pub = publisher(broker)
    send_parts(pub, 0, 500)
    pub.disconnect()
    broker.stop()
    run.wait_for(lambda: status.state == "offline")
    broker.start()
    run.wait_for(lambda: status.state == "online", timeout=40)
    pub = publisher(broker)
    send_parts(pub, 500, 1000)
    run.wait_for(lambda: status.stored >= 1000)
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    run.stop()
    pub.disconnect()
    assert stored_parts(home) == (1000, 1000)
    with EmbeddedStore(home).session() as s:
        states = [
            r["state"] for r in s.arrow("SELECT state FROM states ORDER BY start_ts").to_pylist()
        ]
    # This machine has no state signal: the gap starts "no data", and no reading says otherwise.
    assert states == ["no_data"]


def test_full_buffer_stops_acknowledging_and_resumes(broker: Mosquitto, home: Path) -> None:
    # A tiny quota, and a store held by another process: the buffer fills up.
    run = start_collector(
        parts_config(
            broker, client_id="quota-test", top="[buffer]\nmax_mb = 0.15\nkeep_forwarded_h = 0"
        ),
        home,
        lock_timeout_s=0.5,
    )
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "online")
    blocker = EmbeddedStore(home).session(write=True)
    blocker.__enter__()
    try:
        pub = publisher(broker)
        send_parts(pub, 0, 4000)
        run.wait_for(lambda: status.state == "buffer full", timeout=30)
        assert status.stored < 4000
    finally:
        blocker.__exit__(None, None, None)
    run.wait_for(lambda: status.stored >= 4000, timeout=90)
    run.wait_for(lambda: run.collector.buffer.backlog() == 0, timeout=30)
    run.stop()
    pub.disconnect()
    assert stored_parts(home) == (4000, 4000)


def test_shared_subscription_splits_the_load_between_two_collectors(
    broker: Mosquitto, home: Path
) -> None:
    runs = [
        start_collector(
            parts_config(broker, client_id=f"shared-{k}", extra='shared_group = "pilotline"'),
            home,
            buffer=f"buffer-{k}.sqlite",
        )
        for k in (1, 2)
    ]
    for run in runs:
        run.wait_for(lambda run=run: run.collector.statuses[0].state == "online")
    pub = publisher(broker)
    send_parts(pub, 0, 2000)
    for run in runs:
        run.wait_for(lambda: sum(r.collector.statuses[0].stored for r in runs) >= 2000)
    time.sleep(0.5)
    for run in runs:
        run.wait_for(lambda run=run: run.collector.buffer.backlog() == 0)
        run.stop()
    pub.disconnect()
    shares = [run.collector.statuses[0].stored for run in runs]
    assert sum(shares) == 2000 and min(shares) > 0
    assert stored_parts(home) == (2000, 2000)
