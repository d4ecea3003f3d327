"""The live plant: machines served over OPC UA, Modbus and MQTT, read back by the collector."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from pilotline.connect import parse_collect_config
from pilotline.connect.net import free_port
from pilotline.plant import load_plant
from pilotline.sim.live import LiveEndpoints, LivePlant, collect_config, state_codes
from pilotline.store import EmbeddedStore
from tests.connect.conftest import Mosquitto, start_collector


def test_replayed_shift_is_deterministic_and_counters_only_grow(home: Path) -> None:
    plant = load_plant(home / "plant.toml")
    start = dt.datetime(2026, 3, 4, 12, 0, tzinfo=dt.UTC)
    a, b = LivePlant(plant, start=start, seed=3), LivePlant(plant, start=start, seed=3)
    moments = [start + dt.timedelta(seconds=s) for s in range(0, 1800, 30)]
    readings = [a.at(t) for t in moments]
    assert readings == [b.at(t) for t in moments]
    codes = {int(k) for k in state_codes(plant)}
    for m in a.machines:
        parts = [r[m].parts for r in readings]
        assert parts == sorted(parts) and parts[-1] > parts[0]
        assert {r[m].code for r in readings} <= codes
        assert all(r[m].rejects <= r[m].parts for r in readings)


def test_three_protocols_flow_into_the_same_store(broker: Mosquitto, home: Path) -> None:
    plant = load_plant(home / "plant.toml")
    endpoints = LiveEndpoints(
        plant, opcua_port=free_port(), modbus_port=free_port(), mqtt=("127.0.0.1", broker.port)
    )
    assert set(endpoints.speaks.values()) == {"opcua", "modbus", "mqtt"}
    live = LivePlant(plant, start=dt.datetime.now(dt.UTC))
    config = collect_config(plant, endpoints)
    parse_collect_config(config).check_plant(plant)
    run = None
    try:
        endpoints.update(live.at(dt.datetime.now(dt.UTC)), dt.datetime.now(dt.UTC))
        run = start_collector(
            config.replace("forward_every_s = 1.0", "forward_every_s = 0.2"), home
        )
        deadline = time.monotonic() + 6
        while time.monotonic() < deadline:
            now = dt.datetime.now(dt.UTC)
            endpoints.update(live.at(now), now)
            time.sleep(0.25)
        run.wait_for(lambda: all(s.state == "online" for s in run.collector.statuses))
        run.wait_for(lambda: run.collector.buffer.backlog() == 0)
    finally:
        if run:
            run.stop()
        endpoints.close()
    with EmbeddedStore(home).session() as s:
        machines = {
            r["machine"] for r in s.arrow("SELECT DISTINCT machine FROM states").to_pylist()
        }
        readings = s.arrow(
            "SELECT machine, count(*) AS n FROM counter_readings GROUP BY 1"
        ).to_pylist()
    assert machines == {m.id for _, m in plant.machines}
    assert {r["machine"] for r in readings} == machines
