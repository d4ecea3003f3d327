"""The coordinator's pages: sign-in, what a viewer may read and may not change, a coordinator's
changes (CSRF-checked), and the pages over a demo region."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline.hub.coordinator import add_user
from pilotline.hub.demo import fill
from pilotline.hub.events import add_event
from pilotline.hub.server import create_hub_app
from pilotline.hub.store import HubStore


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, HubStore, dict[str, str]]:
    home = tmp_path_factory.mktemp("coord")
    store = HubStore.init(home)
    fill(store, firms=30, months=1, seed=4, release=False)
    add_event(store, title="Shop-floor data in a day", starts="2026-04-14T09:00",
              ends="2026-04-14T16:00", tz="Europe/London", capacity=20)  # fmt: skip
    users = {
        "cora": add_user(store, "cora", "coordinator"),
        "vic": add_user(store, "vic", "viewer"),
    }
    return home, store, users


def signed_in(home: Path, users: dict[str, str], name: str) -> tuple[TestClient, str]:
    client = TestClient(create_hub_app(home))
    r = client.post("/coordinator/login", data={"user": name, "password": users[name]})
    assert r.status_code == 200  # followed the redirect to the firms page
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)
    return client, csrf


def test_sign_in_is_needed_and_checked(hub) -> None:
    home, _store, _users = hub
    client = TestClient(create_hub_app(home))
    r = client.get("/coordinator/portfolio", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/coordinator/login"
    bad = client.post("/coordinator/login", data={"user": "vic", "password": "guess"})
    assert bad.status_code == 401 and "Wrong name or password" in bad.text


def test_a_viewer_reads_every_page_and_changes_nothing(hub) -> None:
    home, store, users = hub
    client, csrf = signed_in(home, users, "vic")
    firms = client.get("/coordinator")
    assert firms.status_code == 200 and "Demo firm 1" in firms.text
    page = client.get("/coordinator/firms/firm-0000")
    assert "Consent ledger" in page.text and "benchmark" in page.text
    assert 'action="/coordinator/firms/firm-0000/status"' not in page.text  # no forms for viewers
    assert "smed-setup" in client.get("/coordinator/portfolio").text
    assert "T0" in client.get("/coordinator/assessments").text
    assert "Shop-floor data in a day" in client.get("/coordinator/events").text
    export = client.get("/coordinator/export.csv")
    assert next(csv.reader(io.StringIO(export.text)))[0] == "section"
    before = store.firm("firm-0000")["status"]
    r = client.post("/coordinator/firms/firm-0000/status", data={"csrf": csrf, "status": "alumni"})
    assert r.status_code == 403 and store.firm("firm-0000")["status"] == before


def test_a_coordinator_changes_status_and_records_services(hub) -> None:
    home, store, users = hub
    client, csrf = signed_in(home, users, "cora")
    r = client.post(
        "/coordinator/firms/firm-0001/status", data={"csrf": "forged", "status": "alumni"}
    )
    assert r.status_code == 403 and "stale" in r.text
    r = client.post("/coordinator/firms/firm-0001/status",
                    data={"csrf": csrf, "status": "piloting", "notes": "SMED on press 2"})  # fmt: skip
    assert r.status_code == 200 and "SMED on press 2" in r.text
    assert store.firm("firm-0001")["status"] == "piloting"
    n = len(store.rows("SELECT * FROM services WHERE firm_id = 'firm-0001'"))
    r = client.post("/coordinator/firms/firm-0001/service",
                    data={"csrf": csrf, "category": "access-to-finance", "note": "grant advice"})  # fmt: skip
    assert r.status_code == 200 and "grant advice" in r.text
    assert len(store.rows("SELECT * FROM services WHERE firm_id = 'firm-0001'")) == n + 1
    r = client.post(
        "/coordinator/firms/firm-0001/service", data={"csrf": csrf, "category": "lunch"}
    )
    assert r.status_code == 422 and "expected one of" in r.text
