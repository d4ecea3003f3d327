"""A firm install sending to a hub on loopback: only what was consented arrives, signed with the
firm's key; a wrong key is refused; the firm lists and withdraws (erased at the hub, gone from the
next release); the consent ledger answers who agreed to what and when; erasure leaves nothing."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.errors import PilotlineError
from pilotline.hub import consent
from pilotline.hub.firm import key
from pilotline.hub.publish import publish
from pilotline.hub.store import HubStore
from tests.conftest import NOW


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


def firm_cli(home: Path, *args: str) -> Ran:
    """The firm's CLI in this process (the hub is the separate process); a Pilotline error is
    shown as ``pilotline`` shows it, on stderr with exit status 1."""
    r = CliRunner().invoke(app, ["--home", str(home), "share", "campaign", *args], input="")
    if isinstance(r.exception, PilotlineError):
        return Ran(1, r.stdout, str(r.exception))
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return Ran(r.exit_code, r.stdout, "")


def test_only_consented_items_arrive_and_can_be_withdrawn(firm_home, hub) -> None:
    url, hub_dir = hub
    shown = firm_cli(firm_home, "send", "--hub", url, "--firm", "acme", "--no-input")
    assert shown.returncode == 0, shown.stderr
    assert "Nothing was sent." in shown.stdout
    assert "Retention" in shown.stdout  # the hub's consent text is shown first
    for item in ("assessment:", "pilot:Stop reasons on tablets", "benchmark"):
        assert item in shown.stdout  # and exactly what each item would send

    res = firm_cli(firm_home, "send", "--hub", url, "--firm", "acme", "--no-input",
                   "--person", "Dana Ops", "--consent", "pilot:Stop reasons on tablets",
                   "--consent", "benchmark")  # fmt: skip
    assert res.returncode == 0, res.stderr
    store = HubStore(hub_dir)
    held = {r["item_id"]: r for r in store.rows("SELECT * FROM items WHERE firm_id = 'acme'")}
    assert set(held) == {"pilot:Stop reasons on tablets", "benchmark"}  # no assessment
    pilot = json.loads(held["pilot:Stop reasons on tablets"]["content"])
    assert (pilot["effect"], pilot["low"], pilot["high"], pilot["decision"]) == (
        2.1,
        0.4,
        3.9,
        "adopt",
    )
    figures = store.rows("SELECT * FROM figures WHERE firm_id = 'acme'")
    assert [f["period"] for f in figures] == ["2026-03"]
    assert 0 < figures[0]["run_time_s"] <= figures[0]["planned_time_s"]

    rows = consent.ledger(store, firm="acme")
    assert {(r["person"], r["item"], r["text_version"]) for r in rows} == {
        ("Dana Ops", "pilot:Stop reasons on tablets", "2026-03"), ("Dana Ops", "benchmark", "2026-03")}  # fmt: skip
    assert all(r["given_at"] == NOW.isoformat() and r["withdrawn_at"] is None for r in rows)

    listed = firm_cli(firm_home, "sent", "--hub", url, "--firm", "acme", "--format", "json")
    assert {i["id"] for i in json.loads(listed.stdout)} == set(held)

    before = publish(store)
    peers = firm_cli(firm_home, "compare", "--hub", url, "--firm", "acme", "--format", "json")
    assert peers.returncode == 0, peers.stderr
    view = json.loads(peers.stdout)
    assert view["period"] == "2026-03" and view["peer_firms"] >= 3
    published = [c for c in before.public()["cells"] if c["period"] == "2026-03"]
    assert view["peers"] in [c["kpis"] for c in published]  # published figures only
    assert 0 < view["yours"]["oee"] < 1

    gone = firm_cli(firm_home, "withdraw", "--hub", url, "--firm", "acme", "--item", "benchmark")
    assert gone.returncode == 0, gone.stderr
    assert store.rows("SELECT * FROM figures WHERE firm_id = 'acme'") == []
    after = publish(store)
    assert after.version == before.version + 1
    assert "acme" in before.contributors["2026-03"] and "acme" not in after.contributors["2026-03"]
    total = {
        c["period"]: c
        for c in after.cells
        if (c["sector"], c["size_band"], c["region"]) == ("Total",) * 3
    }
    assert total["2026-03"]["firms"] == 20 and "withdrawal" in total["2026-03"]["rules"]
    assert [r["withdrawn_at"] for r in consent.ledger(store, firm="acme", person="Dana Ops")
            if r["item"] == "benchmark"] == [NOW.isoformat()]  # fmt: skip


def test_a_wrong_key_is_refused(firm_home, hub, tmp_path) -> None:
    url, _hub_dir = hub
    other = tmp_path / "other"
    shutil.copytree(firm_home, other, ignore=shutil.ignore_patterns("campaign", "*.lock"))
    key(other)  # a different key than the one registered for acme
    res = firm_cli(other, "send", "--hub", url, "--firm", "acme", "--no-input",
                   "--consent", "all")  # fmt: skip
    assert res.returncode == 1
    assert "refused (403)" in res.stderr and "registered key" in res.stderr
    unknown = firm_cli(firm_home, "sent", "--hub", url, "--firm", "nobody")
    assert unknown.returncode == 1 and "not registered" in unknown.stderr


def test_erasing_a_firm_leaves_nothing(hub) -> None:
    _url, hub_dir = hub
    store = HubStore(hub_dir)
    counts = consent.erase_firm(store, "firm-0005")
    assert counts["firms"] == 1 and counts["consents"] > 0
    con = sqlite3.connect(hub_dir / "hub.sqlite")
    for table in ("firms", "items", "figures", "consents", "nonces"):
        column = "id" if table == "firms" else "firm_id"
        assert con.execute(
            f"SELECT count(*) FROM {table} WHERE {column} = 'firm-0005'"
        ).fetchone() == (0,)
    assert b"firm-0005" not in (hub_dir / "hub.sqlite").read_bytes().replace(b"firm-00050", b"")
