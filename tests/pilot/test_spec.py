"""The pilot file: what ``pilot start`` freezes, and the settings it accepts or refuses.

Every field of every model in a pilot file is classified here: a change to it either moves the
goalposts (the fingerprint changes) or is named in ``spec.NOT_FROZEN`` with the reason it does
not. A new field fails :func:`test_every_field_is_classified` until it is given an edit below.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from pilotline.errors import InputError
from pilotline.pilot.spec import NOT_FROZEN, Pilot, load_pilot
from tests.conftest import write

#: A pilot with every section filled in, so that every field has something to change.
FULL = """
title = "Kanban in stores"
owner = "Stores lead"
hypothesis = "If we use kanban cards, stock-outs halve."
target_effect = -2.0
unit = "day"
design = "before_after"
review_date = 2026-11-10
seasonality = "weekday"
its_model = "level"
yearly_harmonics = 2
people = ["Stores (2)"]
background = "Stock-outs stop the line twice a week."
countermeasure = "Two-bin kanban for 40 parts."
[baseline]
start = 2026-09-01
end = 2026-10-01
[pilot]
start = 2026-10-01
end = 2026-11-01
[metric]
file = "/data/stockouts.csv"
column = "stockouts"
date_column = "date"
direction = "decrease"
name = "Stock-outs"
[[guardrails]]
kpi = "oee"
machines = ["press-1"]
[control]
kpi = "oee"
machines = ["press-2"]
[switchback]
alternate = true
[[stepped]]
machine = "press-1"
start = 2026-10-01
[[stepped]]
machine = "press-2"
start = 2026-10-08
[money]
currency = "GBP"
one_off = 1200
running_per_month = 50
value_per_unit = 300
periods_per_month = 21
horizon_months = 12
"""

Edit = Callable[[dict[str, Any]], None]


def _set(section: str | None, key: str, value: object) -> Edit:
    def edit(raw: dict[str, Any]) -> None:
        (raw if section is None else raw[section])[key] = value

    return edit


def _drop(key: str) -> Edit:
    return lambda raw: raw.pop(key)


#: One change per field, keyed "Model.field". Fields in NOT_FROZEN must keep the fingerprint;
#: every other change must alter it.
EDITS: dict[str, Edit] = {
    "Pilot.title": _set(None, "title", "Kanban in stores, take two"),
    "Pilot.id": _set(None, "id", "kanban-stores"),
    "Pilot.owner": _set(None, "owner", "Plant manager"),
    "Pilot.people": _set(None, "people", []),
    "Pilot.background": _set(None, "background", "Twice a week, sometimes more."),
    "Pilot.countermeasure": _set(None, "countermeasure", "Two-bin kanban for 60 parts."),
    "Pilot.hypothesis": _set(None, "hypothesis", "If we use kanban cards, stock-outs stop."),
    "Pilot.metric": _set(None, "metric", {"kpi": "oee", "machines": ["press-1"]}),
    "Pilot.target_effect": _set(None, "target_effect", -1.0),
    "Pilot.guardrails": _drop("guardrails"),
    "Pilot.unit": _set(None, "unit", "shift"),
    "Pilot.design": _set(None, "design", "control"),
    "Pilot.control": _drop("control"),
    "Pilot.switchback": _drop("switchback"),
    "Pilot.stepped": lambda raw: raw["stepped"].pop(),
    "Pilot.baseline": _set(
        None, "baseline", {"start": dt.date(2026, 8, 1), "end": dt.date(2026, 9, 1)}
    ),
    "Pilot.pilot": _set(
        None, "pilot", {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 12, 1)}
    ),
    "Pilot.review_date": _set(None, "review_date", dt.date(2026, 12, 10)),
    "Pilot.money": _drop("money"),
    "Pilot.seasonality": _set(None, "seasonality", "harmonic"),
    "Pilot.yearly_harmonics": _set(None, "yearly_harmonics", 3),
    "Pilot.its_model": _set(None, "its_model", "level_and_slope"),
    "Metric.kpi": _set("control", "kpi", "availability"),
    "Metric.machines": _set("control", "machines", ["press-3"]),
    "Metric.file": _set("metric", "file", "/data/stockouts-v2.csv"),
    "Metric.column": _set("metric", "column", "shortages"),
    "Metric.date_column": _set("metric", "date_column", "day"),
    "Metric.exposure_column": _set("metric", "exposure_column", "picks"),
    "Metric.direction": _set("metric", "direction", "increase"),
    "Metric.name": _set("metric", "name", "Shortages"),
    "Window.start": _set("baseline", "start", dt.date(2026, 9, 8)),
    "Window.end": _set("pilot", "end", dt.date(2026, 10, 25)),
    "Switchback.on": lambda raw: raw.update(switchback={"on": [dt.date(2026, 10, 1)]}),
    "Switchback.alternate": lambda raw: raw.update(
        switchback={"alternate": False, "on": [dt.date(2026, 10, 2)]}
    ),
    "Step.machine": lambda raw: raw["stepped"][1].update(machine="press-3"),
    "Step.start": lambda raw: raw["stepped"][1].update(start=dt.date(2026, 10, 15)),
    "Money.currency": _set("money", "currency", "EUR"),
    "Money.one_off": _set("money", "one_off", 2400),
    "Money.running_per_month": _set("money", "running_per_month", 0),
    "Money.value_per_unit": _set("money", "value_per_unit", 600),
    "Money.periods_per_month": _set("money", "periods_per_month", 25),
    "Money.horizon_months": _set("money", "horizon_months", 24),
}


def _models(model: type[BaseModel]) -> set[type[BaseModel]]:
    """The model and every model inside its fields (lists and optionals included)."""
    found = {model}

    def walk(tp: object) -> None:
        if isinstance(tp, type) and issubclass(tp, BaseModel) and tp not in found:
            found.update(_models(tp))
        for arg in typing.get_args(tp):
            walk(arg)
        if isinstance(tp, types.UnionType):
            for arg in tp.__args__:
                walk(arg)

    for f in model.model_fields.values():
        walk(f.annotation)
    return found


def _fields() -> set[str]:
    return {f"{m.__name__}.{name}" for m in _models(Pilot) for name in m.model_fields}


def _full() -> dict[str, Any]:
    return tomllib.loads(FULL)


def test_every_field_is_classified() -> None:
    missing = _fields() - set(EDITS)
    assert not missing, (
        f"new pilot field(s) {sorted(missing)}: if a change to one can alter an estimate, a "
        "verdict or the money, add an edit to EDITS (it is fingerprinted by default); if not, "
        "name it in spec.NOT_FROZEN with the reason and add an edit here too"
    )
    assert not set(EDITS) - _fields(), "EDITS names a field that no longer exists"
    assert {f"Pilot.{k}" for k in NOT_FROZEN} <= _fields()


@pytest.mark.parametrize("field", sorted(EDITS))
def test_a_change_to_any_setting_that_can_alter_the_answer_moves_the_fingerprint(
    field: str,
) -> None:
    before = Pilot.model_validate(_full())
    raw = copy.deepcopy(_full())
    EDITS[field](raw)
    after = Pilot.model_validate(raw)
    assert after != before, f"the edit for {field} changed nothing"
    model, name = field.split(".")
    if model == "Pilot" and name in NOT_FROZEN:
        assert after.fingerprint() == before.fingerprint()
    else:
        assert after.fingerprint() != before.fingerprint()


def test_two_files_differing_only_in_seasonality_differ_in_fingerprint(tmp_path: Path) -> None:
    a = load_pilot(write(tmp_path / "a.toml", FULL))
    b = load_pilot(write(tmp_path / "b.toml", FULL.replace('"weekday"', '"none"')))
    assert a.fingerprint() != b.fingerprint()
    assert a.legacy_fingerprint() == b.legacy_fingerprint()  # what earlier versions missed


def test_seasonality_forms() -> None:
    def seasons(value: object, unit: str = "day") -> tuple[str, ...]:
        raw = _full() | {"seasonality": value, "unit": unit}
        return Pilot.model_validate(raw).seasonality

    assert seasons("none") == ()
    assert seasons("yearly", "month") == ("yearly",)
    assert seasons(["weekday", "yearly"]) == ("weekday", "yearly")
    assert Pilot.model_validate(_full() | {"seasonality": "none"}).fingerprint() == (
        Pilot.model_validate(_full() | {"seasonality": []}).fingerprint()
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"unit": "month"}, "seasonality 'weekday' is a weekly rhythm; a month has none"),
        ({"unit": "week", "seasonality": "harmonic"}, "a week has none"),
        ({"seasonality": ["weekday", "harmonic"]}, "either weekday or harmonic"),
        ({"seasonality": "monthly"}, "seasonality"),
        ({"yearly_harmonics": 0}, "yearly_harmonics"),
        ({"target_effect": float("nan")}, "target_effect"),
        ({"money": {"value_per_unit": float("inf")}}, "money.value_per_unit"),
        ({"unit": "shift", "money": {"value_per_unit": 5}}, "how many shifts make a month"),
        ({"metric": {"kpi": "oee", "exposure_column": "parts"}}, "exposure_column is for a metric"),
        (
            {
                "design": "control",
                "metric": {"file": "/d.csv", "column": "n", "exposure_column": "parts"},
            },
            "not available for counts with an exposure",
        ),
    ],
)
def test_settings_that_cannot_work_are_refused(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    raw = _full() | change
    with pytest.raises(ValidationError, match=message):
        Pilot.model_validate(raw)


def test_a_refused_file_names_the_field(tmp_path: Path) -> None:
    path = write(tmp_path / "p.toml", FULL.replace('unit = "day"', 'unit = "month"'))
    with pytest.raises(InputError, match=r"p.toml is not a valid pilot:\n  - \(top level\)"):
        load_pilot(path)


def test_money_periods_default_to_the_unit() -> None:
    raw = _full()
    del raw["money"]["periods_per_month"]
    raw["seasonality"] = "none"
    assert Pilot.model_validate(raw).periods_per_month == 21
    assert Pilot.model_validate(raw | {"unit": "month"}).periods_per_month == 1
    assert Pilot.model_validate(raw | {"unit": "week"}).periods_per_month == pytest.approx(
        4.333, 1e-3
    )
    assert Pilot.model_validate(_full()).periods_per_month == 21
