"""Process values with injected faults: a pump's five signals at 1 Hz, normal running and then a
fault, with the fault's window as the label (1 = faulty), so that the AI module's whole path —
train on the normal start, back-test, shadow mode — can be shown and tested without real data.

Normal running: the load wanders slowly (a random walk pulled back to its mean over about ten
minutes); flow, pressure and current follow it, the temperature follows the current with a lag
of a few minutes, and the vibration rises a little with the load. Each sensor adds its own white
measurement noise. The faults (each between ``start`` and ``end`` of its run):

- ``bearing`` — a bearing wearing: the vibration drifts up (to about 8 times its noise at the
  end) with ever more noise, and the temperature creeps up a little.
- ``valve`` — a valve sticking (stiction): the controller hunts with a period of about 30 s and
  the valve moves only when its demand has left a dead band behind, so the flow sticks and then
  jumps (steps of about 8 times its noise); the pressure moves against the flow.
- ``sensor_drift`` — a sensor drifting: one signal's reading (the pressure by default) gets a
  slowly growing offset (to about 10 times its noise), while the process itself is normal.

Every run is seeded: the same arguments give the same values, bit for bit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from pilotline.ai.data import Dataset, Recording
from pilotline.errors import InputError

SIGNALS = ("vibration", "current", "pressure", "temperature", "flow")
FAULTS = ("bearing", "valve", "sensor_drift")
#: Each sensor's measurement noise (standard deviation, in its own unit).
NOISE = {"vibration": 0.05, "current": 0.15, "pressure": 0.04, "temperature": 0.1, "flow": 0.3}


@dataclass(frozen=True)
class FaultRun:
    """One run: ``seconds`` since the epoch (UTC), ``values`` (rows × :data:`SIGNALS`), the label
    (True inside the fault's window) and the fault's kind and window (rows)."""

    kind: str | None
    seconds: NDArray[np.float64]
    values: NDArray[np.float64]
    label: NDArray[np.bool_]
    start: int | None
    end: int | None

    @property
    def name(self) -> str:
        return f"{self.kind or 'normal'}"

    def recording(self) -> Recording:
        return Recording(
            name=self.name, seconds=self.seconds, values=self.values, label=self.label.copy()
        )

    def table(self) -> pa.Table:
        """As a file: ``datetime`` (UTC), one column per signal, ``anomaly`` (0/1)."""
        times = pa.array((self.seconds * 1e6).astype(np.int64), pa.timestamp("us", "UTC"))
        cols = {"datetime": times}
        cols |= {s: pa.array(self.values[:, j]) for j, s in enumerate(SIGNALS)}
        cols["anomaly"] = pa.array(self.label.astype(np.int64))
        return pa.table(cols)

    def process_values(self, machine: str) -> pa.Table:
        """As the collectors store them: machine, tag, ts (naive UTC), value."""
        n = len(self.seconds)
        ts = pa.array((np.tile(self.seconds, len(SIGNALS)) * 1e6).astype(np.int64))
        return pa.table(
            {
                "machine": [machine] * (n * len(SIGNALS)),
                "tag": np.repeat(np.array(SIGNALS), n).tolist(),
                "ts": ts.cast(pa.timestamp("us")),
                "value": pa.array(self.values.T.reshape(-1)),
            }
        )


def _walk(rng: np.random.Generator, n: int, *, tau_s: float, sd: float) -> NDArray[np.float64]:
    """A slow random wander (AR(1) with time constant ``tau_s``, stationary spread ``sd``)."""
    phi = np.exp(-1.0 / tau_s)
    steps = rng.normal(0.0, sd * np.sqrt(1 - phi * phi), n)
    out = np.empty(n)
    level = rng.normal(0.0, sd)
    for i in range(n):
        level = phi * level + steps[i]
        out[i] = level
    return out


def _lag(x: NDArray[np.float64], tau_s: float) -> NDArray[np.float64]:
    """A first-order lag (the temperature following the current)."""
    a = 1.0 - np.exp(-1.0 / tau_s)
    out = np.empty_like(x)
    y = x[0]
    for i, v in enumerate(x):
        y += a * (v - y)
        out[i] = y
    return out


def simulate_fault(
    kind: str | None,
    *,
    start: dt.datetime,
    rows: int = 3600,
    fault_start: int = 1800,
    fault_rows: int = 900,
    drift_signal: str = "pressure",
    seed: int = 0,
) -> FaultRun:
    """One run of ``rows`` seconds from ``start``: normal running, and (unless ``kind`` is None)
    the fault ``kind`` from row ``fault_start`` for ``fault_rows`` rows."""
    if kind is not None and kind not in FAULTS:
        raise InputError(f"unknown fault {kind!r}; known: {', '.join(FAULTS)}")
    if drift_signal not in SIGNALS:
        raise InputError(f"unknown signal {drift_signal!r}; known: {', '.join(SIGNALS)}")
    if not 60 <= rows <= 30 * 86400:
        raise InputError(
            f"rows = {rows}: expected 60 to {30 * 86400} (a minute to 30 days at 1 Hz)"
        )
    if kind is not None and not (
        fault_start > 0 and fault_rows > 0 and fault_start + fault_rows <= rows
    ):
        raise InputError(
            f"the fault (rows {fault_start} to {fault_start + fault_rows}) must lie inside the "
            f"run's {rows} rows, after its first"
        )
    digest = hashlib.sha256(f"{kind}:{seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:8], "little"))
    load = _walk(rng, rows, tau_s=120.0, sd=1.0)  # in units of its own spread
    flow = 30.0 + 2.0 * load
    pressure = 5.0 - 0.1 * load
    current = 10.0 + 0.6 * load + 0.02 * (flow - 30.0) ** 2
    temperature = 40.0 + _lag(1.5 * (current - 10.0), 120.0)
    vibration = 1.0 + 0.05 * load
    label = np.zeros(rows, dtype=bool)
    a = b = None
    if kind is not None:
        a, b = fault_start, fault_start + fault_rows
        label[a:b] = True
        t = np.arange(b - a, dtype=np.float64)
        p = t / (b - a)  # progress through the fault, 0 to 1
        if kind == "bearing":
            vibration[a:b] += NOISE["vibration"] * (8.0 * p + rng.normal(0, 1 + 4 * p))
            temperature[a:b] += 1.0 * p
            current[a:b] += 0.1 * p
        elif kind == "valve":
            # stiction: the controller hunts (its demand swings around the flow wanted) and the
            # valve moves only when the demand has left it a dead band behind, then jumps there
            demand = flow[a:b] + 3.0 * np.sin(2 * np.pi * t / 30.0)
            moved = np.empty(b - a)
            held = demand[0]
            for i, want in enumerate(demand):
                if abs(want - held) >= 2.5:
                    held = want
                moved[i] = held
            pressure[a:b] -= 0.1 * (moved - flow[a:b])
            flow[a:b] = moved
    values = np.stack([vibration, current, pressure, temperature, flow], axis=1)
    values += rng.normal(0.0, 1.0, values.shape) * np.array([NOISE[s] for s in SIGNALS])
    if kind == "sensor_drift":
        assert a is not None and b is not None
        j = SIGNALS.index(drift_signal)
        values[a:b, j] += NOISE[drift_signal] * 10.0 * np.arange(b - a) / (b - a)
    first = start.astimezone(dt.UTC).timestamp()
    return FaultRun(
        kind=kind,
        seconds=first + np.arange(rows, dtype=np.float64),
        values=values,
        label=label,
        start=a,
        end=b,
    )


def fault_dataset(
    kinds: tuple[str | None, ...] = FAULTS,
    *,
    start: dt.datetime,
    rows: int = 3600,
    seed: int = 0,
) -> Dataset:
    """One run per kind (None: a run without a fault), one after another in time, as a data set
    the back-test reads (train on each run's normal start, e.g. its first 600 rows)."""
    runs = [
        simulate_fault(k, start=start + dt.timedelta(seconds=i * rows), rows=rows, seed=seed)
        for i, k in enumerate(kinds)
    ]
    h = hashlib.sha256()
    for r in runs:
        h.update(r.values.tobytes())
    return Dataset(
        signals=list(SIGNALS),
        recordings=[r.recording() for r in runs],
        fingerprint=h.hexdigest(),
    )


def write_fault_files(
    folder: Path,
    kinds: tuple[str | None, ...] = FAULTS,
    *,
    start: dt.datetime,
    rows: int = 3600,
    seed: int = 0,
) -> list[Path]:
    """The runs of :func:`fault_dataset` as CSV files (``datetime``, signals, ``anomaly``; ``;``
    between fields, as SKAB), one per kind, for ``pilotline ai backtest FOLDER``."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i, k in enumerate(kinds):
        at = start + dt.timedelta(seconds=i * rows)
        run = simulate_fault(k, start=at, rows=rows, seed=seed)
        path = folder / f"{i + 1}-{run.name}.csv"
        pacsv.write_csv(run.table(), path, pacsv.WriteOptions(delimiter=";"))
        out.append(path)
    return out
