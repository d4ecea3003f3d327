"""The frozen baseline data, a registration that survives a new title, and defaults that are the
same setting whether spelled out or left out."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pilotline import clock
from pilotline.errors import InputError
from pilotline.ingest import import_table
from pilotline.measure import Measure
from pilotline.pilot import Sources, evaluate, load_pilot, registry
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from tests.conftest import clock_env, write
from tests.pilot.test_evaluate import PILOTLINE, SPEC, _daily

CHANGED = "baseline data changed after the pilot was started"
AFTER = dt.date(2026, 11, 2)


@pytest.fixture(autouse=True)
def after_the_pilot() -> Iterator[None]:
    """Started and evaluated after the pilot (September baseline, October pilot)."""
    with clock.fixed(dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)):
        yield


def _edit(path: Path, day: str, column: str, value: str) -> str:
    """Set one cell of the daily CSV; returns what it was."""
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    (row,) = [r for r in rows if r["date"] == day]
    was, row[column] = row[column], value
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    return was


def _pilot_files(tmp: Path, spec: str = SPEC.format(design="", control="")) -> Path:
    _daily(tmp / "daily.csv", effect=8.0)
    return write(tmp / "pilot.toml", spec)


def _evaluated(store: EmbeddedStore, path: Path) -> dict:
    pilot = load_pilot(path)
    return registry.annotate(store, pilot, evaluate(pilot, Sources(store), as_of=AFTER))


def test_an_edited_baseline_row_is_named_after_start_through_the_cli(tmp_path: Path) -> None:
    spec = _pilot_files(tmp_path)
    data = tmp_path / "daily.csv"
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

    def warnings() -> list[str]:
        got = run("evaluate", str(spec), "--as-of", "2026-11-02", "--format", "json")
        return [w for w in json.loads(got.stdout)["warnings"] if CHANGED in w]

    started = run("start", str(spec)).stdout
    assert (
        "Baseline data frozen: 30 date(s) from 2026-09-01 to before 2026-10-01, with 1 "
        "guardrail(s)'." in started
    )
    assert warnings() == []

    was = _edit(data, "2026-09-03", "rate", "99")
    (warning,) = warnings()
    assert f"2026-09-03 (was {float(was):.10g}, now 99.0)" in warning
    assert "2026-09-04" not in warning
    table = run("evaluate", str(spec), "--as-of", "2026-11-02").stdout
    assert "⚠ The baseline data changed after the pilot was started: 2026-09-03" in table

    _edit(data, "2026-09-03", "rate", was)  # undone: nothing to say
    assert warnings() == []
    _edit(data, "2026-10-07", "rate", "99")  # the pilot period is not frozen
    with data.open("a") as fh:  # nor data that grows after it
        fh.write("2026-11-01,101.5,90.2,2.01\n")
    assert warnings() == []


def test_a_correction_is_refused_without_a_reason_and_recorded_with_one(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "home")
    spec = _pilot_files(tmp_path)
    registry.start(store, load_pilot(spec))
    _edit(tmp_path / "daily.csv", "2026-09-05", "rate", "80.25")
    _edit(tmp_path / "daily.csv", "2026-09-12", "rate", "80.5")
    _edit(tmp_path / "daily.csv", "2026-09-30", "scrap", "1.5")  # the guardrail's
    metric, guardrail = [w for w in _evaluated(store, spec)["warnings"] if "data changed" in w]
    assert metric.startswith(f"The {CHANGED}: 2026-09-05 (was ")
    assert "now 80.25), 2026-09-12 (was" in metric and "now 80.5). The estimate" in metric
    assert guardrail.startswith(
        "Guardrail scrap's baseline data changed after the pilot was started: 2026-09-30 (was "
    )
    with pytest.raises(InputError, match=r"2026-09-05 \(was .* give --reason to record"):
        registry.start(store, load_pilot(spec))
    info = registry.start(store, load_pilot(spec), reason="Sept. 5 and 12 re-keyed from the log")
    assert (info["version"], info["changed"]) == (2, True)
    assert not [w for w in _evaluated(store, spec)["warnings"] if CHANGED in w]
    # Changed data beside a changed setting is said when the new version freezes it.
    _edit(tmp_path / "daily.csv", "2026-09-07", "rate", "80.75")
    write(spec, spec.read_text().replace("target_effect = 5.0", "target_effect = 6.0"))
    info = registry.start(store, load_pilot(spec), reason="target raised")
    assert info["version"] == 3
    assert info["baseline"].startswith(f"The {CHANGED}: 2026-09-07 (was ")
    assert (
        "now 80.75). The estimate no longer rests on the data that was frozen; this version "
        "freezes the data as it is now. Baseline data frozen: 30 date(s)" in info["baseline"]
    )


def test_many_changed_dates_are_named_a_few_at_a_time(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "home")
    spec = _pilot_files(tmp_path)
    registry.start(store, load_pilot(spec))
    with (tmp_path / "daily.csv").open() as fh:
        kept = [line for line in fh if not line.startswith(("2026-09-1", "2026-09-2"))]
    (tmp_path / "daily.csv").write_text("".join(kept))  # 20 baseline days deleted
    warning, guardrail = [w for w in _evaluated(store, spec)["warnings"] if CHANGED in w]
    assert guardrail.startswith("Guardrail scrap's") and "and 15 more date(s)" in guardrail
    assert "2026-09-10 (removed; was " in warning and "and 15 more date(s)" in warning


def test_a_baseline_still_running_at_the_start_freezes_what_there_is(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "home")
    spec = _pilot_files(tmp_path)
    with clock.fixed(dt.datetime(2026, 9, 15, 9, tzinfo=dt.UTC)):
        info = registry.start(store, load_pilot(spec))
    assert "from 2026-09-01 to before 2026-09-15" in info["baseline"]
    assert "runs on to 2026-10-01, and those later dates are not frozen" in info["baseline"]
    _edit(tmp_path / "daily.csv", "2026-09-20", "rate", "99")  # after the start: not frozen
    assert not [w for w in _evaluated(store, spec)["warnings"] if CHANGED in w]
    _edit(tmp_path / "daily.csv", "2026-09-14", "rate", "99")
    (warning,) = [w for w in _evaluated(store, spec)["warnings"] if CHANGED in w]
    assert "2026-09-14 (was" in warning


def test_a_control_lines_baseline_is_frozen_too(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "home")
    control = '[control]\nfile = "daily.csv"\ncolumn = "control"'
    spec = _pilot_files(tmp_path, SPEC.format(design='design = "control"', control=control))
    frozen = registry.start(store, load_pilot(spec))["baseline"]
    assert ", with the control line's and 1 guardrail(s)'." in frozen
    _edit(tmp_path / "daily.csv", "2026-09-08", "control", "70")
    (warning,) = [w for w in _evaluated(store, spec)["warnings"] if "control line's" in w]
    assert warning.startswith(
        "The control line's baseline data changed after the pilot was started: 2026-09-08 (was"
    )


def test_a_pilot_started_before_baselines_were_frozen_is_told_once(tmp_path: Path) -> None:
    """A version recorded by the previous Pilotline: raw settings (a default left as null, no
    metric name) and no baseline data. It still matches the file, spelled-out default and all."""
    store = EmbeddedStore(tmp_path / "home")
    spec = _pilot_files(tmp_path)
    pilot = load_pilot(spec)
    raw = json.loads(pilot.frozen_fields())
    raw["money"]["periods_per_month"] = None
    raw["metric"]["name"] = "Parts per hour"
    for g in raw["guardrails"]:
        g["name"] = None
    with store.session(write=True) as s, s.transaction():
        s.record_pilot_version(
            title=pilot.title, fingerprint="0123456789ab", frozen=json.dumps(raw), reason=None
        )
    result = _evaluated(store, spec)
    assert result["registration"]["matches_latest"] is True
    assert registry.changed_settings(store, pilot) == []
    (said,) = [w for w in result["warnings"] if "baseline data" in w]
    assert said.startswith("The baseline data was not frozen when this pilot was started")
    assert not [w for w in result["warnings"] if "goalposts moved" in w]
    assert registry.start(store, pilot)["version"] == 1  # nothing to record without a reason
    info = registry.start(store, pilot, reason="freeze the baseline data")
    assert info["version"] == 2 and info["baseline"].startswith("Baseline data frozen: 30")
    assert not [w for w in _evaluated(store, spec)["warnings"] if "baseline data" in w]


def test_a_new_title_keeps_the_registration_and_the_decision_log(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path / "home")
    text = SPEC.format(design="", control="")
    spec = _pilot_files(tmp_path, text)
    registry.start(store, load_pilot(spec))
    result = evaluate(load_pilot(spec), Sources(store), as_of=AFTER)
    registry.decide(store, load_pilot(spec), result, decision="adopt", reason="Faster changeovers")

    write(spec, text.replace('title = "SMED on Press 1"', 'title = "Quick die change, Press 1"'))
    renamed = _evaluated(store, spec)
    reg = renamed["registration"]
    assert reg["registered"] and reg["matches_latest"] and reg["id"] == "SMED on Press 1"
    assert "Add id = 'SMED on Press 1' to the pilot file" in reg["note"]
    assert not [w for w in renamed["warnings"] if "never started" in w or "moved" in w]
    assert renamed["decision"].startswith("Adopt (") and "Faster changeovers" in renamed["decision"]
    again = registry.start(store, load_pilot(spec))
    assert (again["version"], again["changed"], again["id"]) == (1, False, "SMED on Press 1")
    assert [d["title"] for d in registry.decision_log(store)] == ["SMED on Press 1"]
    # A title change together with a frozen setting: without an id it is a different pilot.
    write(spec, text.replace("SMED on Press 1", "Quick die change").replace("= 5.0", "= 6.0"))
    assert registry.history(store, load_pilot(spec))["registered"] is False


def test_an_id_keeps_the_registration_through_a_new_title_and_a_new_version(
    tmp_path: Path,
) -> None:
    store = EmbeddedStore(tmp_path / "home")
    text = 'id = "smed-press-1"\n' + SPEC.format(design="", control="")
    spec = _pilot_files(tmp_path, text)
    assert registry.start(store, load_pilot(spec))["id"] == "smed-press-1"
    write(spec, text.replace("SMED on Press 1", "Quick die change").replace("= 5.0", "= 6.0"))
    info = registry.history(store, load_pilot(spec))
    assert info["registered"] and not info["matches_latest"] and info["note"] is None
    assert registry.changed_settings(store, load_pilot(spec)) == ["target_effect"]
    assert registry.start(store, load_pilot(spec), reason="target raised")["version"] == 2
    result = _evaluated(store, spec)
    assert result["registration"]["matches_latest"] is True
    assert [v["reason"] for v in result["registration"]["versions"]] == [None, "target raised"]


def test_a_file_matching_two_registered_pilots_is_not_guessed(tmp_path: Path) -> None:
    """Without ids, a file with the settings of a registered pilot is that pilot (a second
    start finds it); with ids, two can share them, and a file without one is not guessed."""
    store = EmbeddedStore(tmp_path / "home")
    text = SPEC.format(design="", control="")
    spec = _pilot_files(tmp_path, text)
    registry.start(store, load_pilot(spec))
    copy = write(tmp_path / "copy.toml", text.replace("SMED on Press 1", "SMED, again"))
    assert registry.start(store, load_pilot(copy))["id"] == "SMED on Press 1"
    for pid in ("press-1-first", "press-1-second"):
        again = f'id = "{pid}"\n' + text.replace("SMED on Press 1", pid.title())
        assert registry.start(store, load_pilot(write(spec, again)))["id"] == pid
    info = registry.history(store, load_pilot(write(spec, text.replace("SMED", "Dies"))))
    assert info["registered"] is False
    assert info["note"] == (
        "Its frozen settings match the pilots registered as 'SMED on Press 1', 'press-1-first' "
        "and 'press-1-second': set id to say which."
    )


UNNAMED = SPEC.format(design="", control="").replace('name = "Parts per hour"\n', "")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("periods_per_month = 21\n", ""),  # 21 is the default for days
        ('unit = "day"\n', 'unit = "day"\nseasonality = "none"\n'),
        ('column = "rate"\n', 'column = "rate"\nname = "rate"\n'),  # unnamed: shown as "rate"
        ("[money]\n", '[money]\ncurrency = "GBP"\nhorizon_months = 12\n'),
        ('direction = "decrease"\n', 'direction = "decrease"\ndate_column = "date"\n'),
    ],
)
def test_a_default_spelled_out_or_left_out_is_the_same_setting(
    tmp_path: Path, before: str, after: str
) -> None:
    store = EmbeddedStore(tmp_path / "home")
    assert before in UNNAMED
    spec = _pilot_files(tmp_path, UNNAMED)
    registry.start(store, load_pilot(spec))
    write(spec, UNNAMED.replace(before, after, 1))
    pilot = load_pilot(spec)
    assert registry.history(store, pilot)["matches_latest"] is True
    assert registry.changed_settings(store, pilot) == []
    assert registry.start(store, pilot)["changed"] is False
    write(spec, UNNAMED.replace("periods_per_month = 21", "periods_per_month = 22"))
    assert registry.changed_settings(store, load_pilot(spec)) == ["money.periods_per_month"]


def test_the_fingerprint_is_of_the_values_in_effect(tmp_path: Path) -> None:
    spelled = load_pilot(write(tmp_path / "a.toml", UNNAMED))
    left_out = load_pilot(write(tmp_path / "b.toml", UNNAMED.replace("periods_per_month = 21", "")))
    assert spelled.fingerprint() == left_out.fingerprint()
    weeks = UNNAMED.replace('unit = "day"', 'unit = "week"')
    assert (
        load_pilot(write(tmp_path / "c.toml", weeks)).fingerprint()
        != load_pilot(
            write(tmp_path / "d.toml", weeks.replace("periods_per_month = 21", ""))
        ).fingerprint()
    )  # 21 is not the default for weeks


KPI_PILOT = """
title = "Checklist on Press 1"
owner = "Ops"
hypothesis = "If we use a checklist, quality rises 1 point."
unit = "day"
review_date = 2026-03-02
[baseline]
start = 2026-02-02
end = 2026-02-16
[pilot]
start = 2026-02-16
end = 2026-03-02
[metric]
kpi = "quality"
machines = ["press-1"]
"""


def test_a_kpi_baseline_reimported_differently_is_named(tmp_path: Path) -> None:
    plant = parse_plant(demo_plant_text(machines=1))
    store = EmbeddedStore(tmp_path / "home")
    start, end = dt.datetime(2026, 2, 2, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    sim = simulate(plant, start=start, end=end, seed=5)
    import_table(store, plant, sim.states, kind="states")
    import_table(store, plant, sim.counts, kind="counts")
    sources = Sources(store, plant)
    pilot = load_pilot(write(tmp_path / "p.toml", KPI_PILOT))
    with clock.fixed(dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)):
        info = registry.start(store, pilot, sources=sources)
        assert info["baseline"].startswith("Baseline data frozen: 10 date(s) from 2026-02-02")

        def said() -> list[str]:
            result = evaluate(pilot, sources, as_of=dt.date(2026, 3, 2))
            registry.annotate(store, pilot, result, sources=sources)
            return [w for w in result["warnings"] if CHANGED in w]

        assert said() == []
        # The counts of 4 February are deleted and imported again, with more rejects.
        lo, hi = dt.datetime(2026, 2, 4), dt.datetime(2026, 2, 5)
        with store.session(write=True) as s, s.transaction():
            s.delete_where("counts", "ts >= ? AND ts < ?", [lo, hi])
        ts = sim.counts["ts"]
        day = sim.counts.filter(
            pc.and_(
                pc.greater_equal(ts, pa.scalar(lo.replace(tzinfo=dt.UTC))),
                pc.less(ts, pa.scalar(hi.replace(tzinfo=dt.UTC))),
            )
        )
        more = pc.min_element_wise(day["total"], pc.add(day["reject"], 2))
        day = day.set_column(day.schema.get_field_index("reject"), "reject", more)
        import_table(store, plant, day, kind="counts", source="recount.csv")
        (warning,) = said()
        assert warning.startswith(f"The {CHANGED}: 2026-02-04 (was ")
        assert "2026-02-03" not in warning and "2026-02-05" not in warning


def test_one_read_per_evaluation_gives_the_same_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Sources(snapshot=True)`` (the web app and the CLI) reads the days once for the metric,
    its guardrail and the kept baseline; the evaluation is the same as reading each afresh."""
    plant = parse_plant(demo_plant_text(machines=1))
    store = EmbeddedStore(tmp_path / "home")
    start, end = dt.datetime(2026, 2, 2, tzinfo=dt.UTC), dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
    sim = simulate(plant, start=start, end=end, seed=5)
    import_table(store, plant, sim.states, kind="states")
    import_table(store, plant, sim.counts, kind="counts")
    text = KPI_PILOT + '\n[[guardrails]]\nkpi = "availability"\nmachines = ["press-1"]\n'
    pilot = load_pilot(write(tmp_path / "p.toml", text))
    reads: list[int] = []
    real = Measure.oee
    monkeypatch.setattr(Measure, "oee", lambda *a, **k: reads.append(1) or real(*a, **k))
    with clock.fixed(dt.datetime(2026, 3, 3, 9, tzinfo=dt.UTC)):
        registry.start(store, pilot, sources=Sources(store, plant))
        results, counts = [], []
        for snapshot in (False, True):
            sources = Sources(store, plant, snapshot=snapshot)
            reads.clear()
            result = evaluate(pilot, sources, as_of=dt.date(2026, 3, 2))
            registry.annotate(store, pilot, result, sources=sources)
            results.append(json.dumps(result, sort_keys=True, default=str))
            counts.append(len(reads))
    assert results[0] == results[1]
    assert counts[0] >= 3 and counts[1] == 1  # the metric, the guardrail, the kept baseline
