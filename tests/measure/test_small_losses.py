"""Micro-stops and slow cycles, worked out by hand on one machine."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest

from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT

T0 = dt.datetime(2026, 3, 2, 7, tzinfo=dt.UTC)


def at(seconds: int) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_minor_stops_and_slow_cycles(tmp_path: Path) -> None:
    plant = parse_plant(
        WORKED_EXAMPLE_PLANT.replace("ideal_cycle_s = 1.0", "ideal_cycle_s = 2.0", 1)
    )
    store = EmbeddedStore(tmp_path)
    # run 0–600, a 60 s stop (minor: ≤ 120 s), run 660–1200, a 300 s stop, run 1500–2400
    states = [
        (0, "running"),
        (600, "stopped"),
        (660, "running"),
        (1200, "stopped"),
        (1500, "running"),
        (2400, "no_data"),
    ]
    import_table(
        store,
        plant,
        pa.table(
            {
                "machine": ["m1"] * len(states),
                "ts": pa.array([at(s) for s, _ in states], pa.timestamp("us", "UTC")),
                "state": [x for _, x in states],
            }
        ),
        kind="states",
    )
    # parts counted at 600 (300 in 600 s of running: 2.0 s, ideal), at 1200 (200 parts in 540 s of
    # running: 2.7 s, slow, 140 s lost) and at 2400 (450 parts in 900 s of running: 2.0 s)
    counts = [(0, 1), (600, 300), (1200, 200), (2400, 450)]
    import_table(
        store,
        plant,
        pa.table(
            {
                "machine": ["m1"] * len(counts),
                "ts": pa.array([at(s) for s, _ in counts], pa.timestamp("us", "UTC")),
                "total": [n for _, n in counts],
                "reject": [0] * len(counts),
            }
        ),
        kind="counts",
    )
    got = Measure(store, plant).small_losses(machine="m1", start=T0, end=at(2400))
    assert [(s["seconds"], s["category"]) for s in got["stops"]] == [
        (60.0, "minor_stop"),
        (300.0, "unexplained"),
    ]
    assert got["minor_stops"] == 1 and got["minor_stop_s"] == 60.0
    assert [(c["parts"], c["cycle_s"], c["slow"]) for c in got["cycles"]] == [
        (300, 2.0, False),
        (200, pytest.approx(2.7), True),
        (450, 2.0, False),
    ]
    assert got["slow_intervals"] == 1
    assert got["slow_loss_s"] == pytest.approx(140.0)
    assert got["speed_loss_s"] == pytest.approx(140.0)
