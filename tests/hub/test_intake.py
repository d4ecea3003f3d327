"""The hub's API in process: a submission with negative or inconsistent figures is refused with
the field named and nothing stored; replays, stale requests and other consent texts are refused;
the consent ledger exports and erases per person."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.errors import NotFound
from pilotline.hub import consent
from pilotline.hub.intake import consent_text
from pilotline.hub.server import create_hub_app
from pilotline.hub.signing import HEADER, envelope, new_key, public_of
from pilotline.hub.store import HubStore
from tests.hub.backends import BACKENDS, stored_bytes

MONTH = {"period": "2026-02", "plant": "Leeds", "planned_time_s": 100_000, "run_time_s": 80_000,
         "ideal_output_time_s": 60_000, "total_count": 1000, "good_count": 950, "scrap_count": 30,
         "energy_kwh": None}  # fmt: skip


@pytest.fixture
def hub(tmp_path: Path, database_url: str | None) -> tuple[TestClient, HubStore, bytes]:
    store = HubStore.init(tmp_path, url=database_url)
    pem = new_key()
    store.add_firm(id="acme", name="Acme", sector="metal", size_band="small", region="north",
                   public_key=public_of(pem))  # fmt: skip
    return TestClient(create_hub_app(tmp_path, database_url=database_url)), store, pem


def items(store: HubStore, *extra: dict) -> list[dict]:
    text = consent_text(store)
    given = {"person": "Dana", "text_version": text["version"], "text_sha256": text["sha256"],
             "given_at": clock.now().isoformat()}  # fmt: skip
    good = [
        {"id": "assessment:T0", "kind": "assessment", "consent": given,
         "content": {"round": "T0", "dimensions": {"strategy": 40, "data": 35.5}}},
        {"id": "benchmark", "kind": "benchmark", "consent": given,
         "content": {"figures": [MONTH]}},
    ]  # fmt: skip
    return good + [{**e, "consent": e.get("consent", given)} for e in extra]


def post(client: TestClient, pem: bytes, action: str, payload: dict, firm: str = "acme"):
    body, sig = envelope(firm, action, payload, pem)
    return client.post(f"/api/v1/{action}", content=body, headers={HEADER: sig})


def stored(store: HubStore) -> tuple[int, int, int]:
    return tuple(store.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"]
                 for t in ("items", "figures", "consents"))  # fmt: skip


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({**MONTH, "run_time_s": 120_000}, "run_time_s"),  # run > planned
        ({**MONTH, "good_count": 1200}, "good_count"),  # good > total
        ({**MONTH, "scrap_count": -1}, "scrap_count"),  # negative
        ({**MONTH, "planned_time_s": "1e5"}, "planned_time_s"),  # not a number
    ],
)
def test_bad_figures_store_nothing(hub, bad, field) -> None:
    client, store, pem = hub
    extra = {"id": "benchmark-2", "kind": "benchmark",
             "content": {"figures": [{**MONTH, "plant": "York"}, bad]}}  # fmt: skip
    r = post(client, pem, "submit", {"items": items(store, extra)})
    assert r.status_code == 422
    assert (
        f"field '{field}'" in r.json()["detail"]
        and "item 3 (benchmark-2), figures 2" in r.json()["detail"]
    )
    assert stored(store) == (0, 0, 0)  # the good items before it were not kept either


def test_bad_pilot_and_assessment_are_refused(hub) -> None:
    client, store, pem = hub
    pilot = {"id": "pilot:x", "kind": "pilot",
             "content": {"title": "x", "effect": 5, "low": 6, "high": 9}}  # fmt: skip
    r = post(client, pem, "submit", {"items": items(store, pilot)})
    assert r.status_code == 422 and "low ≤ effect ≤ high" in r.json()["detail"]
    dma = {"id": "assessment:T1", "kind": "assessment",
           "content": {"round": "T1", "dimensions": {"data": 140}}}  # fmt: skip
    r = post(client, pem, "submit", {"items": items(store, dma)})
    assert r.status_code == 422 and "dimension 'data': 140" in r.json()["detail"]
    assert stored(store) == (0, 0, 0)


@BACKENDS
def test_replay_stale_and_other_consent_text_are_refused(hub) -> None:
    client, store, pem = hub
    body, sig = envelope("acme", "submit", {"items": items(store)}, pem)
    first = client.post("/api/v1/submit", content=body, headers={HEADER: sig})
    assert first.status_code == 200 and first.json() == {"received": ["assessment:T0", "benchmark"]}
    again = client.post("/api/v1/submit", content=body, headers={HEADER: sig})
    assert again.status_code == 403 and "replay" in again.json()["detail"]
    with clock.fixed(clock.now() - dt.timedelta(minutes=11)):
        old_body, old_sig = envelope("acme", "held", {}, pem)
    assert (
        client.post("/api/v1/held", content=old_body, headers={HEADER: old_sig}).status_code == 403
    )
    wrong = {"id": "assessment:T2", "kind": "assessment",
             "content": {"round": "T2", "dimensions": {"data": 40}},
             "consent": {"person": "Dana", "text_version": "2025-01", "text_sha256": "0" * 64,
                         "given_at": clock.now().isoformat()}}  # fmt: skip
    r = post(client, pem, "submit", {"items": [wrong]})
    assert r.status_code == 422 and "another consent text" in r.json()["detail"]
    signed_for_held = envelope("acme", "held", {}, pem)
    r = client.post(
        "/api/v1/withdraw", content=signed_for_held[0], headers={HEADER: signed_for_held[1]}
    )
    assert r.status_code == 403
    assert client.post("/api/v1/held", content=b"{}").status_code == 403  # unsigned


@BACKENDS
def test_ledger_exports_and_erases_a_person(hub, cluster) -> None:
    client, store, pem = hub
    assert post(client, pem, "submit", {"items": items(store)}).status_code == 200
    assert b'"strategy"' in stored_bytes(store, cluster)
    assert post(client, pem, "withdraw", {"items": ["assessment:T0"]}).json() == {
        "withdrawn": ["assessment:T0"]}  # fmt: skip
    assert b'"strategy"' not in stored_bytes(store, cluster)  # gone from the files too
    exported = consent.export_person(store, "Dana")
    assert [(r["item"], r["withdrawn_at"] is not None) for r in exported["consents"]] == [
        ("assessment:T0", True), ("benchmark", False)]  # fmt: skip
    assert b"Dana" in stored_bytes(store, cluster)
    assert consent.erase_person(store, "Dana") == 2
    assert b"Dana" not in stored_bytes(store, cluster)
    with pytest.raises(NotFound):
        consent.export_person(store, "Dana")
    assert [r["person"] for r in consent.ledger(store, firm="acme")] == [consent.ERASED] * 2
    firm = consent.export_firm(store, "acme")
    assert [i["id"] for i in firm["items"]] == ["benchmark"]
