"""An OPC UA server (asyncua's) in a background thread, optionally with certificates: the live
simulator's machine controller, and the tests' peer."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

from asyncua import ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.server.server import Server
from cryptography.x509.oid import ExtendedKeyUsageOID

from pilotline import clock
from pilotline.connect.net import free_port, wait_port

NS = "urn:pilotline:sim"
logging.getLogger("asyncua").setLevel(logging.ERROR)
TYPES = {
    "int32": ua.VariantType.Int32,
    "uint32": ua.VariantType.UInt32,
    "double": ua.VariantType.Double,
}


def make_certificate(directory: Path, name: str, *, server: bool) -> tuple[Path, Path]:
    """A self-signed application certificate (DER) and its key (PEM) for 127.0.0.1."""
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
        self,
        nodes: dict[str, str],
        *,
        port: int | None = None,
        host: str = "127.0.0.1",
        certificate: tuple[Path, Path] | None = None,
        mode: str = "SignAndEncrypt",
    ) -> None:
        """``nodes``: ``Object.Variable`` (a string node id in namespace 2) → int32, uint32 or double."""
        self.nodes = {name: TYPES[t] for name, t in nodes.items()}
        self.host = host
        self.port = port or free_port()
        self.url = f"opc.tcp://{host}:{self.port}/pilotline/"
        self.certificate = certificate
        self.mode = mode  # with a certificate: Sign or SignAndEncrypt (Basic256Sha256)
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
        if not ready.wait(20):
            raise TimeoutError("the OPC UA server did not start within 20 s")
        wait_port(self.port, host=self.host)

    async def _serve(self, ready: threading.Event) -> None:
        server = Server()
        await server.init()
        server.set_endpoint(self.url)
        if self.certificate:
            cert, key = self.certificate
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            policy = getattr(ua.SecurityPolicyType, f"Basic256Sha256_{self.mode}")
            server.set_security_policy([policy])
        idx = await server.register_namespace(NS)
        objects: dict[str, Any] = {}
        for name, vtype in self.nodes.items():
            obj_name, var_name = name.split(".", 1)
            if obj_name not in objects:
                objects[obj_name] = await server.nodes.objects.add_object(idx, obj_name)
            node_id: Any = ua.NodeId(name, idx)  # type: ignore[arg-type]
            self.vars[name] = await objects[obj_name].add_variable(
                node_id, var_name, ua.Variant(0, vtype)
            )
        self._stop = asyncio.Event()
        async with server:
            ready.set()
            await self._stop.wait()

    def set(self, name: str, value: Any, *, status: int = 0, ts: dt.datetime | None = None) -> None:
        """Write a value (with a status code and source time) as the device would."""
        if self.loop is None:
            raise RuntimeError("start the server first")
        dv: Any = ua.DataValue(
            Value=ua.Variant(value, self.nodes[name]),
            StatusCode=ua.StatusCode(status),  # type: ignore[arg-type]
            SourceTimestamp=ts or clock.now(),  # type: ignore[arg-type]
        )
        asyncio.run_coroutine_threadsafe(self.vars[name].write_value(dv), self.loop).result(5)

    def set_many(self, values: dict[str, Any], *, ts: dt.datetime | None = None) -> None:
        """Write several values at once (one hop into the server's thread)."""
        if self.loop is None:
            raise RuntimeError("start the server first")
        stamp = ts or clock.now()

        async def write() -> None:
            for name, value in values.items():
                dv: Any = ua.DataValue(
                    Value=ua.Variant(value, self.nodes[name]),
                    SourceTimestamp=stamp,  # type: ignore[arg-type]
                )
                await self.vars[name].write_value(dv)

        asyncio.run_coroutine_threadsafe(write(), self.loop).result(30)

    def stop(self) -> None:
        if self.loop and self._stop:
            self.loop.call_soon_threadsafe(self._stop.set)
        if self.thread:
            self.thread.join(15)
