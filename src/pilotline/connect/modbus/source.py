"""Modbus TCP source (pymodbus): polls registers and coils, decodes, and hands over changes.

Tags of one unit and register type that sit close together are read in one request. A reading
is handed over when it changes (and after every reconnect), so a 1 Hz poll of a steady machine
does not fill the buffer. A Modbus exception for a tag (bad address, device busy) is "no data"
for that tag; a lost connection is a gap for the whole device.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException, ModbusIOException

from pilotline.connect.base import Found, Intake, Source
from pilotline.connect.modbus.config import ModbusSource as Config
from pilotline.connect.modbus.config import ModbusTag
from pilotline.connect.samples import Sample, Value, now_us
from pilotline.connect.tags import BadValue
from pilotline.errors import SourceUnavailable

log = logging.getLogger(__name__)

_MAX_SPAN = {"holding": 125, "input": 125, "coil": 2000, "discrete": 2000}
_GAP = 8  # read across holes of up to this many registers rather than send another request
_TYPES = {
    "int16": AsyncModbusTcpClient.DATATYPE.INT16,
    "uint16": AsyncModbusTcpClient.DATATYPE.UINT16,
    "int32": AsyncModbusTcpClient.DATATYPE.INT32,
    "uint32": AsyncModbusTcpClient.DATATYPE.UINT32,
    "float32": AsyncModbusTcpClient.DATATYPE.FLOAT32,
    "float64": AsyncModbusTcpClient.DATATYPE.FLOAT64,
}


@dataclass(frozen=True)
class _Read:
    unit: int
    register_type: str
    start: int
    count: int
    tags: tuple[ModbusTag, ...]


def plan_reads(tags: Sequence[ModbusTag], default_unit: int) -> list[_Read]:
    """Group tags into as few requests as the protocol's limits allow."""
    groups: dict[tuple[int, str], list[ModbusTag]] = {}
    for t in tags:
        groups.setdefault(
            (t.unit if t.unit is not None else default_unit, t.register_type), []
        ).append(t)
    reads = []
    for (unit, kind), members in sorted(groups.items()):
        members.sort(key=lambda t: t.address)
        current: list[ModbusTag] = []
        start = end = 0
        for t in members:
            t_end = t.address + t.words
            if current and (t.address - end > _GAP or t_end - start > _MAX_SPAN[kind]):
                reads.append(_Read(unit, kind, start, end - start, tuple(current)))
                current = []
            if not current:
                start = t.address
                end = t_end
            current.append(t)
            end = max(end, t_end)
        if current:
            reads.append(_Read(unit, kind, start, end - start, tuple(current)))
    return reads


def decode(tag: ModbusTag, words: Sequence[int]) -> Any:
    """Registers (or coil bits) → the raw value, with the tag's word and byte order."""
    if tag.type == "bool":
        return bool(words[0])
    regs = list(words)
    if tag.byte_order == "little":
        regs = [((w & 0xFF) << 8) | (w >> 8) for w in regs]
    return AsyncModbusTcpClient.convert_from_registers(
        regs, _TYPES[tag.type], word_order=tag.word_order
    )


class ModbusSource(Source):
    config: Config

    def __init__(self, config: Config, intake: Intake) -> None:
        super().__init__(config, intake)
        self.reads = plan_reads(config.tags, config.unit)

    async def _connect(self) -> AsyncModbusTcpClient:
        c = self.config
        client = AsyncModbusTcpClient(
            c.host, port=c.port, timeout=c.timeout_s, retries=0, reconnect_delay=0
        )
        if not await client.connect():
            client.close()
            raise SourceUnavailable(f"cannot reach the Modbus device at {c.endpoint()}")
        return client

    async def _poll(self, client: AsyncModbusTcpClient) -> dict[str, tuple[Value, str | None]]:
        """Tag name → (raw value or None, error text).

        A device that does not answer the poll's first request within ``timeout_s`` is
        unavailable (a port that accepts connections but speaks no Modbus, a wrong unit id
        behind a gateway); one that answers some requests and not others has errors per tag.
        """
        out: dict[str, tuple[Value, str | None]] = {}
        answered = False
        for r in self.reads:
            call = {
                "holding": client.read_holding_registers,
                "input": client.read_input_registers,
                "coil": client.read_coils,
                "discrete": client.read_discrete_inputs,
            }[r.register_type]
            try:
                response = await call(r.start, count=r.count, device_id=r.unit)
            except ModbusException as exc:
                if not client.connected:
                    raise SourceUnavailable(
                        f"lost the Modbus device at {self.config.endpoint()}: {exc}"
                    ) from None
                if isinstance(exc, ModbusIOException) and not answered:
                    raise SourceUnavailable(
                        f"the Modbus device at {self.config.endpoint()} took the connection but "
                        f"did not answer within {self.config.timeout_s:g} s (unit {r.unit}, "
                        f"{r.register_type} {r.start}); is it a Modbus TCP device, and is the "
                        "unit id right?"
                    ) from None
                for t in r.tags:
                    out[t.name] = (None, str(exc))
                continue
            answered = True
            if response.isError():
                for t in r.tags:
                    out[t.name] = (
                        None,
                        f"device answered with exception code {getattr(response, 'exception_code', '?')}",
                    )
                continue
            words = response.bits if r.register_type in ("coil", "discrete") else response.registers
            for t in r.tags:
                at = t.address - r.start
                out[t.name] = (decode(t, words[at : at + t.words]), None)
        return out

    async def run(self) -> None:
        client = await self._connect()
        self.online()
        last: dict[str, Value] = {}
        tags = {t.name: t for t in self.config.tags}
        try:
            next_at = time.monotonic()
            while True:
                ts = now_us()
                polled = await self._poll(client)
                samples = []
                for name, (raw, error) in polled.items():
                    tag = tags[name]
                    if error:
                        self.intake.reject(name, "device_error", error)
                    try:
                        value = tag.convert(raw)
                    except BadValue as exc:
                        self.intake.reject(name, exc.kind, str(exc))
                        continue
                    if name in last and last[name] == value:
                        continue
                    last[name] = value
                    samples.append(Sample(self.config.name, name, ts, value))
                self.intake.status.received += len(polled)
                self.intake.accept(samples)
                next_at += self.config.poll_s
                delay = next_at - time.monotonic()
                if delay < 0:  # polling takes longer than the interval: do not pile up
                    next_at = time.monotonic()
                    delay = 0
                await asyncio.sleep(delay)
        finally:
            client.close()

    async def probe(self, seconds: float) -> list[Found]:
        client = await self._connect()
        try:
            polled = await self._poll(client)
        finally:
            client.close()
        found = []
        for t in self.config.tags:
            raw, error = polled[t.name]
            where = f"unit {t.unit if t.unit is not None else self.config.unit} {t.register_type} {t.address} ({t.type})"
            found.append(Found(where, t.name, error or repr(raw)))
        return found


SOURCE = ModbusSource
