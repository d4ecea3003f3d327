"""Scoring: the extremes, the worked example of docs/assess.md, and bad answers refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotline.assess import answers as A
from pilotline.assess.questionnaire import DIMENSIONS, band, questionnaire
from pilotline.errors import InputError


def _all(at_max: bool) -> dict[str, object]:
    raw: dict[str, object] = {}
    for d in questionnaire():
        for q in d.questions:
            items = list(q.item_ids)
            if q.kind == "checklist":
                raw[q.id] = items if at_max else []
            elif q.kind == "scale":
                raw[q.id] = {i: 5 if at_max else 0 for i in items}
            elif q.kind == "invest":
                raw[q.id] = {"invested": items if at_max else [], "planned": []}
            elif not items:
                raw[q.id] = "yes" if at_max else "no"
            else:
                raw[q.id] = {i: "yes" if at_max else "no" for i in items}
    return raw


@pytest.mark.parametrize(
    ("at_max", "expected", "name"), [(True, 100.0, "Advanced"), (False, 0.0, "Basic")]
)
def test_every_answer_at_its_extreme(at_max: bool, expected: float, name: str) -> None:
    s = A.score(A.check_answers(_all(at_max), respondent="owner")).as_json()
    assert s["dimensions"] == dict.fromkeys(DIMENSIONS, expected)
    assert s["overall"] == expected and s["band"] == name


#: The worked example of docs/assess.md (computed by hand there).
WORKED = """
respondent = "owner"
[answers]
dbs_areas = { invested = ["operations", "admin"], planned = ["planning"] }
dbs_readiness = ["needs_known", "leaders"]
dbs_plan = "partly"
dr_basic = { connectivity = 4, cloud = 3, website = 4, online_orders = 1, remote = 3, erp = 3, crm = 0 }
dr_advanced = { cad_cam = 3 }
hc_skills = ["trained", "teach_inside", "outside"]
hc_engage = []
dm_practice = ["digital", "automatic", "one_place", "daily_figures"]
dm_security = ["backup", "access_rights", "updates"]
dm_sharing = "yes"
aa_automation = { robots = 2, process_control = 2 }
aa_ai = {}
gd_practice = ["waste_tracked", "paperless", "energy_metered"]
gd_choices = { energy_in_choice = "yes", reported = "partly", targets = "no" }
"""


def test_the_worked_example_of_the_docs(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text(WORKED, encoding="utf-8")
    s = A.score(A.load_answers(path)).as_json()
    assert s["dimensions"] == {
        "digital_business_strategy": 36.6,
        "digital_readiness": 30.7,
        "human_centric_digitalisation": 25.0,
        "data_management": 69.0,
        "automation_ai": 10.0,
        "green_digitalisation": 50.0,
    }
    assert s["overall"] == 36.9 and s["band"] == "Average"
    assert s["why"]["human_centric_digitalisation"].startswith(
        "Human-centric digitalisation scored 25 (Basic): building skills 5.0/10, involving people 0.0/10"
    )
    text = (Path(__file__).parents[2] / "docs" / "assess.md").read_text(encoding="utf-8")
    assert WORKED.strip() in text
    for figure in ("36.6", "30.7", "25.0", "69.0", "10.0", "50.0", "36.9"):
        assert figure in text


def test_bands_on_the_rounded_score() -> None:
    assert [band(x) for x in (0, 25.4, 25.6, 50, 51, 75, 76, 100)] == [
        "Basic",
        "Basic",
        "Average",
        "Average",
        "Moderately advanced",
        "Moderately advanced",
        "Advanced",
        "Advanced",
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"dbs_strategy": "yes"}, "unknown question id 'dbs_strategy'"),
        (
            {"dr_basic": {"erp": 7}},
            "question dr_basic (everyday technologies), item erp: 7 is outside the scale 0–5",
        ),
        ({"dbs_plan": "maybe"}, "question dbs_plan (a written plan): 'maybe' is not one of"),
        (
            {"hc_skills": ["trained", "juggling"]},
            "question hc_skills (building skills): unknown item(s) ['juggling']",
        ),
    ],
)
def test_bad_answers_name_the_question(change: dict[str, object], message: str) -> None:
    raw = {**_all(True), **change}
    with pytest.raises(InputError, match="not kept") as info:
        A.check_answers(raw, respondent="owner")
    assert message in str(info.value)


def test_a_missing_dimension_names_its_questions() -> None:
    raw = {k: v for k, v in _all(True).items() if not k.startswith("gd_")}
    with pytest.raises(InputError) as info:
        A.check_answers(raw, respondent="owner")
    assert "dimension green_digitalisation (Green digitalisation) is not answered" in str(
        info.value
    )
    assert "gd_practice" in str(info.value) and "gd_choices" in str(info.value)
