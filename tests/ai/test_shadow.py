"""Models as records and shadow mode over stored process values, end to end through the CLI:
SKAB pump readings stored as a machine's process values, a model trained on its normal start,
alarms recorded silently, the shadow period judged against a recorded stop, an operator's
answer, a model card and a pilot draft that the pilot module loads."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from pilotline.ai.data import read_recordings
from pilotline.cli.app import app
from pilotline.errors import InputError, NotFound
from pilotline.pilot import load_pilot
from pilotline.store import EmbeddedStore, Store, open_store

runner = CliRunner()
T0 = dt.datetime(2026, 3, 2, 8, 0, 0)  # naive UTC, as the store keeps times
TAGS = ["Accelerometer1RMS", "Current", "Pressure", "Volume Flow RateRMS"]


def _run(home: Path, *args: str) -> str:
    result = runner.invoke(app, ["--home", str(home), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def fill(store: Store, skab_slice: Path) -> int:
    """valve1/1.csv stored as pump-1's process values from T0 (one reading a second per tag),
    with a breakdown two minutes into the labelled fault; returns the row where the fault starts."""
    data = read_recordings(skab_slice / "valve1-1.csv")
    rec = data.recordings[0]
    assert rec.label is not None
    cols = [data.signals.index(t) for t in TAGS]
    n = len(rec.seconds)
    ts = [T0 + dt.timedelta(seconds=i) for i in range(n)]
    table = pa.table(
        {
            "machine": ["pump-1"] * (n * len(TAGS)),
            "tag": [t for t in TAGS for _ in range(n)],
            "ts": pa.array(ts * len(TAGS), pa.timestamp("us")),
            "value": [float(rec.values[i, c]) for c in cols for i in range(n)],
        }
    )
    fault = int(rec.label.argmax())
    stop = T0 + dt.timedelta(seconds=fault + 120)
    with store.session(write=True) as s:
        s.insert_new("process_values", table)
        s.append(
            "states",
            pa.table(
                {
                    "machine": ["pump-1", "pump-1"],
                    "start_ts": pa.array([T0, stop], pa.timestamp("us")),
                    "end_ts": pa.array([None, None], pa.timestamp("us")),
                    "state": ["running", "breakdown"],
                    "reason": [None, "valve stuck"],
                    "import_id": pa.array([None, None], pa.int64()),
                }
            ),
        )
    return fault


@pytest.fixture
def plant_home(tmp_path: Path, skab_slice: Path) -> tuple[Path, int]:
    home = tmp_path / "home"
    return home, fill(EmbeddedStore(home, lock_timeout_s=5), skab_slice)


def test_train_shadow_evaluate_answer_card_pilot(plant_home: tuple[Path, int]) -> None:
    home, fault = plant_home
    tags = [a for t in TAGS for a in ("--tag", t)]
    until = (T0 + dt.timedelta(seconds=400)).isoformat()
    _run(
        home,
        "ai",
        "train",
        "pump-1",
        "--machine",
        "pump-1",
        *tags,
        "--from",
        T0.isoformat(),
        "--until",
        until,
    )
    end = (T0 + dt.timedelta(hours=1)).isoformat()
    first = json.loads(
        _run(
            home,
            "ai",
            "shadow",
            "pump-1",
            "--until",
            (T0 + dt.timedelta(seconds=fault - 60)).isoformat(),
            "--format",
            "json",
        )
    )
    assert first["alarms"] == 0  # normal running after training: silence
    second = json.loads(_run(home, "ai", "shadow", "pump-1", "--until", end, "--format", "json"))
    assert second["scored_from"] == first["scored_until"]  # picks up where the last run ended
    assert second["alarms"] >= 1
    store = EmbeddedStore(home, lock_timeout_s=5)
    with store.session() as s:
        alarms = s.arrow("SELECT * FROM ai_alarms ORDER BY start_ts").to_pylist()
    assert all(not a["shown"] for a in alarms)  # silent
    fault_at = T0 + dt.timedelta(seconds=fault)
    hit = [a for a in alarms if fault_at <= a["start_ts"] <= fault_at + dt.timedelta(seconds=120)]
    assert hit, alarms
    # a third run, of every model, finds nothing new to score
    third = json.loads(_run(home, "ai", "shadow", "--until", end, "--format", "json"))
    assert [(r["model"], r["rows"]) for r in third] == [("pump-1", 0)]
    # kept running beside the collectors: one JSON line per round
    log = _run(home, "ai", "shadow", "pump-1", "--until", end, "--every", "1", "--rounds", "2",
               "--format", "json")  # fmt: skip
    assert [json.loads(line)["rows"] for line in log.splitlines()] == [0, 0]
    with store.session() as s:  # runs that found nothing leave no row (one a minute, for years)
        assert s.scalar("SELECT count(*) FROM ai_shadow_runs") == 2
    alarm_at = hit[0]["start_ts"].isoformat()
    _run(home, "ai", "answer", "pump-1", alarm_at, "false")
    _run(home, "ai", "answer", "pump-1", alarm_at, "real")  # changed: the trail says from what
    with store.session() as s:
        trail = s.arrow(
            "SELECT username, detail FROM audit_log WHERE action = 'alarm answered'"
        ).to_pylist()
    # (the suite's clock stands still: both entries have one time, so compared as a set)
    user = trail[0]["username"]
    assert user.startswith("cli:") and {t["username"] for t in trail} == {user}
    got = sorted((json.loads(t["detail"]) for t in trail), key=lambda d: "replaced" in d)
    assert [(d["answer"], d.get("replaced"), d.get("replaced_by")) for d in got] == [
        ("false", None, None),
        ("real", "false", user),
    ]
    e = json.loads(_run(home, "ai", "evaluate", "pump-1", "--format", "json"))
    assert (e["stops"], e["warned"], e["answered_real"]) == (1, 1, 1)
    card = json.loads(_run(home, "ai", "card", "pump-1", "--format", "json"))
    assert card["detector"] == "forecast_watch"
    assert card["signals"] == TAGS
    assert card["training_window"]["rows"] == 400
    assert len(card["data_fingerprint"]) == 64
    out = _run(home, "ai", "pilot", "pump-1")
    pilot = load_pilot(home / "pilots" / "ai-pump-1.toml")
    assert pilot.design == "switchback" and pilot.metric.machines == ["pump-1"]
    assert f"pilotline --home {home} pilot plan" in out


def test_bad_training_input_stores_nothing(plant_home: tuple[Path, int]) -> None:
    home, _ = plant_home
    result = runner.invoke(
        app,
        [
            "--home",
            str(home),
            "ai",
            "train",
            "m",
            "--machine",
            "pump-1",
            "--tag",
            "nope",
            "--from",
            T0.isoformat(),
            "--until",
            (T0 + dt.timedelta(seconds=400)).isoformat(),
        ],
    )
    assert isinstance(result.exception, InputError)
    assert "at least 10 are needed" in str(result.exception)
    result = runner.invoke(app, ["--home", str(home), "ai", "card", "m"])
    assert isinstance(result.exception, NotFound)
    assert "no AI model named 'm'" in str(result.exception)


def test_backtest_contract_json(skab_slice: Path, tmp_path: Path) -> None:
    out = json.loads(
        _run(
            tmp_path,
            "ai",
            "backtest",
            str(skab_slice / "valve1-0.csv"),
            "--train-rows",
            "400",
            "--label-column",
            "anomaly",
            "--time-column",
            "datetime",
            "--sep",
            ";",
            "--format",
            "json",
        )
    )
    for key in ("detector", "f1", "far", "mar", "nab", "alarms", "baselines", "verdict"):
        assert key in out
    assert set(out["baselines"]["hotelling_t2"]) >= {"f1", "far", "mar", "nab", "alarms"}
    cp = json.loads(
        _run(
            tmp_path,
            "ai",
            "backtest",
            str(skab_slice / "valve1-0.csv"),
            "--nab-window",
            "60s",
            "--detector",
            "hotelling_t2",
            "--format",
            "json",
        )
    )
    assert cp["detector"] == "hotelling_t2"
    page = tmp_path / "bt.html"
    _run(tmp_path, "ai", "backtest", str(skab_slice / "valve1-0.csv"), "--plot", str(page))
    html = page.read_text(encoding="utf-8")
    assert "Plotly" in html and "alarm: forecast_watch" in html and "alarm: hotelling_t2" in html
    bad = runner.invoke(
        app, ["--home", str(tmp_path), "ai", "backtest", str(skab_slice), "--detector", "magic"]
    )
    assert isinstance(bad.exception, InputError)
    assert "detector 'magic' is not known" in str(bad.exception)


def test_missing_ai_tables_are_created(tmp_path: Path) -> None:
    """A store migrated past 9 before migration 9 existed gets its tables on first use."""
    from pilotline.ai.records import ensure_tables

    store = EmbeddedStore(tmp_path / "home", lock_timeout_s=5)
    with store.session(write=True) as s:
        for table in ("ai_models", "ai_shadow_runs", "ai_alarms"):
            s.execute(f"DROP TABLE {table}")
    ensure_tables(store)
    ensure_tables(store)  # and again: nothing to do
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM ai_alarms") == 0


def test_shadow_mode_on_postgresql(pg_url: str, tmp_path: Path, skab_slice: Path) -> None:
    """The same path on the PostgreSQL store: migration 9's tables, the record, the runs."""
    from pilotline.ai import shadow

    store = open_store(tmp_path, database_url=pg_url)
    fault = fill(store, skab_slice)
    model = shadow.train_on_store(
        store, name="pump-1", machine="pump-1", tags=TAGS, start=T0.replace(tzinfo=dt.UTC),
        end=(T0 + dt.timedelta(seconds=400)).replace(tzinfo=dt.UTC), trained_by="test",
    )  # fmt: skip
    assert model.train_rows == 400
    run = shadow.run(store, "pump-1", until=(T0 + dt.timedelta(hours=1)).replace(tzinfo=dt.UTC))
    assert run.alarms >= 1
    with store.session() as s:
        first = s.scalar(
            "SELECT min(start_ts) FROM ai_alarms WHERE start_ts >= ?",
            [T0 + dt.timedelta(seconds=fault)],
        )
    shadow.answer(store, "pump-1", first.replace(tzinfo=dt.UTC), real=True, by="olga")
    e = shadow.evaluate(store, "pump-1")
    assert (e.stops, e.warned, e.answered_real) == (1, 1, 1)


def test_a_stored_model_is_judged_only_on_later_data_with_its_signals(
    skab_slice: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    _run(
        home, "ai", "train", "v1", "--machine", "pump-1", "--data", str(skab_slice / "valve1-0.csv")
    )
    card = json.loads(_run(home, "ai", "card", "v1", "--format", "json"))
    assert card["backtest"]["baselines"]["null"]["nab"]["standard"] == 0.0
    later = json.loads(
        _run(
            home,
            "ai",
            "backtest",
            str(skab_slice / "valve1-1.csv"),
            "--model",
            "v1",
            "--format",
            "json",
        )
    )
    assert later["detector"] == "forecast_watch" and "hotelling_t2" in later["baselines"]
    earlier = runner.invoke(
        app,
        ["--home", str(home), "ai", "backtest", str(skab_slice / "other-9.csv"), "--model", "v1"],
    )
    assert isinstance(earlier.exception, InputError)
    assert "before the model's training window ended" in str(earlier.exception)
    other = tmp_path / "other.csv"
    other.write_text(
        "datetime;x;anomaly\n"
        + "".join(
            f"2021-01-01 00:{i // 60:02d}:{i % 60:02d};{i % 7};{int(i > 500)}\n" for i in range(600)
        ),
        encoding="utf-8",
    )
    refused = runner.invoke(
        app, ["--home", str(home), "ai", "backtest", str(other), "--model", "v1"]
    )
    assert isinstance(refused.exception, InputError)
    assert "was trained on signals" in str(refused.exception)


@pytest.mark.parametrize("name", ["hotelling_t2", "pca_t2q", "robust_cusum", "forecast_residual",
                                  "steady_pca", "forecast_watch"])  # fmt: skip
def test_a_stored_detector_scores_as_the_trained_one(name: str, skab_slice: Path) -> None:
    import json as _json

    import numpy as np

    from pilotline.ai.detectors import build
    from pilotline.ai.records import restore, state_of

    rec = read_recordings(skab_slice / "valve2-1.csv").recordings[0]
    det = build(name).fit(rec.values[:400])
    again = restore(name, _json.loads(_json.dumps(state_of(det))))
    assert np.array_equal(again.score(rec.values[400:]), det.score(rec.values[400:]))
    assert again.threshold == det.threshold
    assert np.array_equal(again.alarms(rec.values[400:]), det.alarms(rec.values[400:]))


def test_an_isolation_forest_is_not_stored() -> None:
    import numpy as np

    from pilotline.ai.detectors import build
    from pilotline.ai.records import state_of

    det = build("isolation_forest").fit(np.random.default_rng(0).normal(size=(50, 2)))
    with pytest.raises(InputError, match="cannot be kept as a record"):
        state_of(det)


def test_card_as_ai_model_nameplate_follows_the_template(skab_slice: Path, tmp_path: Path) -> None:
    """Every element IDTA 02060 requires is there, with the template's idShort, semantic id and
    kind of element, in the same order."""
    template_file = (
        Path(__file__).resolve().parents[2].parent
        / "shared"
        / "specs"
        / "aas-templates"
        / "IDTA-02060-1-0-1_AIModelNameplate.json"
    )
    home = tmp_path / "home"
    _run(
        home, "ai", "train", "v1", "--machine", "pump-1", "--data", str(skab_slice / "valve2-1.csv")
    )
    sm = json.loads(_run(home, "ai", "card", "v1", "--format", "aas"))
    template = json.loads(template_file.read_text(encoding="utf-8"))["submodels"][0]
    assert sm["semanticId"]["keys"][0]["value"] == template["semanticId"]["keys"][0]["value"]

    def required(elements: list[dict]) -> list[tuple[str, str, str]]:  # type: ignore[type-arg]
        out = []
        for e in elements:
            card = [q["value"] for q in e.get("qualifiers", []) if q["type"] == "SMT/Cardinality"]
            if card and card[0] in ("One", "OneToMany"):
                sem = e["semanticId"]["keys"][0]["value"].strip()
                out.append((e["idShort"], sem, e["modelType"]))
        return out

    def ours(elements: list[dict]) -> dict[str, dict]:  # type: ignore[type-arg]
        return {e["idShort"]: e for e in elements}

    top = ours(sm["submodelElements"])
    for id_short, sem, kind in required(template["submodelElements"]):
        assert id_short in top, id_short
        assert top[id_short]["semanticId"]["keys"][0]["value"] == sem
        assert top[id_short]["modelType"] == kind
    # one level down, in the collections the template requires
    for coll in ("Inputs", "Details", "AITypeSpecificInformation"):
        t = next(e for e in template["submodelElements"] if e["idShort"] == coll)
        mine = ours(top[coll]["value"])
        for id_short, sem, kind in required(t["value"]):
            if id_short == "DimensionN":
                continue  # one collection per signal, numbered
            assert mine[id_short]["semanticId"]["keys"][0]["value"] == sem, (coll, id_short)
            assert mine[id_short]["modelType"] == kind
    signals = [
        next(p["value"] for p in d["value"] if p["idShort"] == "Information")
        for d in top["Inputs"]["value"]
        if d["idShort"].startswith("Dimension")
    ]
    card = json.loads(_run(home, "ai", "card", "v1", "--format", "json"))
    assert signals == card["signals_used"]
    result = json.loads(top["TrainingResults"]["value"][0]["value"])
    assert set(result["baselines"]) == {"null", "hotelling_t2"}


def test_the_share_module_serves_the_card_as_an_ai_model_nameplate(
    skab_slice: Path, tmp_path: Path
) -> None:
    """A trained model's card is a submodel of its machine's shell in the share catalogue (what
    partners read through the AAS API when granted ``--submodel ai-nameplate``), the same
    elements as ``ai card --format aas``, and basyx reads it back."""
    from basyx.aas import model

    from pilotline.plant import example_plant_text, load_plant
    from pilotline.share import semantics as sem
    from pilotline.share.model import build_catalogue
    from pilotline.share.settings import load_share_settings

    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(example_plant_text())
    _run(
        home,
        "ai",
        "train",
        "v1",
        "--machine",
        "press-1",
        "--data",
        str(skab_slice / "valve2-1.csv"),
    )
    plant = load_plant(home / "plant.toml")
    cat = build_catalogue(EmbeddedStore(home), plant, load_share_settings(home, plant))
    ai = [
        sm
        for sm in cat.submodels.values()
        if sm.semantic_id is not None and sm.semantic_id.key[0].value == sem.AI_NAMEPLATE
    ]
    assert len(ai) == 1 and isinstance(ai[0], model.Submodel)
    shell = next(s for s in cat.shells if s.id.endswith(":machine:press-1"))
    assert ai[0].id in {ref.key[-1].value for ref in shell.submodel}
    card = json.loads(_run(home, "ai", "card", "v1", "--format", "aas"))
    assert [e.id_short for e in ai[0].submodel_element] == [
        e["idShort"] for e in card["submodelElements"]
    ]
    # granted like any other submodel: the partner receives exactly the card
    _run(home, "share", "partner", "add", "acme", "--format", "json")
    _run(home, "share", "grant", "acme", "--submodel", "ai-nameplate", "--machine", "press-1")
    seen = json.dumps(json.loads(_run(home, "share", "preview", "acme", "--format", "json")))
    assert sem.AI_NAMEPLATE in seen and sem.KPI not in seen and ai[0].id in seen


def test_shadow_every_goes_on_when_the_first_round_finds_the_store_busy(tmp_path: Path) -> None:
    """`ai shadow --every` started while another process holds the store (a backup, an import)
    reports the round and runs the next, as documented; before, the list of models was read
    once before the first round and a busy store ended the command."""
    import subprocess
    import sys

    home = tmp_path / "home"
    _run(home, "ai", "status")  # the store exists
    alone = runner.invoke(app, ["--home", str(home), "ai", "shadow", "--rounds", "2"])
    assert alone.exit_code != 0 and "give --every" in str(alone.exception)
    with subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
         "c.execute('SELECT 1'); print('held', flush=True); time.sleep(1.5)",
         str(home / "pilotline.duckdb")],
        stdout=subprocess.PIPE, text=True,
    ) as holder:  # fmt: skip
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        r = runner.invoke(
            app,
            ["--home", str(home), "ai", "shadow", "--every", "1", "--rounds", "3"],
            env={"PILOTLINE_LOCK_TIMEOUT": "0.2"},
        )
    assert r.exit_code == 0, r.output
    log = r.output.split("This round did not run: ")[1:]
    assert len(log) == 3 and "in use" in log[0] and "no AI models" in log[-1]
