"""OPC UA against asyncua's server: subscriptions, bad quality, server restart, SignAndEncrypt."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import time
from pathlib import Path

import pytest
from asyncua import ua

from pilotline.connect.net import free_port
from pilotline.connect.opcua.server import OpcuaServer, make_certificate
from pilotline.store import EmbeddedStore
from tests.connect.conftest import start_collector


def config(url: str, security: str = "") -> str:
    return f"""
forward_every_s = 0.2

[[source]]
kind = "opcua"
name = "press-1 controller"
url = "{url}"
sampling_ms = 50
publishing_ms = 100
{security}

[[source.tag]]
name = "state"
machine = "press-1"
role = "state"
node = "ns=2;s=Press1.State"
states = {{ "1" = "running", "0" = "stopped", "3" = "changeover" }}

[[source.tag]]
name = "counter"
machine = "press-1"
role = "part_counter"
bits = 32
node = "ns=2;s=Press1.Counter"

[[source.tag]]
name = "temperature"
machine = "press-1"
role = "value"
node = "ns=2;s=Press1.Temp"
"""


T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)
NODES = {"Press1.State": "int32", "Press1.Counter": "uint32", "Press1.Temp": "double"}


def test_subscription_values_bad_quality_and_server_restart(home: Path) -> None:
    server = OpcuaServer(NODES)
    server.start()
    server.set("Press1.State", 1, ts=T0)
    server.set("Press1.Counter", 500, ts=T0)
    server.set("Press1.Temp", 180.5, ts=T0)
    run = start_collector(config(server.url), home)
    status = run.collector.statuses[0]
    try:
        run.wait_for(lambda: status.state == "online")
        run.wait_for(lambda: status.stored >= 3)
        server.set("Press1.Counter", 540, ts=T0 + dt.timedelta(minutes=1))
        server.set("Press1.State", 3, ts=T0 + dt.timedelta(minutes=2))
        time.sleep(0.3)
        # A failed sensor: the value is there but its status says it cannot be trusted.
        server.set(
            "Press1.State",
            1,
            status=ua.StatusCodes.BadSensorFailure,
            ts=T0 + dt.timedelta(minutes=3),
        )
        run.wait_for(lambda: status.problems[("state", "bad_quality")] == 1)
        server.stop()
        run.wait_for(lambda: status.state == "offline", timeout=30)
        server = OpcuaServer(NODES, port=server.port)
        server.start()
        server.set("Press1.State", 1, ts=T0 + dt.timedelta(minutes=10))
        server.set("Press1.Counter", 560, ts=T0 + dt.timedelta(minutes=10))
        run.wait_for(lambda: status.state == "online", timeout=40)
        run.wait_for(lambda: status.stored >= 8)
        run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    finally:
        run.stop()
        server.stop()
    with EmbeddedStore(home).session() as s:
        states = s.arrow("SELECT start_ts, state, reason FROM states ORDER BY start_ts").to_pylist()
        parts = s.arrow("SELECT ts, total FROM counts ORDER BY ts").to_pylist()
        temps = s.arrow("SELECT value FROM process_values").to_pylist()
    early = [
        (r["state"], r["reason"])
        for r in states
        if r["start_ts"] < T0.replace(tzinfo=None) + dt.timedelta(hours=1)
    ]
    assert early == [
        ("running", None),
        ("stopped", "changeover"),
        ("no_data", None),  # bad quality
        ("running", None),  # after the restart, re-subscribed: current value again
    ]
    # The server was down: the gap is recorded (stamped with the collector's clock, now).
    assert ("no_data", None) in [
        (r["state"], r["reason"])
        for r in states
        if r["start_ts"] > T0.replace(tzinfo=None) + dt.timedelta(hours=1)
    ]
    # The restarted server's counter was 0 before 560 was written: 500 → 540 is 40, then a reset.
    assert parts[0]["total"] == 40
    assert temps[0]["value"] == 180.5


@pytest.mark.parametrize("mode", ["Sign", "SignAndEncrypt"])
def test_signed_and_encrypted_with_certificates(tmp_path: Path, home: Path, mode: str) -> None:
    server_cert = make_certificate(tmp_path, "server", server=True)
    client_cert, client_key = make_certificate(tmp_path, "client", server=False)
    server = OpcuaServer(NODES, certificate=server_cert, mode=mode)
    server.start()
    server.set("Press1.State", 1, ts=T0)
    security = (
        f'security = "{mode}"\npolicy = "Basic256Sha256"\n'
        f'certificate = "{client_cert}"\nprivate_key = "{client_key}"\n'
        f'server_certificate = "{server_cert[0]}"'
    )
    run = start_collector(config(server.url, security), home)
    status = run.collector.statuses[0]
    try:
        run.wait_for(lambda: status.stored >= 1, timeout=30)
        run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    finally:
        run.stop()
        server.stop()
    with EmbeddedStore(home).session() as s:
        assert s.arrow("SELECT state FROM states ORDER BY start_ts").to_pylist()[0] == {
            "state": "running"
        }


def test_plain_connection_to_an_encrypted_only_server_says_why(tmp_path: Path, home: Path) -> None:
    server = OpcuaServer(NODES, certificate=make_certificate(tmp_path, "server", server=True))
    server.start()
    run = start_collector(config(server.url), home)
    status = run.collector.statuses[0]
    try:
        run.wait_for(lambda: status.state == "offline", timeout=30)
    finally:
        run.stop()
        server.stop()
    assert server.url in status.detail


PEERS = Path(__file__).parent / "peers"


class NodeOpcua:
    """node-opcua (an independent OPC UA implementation, from npm) as a second server."""

    def __init__(self) -> None:
        assert (PEERS / "node_modules" / "node-opcua-server").exists(), (
            "node-opcua is not installed: ./run.sh test installs it (npm ci in tests/connect/peers)"
        )
        self.port = free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/pilotline"
        self.proc = subprocess.Popen(
            ["node", str(PEERS / "node_opcua_server.js"), str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.namespace = int(self._answer().split()[1])

    def _answer(self) -> str:
        """The next line of ours: node-opcua prints its own warnings on the same output."""
        assert self.proc.stdout is not None
        while True:
            line = self.proc.stdout.readline()
            assert line, "node-opcua server ended"
            if line.startswith("@pilotline "):
                return line.removeprefix("@pilotline ").strip()

    def set(self, name: str, value: int, *, status: str = "Good", ts: dt.datetime) -> None:
        assert self.proc.stdin is not None
        command = {"name": name, "value": value, "status": status, "ts": int(ts.timestamp() * 1000)}
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        assert self._answer() == "ok"

    def stop(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(20)
        assert self.proc.stdout is not None
        self.proc.stdout.close()


def test_an_independent_server_node_opcua(home: Path) -> None:
    server = NodeOpcua()
    ns = server.namespace
    config = f"""
forward_every_s = 0.2

[[source]]
kind = "opcua"
name = "node-opcua"
url = "{server.url}"
sampling_ms = 50
publishing_ms = 100

[[source.tag]]
name = "state"
machine = "press-1"
role = "state"
node = "ns={ns};s=Press1.State"
states = {{ "1" = "running", "0" = "stopped", "3" = "changeover" }}

[[source.tag]]
name = "counter"
machine = "press-1"
role = "part_counter"
node = "ns={ns};s=Press1.Counter"
"""
    server.set("Press1.State", 1, ts=T0)
    server.set("Press1.Counter", 10, ts=T0)
    run = start_collector(config, home)
    status = run.collector.statuses[0]
    try:
        run.wait_for(lambda: status.stored >= 2, timeout=30)
        server.set("Press1.Counter", 25, ts=T0 + dt.timedelta(minutes=1))
        server.set("Press1.State", 3, ts=T0 + dt.timedelta(minutes=2))
        run.wait_for(lambda: status.stored >= 4)
        server.set(
            "Press1.State", 1, status="BadCommunicationError", ts=T0 + dt.timedelta(minutes=3)
        )
        run.wait_for(lambda: status.problems[("state", "bad_quality")] == 1)
        run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    finally:
        run.stop()
        server.stop()
    with EmbeddedStore(home).session() as s:
        states = s.arrow("SELECT start_ts, state, reason FROM states ORDER BY start_ts").to_pylist()
        parts = s.scalar("SELECT sum(total) FROM counts")
    naive = T0.replace(tzinfo=None)
    timeline = [((r["start_ts"] - naive).total_seconds(), r["state"], r["reason"]) for r in states]
    assert timeline == [
        (0, "running", None),
        (120, "stopped", "changeover"),
        (180, "no_data", None),  # bad status: no data, never a reading
    ]
    assert parts == 15
