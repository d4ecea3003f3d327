"""In Chromium: register interest on a phone, open the e-mailed confirmation link, then the
coordinator's firm, event and portfolio pages; axe finds no serious or critical violation."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from pilotline.connect.net import free_port, wait_port
from pilotline.hub.coordinator import add_user
from pilotline.hub.demo import fill
from pilotline.hub.events import add_event
from pilotline.hub.store import HubStore
from tests.conftest import clock_env
from tests.hub.test_public import FORM, smtp  # noqa: F401  (the SMTP server on loopback)
from tests.web.conftest import chromium
from tests.web.test_operate import AXE, _axe

PILOTLINE = str(Path(sys.executable).parent / "pilotline")


def test_register_confirm_and_coordinate_in_chromium(tmp_path: Path, smtp) -> None:  # noqa: F811
    assert AXE.exists(), "axe-core is not installed: ./run.sh test installs it"
    smtp_port, inbox = smtp
    inbox.messages.clear()
    store = HubStore.init(tmp_path)
    fill(store, firms=20, months=1, seed=6, release=False)
    add_event(store, title="Shop-floor data in a day", starts="2026-04-14T09:00",
              ends="2026-04-14T16:00", tz="Europe/London", capacity=20, location="Leeds")  # fmt: skip
    password = add_user(store, "cora", "coordinator")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    store.set_setting("smtp_port", str(smtp_port))
    store.set_setting("public_url", url)
    proc = subprocess.Popen([PILOTLINE, "hub", "serve", "--dir", str(tmp_path), "--port", str(port)],
                            env={**os.environ, **clock_env()}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    violations: dict[str, list[str]] = {}
    try:
        wait_port(port, timeout=30)
        with chromium() as browser:
            phone = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True)
            phone.goto(url + "/")
            violations["/"] = _axe(phone)
            for name in ("organisation", "contact", "email", "sector", "region"):
                phone.fill(f"#{name}", FORM[name])
            phone.select_option("#size_band", "small")
            phone.check("input[name=topics][value=oee]")
            phone.check("input[name=consent]")
            phone.click("form[action='/interest'] button")
            phone.wait_for_selector("text=Check your e-mail")
            [mail] = inbox.messages
            link = re.search(r"(http://127\.0\.0\.1:\d+/confirm/\S+)", mail.get_payload()).group(1)
            phone.goto(link)
            phone.wait_for_selector("text=Your interest is confirmed")
            assert HubStore(tmp_path).firm("acme-tools-ltd")["status"] == "interested"

            desk = browser.new_page()
            desk.goto(url + "/coordinator/login")
            violations["/coordinator/login"] = _axe(desk)
            desk.fill("#user", "cora")
            desk.fill("#password", password)
            desk.click("button")
            desk.wait_for_selector("text=Acme Tools Ltd")
            violations["/coordinator"] = _axe(desk)
            desk.click("text=Acme Tools Ltd")
            desk.wait_for_selector("text=Consent ledger")
            assert "contact-details" in desk.content()
            violations["/coordinator/firms/acme-tools-ltd"] = _axe(desk)
            for path, text in (("/coordinator/events", "Shop-floor data in a day"),
                               ("/coordinator/portfolio", "Pilot portfolio")):  # fmt: skip
                desk.goto(url + path)
                desk.wait_for_selector(f"text={text}")
                violations[path] = _axe(desk)
    finally:
        proc.terminate()
        proc.wait(20)
    assert violations == {k: [] for k in violations}
