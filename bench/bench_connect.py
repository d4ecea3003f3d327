"""Benchmarks for live data: MQTT throughput beside a raw client, OPC UA and Modbus at scale.

MQTT QoS 1 on loopback, end to end into durable storage, beside a raw paho subscriber.

A real Mosquitto (Debian's) runs on 127.0.0.1. For each consumer the broker first queues N QoS 1
messages for its persistent session (the consumer is away), then the consumer connects and the
clock runs until it has all N:

* ceiling: a bare paho subscriber that counts messages and stores nothing (acknowledged on arrival);
* pilotline: the collector, acknowledging each message only after it is committed (fsync) to its
  SQLite buffer; its forwarder moves the samples on into the DuckDB store at the same time. The
  figure "into the store" is when the last sample is in DuckDB.

OPC UA: a server process with 1,000 variables changing 10 times a second; the collector subscribes
to all of them (sampling 50 ms, publishing 100 ms). Printed: notifications expected and received,
and the backlog (queued in the source, and waiting in the buffer) sampled every second.

Modbus: a server process with 100 unit ids; 100 sources (one TCP connection each, as 100 devices)
poll 5 registers at 1 Hz. Printed: polls made against polls due, and the worst lateness.

Run:  .venv/bin/python bench/bench_connect.py [--messages 200000] [--only mqtt|opcua|modbus]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT))

from tests.connect.conftest import Mosquitto  # noqa: E402

from pilotline.connect import Collector, parse_collect_config  # noqa: E402
from pilotline.connect.net import free_port  # noqa: E402
from pilotline.plant import example_plant_text  # noqa: E402
from pilotline.store import EmbeddedStore  # noqa: E402

MACHINES = ("press-1", "press-2", "cnc-1")
T0 = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def subscribe_once(port: int, client_id: str, version: int) -> None:
    """Create the persistent session (and its subscription), then leave."""
    done = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version)
    c.on_subscribe = lambda *a: done.set()
    kwargs = {}
    if version == mqtt.MQTTv5:
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = 3600
        kwargs = {"clean_start": False, "properties": props}
    else:
        c = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=version, clean_session=False
        )
        c.on_subscribe = lambda *a: done.set()
    c.connect("127.0.0.1", port, **kwargs)
    c.loop_start()
    c.subscribe("plant/+/parts", qos=1)
    done.wait(10)
    c.disconnect()
    c.loop_stop()


def publish(port: int, n: int) -> float:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-publisher")
    pub.max_inflight_messages_set(1000)
    pub.max_queued_messages_set(0)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    start = time.perf_counter()
    info = None
    for i in range(n):
        m = MACHINES[i % len(MACHINES)]
        ts = (T0 + dt.timedelta(milliseconds=10 * i)).isoformat()
        info = pub.publish(f"plant/{m}/parts", json.dumps({"ts": ts, "seq": i, "n": 1}), qos=1)
        if i % 20_000 == 19_999:  # message ids wrap at 65,535: keep fewer than that in flight
            info.wait_for_publish(300)
    assert info is not None
    info.wait_for_publish(300)
    took = time.perf_counter() - start
    pub.disconnect()
    pub.loop_stop()
    return took


def raw_ceiling(port: int, n: int) -> float:
    got = 0
    done = threading.Event()

    def on_message(_c: object, _u: object, _m: object) -> None:
        nonlocal got
        got += 1
        if got >= n:
            done.set()

    c = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id="bench-raw",
        protocol=mqtt.MQTTv311,
        clean_session=False,
    )
    c.on_message = on_message
    start = time.perf_counter()
    c.connect("127.0.0.1", port)
    c.loop_start()
    done.wait(600)
    took = time.perf_counter() - start
    c.disconnect()
    c.loop_stop()
    assert got >= n, got
    return took


CONFIG = """
forward_every_s = {every}

[buffer]
max_mb = 4096

[[source]]
kind = "mqtt"
name = "bench"
port = {port}
version = "3.1.1"
client_id = "bench-pilotline"
{tags}
"""
TAG = """
[[source.tag]]
name = "{m} parts"
machine = "{m}"
role = "parts"
topic = "plant/{m}/parts"
path = "n"
ts_path = "ts"
seq_path = "seq"
"""


def pilotline(port: int, n: int, home: Path) -> tuple[float, float]:
    (home / "plant.toml").write_text(example_plant_text())
    tags = "".join(TAG.format(m=m) for m in MACHINES)
    config = parse_collect_config(
        CONFIG.format(port=port, tags=tags, every=os.environ.get("FWD", "0.5"))
    )
    collector = Collector(config, EmbeddedStore(home), home / "buffer.sqlite")
    status = collector.statuses[0]
    durable = stored = 0.0

    async def main() -> None:
        nonlocal durable, stored
        stop = asyncio.Event()
        task = asyncio.create_task(collector.run(stop=stop))
        start = time.perf_counter()
        while status.stored < n:
            await asyncio.sleep(0.01)
        durable = time.perf_counter() - start
        print(
            f"  pilotline, durable       {n / durable:>10,.0f} msg/s (acknowledged after fsync to the buffer)"
        )
        while collector.store_status.forwarded < n:
            await asyncio.sleep(0.01)
        stored = time.perf_counter() - start
        stop.set()
        await task

    asyncio.run(main())
    with EmbeddedStore(home).session() as s:
        assert s.scalar("SELECT sum(total) FROM counts") == n
    return durable, stored


def collect_for(config_text: str, home: Path, seconds: float, sample: Any) -> Collector:
    (home / "plant.toml").write_text(example_plant_text())
    config = parse_collect_config(config_text)
    collector = Collector(config, EmbeddedStore(home), home / "buffer.sqlite")

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(collector.run(stop=stop))
        for second in range(int(seconds)):
            await asyncio.sleep(1)
            sample(collector, second + 1)
        stop.set()
        await task

    asyncio.run(main())
    return collector


def peer(script: str, *args: object) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / script), *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def opcua(nodes: int = 1000, hz: float = 10, seconds: float = 30) -> None:
    port = free_port()
    server = peer("opcua_peer.py", port, nodes, hz, seconds + 8)
    tags = "".join(
        f'\n[[source.tag]]\nname = "v{k}"\nmachine = "{MACHINES[k % 3]}"\nrole = "value"\n'
        f'node = "ns=2;s=Line.Value{k}"\n'
        for k in range(nodes)
    )
    config = (
        'forward_every_s = 1.0\n[[source]]\nkind = "opcua"\nname = "bench"\n'
        f'url = "opc.tcp://127.0.0.1:{port}/pilotline/"\nsampling_ms = 50\npublishing_ms = 100\n'
        + tags
    )
    rows: list[tuple[int, int, int, int]] = []

    def sample(collector: Collector, second: int) -> None:
        pending = len(getattr(collector.sources[0], "pending", []))
        received = collector.statuses[0].received
        rows.append((second, received, pending, collector.buffer.backlog()))

    with tempfile.TemporaryDirectory() as tmp:
        collect_for(config, Path(tmp), seconds, sample)
    server.terminate()
    server.wait(30)
    steady = [r for r in rows if r[1] > 0][2:]  # from the third second with data on
    rate = (steady[-1][1] - steady[0][1]) / (steady[-1][0] - steady[0][0])
    half = len(steady) // 2
    print(f"OPC UA: {nodes:,} monitored items changing at {hz:g} Hz, {seconds:.0f} s")
    print(f"  notifications received   {rate:>10,.0f} /s (the server changes {nodes * hz:,.0f}/s)")
    print(
        "  queued in the source, max in first / second half: "
        f"{max(r[2] for r in steady[:half]):,} / {max(r[2] for r in steady[half:]):,}"
    )
    print(
        "  buffered, not yet in the store, max in first / second half: "
        f"{max(r[3] for r in steady[:half]):,} / {max(r[3] for r in steady[half:]):,}"
    )


def modbus(devices: int = 100, seconds: float = 30) -> None:
    port = free_port()
    server = peer("modbus_peer.py", port, devices, seconds + 8)
    tags = "".join(
        f'\n[[source.tag]]\nname = "r{a}"\nmachine = "press-1"\nrole = "value"\n'
        f'address = {a}\ntype = "uint32"\n'
        for a in (0, 2, 4, 6, 8)
    )
    sources = "".join(
        f'\n[[source]]\nkind = "modbus"\nname = "device-{u}"\nport = {port}\nunit = {u}\n'
        f"poll_s = 1.0\n{tags}"
        for u in range(1, devices + 1)
    )
    polls: list[int] = []

    def sample(collector: Collector, second: int) -> None:
        polls.append(sum(s.received for s in collector.statuses) // 5)

    with tempfile.TemporaryDirectory() as tmp:
        collector = collect_for("forward_every_s = 1.0\n" + sources, Path(tmp), seconds, sample)
    server.terminate()
    server.wait(30)
    offline = sum(bool(s.problems) or s.state == "offline" for s in collector.statuses)
    rate = (polls[-1] - polls[4]) / (len(polls) - 5)
    print(
        f"Modbus TCP: {devices} devices (one connection each), 5 registers each, 1 Hz, {seconds:.0f} s"
    )
    print(
        f"  polls per second         {rate:>10,.1f} (due: {devices}); devices with problems: {offline}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--only", choices=["mqtt", "opcua", "modbus"])
    args = parser.parse_args()
    print(
        f"{dt.datetime.now(dt.UTC):%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    if args.only in (None, "opcua"):
        opcua()
    if args.only in (None, "modbus"):
        modbus()
    if args.only in (None, "mqtt"):
        mqtt_bench(args.messages)


def mqtt_bench(n: int) -> None:
    print(f"MQTT QoS 1 on loopback, {n:,} messages")
    with tempfile.TemporaryDirectory() as tmp:
        broker = Mosquitto(Path(tmp))
        broker.start()
        try:
            subscribe_once(broker.port, "bench-raw", mqtt.MQTTv311)
            took = publish(broker.port, n)
            print(f"  queued by the publisher  {n / took:>10,.0f} msg/s")
            ceiling = raw_ceiling(broker.port, n)
            print(
                f"  raw paho subscriber      {n / ceiling:>10,.0f} msg/s (stores nothing; the ceiling)"
            )
            subscribe_once(broker.port, "bench-pilotline", mqtt.MQTTv311)
            publish(broker.port, n)
            home = Path(tmp) / "home"
            home.mkdir()
            durable, stored = pilotline(broker.port, n, home)
        finally:
            broker.stop()
    print(f"  pilotline, in the store  {n / stored:>10,.0f} msg/s (last sample in DuckDB)")
    print(
        f"  ratio to the ceiling     {ceiling / durable:>10.2f} (durable) {ceiling / stored:.2f} (store)"
    )


if __name__ == "__main__":
    main()
