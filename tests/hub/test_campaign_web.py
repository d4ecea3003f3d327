"""The firm's web app and the campaign hub on loopback: ``/campaign`` puts the firm's own KPIs
beside the hub's *published* cells only (its own cell suppressed: said so), shows item by item
what could leave with nothing ticked, sends only what was ticked (signed, CSRF-checked), lists
what the hub holds with a withdraw per item, and, with the hub gone, says so and shows the
release fetched last. Operators are refused."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from pilotline.connect.net import free_port, wait_port
from pilotline.hub import consent
from pilotline.hub.benchmark import Figures, Firm, compare
from pilotline.hub.firm import CACHE_FILE, NOT_PUBLISHED, benchmark_item, public_key
from pilotline.hub.publish import publish
from pilotline.hub.server import create_hub_app
from pilotline.hub.store import HubStore
from pilotline.plant import load_plant
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.conftest import NOW
from tests.web.conftest import PASSWORD, api_login

ITEM_BOX = re.compile(r'<input type="checkbox" name="items" value="([^"]+)"([^>]*)>')


@pytest.fixture(scope="module")
def firm_users(firm_home: Path) -> Path:
    users = Users(EmbeddedStore(firm_home))
    users.add("mia", PASSWORD, role="manager")
    users.add("olga", PASSWORD, role="operator")
    return firm_home


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def pct(v: float) -> str:
    return f"{v * 100:.1f} %"


def test_beside_published_figures_send_list_and_withdraw(firm_users, hub, monkeypatch) -> None:
    url, hub_dir = hub
    store = HubStore(hub_dir)
    release = publish(store).public()
    monkeypatch.setenv("PILOTLINE_HUB_URL", url)
    monkeypatch.setenv("PILOTLINE_HUB_FIRM", "acme")
    with TestClient(create_app(firm_users)) as olga:
        api_login(olga, "olga")
        assert olga.get("/campaign").status_code == 403
        assert olga.post("/campaign/send", data={"csrf": "x"}).status_code == 403
    with TestClient(create_app(firm_users)) as client:
        api_login(client, "mia")
        page = client.get("/campaign")
        assert page.status_code == 200, page.text
        text = page.text
        assert f"Benchmark release {release['version']} of {release['created_at'][:10]}" in text
        # Your own figures, as the command line's compare (the hub's own function) gives them.
        plant = load_plant(firm_users / "plant.toml")
        item = benchmark_item(EmbeddedStore(firm_users), plant)
        assert item is not None
        own = [Figures.parse(f) for f in item["content"]["figures"]]
        mine = compare(release, firm=Firm("acme", "metal", "small", "north"), own=own,
                       period="2026-03")["yours"]  # fmt: skip
        assert f"Your OEE {pct(mine['oee'])}" in text
        # The firm's own cell (metal, small, north) has too few firms: suppressed, and said so.
        cells = {(c["sector"], c["size_band"], c["region"]): c for c in release["cells"]
                 if c["period"] == "2026-03"}  # fmt: skip
        assert ("metal", "small", "north") not in cells
        assert f"(metal, small, north): {NOT_PUBLISHED}" in text
        everyone = cells[("Total", "Total", "Total")]
        assert f"all firms in the campaign ({everyone['firms']} firms)" in text
        assert pct(everyone["kpis"]["oee"]) in text
        for kpi in ("availability", "performance", "quality"):
            assert pct(everyone["kpis"][kpi]) in text
        # What could leave, item by item with its values; nothing ticked for the user.
        boxes = dict(ITEM_BOX.findall(text))
        assert set(boxes) >= {"benchmark", "pilot:Stop reasons on tablets"}
        assert any(b.startswith("assessment:") for b in boxes)
        assert all("checked" not in attrs for attrs in boxes.values())
        assert "Retention" in text and "2.1" in text and "3.9" in text  # consent text; effect
        month = item["content"]["figures"][0]
        assert f"<td>{month['total_count']}</td>" in text

        csrf = csrf_of(text)
        seen = re.findall(r'name="seen" value="([^"]+)"', text)
        assert len(seen) == len(boxes)
        form = {"csrf": csrf, "text_version": "2026-03", "person": "Dana Ops", "seen": seen,
                "items": ["pilot:Stop reasons on tablets", "benchmark"]}  # fmt: skip
        other = [x if not x.startswith("benchmark ") else "benchmark 0" for x in seen]
        moved = client.post("/campaign/send", data={**form, "seen": other})
        assert (
            moved.status_code == 409 and "benchmark changed since the page was shown" in moved.text
        )
        assert client.post("/campaign/send", data={**form, "csrf": "forged"}).status_code == 403
        stale = client.post("/campaign/send", data={**form, "text_version": "2025-01"})
        assert stale.status_code == 409 and "consent text changed" in stale.text
        assert client.post("/campaign/send", data={**form, "items": []}).status_code == 422
        assert store.rows("SELECT * FROM items WHERE firm_id = 'acme'") == []  # nothing yet
        sent = client.post("/campaign/send", data=form, follow_redirects=False)
        assert sent.status_code == 303
        held = {r["item_id"] for r in store.rows("SELECT * FROM items WHERE firm_id = 'acme'")}
        assert held == {"pilot:Stop reasons on tablets", "benchmark"}  # no assessment
        ledger = consent.ledger(store, firm="acme")
        assert {(r["person"], r["item"]) for r in ledger} == {
            ("Dana Ops", "pilot:Stop reasons on tablets"), ("Dana Ops", "benchmark")}  # fmt: skip
        assert all(r["given_at"] == NOW.isoformat() for r in ledger)

        listed = client.get("/campaign").text
        assert "Sent to the hub: pilot:Stop reasons on tablets, benchmark." in listed
        withdraw = re.findall(r'name="item" value="([^"]+)"><button', listed)
        assert sorted(withdraw) == ["benchmark", "pilot:Stop reasons on tablets"]
        gone = client.post("/campaign/withdraw", data={"csrf": csrf, "item": "benchmark"},
                           follow_redirects=False)  # fmt: skip
        assert gone.status_code == 303
        assert store.rows("SELECT * FROM figures WHERE firm_id = 'acme'") == []
        after = client.get("/campaign").text
        assert "Withdrawn and erased at the hub: benchmark." in after
        assert re.findall(r'name="item" value="([^"]+)"><button', after) == [
            "pilot:Stop reasons on tablets"
        ]
        assert client.post("/campaign/withdraw", data={"csrf": csrf, "item": "pilot:Stop reasons on tablets"},
                           follow_redirects=False).status_code == 303  # fmt: skip

        monkeypatch.delenv("PILOTLINE_HUB_URL")
        unset = client.get("/campaign")
        assert unset.status_code == 200 and "No campaign hub is set" in unset.text


@contextmanager
def hub_in_thread(hub_dir: Path, port: int) -> Iterator[None]:
    """The hub's app served in this process (so the test can stop it)."""
    server = uvicorn.Server(uvicorn.Config(create_hub_app(hub_dir), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))  # fmt: skip
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_port(port, timeout=30)
        yield
    finally:
        server.should_exit = True
        thread.join(20)
        while thread.is_alive():  # pragma: no cover - joined above
            time.sleep(0.05)


def test_hub_out_of_reach_shows_the_release_fetched_last(
    firm_users, hub, monkeypatch, tmp_path
) -> None:
    _url, hub_dir = hub
    empty = HubStore.init(tmp_path)  # a hub with no release yet: said plainly, sending works
    empty.add_firm(id="acme", name="Acme Tools", sector="metal", size_band="small",
                   region="north", public_key=public_key(firm_users))  # fmt: skip
    port = free_port()
    monkeypatch.setenv("PILOTLINE_HUB_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("PILOTLINE_HUB_FIRM", "acme")
    with TestClient(create_app(firm_users)) as client:
        api_login(client, "mia")
        with hub_in_thread(tmp_path, port):
            first = client.get("/campaign").text
        assert "Nothing to compare yet: the hub has not published a benchmark release yet" in first
        assert "cannot be used just now" not in first and "Send the ticked items" in first
        publish(HubStore(hub_dir))
        port = free_port()
        monkeypatch.setenv("PILOTLINE_HUB_URL", f"http://127.0.0.1:{port}")
        (firm_users / CACHE_FILE).unlink(missing_ok=True)
        never = client.get("/campaign")
        assert never.status_code == 200
        assert "cannot be used just now" in never.text and "cannot reach the hub" in never.text
        assert "Nothing was fetched from it before." in never.text
        assert "Send the ticked items" not in never.text  # sending needs the hub
        with hub_in_thread(hub_dir, port):
            live = client.get("/campaign").text
            assert "cannot be used just now" not in live and "Benchmark release" in live
        cached = json.loads((firm_users / CACHE_FILE).read_text())
        assert set(cached["release"]) == {"version", "created_at", "dimensions", "cells"}
        down = client.get("/campaign")
        assert down.status_code == 200
        assert "cannot reach the hub" in down.text
        assert f"the release fetched on {NOW:%Y-%m-%d %H:%M} UTC" in down.text
        assert f"Benchmark release {cached['release']['version']}" in down.text
        csrf = csrf_of(down.text)
        seen = re.findall(r'name="seen" value="([^"]+)"', down.text)
        refused = client.post("/campaign/send", data={"csrf": csrf, "text_version": "2026-03",
                                                      "items": ["benchmark"], "seen": seen})  # fmt: skip
        assert (
            refused.status_code == 502 and "Nothing was sent: cannot reach the hub" in refused.text
        )


def test_campaign_page_in_chromium_at_tablet_width(firm_users, hub, monkeypatch) -> None:
    """Tablet width (768 px): axe finds nothing serious, nothing runs off the side, and a
    manager ticks one item, sends it and withdraws it."""
    from tests.web.conftest import chromium, log_in, serving
    from tests.web.test_operate import AXE, _axe

    assert AXE.exists(), "axe-core is not installed: ./run.sh test installs it"
    url, hub_dir = hub
    publish(HubStore(hub_dir))
    monkeypatch.setenv("PILOTLINE_HUB_URL", url)
    monkeypatch.setenv("PILOTLINE_HUB_FIRM", "acme")
    with serving(firm_users) as base, chromium() as browser:
        page = browser.new_page(viewport={"width": 768, "height": 1024})
        page.goto(base + "/login?next=/campaign")
        log_in(page, "mia")
        page.wait_for_selector("#compare")
        assert _axe(page) == []
        assert page.evaluate("document.documentElement.scrollWidth") <= 768
        page.check("input[name=items][value='pilot:Stop reasons on tablets']")
        page.click("form[action='/campaign/send'] button")
        page.wait_for_selector("text=Sent to the hub: pilot:Stop reasons on tablets.")
        items = HubStore(hub_dir).rows("SELECT item_id FROM items WHERE firm_id = 'acme'")
        assert items == [{"item_id": "pilot:Stop reasons on tablets"}]
        page.click("form[action='/campaign/withdraw'] button")
        page.wait_for_selector("text=Withdrawn and erased at the hub")
        assert HubStore(hub_dir).rows("SELECT * FROM items WHERE firm_id = 'acme'") == []
        page.screenshot(path=str(Path(__file__).parents[2] / "test-artifacts" / "campaign-768.png"),
                        full_page=True)  # fmt: skip
