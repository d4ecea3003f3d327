"""Sparkplug B through a real Mosquitto: births, aliases, sequence gaps, rebirth requests, death."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pilotline.connect.mqtt.sparkplug import (
    BOOLEAN,
    INT32,
    REBIRTH,
    UINT32,
    Payload,
    encode,
    metric_value,
)
from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector

T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def ms(seconds: float) -> int:
    return int((T0 + dt.timedelta(seconds=seconds)).timestamp() * 1000)


CONFIG = """
forward_every_s = 0.2

[[source]]
kind = "mqtt"
name = "scada"
port = {port}
format = "sparkplug"

[[source.tag]]
name = "press-1 state"
machine = "press-1"
role = "state"
group = "plant"
edge_node = "line1"
metric = "Press1/State"
states = {{ "1" = "running", "0" = "stopped" }}

[[source.tag]]
name = "press-1 parts"
machine = "press-1"
role = "part_counter"
group = "plant"
edge_node = "line1"
metric = "Press1/Parts"

[[source.tag]]
name = "press-2 running"
machine = "press-2"
role = "running"
group = "plant"
edge_node = "line1"
device = "cell2"
metric = "Running"
"""


def test_births_aliases_gaps_and_death(broker: Mosquitto, home: Path) -> None:
    run = start_collector(CONFIG.format(port=broker.port), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.state == "online")
    edge = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="edge-line1")
    commands: list[bytes] = []
    edge.on_message = lambda _c, _u, m: commands.append(bytes(m.payload))
    edge.connect("127.0.0.1", broker.port)
    edge.loop_start()
    edge.subscribe("spBv1.0/plant/NCMD/line1", qos=1)
    time.sleep(0.3)

    def send(kind: str, payload: bytes, device: str = "") -> None:
        topic = f"spBv1.0/plant/{kind}/line1" + (f"/{device}" if device else "")
        edge.publish(topic, payload, qos=1).wait_for_publish(5)

    send("NDATA", encode([{"alias": 1, "int_value": 1}], seq=5, timestamp=ms(-60)))  # no birth yet
    run.wait_for(lambda: len(commands) == 1)
    send(
        "NBIRTH",
        encode(
            [
                {"name": "Press1/State", "alias": 1, "datatype": INT32, "int_value": 1},
                {"name": "Press1/Parts", "alias": 2, "datatype": UINT32, "int_value": 100},
                {"name": "bdSeq", "datatype": 4, "long_value": 0},
            ],
            seq=0,
            timestamp=ms(0),
        ),
    )
    send(
        "DBIRTH",
        encode(
            [{"name": "Running", "alias": 3, "datatype": BOOLEAN, "boolean_value": True}],
            seq=1,
            timestamp=ms(1),
        ),
        "cell2",
    )
    send("NDATA", encode([{"alias": 2, "int_value": 120}], seq=2, timestamp=ms(60)))
    send("NDATA", encode([{"alias": 1, "int_value": 0}], seq=3, timestamp=ms(120)))
    send("DDATA", encode([{"alias": 3, "boolean_value": False}], seq=4, timestamp=ms(130)), "cell2")
    send("NDATA", encode([{"alias": 1, "int_value": 1}], seq=6, timestamp=ms(180)))  # 5 was lost
    send("NDATA", encode([{"alias": 99, "int_value": 7}], seq=7, timestamp=ms(190)))
    send("NDATA", b"\xff\xff not protobuf")
    run.wait_for(lambda: len(commands) == 2)
    send("NDEATH", encode([{"name": "bdSeq", "datatype": 4, "long_value": 0}]))
    run.wait_for(lambda: status.received == 12)  # our 10, and the 2 rebirth commands it hears
    run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    run.stop()
    edge.loop_stop()
    edge.disconnect()

    request = Payload.FromString(commands[-1])
    assert [(m.name, metric_value(m, m.datatype)) for m in request.metrics] == [(REBIRTH, True)]
    assert dict(status.problems) == {
        ("plant/line1", "no_birth"): 1,
        ("plant/line1", "sequence_gap"): 2,  # data before any birth, then seq 6 instead of 5
        ("plant/line1", "unknown_alias"): 1,
        ("plant/line1", "bad_payload"): 1,
    }
    naive = T0.replace(tzinfo=None)
    with EmbeddedStore(home).session() as s:
        p1 = s.arrow(
            "SELECT start_ts, state FROM states WHERE machine = 'press-1' ORDER BY start_ts"
        ).to_pylist()
        p2 = s.arrow(
            "SELECT start_ts, state FROM states WHERE machine = 'press-2' ORDER BY start_ts"
        ).to_pylist()
        parts = s.scalar("SELECT sum(total) FROM counts")
    timeline = [((r["start_ts"] - naive).total_seconds(), r["state"]) for r in p1]
    assert timeline[:3] == [(0, "running"), (120, "stopped"), (180, "running")]
    assert [r["state"] for r in p1][3:] == ["no_data"]  # the node died
    assert [r["state"] for r in p2] == ["running", "stopped", "no_data"]
    assert parts == 20
