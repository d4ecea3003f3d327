"""Several respondents, rounds compared, the DMA-shaped export and import."""

from __future__ import annotations

import json

import pytest

from pilotline.assess import answers as A
from pilotline.assess import kept
from pilotline.assess.questionnaire import DIMENSIONS
from pilotline.errors import InputError
from pilotline.store import EmbeddedStore
from tests.assess.test_scoring import _all


def _with(respondent: str, **changes: object) -> A.Answers:
    return A.check_answers({**_all(False), **changes}, respondent=respondent)


def test_median_spread_and_disagreement_on_a_worked_example() -> None:
    """Automation and AI: the owner ticks robots 5 of 5 → aa_automation 10×5/20 = 2.5, dimension
    (2.5 + 0)/2 × 10 = 12.5; the team leader gives robots 5 and process control 5 → 5.0, 25.0;
    the operator answers nothing there → 0. Median 12.5, spread 25: flagged. Data management:
    the owner says dm_sharing yes → 10/3 × 10 = 33.3; the others 0: median 0, spread 33.3."""
    owner = _with("owner", aa_automation={"robots": 5}, dm_sharing="yes")
    leader = _with("team leader", aa_automation={"robots": 5, "process_control": 5})
    operator = _with("operator")
    out = A.combine([A.score(a) for a in (owner, leader, operator)])
    assert out["dimensions"]["automation_ai"] == 12.5
    assert out["spread"]["automation_ai"] == 25.0
    assert out["dimensions"]["data_management"] == 0.0
    assert out["spread"]["data_management"] == 33.3
    flagged = {d["dimension"]: d for d in out["disagreements"]}
    assert set(flagged) == {"automation_ai", "data_management"}
    assert "team leader scored 25, operator 0" in flagged["automation_ai"]["why"]
    assert out["spread"]["green_digitalisation"] == 0.0


def test_rounds_are_kept_and_compared(store: EmbeddedStore) -> None:
    kept.save_answers(store, _with("owner"))
    later = _with("owner", dm_sharing="yes")
    kept.save_answers(store, A.Answers(later.respondent, later.values, "T1"))
    assert kept.rounds(store) == ["T0", "T1"]
    t0 = A.score(kept.load_round(store, "T0")[0]).as_json()["dimensions"]
    t1 = A.score(kept.load_round(store, "T1")[0]).as_json()["dimensions"]
    change = A.compare({**t0, "overall": 0.0}, {**t1, "overall": 5.6})
    assert change["data_management"] == {"before": 0.0, "after": 33.3, "change": 33.3}
    # answering again for a round replaces the earlier answers of that respondent
    kept.save_answers(store, _with("owner", dbs_plan="yes"))
    assert len(kept.load_round(store, "T0")) == 1


def test_the_dma_export_round_trips_and_carries_roles_only() -> None:
    group = [_with("owner", dbs_plan="yes"), _with("operator")]
    doc = json.loads(json.dumps(A.to_dma(group, round_="T0")))
    assert [d["id"] for d in doc["dimensions"]] == list(DIMENSIONS)
    assert [r["role"] for r in doc["responses"]] == ["owner", "operator"]
    back = A.from_dma(doc)
    assert [a.values for a in back] == [a.values for a in group]
    doc["responses"][0]["answers"]["dbs_plan"] = "sometimes"
    with pytest.raises(InputError, match="response 1: question dbs_plan"):
        A.from_dma(doc)
