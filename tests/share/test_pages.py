"""The admin's Share page: add a partner (key shown once), preview exactly what a grant gives,
confirm it, revoke it; only admins."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.share.conftest import Shared, auth, b64
from tests.web.conftest import PASSWORD, api_login


@pytest.fixture(scope="module")
def admin(shared: Shared) -> tuple[TestClient, str]:
    users = Users(EmbeddedStore(shared.home))
    users.add("boss", PASSWORD, role="admin")
    users.add("mia", PASSWORD, role="manager")
    client = TestClient(create_app(shared.home))
    api_login(client, "boss")
    page = client.get("/share")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token
    return client, token.group(1)


def test_add_preview_confirm_and_revoke(admin: tuple[TestClient, str], shared: Shared) -> None:
    client, csrf = admin
    added = client.post("/share/partners", data={"name": "Hooli", "csrf": csrf})
    key = re.search(r'id="new-key">([^<]+)<', added.text)
    assert added.status_code == 200 and key
    form = {"partner": "Hooli", "kind": "kpi", "machine": "press-2",
            "elements": "PlannedBusyTime, GoodQuantity", "expires": "2026-04-30",
            "purpose": "delivery planning", "csrf": csrf}  # fmt: skip
    preview = client.post("/share/preview", data=form)
    assert preview.status_code == 200
    shown = re.search(r'id="preview">(.*?)</section>', preview.text, re.S)
    assert shown
    sm = "urn:pilotline:demo-works:sm:machine:press-2:kpi"
    assert sm in shown.group(1) and "(new)" in shown.group(1)
    names = re.findall(r'<span class="mono">([A-Za-z]+)</span>', shown.group(1))
    assert names[0] == "PlannedBusyTime" and "GoodQuantity" in names
    assert "ActualProductionTime" not in names  # exactly what the partner will receive
    # nothing is given before the confirmation
    h = auth(key.group(1))
    assert client.get(f"/aas/submodels/{b64(sm)}", headers=h).status_code == 404
    done = client.post("/share/preview", data={**form, "confirm": "yes"}, follow_redirects=False)
    assert done.status_code == 303
    got = client.get(f"/aas/submodels/{b64(sm)}/$value", headers=h).json()
    assert list(got) == ["PlannedBusyTime", "GoodQuantity"]
    grant = re.search(r"Grant (g-[0-9a-f]+)", done.headers["location"].replace("%20", " "))
    assert grant
    r = client.post(f"/share/grants/{grant.group(1)}/revoke",
                    data={"partner": "Hooli", "csrf": csrf}, follow_redirects=False)  # fmt: skip
    assert r.status_code == 303
    assert client.get(f"/aas/submodels/{b64(sm)}", headers=h).status_code == 404
    checked = client.post("/share/verify", data={"csrf": csrf})
    assert "The record of reads is intact" in checked.text
    reads = re.search(r'id="reads">(.*?)</section>', checked.text, re.S)
    assert reads and "Hooli" in reads.group(1) and "/aas/submodels/" in reads.group(1)


def test_bad_input_and_roles(admin: tuple[TestClient, str], shared: Shared) -> None:
    client, csrf = admin
    bad = client.post("/share/preview", data={"partner": "acme", "kind": "kpi",
                                              "machine": "nope", "csrf": csrf})  # fmt: skip
    assert bad.status_code == 422 and "unknown machine" in bad.text
    bad = client.post("/share/preview", data={"partner": "acme", "kind": "kpi",
                                              "expires": "31/12/2026", "csrf": csrf})  # fmt: skip
    assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text
    assert client.post("/share/partners", data={"name": "acme", "csrf": "x"}).status_code == 403
    manager = TestClient(create_app(shared.home))
    api_login(manager, "mia")
    assert manager.get("/share").status_code == 403
