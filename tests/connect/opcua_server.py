"""asyncua's server, run in a thread on 127.0.0.1 for the tests, with optional certificates."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.connect.conftest import free_port, wait_port

NS = "urn:pilotline:test"
NODES = {
    "Press1.State": ua.VariantType.Int32,
    "Press1.Counter": ua.VariantType.UInt32,
    "Press1.Temp": ua.VariantType.Double,
}


def make_certificate(directory: Path, name: str, *, server: bool) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.der", directory / f"{name}.pem"
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    asyncio.run(
        setup_self_signed_certificate(
            key, cert, f"urn:pilotline:{name}", "127.0.0.1", [usage], {"commonName": name}
        )
    )
    return cert, key


class OpcuaServer:
    def __init__(
        self, *, port: int | None = None, certificate: tuple[Path, Path] | None = None
    ) -> None:
        self.port = port or free_port()
        self.url = f"opc.tcp://127.0.0.1:{self.port}/pilotline/"
        self.certificate = certificate
        self.loop: asyncio.AbstractEventLoop | None = None
        self.vars: dict[str, Any] = {}
        self._stop: asyncio.Event | None = None
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        ready = threading.Event()

        def main() -> None:
            self.loop = asyncio.new_event_loop()
            self.loop.run_until_complete(self._serve(ready))
            self.loop.close()

        self.thread = threading.Thread(target=main, daemon=True)
        self.thread.start()
        assert ready.wait(20), "OPC UA server did not start"
        wait_port(self.port)

    async def _serve(self, ready: threading.Event) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        if self.certificate:
            cert, key = self.certificate
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        idx = await server.register_namespace(NS)
        press = await server.nodes.objects.add_object(idx, "Press1")
        for name, vtype in NODES.items():
            var = await press.add_variable(
                ua.NodeId(name, idx), name.split(".")[1], ua.Variant(0, vtype)
            )
            self.vars[name] = var
        self._stop = asyncio.Event()
        async with server:
            ready.set()
            await self._stop.wait()

    def set(self, name: str, value: Any, *, status: int = 0, ts: dt.datetime | None = None) -> None:
        assert self.loop
        var = self.vars[name]
        dv = ua.DataValue(
            Value=ua.Variant(value, NODES[name]),
            StatusCode=ua.StatusCode(status),
            SourceTimestamp=ts or dt.datetime.now(dt.UTC),
        )
        asyncio.run_coroutine_threadsafe(var.write_value(dv), self.loop).result(5)

    def stop(self) -> None:
        if self.loop and self._stop:
            self.loop.call_soon_threadsafe(self._stop.set)
        if self.thread:
            self.thread.join(15)
