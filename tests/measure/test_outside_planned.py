"""No part is dropped: parts counted in a break or between shifts are kept and shown as parts
outside planned time, with the shift before them, and left out of OEE (ISO 22400 measures it over
planned busy time)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pilotline.ingest import import_file
from pilotline.measure import Measure
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.conftest import write

UTC = dt.UTC
DAY = dt.datetime(2026, 3, 2, tzinfo=UTC)
NEXT = DAY + dt.timedelta(days=1)
LATER = DAY + dt.timedelta(days=2)


@pytest.fixture
def counted(tmp_path: Path, store: EmbeddedStore, worked_plant: Plant) -> Measure:
    """m1's day shift (06:00–14:00, breaks at 08:00, 10:00, 12:00) runs throughout; parts are
    counted in planned time, in the 08:00 break, after the shift and early next morning."""
    write(tmp_path / "s.csv", "machine,ts,state\nm1,2026-03-02T06:00:00Z,running\n")
    write(
        tmp_path / "c.csv",
        """
machine,ts,total,reject
m1,2026-03-02T07:00:00Z,3000,30
m1,2026-03-02T08:10:00Z,70,7
m1,2026-03-02T09:00:00Z,2000,0
m1,2026-03-02T15:00:00Z,40,1
m1,2026-03-03T05:00:00Z,25,0
m1,2026-03-03T07:00:00Z,100,0
""",
    )
    import_file(store, worked_plant, tmp_path / "s.csv")
    import_file(store, worked_plant, tmp_path / "c.csv")
    return Measure(store, worked_plant)


def test_parts_in_breaks_and_between_shifts_belong_to_the_shift_before(counted: Measure) -> None:
    first, second = counted.oee(
        start=DAY, end=LATER, by="machine,shift", machines=["m1"], now=LATER
    )
    assert (first["total_count"], first["reject_count"]) == (5000, 30)
    assert (first["outside_planned_count"], first["outside_planned_reject_count"]) == (135, 8)
    assert (second["total_count"], second["outside_planned_count"]) == (100, 0)
    # OEE and its factors are over planned time only: the worked example's arithmetic holds.
    assert first["oee"] == pytest.approx((5000 - 30) * 1.0 / (420 * 60))
    assert first["oee"] == pytest.approx(
        first["availability"] * first["performance"] * first["quality"]
    )


def test_every_part_is_in_some_row_at_every_grain(counted: Measure) -> None:
    for by in ("machine,shift", "machine,day", "line,week", "site,all", "product,day"):
        rows = counted.oee(start=DAY, end=LATER, by=by, machines=["m1"], now=LATER)
        made = sum(r["total_count"] + r["outside_planned_count"] for r in rows)
        assert made == 3000 + 70 + 2000 + 40 + 25 + 100, by


def test_parts_after_the_last_shift_count_up_to_now(counted: Measure) -> None:
    (row,) = counted.oee(
        start=DAY, end=NEXT, by="machine,shift", machines=["m1"], now=DAY.replace(hour=16)
    )
    assert row["outside_planned_count"] == 70 + 40  # 05:00 next day has not happened yet
