"""The OPC UA side of bench_connect.py, in its own process: N nodes changing at a given rate."""

from __future__ import annotations

import sys
import time

from pilotline.connect.opcua.server import OpcuaServer


def main() -> None:
    port, nodes, hz, seconds = (
        int(sys.argv[1]),
        int(sys.argv[2]),
        float(sys.argv[3]),
        float(sys.argv[4]),
    )
    names = {f"Line.Value{k}": "double" for k in range(nodes)}
    server = OpcuaServer(names, port=port)
    server.start()
    print("ready", flush=True)
    writes = 0
    late = 0
    start = time.monotonic()
    tick = 0
    while time.monotonic() - start < seconds:
        tick += 1
        server.set_many({name: float(tick + k) for k, name in enumerate(names)})
        writes += nodes
        next_at = start + tick / hz
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            late += 1
    took = time.monotonic() - start
    print(f"written {writes} {took:.3f} {late}", flush=True)
    server.stop()


if __name__ == "__main__":
    main()
