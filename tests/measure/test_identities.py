"""Property-based checks of the OEE identities on random shifts."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.ingest import import_table
from pilotline.measure import Measure, waterfall
from pilotline.plant import parse_plant
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT

UTC = dt.UTC
SHIFT = dt.datetime(2026, 3, 2, 6, tzinfo=UTC)
STATES = ["running", "stopped", "no_data"]
REASONS = [None, "breakdown", "changeover", "jam", "break", "mystery"]


@st.composite
def shifts(draw: st.DrawFn) -> tuple[list[tuple[int, str, str | None]], int, int, float]:
    n = draw(st.integers(1, 12))
    offsets = sorted(draw(st.sets(st.integers(-3600, 9 * 3600), min_size=n, max_size=n)))
    states = [(o, draw(st.sampled_from(STATES)), draw(st.sampled_from(REASONS))) for o in offsets]
    total = draw(st.integers(0, 40_000))
    reject = draw(st.integers(0, total))
    ict = draw(st.floats(0.2, 3.0))
    return states, total, reject, ict


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shifts())
def test_oee_identities_hold(
    case: tuple[list[tuple[int, str, str | None]], int, int, float],
) -> None:
    states, total, reject, ict = case
    plant = parse_plant(
        WORKED_EXAMPLE_PLANT.replace("ideal_cycle_s = 1.0", f"ideal_cycle_s = {ict!r}", 1)
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = EmbeddedStore(Path(tmp))
        import_table(
            store,
            plant,
            pa.table(
                {
                    "machine": ["m1"] * len(states),
                    "ts": pa.array(
                        [SHIFT + dt.timedelta(seconds=o) for o, _, _ in states],
                        pa.timestamp("us", "UTC"),
                    ),
                    "state": [s for _, s, _ in states],
                    "reason": pa.array([r for _, _, r in states], pa.string()),
                }
            ),
            kind="states",
        )
        import_table(
            store,
            plant,
            pa.table(
                {
                    "machine": ["m1"],
                    "ts": pa.array([SHIFT + dt.timedelta(hours=1)], pa.timestamp("us", "UTC")),
                    "total": [total],
                    "reject": [reject],
                }
            ),
            kind="counts",
        )
        (row,) = Measure(store, plant).oee(
            start=SHIFT,
            end=SHIFT + dt.timedelta(hours=9),
            by="machine,shift",
            machines=["m1"],
            now=SHIFT + dt.timedelta(days=1),
        )
    good = total - reject
    if row["planned_s"] > 0:
        assert row["oee"] == pytest.approx(good * ict / row["planned_s"])
        if row["run_s"] > 0 and total > 0:
            assert row["oee"] == pytest.approx(
                row["availability"] * row["performance"] * row["quality"]
            )
    steps = waterfall(row)
    losses = sum(s for _, s, kind in steps if kind == "loss")
    assert row["calendar_s"] == 480 * 60
    # Sums of seconds near 28,800 carry float rounding of ~1e-11 s: compare to the microsecond.
    assert row["calendar_s"] + losses == pytest.approx(row["good_ideal_s"], abs=1e-6)
    assert row["planned_s"] + row["not_scheduled_s"] + row["planned_stop_s"] + row[
        "no_data_s"
    ] == pytest.approx(row["calendar_s"], abs=1e-6)
    if row["availability"] is not None:
        assert 0 <= row["availability"] <= 1
