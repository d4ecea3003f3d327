"""Pre-registration, versions when the frozen part changes, and the decision log."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotline import clock
from pilotline.errors import InputError
from pilotline.ingest import import_table
from pilotline.pilot import Sources, evaluate, load_pilot, registry
from pilotline.plant import Plant, parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from tests.conftest import clock_env, write
from tests.pilot.test_evaluate import PILOTLINE, SPEC, _daily

KPI_PILOT = """
title = "Changeover checklist on Press 1"
owner = "Ops"
hypothesis = "If we use a checklist, OEE rises 3 points."
unit = "day"
review_date = 2026-03-30
[baseline]
start = 2026-02-02
end = 2026-03-02
[pilot]
start = 2026-03-02
end = 2026-03-28
[metric]
kpi = "oee"
machines = ["press-1"]
[[guardrails]]
kpi = "quality"
machines = ["press-1"]
"""


@pytest.fixture(autouse=True)
def after_the_pilot() -> Iterator[None]:
    """These tests evaluate at the review (31 March): the KPIs stop at the clock's now."""
    with clock.fixed(dt.datetime(2026, 3, 31, 10, tzinfo=dt.UTC)):
        yield


@pytest.fixture(scope="module")
def plant_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[EmbeddedStore, Plant]:
    plant = parse_plant(demo_plant_text(machines=3))
    store = EmbeddedStore(tmp_path_factory.mktemp("home"))
    start, end = dt.datetime(2026, 2, 2, tzinfo=dt.UTC), dt.datetime(2026, 3, 30, tzinfo=dt.UTC)
    sim = simulate(plant, start=start, end=end, seed=5)
    import_table(store, plant, sim.states, kind="states")
    import_table(store, plant, sim.counts, kind="counts")
    return store, plant


def test_a_kpi_pilot_on_the_simulated_plant_finds_no_effect(
    tmp_path: Path, plant_store: tuple
) -> None:
    store, plant = plant_store
    pilot = load_pilot(write(tmp_path / "p.toml", KPI_PILOT))
    result = evaluate(pilot, Sources(store, plant), as_of=dt.date(2026, 3, 31))
    assert result["metric_unit"] == "points"
    assert result["baseline"]["points"] == 20  # weekdays in February from the 2nd
    assert result["effect"]["low"] < 0 < result["effect"]["high"]  # the simulator changed nothing
    assert "includes no change" in result["verdict"]


def test_start_freezes_and_changes_need_a_reason(
    tmp_path: Path, plant_store: tuple[EmbeddedStore, Plant]
) -> None:
    store = EmbeddedStore(tmp_path / "reg")
    path = write(tmp_path / "p.toml", KPI_PILOT)
    assert registry.start(store, load_pilot(path))["version"] == 1
    again = registry.start(store, load_pilot(path))
    assert {k: again[k] for k in ("version", "fingerprint", "changed")} == {
        "version": 1,
        "fingerprint": load_pilot(path).fingerprint(),
        "changed": False,
    }
    write(path, KPI_PILOT.replace("rises 3 points", "rises 5 points"))
    assert registry.history(store, load_pilot(path))["matches_latest"] is False
    with pytest.raises(InputError, match="Give --reason"):
        registry.start(store, load_pilot(path))
    info = registry.start(store, load_pilot(path), reason="target raised after the first week")
    assert (info["version"], info["fingerprint"], info["changed"]) == (
        2,
        load_pilot(path).fingerprint(),
        True,
    )
    versions = registry.history(store, load_pilot(path))["versions"]
    assert [v["reason"] for v in versions] == [None, "target raised after the first week"]


def test_decision_log(tmp_path: Path, plant_store: tuple[EmbeddedStore, Plant]) -> None:
    store, plant = plant_store
    pilot = load_pilot(write(tmp_path / "p.toml", KPI_PILOT))
    result = evaluate(pilot, Sources(store, plant), as_of=dt.date(2026, 3, 31))
    with pytest.raises(InputError, match="decision must be one of adopt, adapt, abandon, extend"):
        registry.decide(store, pilot, result, decision="maybe", reason="x")
    registry.decide(
        store,
        pilot,
        result,
        decision="abandon",
        reason="No measurable gain; effort back to tooling.",
    )
    (entry,) = registry.decision_log(store)
    assert entry["decision"] == "abandon" and entry["verdict"] == result["verdict"]
    assert entry["low"] == pytest.approx(result["effect"]["low"])


def test_a_scrap_rate_pilot_adds_a_test_of_two_proportions(
    tmp_path: Path, plant_store: tuple[EmbeddedStore, Plant]
) -> None:
    store, plant = plant_store
    spec = KPI_PILOT.replace('kpi = "oee"', 'kpi = "scrap_ratio"\ndirection = "decrease"', 1)
    result = evaluate(
        load_pilot(write(tmp_path / "p.toml", spec)),
        Sources(store, plant),
        as_of=dt.date(2026, 3, 31),
    )
    (prop,) = [e for e in result["estimates"] if e["method"].startswith("two proportions")]
    assert prop["low"] < prop["value"] < prop["high"]
    assert prop["value"] == pytest.approx(
        result["pilot"]["mean"] - result["baseline"]["mean"], abs=0.3
    )


def test_stepped_roll_out_pools_the_machines(
    tmp_path: Path, plant_store: tuple[EmbeddedStore, Plant]
) -> None:
    store, plant = plant_store
    spec = KPI_PILOT.replace(
        'machines = ["press-1"]\n[[guardrails]]',
        'machines = ["press-1", "press-2"]\n[[guardrails]]',
        1,
    )
    spec = spec.replace('unit = "day"', 'unit = "day"\ndesign = "stepped"', 1)
    spec += '\n[[stepped]]\nmachine = "press-1"\nstart = 2026-03-02\n[[stepped]]\nmachine = "press-2"\nstart = 2026-03-09\n'
    result = evaluate(
        load_pilot(write(tmp_path / "p.toml", spec)),
        Sources(store, plant),
        as_of=dt.date(2026, 3, 31),
    )
    eff = result["effect"]
    assert eff["method"].startswith("stepped roll-out")
    assert [p["machine"] for p in eff["parts"]] == ["press-1", "press-2"]
    assert eff["low"] < 0 < eff["high"]
    assert (
        min(p["high"] - p["low"] for p in eff["parts"]) > eff["high"] - eff["low"]
    )  # pooling narrows it


def test_a_change_of_seasonality_after_start_needs_a_reason(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "reg")
    path = write(tmp_path / "p.toml", KPI_PILOT)
    registry.start(store, load_pilot(path))
    write(path, KPI_PILOT.replace('unit = "day"', 'unit = "day"\nseasonality = "weekday"'))
    info = registry.history(store, load_pilot(path))
    assert info["matches_latest"] is False and info["partly_frozen"] is False
    with pytest.raises(InputError, match="a setting that changes its estimate"):
        registry.start(store, load_pilot(path))


def test_a_pilot_started_under_the_old_fingerprint_is_told_what_was_never_frozen(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path / "reg")
    pilot = load_pilot(write(tmp_path / "p.toml", KPI_PILOT))
    with store.session(write=True) as s, s.transaction():
        s.record_pilot_version(
            title=pilot.title, fingerprint=pilot.legacy_fingerprint(), frozen="{}", reason=None
        )
    info = registry.history(store, pilot)
    assert info["partly_frozen"] is True and info["matches_latest"] is False
    with pytest.raises(InputError, match="started by an earlier Pilotline, which froze only"):
        registry.start(store, pilot)
    assert registry.start(store, pilot, reason="freeze the rest")["version"] == 2
    assert registry.history(store, pilot)["matches_latest"] is True


def test_the_evaluation_warns_when_the_windows_moved_after_start(tmp_path: Path) -> None:
    _daily(tmp_path / "daily.csv", effect=8.0)
    spec = write(tmp_path / "pilot.toml", SPEC.format(design="", control=""))
    env = {
        "PATH": "/usr/bin:/bin",
        **clock_env(),
        "COLUMNS": "160",
        "PILOTLINE_HOME": str(tmp_path / "home"),
    }

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PILOTLINE, "pilot", *args], capture_output=True, text=True, env=env, check=True
        )

    run("start", str(spec))
    moved = "moved without a recorded reason"
    evaluate_ = ("evaluate", str(spec), "--as-of", "2026-11-02", "--format", "json")
    assert not [w for w in json.loads(run(*evaluate_).stdout)["warnings"] if moved in w]
    write(
        spec, SPEC.format(design="", control="").replace("start = 2026-09-01", "start = 2026-09-08")
    )
    warnings = json.loads(run(*evaluate_).stdout)["warnings"]
    assert [w for w in warnings if moved in w]
