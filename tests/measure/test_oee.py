"""OEE and the ISO 22400 time model against known answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pilotline.errors import InputError
from pilotline.ingest import import_file
from pilotline.measure import Measure, waterfall
from pilotline.plant import Plant, parse_plant
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT, write

UTC = dt.UTC
DAY = dt.datetime(2026, 3, 2, tzinfo=UTC)
NEXT = DAY + dt.timedelta(days=1)


def _one_shift(measure: Measure, machine: str = "m1") -> dict:
    (row,) = measure.oee(start=DAY, end=NEXT, by="machine,shift", machines=[machine], now=NEXT)
    return row


def test_the_worked_example(tmp_path: Path, store: EmbeddedStore, worked_plant: Plant) -> None:
    """480-min shift, 60 min of breaks, 47 min down, 1 s ideal cycle, 19,271 parts, 423 rejects."""
    write(
        tmp_path / "states.csv",
        """
machine,ts,state,reason
m1,2026-03-02T06:00:00Z,running,
m1,2026-03-02T09:10:00Z,stopped,breakdown
m1,2026-03-02T09:57:00Z,running,
""",
    )
    write(tmp_path / "counts.csv", "machine,ts,total,reject\nm1,2026-03-02T13:59:00Z,19271,423\n")
    import_file(store, worked_plant, tmp_path / "states.csv")
    import_file(store, worked_plant, tmp_path / "counts.csv")
    row = _one_shift(Measure(store, worked_plant))
    assert row["planned_s"] == 420 * 60
    assert row["run_s"] == 373 * 60
    assert round(row["availability"] * 100, 2) == 88.81
    assert round(row["performance"] * 100, 2) == 86.11
    assert round(row["quality"] * 100, 2) == 97.80
    assert round(row["oee"] * 100, 2) == 74.79
    assert row["oee"] == pytest.approx(row["availability"] * row["performance"] * row["quality"])
    assert (row["total_count"], row["good_count"], row["reject_count"]) == (19271, 18848, 423)
    assert row["failures"] == 1
    assert row["mttr_s"] == 47 * 60
    assert row["period_start"] == dt.datetime(2026, 3, 2, 6, tzinfo=UTC)
    assert row["period_end"] == dt.datetime(2026, 3, 2, 14, tzinfo=UTC)
    steps = {label: s for label, s, _ in waterfall(row)}
    assert steps["Calendar time"] == 480 * 60
    assert steps["Fully productive time"] == 18848


def test_rollup_adds_times_and_never_averages_ratios(tmp_path: Path, store: EmbeddedStore) -> None:
    plant = parse_plant(
        WORKED_EXAMPLE_PLANT.replace(
            "[[lines]]",
            '[[calendars]]\nname = "short"\n  [[calendars.shifts]]\n  name = "Short"\n  start = "06:00"\n'
            '  end = "08:00"\n  days = ["mon"]\n[[calendars]]\nname = "long"\n  [[calendars.shifts]]\n'
            '  name = "Long"\n  start = "06:00"\n  end = "12:00"\n  days = ["mon"]\n\n[[lines]]',
            1,
        )
        .replace('id = "m1"', 'id = "m1"\n  calendar = "short"')
        .replace('id = "m2"', 'id = "m2"\n  calendar = "long"')
    )
    write(
        tmp_path / "s.csv",
        "machine,ts,state\nm1,2026-03-02T06:00:00Z,running\nm2,2026-03-02T06:00:00Z,running\n",
    )
    # OEE 0.80 over 2 planned hours and 0.45 over 6 planned hours (ideal cycle 1 s, no rejects).
    write(
        tmp_path / "c.csv",
        "machine,ts,total\nm1,2026-03-02T07:00:00Z,5760\nm2,2026-03-02T07:00:00Z,9720\n",
    )
    import_file(store, plant, tmp_path / "s.csv")
    import_file(store, plant, tmp_path / "c.csv")
    m = Measure(store, plant)
    by_machine = {r["machine"]: r for r in m.oee(start=DAY, end=NEXT, by="machine", now=NEXT)}
    assert by_machine["m1"]["oee"] == pytest.approx(0.80)
    assert by_machine["m2"]["oee"] == pytest.approx(0.45)
    (line,) = m.oee(start=DAY, end=NEXT, by="line", now=NEXT)
    assert line["oee"] == pytest.approx(0.5375)
    assert line["planned_s"] == 8 * 3600


def test_night_shift_kpis_use_real_elapsed_time_across_dst(
    tmp_path: Path, store: EmbeddedStore, london_plant: Plant
) -> None:
    write(
        tmp_path / "s.csv",
        """
machine,ts,state
n1,2026-03-28T22:00:00+00:00,running
n1,2026-10-24T22:00:00+01:00,running
""",
    )
    write(
        tmp_path / "c.csv",
        "machine,ts,total\nn1,2026-03-29T01:00:00Z,12600\nn1,2026-10-25T01:00:00Z,16200\n",
    )
    import_file(store, london_plant, tmp_path / "s.csv")
    import_file(store, london_plant, tmp_path / "c.csv")
    m = Measure(store, london_plant)
    spring = m.oee(
        start=dt.datetime(2026, 3, 28, 12, tzinfo=UTC),
        end=dt.datetime(2026, 3, 29, 12, tzinfo=UTC),
        by="machine,shift",
        now=dt.datetime(2026, 11, 1, tzinfo=UTC),
    )
    fall = m.oee(
        start=dt.datetime(2026, 10, 24, 12, tzinfo=UTC),
        end=dt.datetime(2026, 10, 25, 12, tzinfo=UTC),
        by="machine,shift",
        now=dt.datetime(2026, 11, 1, tzinfo=UTC),
    )
    assert [r["planned_s"] for r in spring] == [7 * 3600]
    assert [r["planned_s"] for r in fall] == [9 * 3600]
    assert spring[0]["oee"] == pytest.approx(0.5)
    assert fall[0]["oee"] == pytest.approx(0.5)


def test_no_data_is_never_a_breakdown(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    write(
        tmp_path / "s.csv",
        """
machine,ts,state
m1,2026-03-02T07:00:00Z,running
m1,2026-03-02T09:00:00Z,no_data
m1,2026-03-02T11:00:00Z,running
""",
    )
    import_file(store, worked_plant, tmp_path / "s.csv")
    row = _one_shift(Measure(store, worked_plant))
    # 06:00–07:00 has no state at all; 09:00–11:00 is explicitly unknown (minus the 10:00 meal).
    assert row["no_data_s"] == (60 + 90) * 60
    assert row["breakdown_s"] == row["unexplained_s"] == 0
    assert row["availability"] == 1.0
    assert row["planned_s"] == (420 - 150) * 60


def test_short_unexplained_stops_are_minor_stops(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    write(
        tmp_path / "s.csv",
        """
machine,ts,state,reason
m1,2026-03-02T06:00:00Z,running,
m1,2026-03-02T06:30:00Z,stopped,
m1,2026-03-02T06:32:00Z,running,
m1,2026-03-02T07:00:00Z,stopped,
m1,2026-03-02T07:02:01Z,running,
m1,2026-03-02T07:30:00Z,stopped,jam
m1,2026-03-02T07:40:00Z,running,
""",
    )
    import_file(store, worked_plant, tmp_path / "s.csv")
    row = _one_shift(Measure(store, worked_plant))
    assert row["minor_stop_s"] == 120 + 600  # the 120 s stop and the "jam" (a minor-stop reason)
    assert row["unexplained_s"] == 121
    assert row["run_s"] == 420 * 60 - 121


def test_performance_above_100_percent_is_reported_and_flagged(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    write(tmp_path / "s.csv", "machine,ts,state\nm1,2026-03-02T06:00:00Z,running\n")
    write(tmp_path / "c.csv", "machine,ts,total\nm1,2026-03-02T07:00:00Z,30000\n")
    import_file(store, worked_plant, tmp_path / "s.csv")
    import_file(store, worked_plant, tmp_path / "c.csv")
    row = _one_shift(Measure(store, worked_plant))
    assert row["performance"] == pytest.approx(30000 / 25200)
    assert row["performance_flag"] is True


def test_operator_reason_overrides_the_machine_reason(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    write(
        tmp_path / "s.csv",
        """
machine,ts,state,reason
m1,2026-03-02T06:00:00Z,running,
m1,2026-03-02T06:30:00Z,stopped,
m1,2026-03-02T07:00:00Z,running,
m1,2026-03-02T11:00:00Z,stopped,breakdown
m1,2026-03-02T11:20:00Z,running,
""",
    )
    write(
        tmp_path / "r.csv",
        """
machine,start,end,reason
m1,2026-03-02T06:29:00Z,2026-03-02T06:45:00Z,changeover
m1,2026-03-02T10:59:00Z,2026-03-02T11:30:00Z,tool failure
""",
    )
    import_file(store, worked_plant, tmp_path / "s.csv")
    import_file(store, worked_plant, tmp_path / "r.csv")
    m = Measure(store, worked_plant)
    row = _one_shift(m)
    assert row["setup_s"] == 30 * 60
    assert row["unexplained_s"] == 0
    assert row["breakdown_s"] == 20 * 60
    pareto = {r["reason"]: r for r in m.pareto(start=DAY, end=NEXT, now=NEXT)}
    assert set(pareto) == {"changeover", "tool failure"}
    # A later, overlapping entry wins on the overlap; nothing is counted twice.
    write(
        tmp_path / "r2.csv",
        "machine,start,end,reason\nm1,2026-03-02T06:20:00Z,2026-03-02T06:35:00Z,no operator\n",
    )
    import_file(store, worked_plant, tmp_path / "r2.csv")
    row = _one_shift(m)
    assert row["setup_s"] == 0
    assert row["unexplained_s"] == 30 * 60  # "no operator" is not a known reason code here
    assert row["breakdown_s"] == 20 * 60
    with store.session() as s:
        pieces = s.arrow(
            "SELECT start_ts, end_ts, reason FROM operator_reasons ORDER BY start_ts"
        ).to_pylist()
    assert [
        (p["start_ts"].strftime("%H:%M"), p["end_ts"].strftime("%H:%M"), p["reason"])
        for p in pieces
    ] == [
        ("06:20", "06:35", "no operator"),
        ("06:35", "06:45", "changeover"),
        ("10:59", "11:30", "tool failure"),
    ]


def test_kpis_by_work_order_and_product(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    """Two orders split the shift; the slow part's own ideal cycle (2 s) applies to its counts."""
    write(tmp_path / "s.csv", "machine,ts,state\nm1,2026-03-02T06:00:00Z,running\n")
    write(
        tmp_path / "o.csv",
        """
work_order,machine,product,start,end
WO-1,m1,slow-part,2026-03-02T06:00:00Z,2026-03-02T09:00:00Z
WO-2,m1,,2026-03-02T09:00:00Z,
""",
    )
    write(
        tmp_path / "c.csv",
        """
machine,ts,total,reject
m1,2026-03-02T07:00:00Z,4000,0
m1,2026-03-02T12:00:00Z,9000,100
""",
    )
    for name in ("s.csv", "o.csv", "c.csv"):
        import_file(store, worked_plant, tmp_path / name)
    m = Measure(store, worked_plant)
    rows = {
        r["work_order"]: r
        for r in m.oee(start=DAY, end=NEXT, by="work_order", machines=["m1"], now=NEXT)
    }
    assert set(rows) == {"WO-1", "WO-2"}
    # WO-1: 06:00–09:00 minus the 08:00 break = 165 min planned; 4,000 parts × 2 s.
    assert rows["WO-1"]["planned_s"] == 165 * 60
    assert rows["WO-1"]["oee"] == pytest.approx(8000 / (165 * 60))
    # WO-2: the rest of the shift, 255 min; 8,900 good parts × 1 s.
    assert rows["WO-2"]["planned_s"] == 255 * 60
    assert rows["WO-2"]["oee"] == pytest.approx(8900 / (255 * 60))
    (site,) = m.oee(start=DAY, end=NEXT, by="site", machines=["m1"], now=NEXT)
    assert site["good_ideal_s"] == rows["WO-1"]["good_ideal_s"] + rows["WO-2"]["good_ideal_s"]
    products = {
        r["product"]: r for r in m.oee(start=DAY, end=NEXT, by="product", machines=["m1"], now=NEXT)
    }
    assert products["slow-part"]["total_count"] == 4000


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.datetime(1, 1, 2, tzinfo=UTC), dt.datetime(1, 1, 3, tzinfo=UTC)),
        (dt.datetime(9999, 12, 29, tzinfo=UTC), dt.datetime(9999, 12, 30, tzinfo=UTC)),
    ],
)
def test_a_period_no_machine_data_can_have_is_refused(
    store: EmbeddedStore, worked_plant: Plant, start: dt.datetime, end: dt.datetime
) -> None:
    with pytest.raises(InputError, match="reaches outside the times machine data can have"):
        Measure(store, worked_plant).oee(start=start, end=end)
