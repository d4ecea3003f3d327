"""Checks across a file's rows, after each cell was read: machines and reason codes the plant
model knows, one row per key, states in order and not overlapping, counts a machine can make.
Repeats that can be merged without guessing (times given to the minute) are merged here, with a
note."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline.ingest.parse import Problems
from pilotline.ingest.phrasing import say
from pilotline.ingest.schemas import FIRST_INTERVAL_S, MAX_PARTS, SLACK_PARTS, SPEED_MARGIN
from pilotline.plant.model import Plant


def _check_machines(table: pa.Table, plant: Plant, problems: Problems) -> dict[str, int]:
    """Every machine the plant model does not know, with its first row; returns them → rows."""
    known = [m.id for _, m in plant.machines]
    unknown_mask = pc.invert(pc.is_in(table["machine"], value_set=pa.array(known, pa.string())))
    unknown_mask = pc.and_(unknown_mask, pc.is_valid(table["machine"]))
    found: dict[str, int] = {}
    if pc.any(unknown_mask).as_py():
        bad = table.filter(unknown_mask)
        first = bad.group_by("machine", use_threads=False).aggregate(
            [("_row", "min"), ("_row", "count")]
        )
        for rec in sorted(first.to_pylist(), key=lambda r: r["_row_min"]):
            found[rec["machine"]] = rec["_row_count"]
            problems.add(
                rec["_row_min"],
                "machine",
                f"unknown machine {rec['machine']!r} ({rec['_row_count']} row(s)); "
                f"plant.toml has {known}; " + say("unknown_machine", problems.surface),
            )
    return found


def unknown_reasons(table: pa.Table, plant: Plant, column: str) -> dict[str, int]:
    """Reason codes (compared as the KPIs compare them: trimmed, lower case) that the plant
    model does not know → rows."""
    if column not in table.column_names:
        return {}
    known = pa.array(list(plant.reason_categories()), pa.string())
    codes = pc.utf8_lower(pc.utf8_trim_whitespace(table[column]))
    mask = pc.and_(pc.is_valid(codes), pc.invert(pc.is_in(codes, value_set=known)))
    if not pc.any(mask).as_py():
        return {}
    counted = (
        pa.table({"code": table[column].filter(mask)})
        .group_by("code")
        .aggregate([("code", "count")])
    )
    return {r["code"]: r["code_count"] for r in counted.to_pylist()}


def _check_duplicates(table: pa.Table, keys: list[str], problems: Problems, what: str) -> None:
    """Rows with the same key; ``table`` must be sorted by ``keys`` (neighbours are compared)."""
    if table.num_rows < 2:
        return
    same: Any = None
    for key in keys:
        col = table[key]
        eq = pc.fill_null(pc.equal(col.slice(1), col.slice(0, table.num_rows - 1)), False)
        same = eq if same is None else pc.and_(same, eq)
    repeat = np.flatnonzero(np.asarray(same.to_numpy(zero_copy_only=False)))
    if repeat.size == 0:
        return
    rows = table["_row"].to_numpy()
    for i in repeat[:20]:
        first, again = sorted((int(rows[i]), int(rows[i + 1])))
        problems.add(
            again,
            None,
            f"repeats row {first}: the same {what} appears twice; keep one row per {what}",
        )
    problems.total += max(0, repeat.size - 20)


def _check_order(table: pa.Table, start: str, end: str, problems: Problems) -> None:
    if end not in table.column_names:
        return
    bad = pc.fill_null(pc.less(table[end], table[start]), False)
    if pc.any(bad).as_py():
        wrong = table.filter(bad)
        for rec in wrong.slice(0, 20).to_pylist():
            problems.add(
                rec["_row"], end, f"ends ({rec[end]} UTC) before it starts ({rec[start]} UTC)"
            )
        problems.total += max(0, wrong.num_rows - 20)


def _check_state_overlaps(table: pa.Table, problems: Problems) -> None:
    if "end" not in table.column_names:
        return
    m = table["machine"].to_numpy(zero_copy_only=False)
    starts = table["ts"].to_numpy(zero_copy_only=False)
    ends = table["end"].to_numpy(zero_copy_only=False)
    rows = table["_row"].to_numpy()
    same = m[1:] == m[:-1]
    has_end = ~np.isnat(ends[:-1])
    overlap = same & has_end & (ends[:-1] > starts[1:])
    problems.total += max(0, int(overlap.sum()) - 20)
    for i in np.flatnonzero(overlap)[:20]:
        problems.add(
            int(rows[i + 1]),
            "ts",
            f"this state starts at {starts[i + 1]} UTC, before the state in row {rows[i]} "
            f"ends ({ends[i]} UTC): states of one machine must not overlap",
        )


def _to_the_minute(col: pa.ChunkedArray | pa.Array) -> bool:
    """Whether every time in ``col`` is on a whole minute: the file gives times to the minute
    (as exports with a format such as '%d.%m.%Y %H:%M' do)."""
    us = pc.cast(pc.drop_null(col), pa.int64())
    if len(us) == 0:
        return False
    return not pc.any(pc.not_equal(pc.remainder(us, 60_000_000), 0)).as_py()


def _merge_repeats(table: pa.Table, kind: str, notes: list[str]) -> pa.Table:
    """Rows of one machine at one time that can be merged without guessing. ``table`` is sorted
    by machine, time and file row. A states row that repeats the one before exactly is kept
    once. When the file gives times to the minute, states of one machine in one minute keep
    the last (the earlier ones lasted less than the minute the file can show), and counts in
    one minute are added up (they are increments). Anything else stays for the duplicate check."""
    if kind not in ("states", "counts") or table.num_rows < 2:
        return table
    machine = table["machine"].to_numpy(zero_copy_only=False)
    us = np.asarray(
        pc.fill_null(pc.cast(table["ts"], pa.int64()), -1).to_numpy(zero_copy_only=False)
    )
    same = (machine[1:] == machine[:-1]) & (us[1:] == us[:-1]) & (us[1:] >= 0)
    if not same.any():
        return table
    minute = _to_the_minute(table["ts"])
    if kind == "states":
        rest = [c for c in ("state", "reason", "end") if c in table.column_names]
        identical = same.copy()
        for c in rest:
            col = table[c]
            eq = pc.fill_null(pc.equal(col.slice(1), col.slice(0, table.num_rows - 1)), False)
            both_null = pc.and_(
                pc.is_null(col.slice(1)), pc.is_null(col.slice(0, table.num_rows - 1))
            )
            identical &= np.asarray(pc.or_(eq, both_null).to_numpy(zero_copy_only=False))
        drop = identical | (same if minute else np.zeros_like(same))
        if not drop.any():
            return table
        keep = np.r_[~drop, True]
        exact, merged = int(identical.sum()), int((drop & ~identical).sum())
        if exact:
            notes.append(f"{exact:,} row(s) repeat the row before exactly; each was kept once")
        if merged:
            notes.append(
                f"{merged:,} state change(s) came less than a minute before the next one of the "
                "same machine (the file gives times to the minute); the later state of each "
                "minute was kept"
            )
        return table.filter(pa.array(keep))
    if not minute:
        return table
    text = [c for c in ("product", "work_order", "reject_reason") if c in table.column_names]
    sums = [c for c in ("total", "reject", "rework") if c in table.column_names]
    grouped = table.group_by(["machine", "ts"], use_threads=False).aggregate(
        [(c, "sum") for c in sums]
        + [("_row", "max"), ("_row", "count")]
        + [(c, "count_distinct") for c in text]
        + [(c, "first") for c in text]
    )
    if any(pc.any(pc.greater(grouped[f"{c}_count_distinct"], 1)).as_py() for c in text):
        return table  # one minute with two products or orders: said by the duplicate check
    added = int(pc.sum(pc.subtract(grouped["_row_count"], 1)).as_py() or 0)
    notes.append(
        f"{added:,} count row(s) shared a minute with another row of the same machine (the file "
        "gives times to the minute); their parts were added up"
    )
    out = {"_row": grouped["_row_max"], "machine": grouped["machine"], "ts": grouped["ts"]}
    out |= {c: grouped[f"{c}_sum"] for c in sums}
    out |= {c: grouped[f"{c}_first"] for c in text}
    return pa.table(out).sort_by([("machine", "ascending"), ("ts", "ascending")])


def validate(
    table: pa.Table, kind: str, plant: Plant, problems: Problems, notes: list[str]
) -> tuple[pa.Table, dict[str, int]]:
    """Checks across rows; returns the table in key order and the unknown machines."""
    unknown: dict[str, int] = {}
    if "machine" in table.column_names:
        unknown = _check_machines(table, plant, problems)
    ts = "start" if kind in ("reasons", "orders") else "ts"
    keys = {"orders": ["work_order", "machine", "start"]}.get(kind, ["machine", ts])
    if not set(keys) <= set(table.column_names):
        return table, unknown  # a required column is missing: said already
    order = dict.fromkeys(["machine", ts, *keys, "_row"])
    table = table.sort_by([(k, "ascending") for k in order])
    table = _merge_repeats(table, kind, notes)
    _check_duplicates(
        table,
        keys,
        problems,
        "work order on a machine at one start time" if kind == "orders" else "machine and time",
    )
    if kind == "states":
        _check_order(table, "ts", "end", problems)
        _check_state_overlaps(table, problems)
    elif kind in ("reasons", "orders"):
        _check_order(table, "start", "end", problems)
    elif kind == "counts":
        for col, of in (("reject", "total"), ("rework", "reject")):
            if col in table.column_names and of in table.column_names:
                bad = pc.fill_null(pc.greater(table[col], table[of]), False)
                wrong = table.filter(bad)
                for rec in wrong.slice(0, 20).to_pylist():
                    problems.add(
                        rec["_row"],
                        col,
                        f"{rec[col]} is more than {of} ({rec[of]}); "
                        f"{col} parts are part of the {of}",
                    )
                problems.total += max(0, wrong.num_rows - 20)
        if "total" in table.column_names:
            _check_rates(table, plant, problems)
    return table, unknown


def min_cycle(plant: Plant) -> dict[str, float]:
    """Each machine's shortest ideal cycle time (its own, or a product's on it)."""
    out = {m.id: m.ideal_cycle_s for _, m in plant.machines}
    for product in plant.products:
        for machine, seconds in product.ideal_cycle_s.items():
            out[machine] = min(out.get(machine, seconds), seconds)
    return out


def rate_limits(ict: float, seconds: np.ndarray) -> np.ndarray:
    """The most parts a machine with ideal cycle ``ict`` can plausibly count in intervals of
    ``seconds``: :data:`SPEED_MARGIN` times its ideal rate, plus :data:`SLACK_PARTS`."""
    limit = np.floor(SPEED_MARGIN * np.maximum(seconds, 0.0) / ict) + SLACK_PARTS
    return np.asarray(np.minimum(limit, float(MAX_PARTS)), dtype=np.int64)


def intervals_s(ts_us: np.ndarray, previous_us: int | None) -> np.ndarray:
    """Seconds since the reading before each one (one machine, in time order); the first row
    uses ``previous_us``, or the next interval and at least :data:`FIRST_INTERVAL_S`."""
    seconds = np.empty(len(ts_us), dtype=float)
    if len(ts_us) == 0:
        return seconds
    seconds[1:] = np.diff(ts_us) / 1e6
    if previous_us is not None:
        seconds[0] = (ts_us[0] - previous_us) / 1e6
    else:
        seconds[0] = max(seconds[1] if len(ts_us) > 1 else 0.0, FIRST_INTERVAL_S)
    return seconds


def too_many_parts(
    machine: str, parts: int, seconds: float, ict: float, limit: int, column: str
) -> str:
    return (
        f"{parts:,} parts in {seconds:,.0f} s is more than {SPEED_MARGIN} × what {machine!r} "
        f"makes at its ideal cycle time ({ict:g} s per part): at most {limit:,}; check the "
        f"{column}, or the ideal cycle time in plant.toml"
    )


def _check_rates(table: pa.Table, plant: Plant, problems: Problems) -> None:
    """A count above what its machine can make in the interval is a problem at its row.
    ``table`` is sorted by machine and time."""
    if table.num_rows == 0:
        return  # nothing counted (a shutdown): nothing to check
    cycles = min_cycle(plant)
    machines = table["machine"].to_numpy(zero_copy_only=False)
    ts = np.asarray(
        pc.fill_null(pc.cast(table["ts"], pa.int64()), 0).to_numpy(zero_copy_only=False)
    )
    total = np.asarray(pc.fill_null(table["total"], 0).to_numpy(zero_copy_only=False))
    rows = table["_row"].to_numpy()
    bounds = np.flatnonzero(machines[1:] != machines[:-1]) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, len(machines)], strict=True):
        machine = machines[lo]
        if machine not in cycles:
            continue  # an unknown machine: said already
        seconds = intervals_s(ts[lo:hi], None)
        limit = rate_limits(cycles[machine], seconds)
        over = np.flatnonzero(total[lo:hi] > limit)
        for i in over:
            problems.add(
                int(rows[lo + i]),
                "total",
                too_many_parts(
                    machine, int(total[lo + i]), seconds[i], cycles[machine], limit[i], "count"
                ),
            )
