"""A Modbus TCP device (pymodbus's own server) in a background thread: the live simulator's PLC,
and the tests' peer."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from pilotline.connect.net import free_port, wait_port

FC = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}


class ModbusServer:
    def __init__(
        self, *, units: tuple[int, ...] = (1,), port: int | None = None, host: str = "127.0.0.1"
    ) -> None:
        self.host = host
        self.port = port or free_port()
        self.units = units
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: ModbusTcpServer | None = None
        self.thread: threading.Thread | None = None

    def _devices(self) -> list[SimDevice]:
        def block(bits: bool) -> list[SimData]:
            return [
                SimData(
                    0,
                    count=2000,
                    values=False if bits else 0,
                    datatype=DataType.BITS if bits else DataType.REGISTERS,
                )
            ]

        return [
            SimDevice(u, simdata=(block(True), block(True), block(False), block(False)))
            for u in self.units
        ]

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            self.loop = asyncio.new_event_loop()

            async def serve() -> None:
                self.server = ModbusTcpServer(self._devices(), address=(self.host, self.port))
                ready.set()
                await self.server.serve_forever()

            self.loop.run_until_complete(serve())
            self.loop.close()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        ready.wait(5)
        wait_port(self.port, host=self.host)

    def set(self, kind: str, address: int, values: list[Any], unit: int = 1) -> None:
        assert self.loop and self.server
        server = self.server
        asyncio.run_coroutine_threadsafe(
            server.async_setValues(unit, FC[kind], address, values), self.loop
        ).result(5)

    def stop(self) -> None:
        if self.loop and self.server:
            stopping = self.server.shutdown()  # type: ignore[no-untyped-call]
            asyncio.run_coroutine_threadsafe(stopping, self.loop).result(10)
        if self.thread:
            self.thread.join(10)
        self.server = None
