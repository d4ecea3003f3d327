"""`pilotline connect test`, `connect roles` and `collect --for`, run as a user would."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from pilotline.connect.modbus.server import ModbusServer
from pilotline.connect.net import free_port
from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def run(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [PILOTLINE, "--home", str(home), *args],
        capture_output=True,
        text=True,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
        check=False,
        timeout=120,
    )
    assert (result.returncode == 0) == ok, result.stdout + result.stderr
    return result


def test_connect_test_says_what_it_found_and_why_a_source_failed(
    broker: Mosquitto, home: Path, tmp_path: Path
) -> None:
    device = ModbusServer()
    device.start()
    device.set("holding", 3, [1234])
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="retainer")
    pub.connect("127.0.0.1", broker.port)
    pub.loop_start()
    pub.publish("plant/press-1", json.dumps({"state": 1}), qos=1, retain=True).wait_for_publish(5)
    pub.publish("plant/unmapped", "42", qos=1, retain=True).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()
    closed = free_port()
    config = tmp_path / "collect.toml"
    config.write_text(
        f"""
[[source]]
kind = "mqtt"
name = "broker"
port = {broker.port}

[[source.tag]]
name = "press-1 state"
machine = "press-1"
role = "running"
topic = "plant/press-1"
path = "state"

[[source]]
kind = "modbus"
name = "plc"
port = {device.port}

[[source.tag]]
name = "press-2 counter"
machine = "press-2"
role = "part_counter"
address = 3

[[source]]
kind = "modbus"
name = "switched off"
port = {closed}
"""
    )
    try:
        result = run(home, "connect", "test", str(config), "--seconds", "1", ok=False)
    finally:
        device.stop()
    out = result.stdout
    assert "✓ broker" in out and "plant/press-1" in out and "press-1 state" in out
    assert "plant/unmapped" in out
    assert "✓ plc" in out and "1234" in out and "holding 3" in out
    assert (
        f"✗ switched off (modbus://127.0.0.1:{closed}): cannot reach the Modbus device"
        in result.stderr
    )


def test_a_config_that_does_not_fit_the_plant_names_the_tag(home: Path, tmp_path: Path) -> None:
    config = tmp_path / "collect.toml"
    config.write_text(
        """
[[source]]
kind = "modbus"
name = "plc"

[[source.tag]]
name = "ghost"
machine = "press-9"
role = "state"
address = 0
states = { "5" = "coffee break" }
"""
    )
    err = run(home, "collect", str(config), "--for", "1", ok=False).stderr
    assert "tag 'ghost': machine 'press-9' is not in plant.toml" in err
    assert "state code '5' means 'coffee break'" in err
    config.write_text('[[source]]\nkind = "modbus"\nname = "plc"\nport = "five"\n')
    err = run(home, "collect", str(config), ok=False).stderr
    assert "source[0].modbus.port" in err


def test_collect_for_a_while_prints_the_status_and_stores(home: Path, tmp_path: Path) -> None:
    device = ModbusServer()
    device.start()
    device.set("holding", 0, [1])
    config = tmp_path / "collect.toml"
    config.write_text(
        f"""
[[source]]
kind = "modbus"
name = "plc"
port = {device.port}
poll_s = 0.2

[[source.tag]]
name = "running"
machine = "press-1"
role = "running"
address = 0
"""
    )
    try:
        result = run(home, "collect", str(config), "--for", "4")
    finally:
        device.stop()
    assert "plc" in result.stdout and "stopped" in result.stdout  # the final status table
    with EmbeddedStore(home).session() as s:
        states = [
            r["state"] for r in s.arrow("SELECT state FROM states ORDER BY start_ts").to_pylist()
        ]
    assert states == ["running", "no_data"]


def test_roles_lists_the_tag_map_catalogue(home: Path) -> None:
    out = run(home, "connect", "roles").stdout
    for role in ("state", "running", "speed", "part_counter", "reject_counter", "product", "value"):
        assert role in out


def test_a_port_that_never_answers_fails_and_qos_0_is_a_caution(
    broker: Mosquitto, home: Path, tmp_path: Path
) -> None:
    """A port that takes connections but answers nothing (here a socket nobody reads) is not a
    device; an MQTT source at QoS 0 works but loses what is sent while the collector is down."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nothing ever answers
    port = silent.getsockname()[1]
    config = tmp_path / "collect.toml"
    config.write_text(
        f"""
[[source]]
kind = "mqtt"
name = "broker"
port = {broker.port}
qos = 0

[[source.tag]]
name = "press-1 state"
machine = "press-1"
role = "running"
topic = "plant/press-1"
path = "state"

[[source]]
kind = "modbus"
name = "silent"
port = {port}
timeout_s = 1

[[source.tag]]
name = "press-2 counter"
machine = "press-2"
role = "part_counter"
address = 3
"""
    )
    try:
        result = run(home, "connect", "test", str(config), "--seconds", "0.5", ok=False)
    finally:
        silent.close()
    assert "✓ broker" in result.stdout and "✓ silent" not in result.stdout
    assert "! broker: subscribes at QoS 0" in result.stderr
    assert (
        f"✗ silent (modbus://127.0.0.1:{port}): the Modbus device at modbus://127.0.0.1:{port} "
        "took the connection but did not answer within 1 s (unit 1, holding 3)"
    ) in result.stderr
