"""The live plant: the simulator's machines served over OPC UA, Modbus TCP and MQTT in real time.

Small plants mix protocols, so the machines are shared out among the endpoints that are switched on
(with all three: the first machine speaks OPC UA, the second Modbus, the third MQTT, and so on).
What a machine does is a working shift from the simulator, replayed at wall-clock speed from the
moment the live plant starts, so there is something to see at any hour. :func:`collect_config`
writes the collector configuration that reads it all back.

Per machine:

* OPC UA: ``ns=2;s=<machine>.State`` (Int32 state code), ``.Parts`` and ``.Rejects`` (UInt32 counters).
* Modbus (unit 1): holding register ``100·k`` state code, ``100·k+2`` parts and ``100·k+4`` rejects
  as uint32, most significant word first (``k`` = the machine's number among Modbus machines).
* MQTT: topic ``plant/<machine>``, JSON ``{"ts", "state", "parts", "rejects"}`` on every change.
"""

from __future__ import annotations

import bisect
import datetime as dt
import time
from dataclasses import dataclass

import numpy as np

from pilotline import clock
from pilotline.connect.modbus.server import ModbusServer
from pilotline.connect.mqtt.publish import Publisher
from pilotline.connect.opcua.server import OpcuaServer
from pilotline.plant.calendar import shift_instances
from pilotline.plant.model import Plant
from pilotline.sim.plant import simulate

PROTOCOLS = ("opcua", "modbus", "mqtt")


def state_codes(plant: Plant) -> dict[str, str]:
    """Code → meaning: 0 stopped, 1 running, then every reason code from 10 up."""
    codes = {"0": "stopped", "1": "running"}
    for k, reason in enumerate(sorted(plant.reason_categories())):
        codes[str(10 + k)] = reason
    return codes


@dataclass(frozen=True)
class Reading:
    code: int
    parts: int
    rejects: int


class LivePlant:
    """Where every machine is at a wall-clock moment."""

    def __init__(
        self, plant: Plant, *, start: dt.datetime, hours: float = 8.0, seed: int = 1
    ) -> None:
        self.start = start
        by_code = {v: int(k) for k, v in state_codes(plant).items()}
        self.reference = self._busy_moment(plant, start)
        sim = simulate(
            plant,
            start=self.reference - dt.timedelta(hours=1),
            end=self.reference + dt.timedelta(hours=hours),
            seed=seed,
        )
        self.machines = [m.id for _, m in plant.machines]
        self._states: dict[str, tuple[list[float], list[int]]] = {
            m: ([], []) for m in self.machines
        }
        for m, ts, state, reason in zip(
            sim.states["machine"].to_pylist(),
            sim.states["ts"].to_pylist(),
            sim.states["state"].to_pylist(),
            sim.states["reason"].to_pylist(),
            strict=True,
        ):
            code = (
                by_code.get((reason or "").lower(), by_code["stopped"]) if state != "running" else 1
            )
            self._states[m][0].append(ts.timestamp())
            self._states[m][1].append(code)
        self._counts: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        machine_col = np.array(sim.counts["machine"].to_pylist())
        ts_s = sim.counts["ts"].cast("int64").to_numpy() / 1e6
        for m in self.machines:
            sel = machine_col == m
            order = np.argsort(ts_s[sel])
            self._counts[m] = (
                ts_s[sel][order],
                np.cumsum(sim.counts["total"].to_numpy()[sel][order]),
                np.cumsum(sim.counts["reject"].to_numpy()[sel][order]),
            )

    @staticmethod
    def _busy_moment(plant: Plant, start: dt.datetime) -> dt.datetime:
        """The start of a recent shift: the simulated behaviour is replayed from there."""
        _, machine = plant.machines[0]
        line = next(line for line, m in plant.machines if m is machine)
        shifts = shift_instances(
            plant.calendar_of(line, machine), plant.tz, start - dt.timedelta(days=14), start
        )
        past = [s for s in shifts if s.end <= start]
        return past[-1].start + dt.timedelta(minutes=5) if past else start

    def at(self, moment: dt.datetime) -> dict[str, Reading]:
        t = (self.reference + (moment - self.start)).timestamp()
        out = {}
        for m in self.machines:
            times, codes = self._states[m]
            i = bisect.bisect_right(times, t) - 1
            code = codes[i] if i >= 0 else 0
            minutes, parts, rejects = self._counts[m]
            j = int(np.searchsorted(minutes, t, side="right"))  # minutes that have begun
            done_parts = int(parts[j - 2]) if j >= 2 else 0
            done_rej = int(rejects[j - 2]) if j >= 2 else 0
            if j >= 1:  # the current minute's parts appear as the minute goes by
                frac = min(1.0, max(0.0, (t - minutes[j - 1]) / 60))
                done_parts += int((int(parts[j - 1]) - done_parts) * frac)
                done_rej += int((int(rejects[j - 1]) - done_rej) * frac)
            out[m] = Reading(code, done_parts, done_rej)
        return out


def assign(machines: list[str], protocols: list[str]) -> dict[str, str]:
    """Machine → the protocol it speaks, shared out in turn."""
    return {m: protocols[k % len(protocols)] for k, m in enumerate(machines)}


class LiveEndpoints:
    """The running servers and the publisher; :meth:`update` writes one moment into them."""

    def __init__(
        self,
        plant: Plant,
        *,
        opcua_port: int | None = None,
        modbus_port: int | None = None,
        mqtt: tuple[str, int] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.host = host
        self.protocols = [
            p
            for p, on in zip(PROTOCOLS, (opcua_port, modbus_port, mqtt), strict=True)
            if on is not None
        ]
        if not self.protocols:
            raise ValueError("switch on at least one of --opcua, --modbus, --mqtt")
        self.speaks = assign([m.id for _, m in plant.machines], self.protocols)
        self.modbus_index = {
            m: k for k, m in enumerate(m for m, p in self.speaks.items() if p == "modbus")
        }
        self.opcua = self.modbus = None
        self.mqtt = None
        self.mqtt_address = mqtt
        if opcua_port is not None:
            nodes: dict[str, str] = {}
            for m, p in self.speaks.items():
                if p == "opcua":
                    nodes |= {
                        f"{m}.State": "int32",
                        f"{m}.Parts": "uint32",
                        f"{m}.Rejects": "uint32",
                    }
            self.opcua = OpcuaServer(nodes, port=opcua_port, host=host)
            self.opcua.start()
        if modbus_port is not None:
            self.modbus = ModbusServer(port=modbus_port, host=host)
            self.modbus.start()
        if mqtt is not None:
            self.mqtt = Publisher(*mqtt)
        self._last: dict[str, Reading] = {}

    def update(self, readings: dict[str, Reading], now: dt.datetime) -> None:
        for m, r in readings.items():
            if self._last.get(m) == r:
                continue
            self._last[m] = r
            p = self.speaks[m]
            if p == "opcua" and self.opcua:
                self.opcua.set(f"{m}.State", r.code, ts=now)
                self.opcua.set(f"{m}.Parts", r.parts, ts=now)
                self.opcua.set(f"{m}.Rejects", r.rejects, ts=now)
            elif p == "modbus" and self.modbus:
                base = 100 * self.modbus_index[m]
                words = [
                    r.code,
                    0,
                    r.parts >> 16,
                    r.parts & 0xFFFF,
                    r.rejects >> 16,
                    r.rejects & 0xFFFF,
                ]
                self.modbus.set("holding", base, words)
            elif p == "mqtt" and self.mqtt:
                self.mqtt.publish(
                    f"plant/{m}",
                    {
                        "ts": now.isoformat(),
                        "state": r.code,
                        "parts": r.parts,
                        "rejects": r.rejects,
                    },
                    retain=True,  # a collector that starts later sees the latest at once
                )

    def close(self) -> None:
        if self.opcua:
            self.opcua.stop()
        if self.modbus:
            self.modbus.stop()
        if self.mqtt:
            self.mqtt.close()


def collect_config(plant: Plant, endpoints: LiveEndpoints) -> str:
    """The collector configuration (TOML) that reads the live plant back."""
    codes = ", ".join(f'"{k}" = "{v}"' for k, v in state_codes(plant).items())
    out = [
        "# Written by `pilotline sim live`: reads the simulated plant's machines.",
        "forward_every_s = 1.0",
    ]
    host = endpoints.host
    for p in endpoints.protocols:
        machines = [m for m, q in endpoints.speaks.items() if q == p]
        if p == "opcua" and endpoints.opcua:
            out.append(
                f'\n[[source]]\nkind = "opcua"\nname = "opcua"\nurl = "{endpoints.opcua.url}"'
            )
            for m in machines:
                out.append(_tag(m, "state", "state", f'node = "ns=2;s={m}.State"', codes))
                out.append(
                    _tag(m, "parts", "part_counter", f'node = "ns=2;s={m}.Parts"\nbits = 32')
                )
                out.append(
                    _tag(m, "rejects", "reject_counter", f'node = "ns=2;s={m}.Rejects"\nbits = 32')
                )
        elif p == "modbus" and endpoints.modbus:
            out.append(
                f'\n[[source]]\nkind = "modbus"\nname = "modbus"\nhost = "{host}"\nport = {endpoints.modbus.port}\npoll_s = 1.0'
            )
            for m in machines:
                base = 100 * endpoints.modbus_index[m]
                out.append(_tag(m, "state", "state", f"address = {base}", codes))
                out.append(
                    _tag(
                        m,
                        "parts",
                        "part_counter",
                        f'address = {base + 2}\ntype = "uint32"\nbits = 32',
                    )
                )
                out.append(
                    _tag(
                        m,
                        "rejects",
                        "reject_counter",
                        f'address = {base + 4}\ntype = "uint32"\nbits = 32',
                    )
                )
        elif p == "mqtt" and endpoints.mqtt_address:
            mhost, mport = endpoints.mqtt_address
            out.append(
                f'\n[[source]]\nkind = "mqtt"\nname = "mqtt"\nhost = "{mhost}"\nport = {mport}\nclient_id = "pilotline-live-demo"'
            )
            for m in machines:
                common = f'topic = "plant/{m}"\nts_path = "ts"'
                out.append(_tag(m, "state", "state", f'{common}\npath = "state"', codes))
                out.append(_tag(m, "parts", "part_counter", f'{common}\npath = "parts"\nbits = 32'))
                out.append(
                    _tag(m, "rejects", "reject_counter", f'{common}\npath = "rejects"\nbits = 32')
                )
    return "\n".join(out) + "\n"


def _tag(machine: str, what: str, role: str, address: str, codes: str | None = None) -> str:
    states = f"\nstates = {{ {codes} }}" if codes else ""
    return f'\n[[source.tag]]\nname = "{machine} {what}"\nmachine = "{machine}"\nrole = "{role}"\n{address}{states}'


def run_live(
    endpoints: LiveEndpoints, live: LivePlant, *, seconds: float | None, tick_s: float = 1.0
) -> None:
    """Update the endpoints every ``tick_s`` until ``seconds`` have passed (or forever)."""
    end = None if seconds is None else time.monotonic() + seconds
    while end is None or time.monotonic() < end:
        now = clock.now()
        endpoints.update(live.at(now), now)
        time.sleep(tick_s)
