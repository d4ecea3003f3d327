"""The demo's live plant: the simulator keeps writing into the store as wall-clock time passes.

``pilotline demo`` simulates the history up to now and a stretch into the future, stores what has
happened, and starts :func:`feed_forever` in a process of its own: every ``every_s`` seconds it
stores the state changes and finished minutes of parts that have happened since. The web app, in
its own process, shows them as they arrive.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pilotline import clock
from pilotline.errors import StoreError
from pilotline.ingest import import_table
from pilotline.plant import Plant, load_plant
from pilotline.sim.plant import Simulation, simulate
from pilotline.store import EmbeddedStore, Store

log = logging.getLogger(__name__)

AHEAD = dt.timedelta(hours=12)


def _between(
    table: pa.Table, lo: dt.datetime | None, hi: dt.datetime, *, shift_s: int = 0
) -> pa.Table:
    ts = table["ts"]
    if shift_s:
        ts = pc.add(ts, pa.scalar(dt.timedelta(seconds=shift_s)))
    mask = pc.less_equal(ts, pa.scalar(hi, pa.timestamp("us", "UTC")))
    if lo is not None:
        mask = pc.and_(mask, pc.greater(ts, pa.scalar(lo, pa.timestamp("us", "UTC"))))
    return table.filter(mask)


def store_until(
    store: Store, plant: Plant, sim: Simulation, lo: dt.datetime | None, hi: dt.datetime
) -> int:
    """Store the states that began, and the minutes of parts that ended, in ``(lo, hi]``."""
    states = _between(sim.states, lo, hi)
    counts = _between(sim.counts, lo, hi, shift_s=60)  # a minute's parts exist once it is over
    n = 0
    if states.num_rows:
        n += import_table(store, plant, states, kind="states", source="live simulator").new_rows
    if counts.num_rows:
        n += import_table(store, plant, counts, kind="counts", source="live simulator").new_rows
    return n


def simulate_ahead(plant: Plant, *, start: dt.datetime, now: dt.datetime, seed: int) -> Simulation:
    return simulate(plant, start=start, end=now + AHEAD, seed=seed)


def feed_forever(home: str, start_iso: str, seed: int, every_s: float = 15.0) -> None:
    """Run in its own process: keep storing what the simulated plant does, until killed."""
    store = EmbeddedStore(Path(home))
    plant = load_plant(Path(home) / "plant.toml")
    start = dt.datetime.fromisoformat(start_iso)
    last = made = clock.now()
    sim = simulate_ahead(plant, start=start, now=last, seed=seed)
    parent = os.getppid()
    while True:
        time.sleep(every_s)
        if os.getppid() != parent:
            return  # the demo ended (even when killed): the plant stops with it
        now = clock.now()
        if now > made + AHEAD / 2:  # running out of simulated future: simulate further ahead
            sim, made = simulate_ahead(plant, start=start, now=now, seed=seed), now
        try:
            store_until(store, plant, sim, last, now)
            last = now
        except StoreError as exc:  # the store is busy: the next round takes this one's rows too
            log.info("live demo: store busy (%s); trying again", exc)
