"""Shared fixtures: small named plants and a fresh data directory per test."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from pilotline import clock
from pilotline.plant import Plant, parse_plant
from pilotline.store import EmbeddedStore
from tests.pg import Cluster

UTC = dt.UTC

#: The instant every test runs at unless it sets its own: a Wednesday afternoon, in the
#: example plants' late shift (the simulator has made the whole early shift). Nothing in the suite reads the wall clock (tests/test_clock.py runs
#: the clock-sensitive checks at other instants: each weekday, after a long gap, DST change days).
NOW = dt.datetime(2026, 3, 4, 15, 47, 23, tzinfo=UTC)


def clock_env() -> dict[str, str]:
    """For a subprocess given its own environment: the clock this test runs at."""
    return {clock.ENV: clock.now().isoformat()}


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[dt.datetime]:
    """Every test runs at NOW, in this process and in the processes it starts."""
    monkeypatch.setenv(clock.ENV, NOW.isoformat())
    with clock.fixed(NOW):
        yield NOW


WORKED_EXAMPLE_PLANT = """
[site]
name = "Worked example"
timezone = "UTC"

[[calendars]]
name = "day"
  [[calendars.shifts]]
  name = "Day"
  start = "06:00"
  end = "14:00"
  days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
  breaks = [{ start = "08:00", minutes = 15 }, { start = "10:00", minutes = 30 }, { start = "12:00", minutes = 15 }]

[[lines]]
name = "Line A"
calendar = "day"
  [[lines.machines]]
  id = "m1"
  ideal_cycle_s = 1.0
  [[lines.machines]]
  id = "m2"
  ideal_cycle_s = 1.0

[[products]]
id = "slow-part"
ideal_cycle_s = { m1 = 2.0 }
"""

LONDON_NIGHTS_PLANT = """
[site]
name = "Night works"
timezone = "Europe/London"

[[calendars]]
name = "nights"
  [[calendars.shifts]]
  name = "Night"
  start = "22:00"
  end = "06:00"
  days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[lines]]
name = "Line N"
calendar = "nights"
  [[lines.machines]]
  id = "n1"
  ideal_cycle_s = 1.0
"""


@pytest.fixture
def worked_plant() -> Plant:
    return parse_plant(WORKED_EXAMPLE_PLANT)


@pytest.fixture
def london_plant() -> Plant:
    return parse_plant(LONDON_NIGHTS_PLANT)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL cluster for the whole test session."""
    cluster = Cluster()
    yield cluster
    cluster.close()


@pytest.fixture
def pg_url(pg_cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A new, empty database in the session's cluster, for one test."""
    name = "t_" + hashlib.sha1(request.node.nodeid.encode()).hexdigest()[:16]
    return pg_cluster.create_db(name)


@pytest.fixture
def store(tmp_path: Path) -> EmbeddedStore:
    return EmbeddedStore(tmp_path / "home", lock_timeout_s=5)


def write(path: Path, text: str) -> Path:
    path.write_text(text.lstrip(), encoding="utf-8")
    return path
