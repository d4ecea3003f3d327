"""Basics-first gates: the evaluator reads only what it may, and the gates follow the data."""

from __future__ import annotations

import datetime as dt

import pytest

from pilotline.assess import gather, recommend
from pilotline.assess.gates import parse_gates
from pilotline.errors import InputError
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.assess.conftest import fill, process_values

AI = {"anomaly_alarm", "quality_prediction", "demand_forecast"}


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "machine.oee.__class__",
        "evidence.pilots + 1 > 2",
        "[x for x in evidence.pilots]",
        "machine.colour == 'red'",
        "score.no_such_question >= 5",
    ],
)
def test_an_expression_that_is_not_a_plain_condition_is_refused(expression: str) -> None:
    text = f'[[gate]]\nid = "g"\nwhen = "{expression}"\nreason = "r"\nopened_by = "x"\n'
    with pytest.raises(InputError, match="gate 'g'"):
        parse_gates(text.replace('"' + expression + '"', repr(expression)))


def test_conditions_with_unknown_values_are_not_met() -> None:
    (g,) = parse_gates(
        '[[gate]]\nid = "g"\nwhen = "machine.reason_share >= 0.5 or not evidence.pilots"\n'
        'reason = "r"\nopened_by = "x"\n'
    ).values()
    assert g.scope == "machine"
    assert g.holds({"machine.reason_share": None, "evidence.pilots": 0})
    assert not g.holds({"machine.reason_share": None, "evidence.pilots": 2})
    assert g.holds({"machine.reason_share": 0.6, "evidence.pilots": 2})


def test_no_ai_step_without_process_values_then_the_alarm_after_90_days(
    store: EmbeddedStore, worked_plant: Plant
) -> None:
    fill(
        store,
        worked_plant,
        days=40,
        stops=[("changeover", 30), ("breakdown", 20)],
        machines=("m1", "m2"),
    )
    recs = {r.step.id: r for r in recommend(gather(store, worked_plant))}
    assert all(recs[s].rank is None for s in AI)
    assert "ai_process_values" in recs["anomaly_alarm"].blocked_by
    assert "Blocked: An AI or predictive step needs at least 60 days" in recs["anomaly_alarm"].why

    process_values(store, "m1", days=90, last_day=dt.date(2026, 3, 4))
    recs = {r.step.id: r for r in recommend(gather(store, worked_plant))}
    alarm = recs["anomaly_alarm"]
    assert alarm.rank is not None and alarm.blocked_by == []
    assert alarm.machines == ["m1"]  # only m1 has the values
    assert recs["quality_prediction"].rank is not None  # rejects are counted too
    assert recs["demand_forecast"].blocked_by == ["order_history"]


def test_unexplained_stops_hold_the_ai_steps_back(
    store: EmbeddedStore, worked_plant: Plant
) -> None:
    fill(store, worked_plant, days=40, stops=[(None, 30), ("breakdown", 20)], machines=("m1", "m2"))
    process_values(store, "m1", days=90, last_day=dt.date(2026, 3, 4))
    recs = {r.step.id: r for r in recommend(gather(store, worked_plant))}
    assert recs["anomaly_alarm"].blocked_by == ["ai_reasons"]
    assert recs["reason_codes_tablet"].rank is not None
