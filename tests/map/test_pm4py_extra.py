"""The optional pm4py extra: inductive-miner discovery and alignments, in a child process with a
time limit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotline.errors import TimeLimitExceeded
from pilotline.map import pm4py_extra, read_log

DATA = Path(__file__).parents[3] / "shared" / "data"


def test_discover_then_align_gives_perfect_fitness(tmp_path: Path) -> None:
    log = read_log(DATA / "running-example.xes")
    pnml = tmp_path / "model.pnml"
    found = pm4py_extra.discover(log, pnml=pnml)
    assert pnml.read_text().lstrip().startswith("<?xml") and found["transitions"] >= 8
    aligned = pm4py_extra.align(log, pnml)
    assert (
        aligned["cases"] == 6 and aligned["fitting_cases"] == 6 and aligned["mean_fitness"] == 1.0
    )


def test_a_model_that_does_not_fit_scores_below_one(tmp_path: Path) -> None:
    receipt = read_log(DATA / "receipt.xes.gz")
    pnml = tmp_path / "running.pnml"
    pm4py_extra.discover(read_log(DATA / "running-example.xes"), pnml=pnml)
    aligned = pm4py_extra.align(receipt, pnml, time_limit_s=120)
    assert aligned["cases"] == 1434 and aligned["mean_fitness"] < 0.5


def test_alignments_never_hang(tmp_path: Path) -> None:
    log = read_log(DATA / "running-example.xes")
    with pytest.raises(TimeLimitExceeded, match=r"time limit of 0\.01 s"):
        pm4py_extra.discover(log, pnml=tmp_path / "m.pnml", time_limit_s=0.01)
