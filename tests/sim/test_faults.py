"""The simulator's process values with injected faults: reproducible, labelled, and the AI module's
whole path on them — the default detector catches a bearing wearing and a valve sticking (its
verdict against SKAB's Hotelling T² is mixed), a run without a fault gets "not better", a slow
sensor drift is the default's known blind spot (Hotelling T² sees it), and shadow mode on the
stored values alarms inside the fault."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from pilotline.ai import shadow
from pilotline.ai.backtest import backtest
from pilotline.cli.app import app
from pilotline.errors import InputError
from pilotline.sim import FAULTS, fault_dataset, simulate_fault
from pilotline.sim.faults import SIGNALS, write_fault_files
from pilotline.store import EmbeddedStore
from tests.conftest import NOW

START = NOW - dt.timedelta(hours=5)
TRAIN = 600  # the first ten minutes of each run are normal running


def test_runs_are_seeded_and_labelled() -> None:
    a = simulate_fault("valve", start=START, seed=3)
    b = simulate_fault("valve", start=START, seed=3)
    c = simulate_fault("valve", start=START, seed=4)
    assert np.array_equal(a.values, b.values) and not np.array_equal(a.values, c.values)
    assert a.values.shape == (3600, len(SIGNALS)) and np.all(np.diff(a.seconds) == 1.0)
    assert (a.start, a.end) == (1800, 2700) and a.label.sum() == 900 and a.label[1800:2700].all()
    assert not simulate_fault(None, start=START).label.any()
    drift = simulate_fault("sensor_drift", start=START, seed=1)
    normal = simulate_fault(None, start=START, seed=1)
    p = SIGNALS.index("pressure")
    assert drift.values[2690:2700, p].mean() - drift.values[1790:1800, p].mean() > 0.3
    assert normal.values.std() > 0
    with pytest.raises(InputError, match="unknown fault"):
        simulate_fault("gearbox", start=START)
    with pytest.raises(InputError, match="inside the run"):
        simulate_fault("bearing", start=START, rows=1000)


@pytest.mark.parametrize("kind", ["bearing", "valve"])
def test_default_catches_each_fault(kind: str) -> None:
    """Caught every time, within three minutes, with an F1 above Hotelling T²'s; the verdict
    also weighs NAB, where SKAB's T² (a median and a doubled limit: few false alarms in normal
    running) wins on two seeds of three — so the verdict is "better than both" once."""
    better = 0
    for seed in (0, 1, 2):
        b = backtest(fault_dataset((kind,), start=START, seed=seed), train_rows=TRAIN)
        s, t2 = b.chosen, b.baselines["hotelling_t2"]
        assert s.caught == s.events == 1 and s.delay_median_s is not None
        assert s.delay_median_s < 180 and s.f1 > 0.75 and s.f1 > t2.f1
        assert s.nab["standard"] > 80
        better += b.verdict.startswith("Better than both baselines")
    assert better == 1


def test_no_fault_is_not_better() -> None:
    for seed in (0, 1, 2):
        b = backtest(fault_dataset((None,), start=START, seed=seed), train_rows=TRAIN)
        assert b.verdict.startswith("Not better"), b.verdict


def test_slow_sensor_drift_is_the_defaults_blind_spot() -> None:
    """The default follows each signal's own dynamics, so a slow offset on a signal that moves
    slowly anyway hardly shows in its forecast error; Hotelling's T² sees the broken relation."""
    b = backtest(fault_dataset(("sensor_drift",), start=START, seed=0), train_rows=TRAIN)
    assert b.verdict.startswith("Not better"), b.verdict
    t2 = b.baselines["hotelling_t2"]
    assert t2.caught == 1 and t2.f1 > 0.4 > b.chosen.f1


def test_backtest_from_files_and_shadow_mode_on_stored_values(tmp_path: Path) -> None:
    folder = tmp_path / "faults"
    write_fault_files(folder, (*FAULTS, None), start=START, seed=0)
    result = CliRunner().invoke(
        app,
        ["--home", str(tmp_path / "home"), "ai", "backtest", str(folder),
         "--train-rows", str(TRAIN), "--format", "json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    direct = backtest(fault_dataset((*FAULTS, None), start=START, seed=0), train_rows=TRAIN)
    assert got["f1"] == pytest.approx(direct.chosen.f1, abs=1e-3)  # the files say the same
    assert got["events"] == 3

    store = EmbeddedStore(tmp_path / "home")
    run = simulate_fault("bearing", start=START, seed=0)
    with store.session(write=True) as s:
        s.insert_new("process_values", run.process_values("pump-1"))
    begin = START.astimezone(dt.UTC)
    shadow.train_on_store(store, name="bearing-watch", machine="pump-1", tags=list(SIGNALS),
                          start=begin, end=begin + dt.timedelta(seconds=TRAIN),
                          trained_by="test")  # fmt: skip
    done = shadow.run(store, "bearing-watch", until=begin + dt.timedelta(hours=1))
    assert done.rows == 3600 - TRAIN and done.alarms >= 1
    with store.session() as s:
        starts = s.arrow("SELECT start_ts FROM ai_alarms").column("start_ts").to_pylist()
    fault = (begin + dt.timedelta(seconds=1800)).replace(tzinfo=None)
    assert any(fault <= t < fault + dt.timedelta(seconds=900) for t in starts), starts
