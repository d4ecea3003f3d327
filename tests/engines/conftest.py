"""Fixtures for the engine conformance suite: one simulated plant, as CSV files to import."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pyarrow.csv as pacsv
import pytest

from pilotline import clock
from pilotline.plant import parse_plant
from pilotline.sim import demo_plant_text, simulate

START = dt.datetime(2026, 3, 23, tzinfo=dt.UTC)  # a week across the EU's change to summer time
END = dt.datetime(2026, 3, 30, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dt.datetime]:
    """The suite's data is the week up to END: its tests run the morning after."""
    at = END + dt.timedelta(hours=9)
    monkeypatch.setenv(clock.ENV, at.isoformat())
    with clock.fixed(at):
        yield at


@pytest.fixture(scope="session")
def plant_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """plant.toml, states.csv and counts.csv of four simulated machines over a week."""
    folder = tmp_path_factory.mktemp("plant")
    text = demo_plant_text(machines=4)
    plant_file = folder / "plant.toml"
    plant_file.write_text(text, encoding="utf-8")
    sim = simulate(parse_plant(text), start=START, end=END, seed=7)
    states, counts = folder / "states.csv", folder / "counts.csv"
    pacsv.write_csv(sim.states, states)
    pacsv.write_csv(sim.counts, counts)
    return plant_file, states, counts
