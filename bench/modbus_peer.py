"""The Modbus side of bench_connect.py, in its own process: one TCP server with many unit ids."""

from __future__ import annotations

import sys
import time

from pilotline.connect.modbus.server import ModbusServer


def main() -> None:
    port, units, seconds = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    server = ModbusServer(units=tuple(range(1, units + 1)), port=port)
    server.start()
    print("ready", flush=True)
    time.sleep(seconds)
    server.stop()


if __name__ == "__main__":
    main()
