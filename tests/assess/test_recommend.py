"""Recommendations follow the data, and the next small step comes with a pilot that plans."""

from __future__ import annotations

import tomllib

import pytest

from pilotline.assess import gather, recommend
from pilotline.assess.catalogue import steps
from pilotline.assess.recommend import pilot_text, plan_for
from pilotline.pilot.spec import Pilot
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.assess.conftest import fill


def test_the_catalogue_has_thirty_steps_with_every_field() -> None:
    catalogue = steps()
    assert len(catalogue) >= 30
    assert {s.category for s in catalogue.values()} == {
        "basics",
        "data",
        "analytics",
        "iot",
        "ai",
        "automation",
        "supply_chain",
        "skills",
        "energy",
    }
    for s in catalogue.values():
        assert s.problem and s.effort and s.source and (s.pilot.kpi or s.pilot.file)


@pytest.mark.parametrize(
    ("stops", "first"),
    [
        ([("changeover", 60), ("breakdown", 15)], "quick_changeover"),
        ([("changeover", 15), ("breakdown", 60)], "planned_maintenance"),
    ],
)
def test_the_ranking_follows_the_largest_loss(
    store: EmbeddedStore, worked_plant: Plant, stops: list[tuple[str, int]], first: str
) -> None:
    fill(store, worked_plant, days=40, stops=stops, machines=("m1", "m2"))
    ev = gather(store, worked_plant, value_per_hour=100.0)
    recs = recommend(ev)
    assert recs[0].step.id == first and recs[0].rank == 1
    assert recs[0].why.startswith("Ranked 1: ")
    # 60 min a day on two machines for 30 days = 60 h, × 365/30 = 730 h a year at £100
    assert recs[0].hours_per_year == pytest.approx(730.0, rel=0.01)
    low, high = steps()[first].effect
    assert recs[0].low == pytest.approx(73_000 * low, rel=0.01)
    assert recs[0].high == pytest.approx(73_000 * high, rel=0.01)
    blocked = [r for r in recs if r.rank is None]
    assert blocked and all(r.blocked_by and r.why.startswith("Blocked") for r in blocked)
    assert [r.rank for r in recs if r.rank] == list(range(1, len(recs) - len(blocked) + 1))


def test_the_next_step_pilot_file_is_a_valid_pilot_with_a_plan(
    store: EmbeddedStore, worked_plant: Plant
) -> None:
    fill(
        store,
        worked_plant,
        days=40,
        stops=[("changeover", 60), ("breakdown", 15)],
        machines=("m1", "m2"),
    )
    ev = gather(store, worked_plant, value_per_hour=100.0)
    first = recommend(ev)[0]
    text = pilot_text(first, ev, worked_plant)
    pilot = Pilot.model_validate(tomllib.loads(text))
    assert pilot.metric.kpi == "oee" and pilot.metric.machines in (["m1"], ["m2"])
    assert str(pilot.baseline.start) == "2026-02-04" and str(pilot.baseline.end) == "2026-03-04"
    # changeovers are 60 of 420 planned minutes; the middle of a 30–50 % cut: 5.71 OEE points
    assert pilot.target_effect == pytest.approx(5.71, abs=0.01)
    # one OEE point of a 7-hour planned day at £100 an hour
    assert pilot.money is not None and pilot.money.value_per_unit == pytest.approx(7.0)
    planned = plan_for(text, store, worked_plant)
    assert "mde" in planned and planned["baseline_points"] == 28
