"""Values no store can hold, and sources that die: a per-tag problem or a restart, never a dead
source. Through a real Mosquitto, a real buffer (SQLite) and Hypothesis over MQTT payloads."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.connect import Buffer, Sample, parse_collect_config
from pilotline.connect.base import Intake, SourceStatus
from pilotline.connect.buffer import unstorable
from pilotline.connect.mqtt.source import MqttSource
from pilotline.connect.tags import MAX_WHOLE
from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector
from tests.connect.test_mqtt import at, config, publisher, send


def test_a_count_of_2_to_the_70_is_a_problem_and_the_source_lives_on(
    broker: Mosquitto, home: Path
) -> None:
    run = start_collector(config(broker), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "online")
    pub = publisher(broker)
    send(pub, "plant/press-1", {"ts": at(0), "state": 1, "counter": 2**70})
    send(pub, "plant/press-1", {"ts": at(1), "state": 1, "counter": 2**64 - 1})
    send(pub, "plant/press-1", {"ts": at(2), "state": 2**70, "counter": 7})
    send(pub, "plant/press-1", {"ts": 1e300, "state": 1, "counter": 8})
    send(pub, "plant/press-1", {"ts": at(60), "state": 0, "counter": 100})
    run.wait_for(lambda: status.received >= 5)
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    assert status.state == "online"
    run.stop()
    assert dict(status.problems) == {
        ("press-1 counter", "out_of_range"): 2,
        ("press-1 state", "out_of_range"): 1,
        ("press-1 state", "bad_time"): 1,
        ("press-1 counter", "bad_time"): 1,
    }
    with EmbeddedStore(home).session() as s:
        readings = s.arrow("SELECT value FROM counter_readings ORDER BY ts").to_pylist()
    assert readings == [{"value": 7}, {"value": 100}]
    # Started again: the bad messages were acknowledged, so the broker does not send them again.
    again = start_collector(config(broker), home)
    status = again.collector.statuses[0]
    again.wait_for(lambda: status.state == "online")
    send(pub, "plant/press-1", {"ts": at(120), "state": 1, "counter": 101})
    again.wait_for(lambda: status.stored >= 2)
    again.stop()
    pub.disconnect()
    assert status.received == 1 and status.problem_total() == 0


def test_a_sample_the_buffer_cannot_hold_is_a_dead_letter_and_its_batch_is_stored(
    tmp_path: Path,
) -> None:
    buffer = Buffer(tmp_path / "buffer.sqlite", max_bytes=10**8)
    samples = [
        Sample("s", "a", 1, 2**70),
        Sample("s", "b", 2, 1.5),
        Sample("s", "c", 2**64, 1),
        Sample("s", "d", 3, float("nan")),
        Sample("s", "e", 4, "text"),
    ]
    result = buffer.append(samples)
    assert (result.new, result.duplicates) == (2, 0)
    assert [tag for tag, _ in result.dead] == ["a", "c", "d"]
    letters = buffer.dead_letters()
    assert [d["tag"] for d in letters] == ["d", "c", "a"]  # newest first
    assert "71 bits" in letters[-1]["what"] and "beyond 64 bits" in letters[-1]["error"]
    assert [r.tag for r in buffer.pending(limit=10)] == ["b", "e"]
    buffer.close()


def test_a_source_that_fails_says_so_and_is_started_again(broker: Mosquitto, home: Path) -> None:
    """A fault in the buffer itself (here a trigger that refuses every insert) ends the source's
    task: the status says "failed" with the reason, the messages are not acknowledged, and the
    runtime starts the source again until it works, losing nothing."""
    run = start_collector(config(broker), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "online")
    fault = sqlite3.connect(home / "buffer.sqlite", isolation_level=None)
    fault.execute(
        "CREATE TRIGGER fault BEFORE INSERT ON samples BEGIN SELECT RAISE(ABORT, 'disk gremlin'); END"
    )
    pub = publisher(broker)
    for t in range(5):
        send(pub, "plant/press-1", {"ts": at(t), "state": 1, "counter": t})
    run.wait_for(lambda: status.state == "failed")
    assert "disk gremlin" in status.detail
    fault.execute("DROP TRIGGER fault")
    fault.close()
    run.wait_for(lambda: status.state == "online" and status.stored >= 10, timeout=60)
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    run.stop()
    pub.disconnect()
    with EmbeddedStore(home).session() as s:
        readings = s.arrow("SELECT value FROM counter_readings ORDER BY ts").to_pylist()
    assert readings == [{"value": t} for t in range(5)]


# -- a property over payloads ---------------------------------------------------------------------

PROPERTY_CONFIG = """
[[source]]
kind = "mqtt"
name = "broker"
"""
ROLES = {
    "state": 'states = { "1" = "running", "0" = "stopped" }',
    "running": "",
    "speed": "scale = 1e12",  # the largest a configuration allows: 1e300 × 1e12 overflows
    "parts": "",
    "rejects": "scale = 0.5",
    "part_counter": "bits = 16",
    "reject_counter": "",
    "product": "",
    "work_order": "",
    "value": "offset = -1e12",
}
for role, extra in ROLES.items():
    PROPERTY_CONFIG += f"""
[[source.tag]]
name = "{role}"
machine = "press-1"
role = "{role}"
topic = "t"
path = "v.{role}"
ts_path = "ts"
seq_path = "seq"
{extra}
"""

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.sampled_from([2**63 - 1, 2**63, 2**64 - 1, -(2**63), -(2**63) - 1, 2**70])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=300)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)
payloads = st.one_of(
    st.fixed_dictionaries(
        {
            "v": st.dictionaries(st.sampled_from(sorted(ROLES)), json_values, max_size=10)
            | json_values,
            "ts": st.sampled_from([at(0), at(3600)]) | json_values,
            "seq": st.integers(min_value=0, max_value=1000) | json_values,
        }
    ).map(lambda d: json.dumps(d).encode()),  # NaN and Infinity come out as JSON does not allow
    st.binary(max_size=100),
    st.integers(min_value=1000, max_value=3000).map(lambda n: b'{"v": "' + b"x" * n + b'"}'),
)


def message(payload: bytes) -> mqtt.MQTTMessage:
    msg = mqtt.MQTTMessage(topic=b"t")
    msg.payload = payload
    return msg


def stored_in_range(tag: str, value: Any) -> bool:
    if value is None:
        return True
    if tag in ("state", "product", "work_order"):
        return isinstance(value, str) and len(value) <= 200
    if tag == "running":
        return value in (0, 1)  # SQLite keeps a flag as 0 or 1
    if tag == "part_counter":
        return type(value) is int and 0 <= value < 2**16
    if tag in ("parts", "rejects", "reject_counter"):
        return type(value) is int and 0 <= value <= MAX_WHOLE
    return isinstance(value, float) and math.isfinite(value)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch=st.lists(payloads, min_size=1, max_size=4))
def test_any_payload_is_stored_in_range_or_a_problem(
    tmp_path_factory: Any, batch: list[bytes]
) -> None:
    cfg = parse_collect_config(PROPERTY_CONFIG)
    buffer = Buffer(tmp_path_factory.mktemp("buffer") / "b.sqlite", max_bytes=10**8)
    status = SourceStatus("broker", "mqtt://test")
    intake = Intake(buffer, status, max_skew_s=60, max_payload=2048)
    source = MqttSource(cfg.sources[0], intake)
    source.take([message(p) for p in batch])  # never raises
    rows = buffer.pending(limit=1000)
    for row in rows:
        assert unstorable(Sample(row.source, row.tag, row.ts_us, row.value, row.seq)) is None
        assert stored_in_range(row.tag, row.value), (row.tag, row.value)
    # every reading of every message is either stored (or a duplicate of one) or counted
    assert status.received == len(batch)
    assert len(rows) + status.duplicates + status.problem_total() >= len(batch)
    # and the source still takes a good message afterwards
    source.take([message(json.dumps({"v": {"value": 1.5}, "ts": at(7200), "seq": 1}).encode())])
    assert status.stored == len(rows) + 1
    buffer.close()


def test_a_message_nothing_could_read_is_kept_as_a_dead_letter(tmp_path: Path) -> None:
    buffer = Buffer(tmp_path / "buffer.sqlite", max_bytes=10**8)
    intake = Intake(buffer, SourceStatus("broker", "mqtt://test"), max_skew_s=60, max_payload=2048)
    intake.unreadable("plant/x", b"\xff" * 5000, RecursionError("too deep"))
    [letter] = buffer.dead_letters()
    assert (letter["source"], letter["tag"], letter["error"]) == (
        "broker",
        "plant/x",
        "RecursionError: too deep",
    )
    assert len(letter["what"]) == 2000  # kept short
    assert dict(intake.status.problems) == {("plant/x", "unreadable"): 1}
    buffer.close()
