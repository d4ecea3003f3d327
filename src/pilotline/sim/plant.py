"""A virtual plant: machine states and per-minute part counts, deterministic for a seed.

Machines run in their shifts, stop for breaks, break down (with reasons), change over between
orders, jam for short minor stops, run slow for spells, scrap parts (more just after a start),
and follow a weekly rhythm (Monday mornings start badly, Friday afternoons drift). Some long
stops carry no reason, as on a real shop floor, so that operators have something to explain.

The output has exactly the shapes of the ``states`` and ``counts`` files the importer reads.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from pilotline.plant.calendar import ShiftInstance, shift_instances
from pilotline.plant.model import Plant

BREAKDOWN_REASONS = ("mechanical fault", "electrical fault", "tool failure", "waiting for material")
UTC_US = pa.timestamp("us", "UTC")


@dataclass(frozen=True)
class Behaviour:
    """How a simulated machine behaves; every machine gets its own jittered copy."""

    mean_minutes_between_events: float = 11.0
    p_minor: float = 0.62
    p_breakdown: float = 0.12
    p_changeover: float = 0.08
    p_unexplained: float = 0.05
    p_slow: float = 0.13
    normal_speed: float = 0.93  # share of ideal speed when running normally
    slow_speed: float = 0.70
    reject_rate: float = 0.012
    startup_reject_rate: float = 0.09
    startup_minutes: float = 8.0


@dataclass(frozen=True)
class Simulation:
    states: pa.Table
    counts: pa.Table


WEEKDAY_STOP_FACTOR = (1.35, 1.0, 0.95, 1.0, 1.2, 1.1, 1.1)


StateRows = tuple[list[float], list[str], list[str | None]]
MinuteCounts = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _machine(
    index: int, ict: float, instances: list[ShiftInstance], seed: int, end: dt.datetime
) -> tuple[StateRows, MinuteCounts]:
    """One machine's state changes (times in epoch seconds) and per-minute counts."""
    rng = np.random.default_rng([seed, index])
    b = Behaviour()
    quality = rng.uniform(0.6, 1.6)
    reliability = rng.uniform(0.7, 1.4)
    st_t: list[float] = []
    st_state: list[str] = []
    st_reason: list[str | None] = []
    # (start, end, rate parts/s, reject probability) for running spells
    runs: list[tuple[float, float, float, float]] = []

    def state(t: float, s: str, reason: str | None) -> None:
        if st_t and t <= st_t[-1]:  # a new state at the same instant replaces the last one
            st_t.pop(), st_state.pop(), st_reason.pop()
        if st_state and st_state[-1] == s and st_reason[-1] == reason:
            return
        st_t.append(t)
        st_state.append(s)
        st_reason.append(reason)

    for inst in instances:
        s0, s1 = inst.start.timestamp(), inst.end.timestamp()
        breaks = [(a.timestamp(), z.timestamp()) for a, z in inst.breaks]
        factor = WEEKDAY_STOP_FACTOR[inst.production_date.weekday()] * reliability
        mean_gap = b.mean_minutes_between_events * 60 / factor
        t = s0
        startup_until = s0 + b.startup_minutes * 60 * (
            2 if inst.production_date.weekday() == 0 else 1
        )
        while t < s1:
            brk = next(((a, z) for a, z in breaks if a >= t), None)
            run_for = rng.exponential(mean_gap)
            slow = rng.random() < b.p_slow
            speed = b.slow_speed if slow else b.normal_speed * rng.uniform(0.97, 1.03)
            stop_at = min(t + run_for, s1, brk[0] if brk else s1)
            state(t, "running", None)
            p_rej = b.reject_rate * quality
            if t < startup_until:
                edge = min(startup_until, stop_at)
                runs.append((t, edge, speed / ict, b.startup_reject_rate * quality))
                if edge < stop_at:
                    runs.append((edge, stop_at, speed / ict, p_rej))
            else:
                runs.append((t, stop_at, speed / ict, p_rej))
            t = stop_at
            if t >= s1:
                break
            if brk and t >= brk[0]:
                state(brk[0], "stopped", "break")
                t = brk[1]
                continue
            u = rng.random()
            if u < b.p_minor:
                state(t, "stopped", None if rng.random() < 0.8 else "jam")
                t += rng.uniform(15, 110)
            elif u < b.p_minor + b.p_breakdown:
                state(t, "stopped", str(rng.choice(BREAKDOWN_REASONS)))
                t += rng.lognormal(np.log(14 * 60), 0.6)
                startup_until = t + b.startup_minutes * 60 / 2
            elif u < b.p_minor + b.p_breakdown + b.p_changeover:
                state(t, "stopped", "changeover")
                t += rng.uniform(15, 40) * 60
                startup_until = t + b.startup_minutes * 60
            elif u < b.p_minor + b.p_breakdown + b.p_changeover + b.p_unexplained:
                state(t, "stopped", None)
                t += rng.uniform(3, 12) * 60
            else:
                state(t, "stopped", "adjustment")
                t += rng.uniform(2, 6) * 60
            t = min(t, s1)
        state(s1, "stopped", "no orders")
    state(end.timestamp(), "no_data", None)

    return (st_t, st_state, st_reason), _minute_counts(runs, instances, rng)


def _minute_counts(
    runs: list[tuple[float, float, float, float]],
    instances: list[ShiftInstance],
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if not instances:
        empty = np.array([], dtype=np.int64)
        return np.array([], dtype=float), empty, empty, np.array([], dtype=bool)
    minutes = np.concatenate(
        [np.arange(i.start.timestamp() + 60, i.end.timestamp() + 1, 60) for i in instances]
    )
    if not runs:
        zeros = np.zeros(minutes.size, dtype=np.int64)
        return minutes, zeros, zeros, np.zeros(minutes.size, dtype=bool)
    r = np.array(runs)
    # Cumulative production is piecewise linear: flat between spells, slope = rate inside one.
    knots = np.empty(2 * len(r))
    knots[0::2], knots[1::2] = r[:, 0], r[:, 1]
    made = np.zeros(knots.size)
    made[1::2] = (r[:, 1] - r[:, 0]) * r[:, 2]
    cumulative = np.cumsum(made)
    total = np.diff(
        np.floor(np.interp(minutes, knots, cumulative)),
        prepend=np.floor(np.interp(minutes[0] - 60, knots, cumulative)),
    ).astype(np.int64)
    total = np.maximum(total, 0)
    spell = np.clip(np.searchsorted(r[:, 0], minutes - 30, side="right") - 1, 0, len(r) - 1)
    p = r[spell, 3]
    reject = rng.binomial(total, p)
    startup = p > 0.05
    return minutes, total, reject, startup


def simulate(plant: Plant, *, start: dt.datetime, end: dt.datetime, seed: int = 1) -> Simulation:
    """Simulate every machine in the plant from ``start`` to ``end`` (UTC-aware)."""
    cols_s: dict[str, list[Any]] = {"machine": [], "ts": [], "state": [], "reason": []}
    parts_c: list[pa.Table] = []
    for index, (line, machine) in enumerate(plant.machines):
        instances = shift_instances(plant.calendar_of(line, machine), plant.tz, start, end)
        instances = [i for i in instances if i.end <= end]
        (st_t, st_state, st_reason), (minutes, total, reject, startup) = _machine(
            index, machine.ideal_cycle_s, instances, seed, end
        )
        first = (
            [(start.timestamp(), "stopped", "no orders")]
            if not st_t or st_t[0] > start.timestamp()
            else []
        )
        for t, s, r in [*first, *zip(st_t, st_state, st_reason, strict=True)]:
            cols_s["machine"].append(machine.id)
            cols_s["ts"].append(round(t * 1e6))
            cols_s["state"].append(s)
            cols_s["reason"].append(r)
        n = minutes.size
        parts_c.append(
            pa.table(
                {
                    "machine": pa.array([machine.id] * n, pa.string()),
                    "ts": pa.array((minutes * 1e6).astype(np.int64), pa.int64()).cast(UTC_US),
                    "total": pa.array(total, pa.int64()),
                    "reject": pa.array(reject, pa.int64()),
                    "reject_reason": pa.array(
                        [
                            ("startup reject" if s and r > 0 else None)
                            for s, r in zip(startup, reject, strict=True)
                        ],
                        pa.string(),
                    ),
                }
            )
        )
    states = pa.table(
        {
            "machine": pa.array(cols_s["machine"], pa.string()),
            "ts": pa.array(cols_s["ts"], pa.int64()).cast(UTC_US),
            "state": pa.array(cols_s["state"], pa.string()),
            "reason": pa.array(cols_s["reason"], pa.string()),
        }
    )
    counts = pa.concat_tables(parts_c) if parts_c else pa.table({})
    return Simulation(states=states, counts=counts)
