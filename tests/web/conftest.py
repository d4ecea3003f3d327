"""Shared by the web tests: data directories with users, the server in its own process, and
Debian's Chromium driven by Playwright."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Browser, Page, sync_playwright

from pilotline.connect.net import free_port, wait_port
from pilotline.ingest import import_table
from pilotline.plant import load_plant, parse_plant
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from pilotline.web import Users
from tests.conftest import NOW

PASSWORD = "correct horse battery"
PILOTLINE = str(Path(sys.executable).parent / "pilotline")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six simulated machines on two lines, with the last day's data up to now."""
    home = tmp_path_factory.mktemp("web")
    text = demo_plant_text().replace('name = "Press 1"', 'name = "<script>alert(1)</script>"')
    (home / "plant.toml").write_text(text)
    plant = load_plant(home / "plant.toml")
    # The simulator makes whole shifts: simulate past now and keep what happened up to now, so
    # the shift running now has its first hours.
    sim = simulate(
        plant, start=NOW - dt.timedelta(days=2), end=NOW + dt.timedelta(hours=10), seed=4
    )
    store = EmbeddedStore(home)
    for kind, table in (("states", sim.states), ("counts", sim.counts)):
        table = table.filter(
            pc.less_equal(table["ts"], pa.scalar(NOW, table.schema.field("ts").type))
        )
        import_table(store, plant, table, kind=kind, source=f"sim-{kind}")
    users = Users(store)
    users.add("boss", PASSWORD, role="admin")
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator", lines=["Line 2"])
    return home


PLANT = """
[site]
name = "Round the clock"
timezone = "UTC"

[[calendars]]
name = "always"
  [[calendars.shifts]]
  name = "Day"
  start = "00:00"
  end = "00:00"
  days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

[[lines]]
name = "Line A"
calendar = "always"
  [[lines.machines]]
  id = "m1"
  name = "Press <b>one</b>"
  ideal_cycle_s = 2.0

[[lines]]
name = "Line B"
calendar = "always"
  [[lines.machines]]
  id = "m2"
  ideal_cycle_s = 2.0
"""

STOP = (NOW - dt.timedelta(minutes=40), NOW - dt.timedelta(minutes=25))


@pytest.fixture
def clock_home(tmp_path: Path) -> Path:
    """A round-the-clock plant: m1 (Line A) ran, stopped for 15 minutes without a reason, and runs
    again; it made 180 parts in the last two hours."""
    (tmp_path / "plant.toml").write_text(PLANT)
    plant = parse_plant(PLANT)
    store = EmbeddedStore(tmp_path)
    states = pa.table(
        {
            "machine": ["m1", "m1", "m1", "m2"],
            "ts": pa.array(
                [NOW - dt.timedelta(hours=3), *STOP, NOW - dt.timedelta(hours=3)],
                pa.timestamp("us", "UTC"),
            ),
            "state": ["running", "stopped", "running", "running"],
        }
    )
    import_table(store, plant, states, kind="states", source="test")
    counts = pa.table(
        {
            "machine": ["m1", "m1"],
            "ts": pa.array(
                [NOW - dt.timedelta(hours=2), NOW - dt.timedelta(hours=1)],
                pa.timestamp("us", "UTC"),
            ),
            "total": [120, 60],
        }
    )
    import_table(store, plant, counts, kind="counts", source="test")
    users = Users(store)
    users.add("olga", PASSWORD, role="operator", lines=["Line A"])
    users.add("mia", PASSWORD, role="manager")
    users.add("boss", PASSWORD, role="admin")
    return tmp_path


def api_login(client: TestClient, user: str) -> str:
    """Log a test client in; return the CSRF token for API writes."""
    page = client.get("/login")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    return str(client.get("/api/me").json()["csrf"])


@contextmanager
def serving(home: Path) -> Iterator[str]:
    """`pilotline serve` on a free loopback port, in its own process; yields the base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [PILOTLINE, "--home", str(home), "serve", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(20)


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium (no browser download), headless."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Page, user: str) -> None:
    """Fill in and send the login form the page shows."""
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
