"""Filters, rework, conformance and automation readiness on small logs with known answers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pilotline.errors import TimeLimitExceeded
from pilotline.map import LogColumns, Miner, filters, read_log
from pilotline.map.conformance import Routing
from pilotline.store import to_arrow_within
from tests.conftest import write

COLS = LogColumns(case="case", activity="activity", timestamp="time", resource="who")

# Order handling: receive → pick → pack → ship. Case 3 loops back to pick; case 4 skips pack and
# has an unexpected "call customer"; case 5 starts at pick.
ORDERS = """
case,activity,time,who
1,receive,2026-01-05T08:00:00Z,ann
1,pick,2026-01-05T09:00:00Z,bob
1,pack,2026-01-05T10:00:00Z,bob
1,ship,2026-01-05T11:00:00Z,cat
2,receive,2026-01-06T08:00:00Z,ann
2,pick,2026-01-06T08:30:00Z,bob
2,pack,2026-01-06T09:00:00Z,bob
2,ship,2026-01-06T12:00:00Z,cat
3,receive,2026-01-07T08:00:00Z,ann
3,pick,2026-01-07T09:00:00Z,bob
3,pack,2026-01-07T10:00:00Z,bob
3,pick,2026-01-07T13:00:00Z,dan
3,pack,2026-01-07T14:00:00Z,bob
3,ship,2026-01-07T15:00:00Z,cat
4,receive,2026-02-02T08:00:00Z,ann
4,call customer,2026-02-02T08:20:00Z,ann
4,pick,2026-02-02T09:00:00Z,bob
4,ship,2026-02-02T10:00:00Z,cat
5,pick,2026-02-03T09:00:00Z,bob
5,pack,2026-02-03T09:30:00Z,bob
5,ship,2026-02-03T10:00:00Z,cat
"""

ROUTING = Routing(
    start=["receive"],
    end=["ship"],
    required=["pack"],
    transitions={"receive": ["pick"], "pick": ["pack"], "pack": ["ship"]},
)


@pytest.fixture(params=["csv", "parquet"])
def miner(request: pytest.FixtureRequest, tmp_path: Path) -> Miner:
    """The orders log as CSV (read into Arrow) and as Parquet with typed columns (read straight
    into the engine): every analysis test runs on both."""
    path = write(tmp_path / "orders.csv", ORDERS)
    if request.param == "parquet":
        table = pacsv.read_csv(path)  # case as integers, time as timestamps with a zone
        assert pa.types.is_integer(table["case"].type)
        assert pa.types.is_timestamp(table["time"].type) and table["time"].type.tz
        path = tmp_path / "orders.parquet"
        pq.write_table(table, path)
    log = read_log(path, COLS)
    assert (log.engine is not None) == (request.param == "parquet")
    return Miner(log)


def _cases(m: Miner) -> list[str]:
    return sorted(c["case"] for c in m.cases())


def test_filters(miner: Miner) -> None:
    utc = dt.UTC
    jan = {"start": dt.datetime(2026, 1, 1, tzinfo=utc), "end": dt.datetime(2026, 2, 1, tzinfo=utc)}
    assert _cases(miner.where(filters.time_window, **jan, mode="contained")) == ["1", "2", "3"]
    assert _cases(miner.where(filters.attribute_values, column="resource", values=["dan"])) == ["3"]
    assert _cases(
        miner.where(filters.attribute_values, column="resource", values=["dan"], keep=False)
    ) == ["1", "2", "4", "5"]
    assert _cases(miner.where(filters.top_variants, k=1)) == [
        "1",
        "2",
    ]  # the one variant two cases share
    # Two cases share the top variant (40 %); the next variant by name (case 5's) reaches 60 %.
    assert _cases(miner.where(filters.top_variants, coverage=0.5)) == ["1", "2", "5"]
    no_pack = miner.where(filters.activities, drop=["pack"])
    assert {r["source"] for r in no_pack.dfg()} == {"receive", "pick", "call customer"}
    grouped = miner.where(filters.group_activities, mapping={"pick": "handle", "pack": "handle"})
    collapsed = grouped.where(filters.collapse_repeats)
    assert collapsed.summary()["events"] == 21 - 6  # every pick→pack pair becomes one step


def test_rework_and_loopbacks(miner: Miner) -> None:
    acts = {a["activity"]: a for a in miner.activities()}
    assert acts["pick"]["rework_cases"] == 1 and acts["pack"]["rework_cases"] == 1
    assert miner.loopbacks() == [
        {"source": "pack", "target": "pick", "count": 1, "cases": 1},
        {"source": "pick", "target": "pack", "count": 1, "cases": 1},
    ]
    assert miner.handovers()[0] == {"source": "bob", "target": "cat", "count": 5}
    assert miner.bottlenecks(1)[0]["source"] == "pack"  # pack → ship holds the most time


def test_conformance_finds_each_kind_of_deviation(miner: Miner) -> None:
    result = miner.conform(ROUTING)
    per_case = {c["case"]: c for c in result["per_case"]}
    assert result["fitting_cases"] == 2 and per_case["1"]["fitness"] == 1.0
    kinds = result["by_kind"]
    assert kinds["repeated step"]["deviations"] == 1  # case 3: pack → pick again
    assert kinds["out of sequence"]["deviations"] == 1  # case 4: pick → ship
    assert kinds["unexpected step"]["deviations"] == 1  # case 4: call customer
    assert (
        kinds["missing step"]["deviations"] == 2
    )  # case 4 lacks pack; case 5 does not start with receive
    assert kinds["repeated step"]["impact_s"] == 3 * 3600
    assert per_case["4"]["fitness"] == pytest.approx(1 - 3 / (4 + 1 + 1))
    accepted = ROUTING.model_copy(update={"accepted": ["call customer", "pick -> ship"]})
    relaxed = miner.conform(accepted)["by_kind"]
    assert (
        relaxed["unexpected step"]["deviations"] == 0
        and relaxed["out of sequence"]["deviations"] == 0
    )


def test_every_conformance_run_has_a_time_limit(miner: Miner) -> None:
    import ibis

    side = ibis.memtable(pa.table({"a": list(range(2000))}))
    heavy = side.cross_join(side.select(b=side.a)).cross_join(side.select(c=side.a))
    with pytest.raises(TimeLimitExceeded, match=r"time limit of 0\.05 s"):
        to_arrow_within(miner._con, (heavy.a * heavy.b + heavy.c).sum(), 0.05)


def test_automation_readiness_tells_stable_from_unstable(miner: Miner) -> None:
    assert all(
        r["verdict"] == "stabilise the process first" for r in miner.automation()
    )  # 21 events
    verdicts = {r["activity"]: r for r in miner.automation(limits={"events": 2})}
    assert verdicts["receive"]["verdict"] == "candidate for automation"
    assert verdicts["ship"]["verdict"] == "stabilise the process first"  # waits 1 h of a 3 h case
    assert any("waits" in reason for reason in verdicts["ship"]["reasons"])
    assert verdicts["pick"]["verdict"] == "stabilise the process first"
    assert any("repeated in 20% of its cases" in reason for reason in verdicts["pick"]["reasons"])
    assert verdicts["call customer"]["reasons"] == [
        "only 1 events: too few to judge it, or to repay automating it"
    ]


def test_filtered_views_keep_the_order_invariant(miner: Miner) -> None:
    """After dropping events, each case's remaining events still follow one another."""
    no_pack = miner.where(filters.activities, drop=["pack"])
    assert {(r["source"], r["target"]): r["count"] for r in no_pack.dfg()} == {
        ("receive", "pick"): 3,
        ("pick", "ship"): 5,
        ("pick", "pick"): 1,
        ("receive", "call customer"): 1,
        ("call customer", "pick"): 1,
    }
    assert no_pack.summary()["variants"] == len(no_pack.variants()) == 4
