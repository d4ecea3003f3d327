"""Requests with dates at the ends of the calendar, and other odd values, get a 4xx answer that
says what was wrong — never a 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline.web import create_app
from tests.web.conftest import api_login

PERIODS = [
    ("0001-01-01T00:00:00", "0001-01-02T00:00:00"),
    ("0001-01-01T00:00:00+14:00", "0001-01-01T10:00:00+14:00"),
    ("9999-12-30T00:00:00", "9999-12-31T23:00:00"),
    ("9999-12-31T23:00:00-12:00", "9999-12-31T23:30:00-12:00"),
    ("2026-03-04T00:00:00", "2026-03-04T00:00:00"),
]
DATES = [
    {"start": "0001-01-01"},
    {"end": "0001-01-01"},
    {"end": "9999-12-31"},
    {"start": "9999-12-31", "end": "9999-12-31"},
    {"start": "0001-01-01", "end": "0001-01-05"},
    {"start": "2026-02-30"},
    {"start": "2026-03-01", "end": "2026-02-01"},
]


@pytest.fixture
def client(clock_home: Path) -> TestClient:
    c = TestClient(create_app(clock_home), raise_server_exceptions=False)
    api_login(c, "mia")
    return c


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_pareto_at_the_ends_of_time(client: TestClient, start: str, end: str) -> None:
    r = client.get("/api/pareto", params={"start": start, "end": end})
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert r.json()["detail"]


@pytest.mark.parametrize("params", DATES)
def test_machine_pages_at_the_ends_of_time(client: TestClient, params: dict[str, str]) -> None:
    for path in ("/api/machines/m1/oee", "/api/machines/m1/small-losses", "/machines/m1"):
        r = client.get(path, params=params)
        assert r.status_code in (200, 422), (path, r.status_code, r.text[:300])
