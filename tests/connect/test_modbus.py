"""Modbus TCP against pymodbus's own server: decoding, grouping, changes, device loss."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pymodbus.client import ModbusTcpClient

from pilotline.connect.modbus.config import ModbusTag
from pilotline.connect.modbus.server import ModbusServer
from pilotline.connect.modbus.source import decode, plan_reads
from pilotline.store import EmbeddedStore
from tests.connect.conftest import start_collector

DT = ModbusTcpClient.DATATYPE


def tag(**kw: object) -> ModbusTag:
    return ModbusTag.model_validate({"name": "t", "machine": "press-1", "role": "value", **kw})


@pytest.mark.parametrize(
    ("type_", "value", "dt_"),
    [
        ("int16", -2, DT.INT16),
        ("uint16", 65535, DT.UINT16),
        ("int32", -123456, DT.INT32),
        ("uint32", 4_000_000_000, DT.UINT32),
        ("float32", 21.5, DT.FLOAT32),
        ("float64", -1234.0625, DT.FLOAT64),
    ],
)
@pytest.mark.parametrize("word_order", ["big", "little"])
def test_decode_round_trips_pymodbus_encoding(
    type_: str, value: float, dt_: object, word_order: str
) -> None:
    regs = ModbusTcpClient.convert_to_registers(value, dt_, word_order=word_order)  # type: ignore[arg-type]
    assert decode(tag(address=0, type=type_, word_order=word_order), regs) == value
    swapped = [((w & 0xFF) << 8) | (w >> 8) for w in regs]
    assert (
        decode(tag(address=0, type=type_, word_order=word_order, byte_order="little"), swapped)
        == value
    )


def test_reads_are_grouped_within_protocol_limits() -> None:
    tags = [tag(name=f"h{a}", address=a, type="uint32") for a in (0, 2, 4, 40, 200)]
    tags += [
        tag(name="other-unit", address=0, unit=2),
        tag(name="c", address=3, register_type="coil"),
    ]
    reads = plan_reads(tags, default_unit=1)
    spans = [(r.unit, r.register_type, r.start, r.count, [t.name for t in r.tags]) for r in reads]
    assert spans == [
        (1, "coil", 3, 1, ["c"]),
        (1, "holding", 0, 6, ["h0", "h2", "h4"]),
        (1, "holding", 40, 2, ["h40"]),
        (1, "holding", 200, 2, ["h200"]),
        (2, "holding", 0, 1, ["other-unit"]),
    ]


@pytest.fixture
def device() -> Iterator[ModbusServer]:
    server = ModbusServer(units=(1, 7))
    server.start()
    yield server
    server.stop()


def config(port: int) -> str:
    return f"""
forward_every_s = 0.2

[[source]]
kind = "modbus"
name = "plc"
port = {port}
poll_s = 0.1
timeout_s = 0.5

[[source.tag]]
name = "state"
machine = "press-1"
role = "state"
address = 0
states = {{ "1" = "running", "0" = "stopped", "2" = "breakdown" }}

[[source.tag]]
name = "parts"
machine = "press-1"
role = "part_counter"
address = 10
type = "uint32"
word_order = "little"

[[source.tag]]
name = "temperature"
machine = "press-1"
role = "value"
address = 20
type = "float32"

[[source.tag]]
name = "press-2 running"
machine = "press-2"
role = "running"
register_type = "coil"
address = 5
unit = 7
"""


def test_polled_values_reach_the_store_and_a_lost_device_is_a_gap(
    device: ModbusServer, home: Path
) -> None:
    temp = ModbusTcpClient.convert_to_registers(21.5, DT.FLOAT32)
    device.set("holding", 0, [1])
    device.set(
        "holding", 10, ModbusTcpClient.convert_to_registers(70_000, DT.UINT32, word_order="little")
    )
    device.set("holding", 20, temp)
    device.set("coil", 5, [True], unit=7)
    run = start_collector(config(device.port), home)
    status = run.collector.statuses[0]
    run.wait_for(lambda: status.stored >= 4)
    device.set(
        "holding", 10, ModbusTcpClient.convert_to_registers(70_050, DT.UINT32, word_order="little")
    )
    device.set("holding", 0, [2])
    device.set("coil", 5, [False], unit=7)
    run.wait_for(lambda: status.stored >= 7)
    device.stop()
    run.wait_for(lambda: status.state == "offline")
    time.sleep(0.3)
    restarted = ModbusServer(units=(1, 7), port=device.port)
    restarted.start()
    try:
        restarted.set("holding", 0, [1])
        run.wait_for(lambda: status.state == "online", timeout=30)
        run.wait_for(lambda: run.collector.buffer.backlog() == 0 and status.stored >= 11)
    finally:
        run.stop()
        restarted.stop()
    with EmbeddedStore(home).session() as s:
        p1 = s.arrow(
            "SELECT state, reason FROM states WHERE machine = 'press-1' ORDER BY start_ts"
        ).to_pylist()
        p2 = s.arrow(
            "SELECT state FROM states WHERE machine = 'press-2' ORDER BY start_ts"
        ).to_pylist()
        parts = s.scalar("SELECT sum(total) FROM counts WHERE machine = 'press-1'")
        temps = s.arrow("SELECT value FROM process_values WHERE tag = 'temperature'").to_pylist()
    assert [(r["state"], r["reason"]) for r in p1] == [
        ("running", None),
        ("stopped", "breakdown"),
        ("no_data", None),  # the device was unreachable: unknown, not a breakdown
        ("running", None),
        ("no_data", None),  # the collector stopped
    ]
    assert [r["state"] for r in p2] == ["running", "stopped", "no_data", "stopped", "no_data"]
    assert (
        parts == 50
    )  # 70,000 → 70,050; the restarted device's counter at 0 is a reset with 0 parts
    assert temps[0] == {"value": 21.5}


def test_a_device_that_never_answers_is_offline_not_no_data_per_tag(home: Path) -> None:
    """A port that takes the connection and answers nothing is not a device that is up."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # the kernel completes the handshake; nothing ever answers
    run = start_collector(config(silent.getsockname()[1]), home)
    status = run.collector.statuses[0]
    try:
        run.wait_for(lambda: status.state == "offline")
    finally:
        run.stop()
        silent.close()
    assert "did not answer within 0.5 s" in status.detail
    assert status.problem_total() == 0 and status.stored == 0
