"""Attack-review probes on the hub's input (issue 19): control characters and lone surrogates in
forms, links and signed envelopes are refused with the field named and nothing stored, on SQLite
and on PostgreSQL (which would refuse NUL itself, with a 503); malformed envelopes get a 422;
a release body from a newer version is read; a release with a non-finite figure is not kept."""

from __future__ import annotations

import base64
import json
import logging
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.errors import InputError
from pilotline.hub.benchmark import Release
from pilotline.hub.coordinator import add_user
from pilotline.hub.publish import body_json, rules
from pilotline.hub.server import create_hub_app
from pilotline.hub.signing import HEADER, new_key, public_of
from pilotline.hub.store import HubStore
from tests.hub.backends import BACKENDS
from tests.hub.test_intake import MONTH, items

FORM = {"organisation": "Acme Tools Ltd", "contact": "Dana Ops", "email": "dana@acme.example",
        "size_band": "small", "sector": "metal", "region": "north", "topics": ["oee"],
        "consent": "yes", "website": ""}  # fmt: skip
TABLES = ("interest", "registrations", "attempts", "services", "items", "figures", "consents",
          "nonces")  # fmt: skip


def send(client: TestClient, pem: bytes, env: dict, action: str = "submit"):
    """An envelope signed as given (json.dumps escapes a lone surrogate as \\udXXX)."""
    body = json.dumps(env).encode()
    key = serialization.load_pem_private_key(pem, password=None)
    sig = base64.urlsafe_b64encode(key.sign(body)).decode().rstrip("=")  # type: ignore[call-arg, union-attr]
    return client.post(f"/api/v1/{action}", content=body, headers={HEADER: sig})


def counts(store: HubStore) -> dict[str, int]:
    return {t: store.rows(f"SELECT count(*) AS n FROM {t}")[0]["n"] for t in TABLES}


@BACKENDS
def test_control_characters_are_refused_naming_the_field_nothing_stored(
    tmp_path: Path, database_url: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    store = HubStore.init(tmp_path, url=database_url)
    pem = new_key()
    store.add_firm(id="acme", name="Acme", sector="metal", size_band="small", region="north",
                   public_key=public_of(pem))  # fmt: skip
    password = add_user(store, "cora", "coordinator")
    client = TestClient(create_hub_app(tmp_path, database_url=database_url))
    caplog.set_level(logging.WARNING, logger="pilotline.hub")

    def refused(r, status: int, field: str) -> None:
        assert r.status_code == status, r.text
        assert f"{field} must not contain control characters" in r.text

    refused(client.post("/interest", data={**FORM, "organisation": "Nul\x00Corp"}), 422,
            "organisation")  # fmt: skip
    refused(client.post("/events/1/register", data={"name": "Ann\x00B",
                                                    "email": "ann@b.example"}), 422, "name")  # fmt: skip
    for path in ("/confirm/ab%00cd", "/events/cancel/ab%00cd"):
        refused(client.get(path), 400, "the address")
    refused(client.post("/events/cancel/ab%00cd"), 400, "the address")
    refused(client.post("/coordinator/login", data={"user": "x\x00", "password": "p"}), 422,
            "user")  # fmt: skip

    r = client.post("/coordinator/login", data={"user": "cora", "password": password})
    csrf = re.search(r'name="csrf" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    refused(client.post("/coordinator/firms/acme/status",
                        data={"csrf": csrf, "status": "engaged", "notes": "a\x00b"}), 422, "notes")  # fmt: skip
    refused(client.post("/coordinator/firms/acme/service",
                        data={"csrf": csrf, "category": "skills", "note": "\x07"}), 422, "note")  # fmt: skip

    def envelope(payload: object, **change: object) -> dict:
        env = {"firm": "acme", "action": "submit", "sent_at": clock.now().isoformat(),
               "nonce": "n" * 32, "payload": payload}  # fmt: skip
        return {**env, **change}

    person = items(store)
    person[0]["consent"] = {**person[0]["consent"], "person": "Dana\x00"}
    refused(send(client, pem, envelope({"items": person})), 422,
            "request.payload.items[0].consent.person")  # fmt: skip
    plant = items(store)
    plant[1]["content"]["figures"] = [{**MONTH, "plant": "Leeds\x00"}]
    refused(send(client, pem, envelope({"items": plant})), 422,
            "request.payload.items[1].content.figures[0].plant")  # fmt: skip

    # malformed envelopes: 422 naming the field (were 500 and 503)
    surrogate = items(store)
    surrogate[0]["id"] = "assessment:\ud800"
    r = send(client, pem, envelope({"items": surrogate}))
    assert r.status_code == 422
    assert "request.payload.items[0].id must be valid text" in r.json()["detail"]
    surrogate = items(store)
    surrogate[0]["consent"] = {**surrogate[0]["consent"], "person": "\udfff"}
    r = send(client, pem, envelope({"items": surrogate}))
    assert r.status_code == 422 and "consent.person must be valid text" in r.json()["detail"]
    bare = envelope({"items": items(store)})
    del bare["nonce"]
    for env in (bare, envelope({"items": items(store)}, nonce={"a": 1})):
        r = send(client, pem, env)
        assert r.status_code == 422 and "request field 'nonce'" in r.json()["detail"]
    r = send(client, pem, envelope(["not", "an", "object"]), "withdraw")
    assert r.status_code == 422 and "request field 'payload'" in r.json()["detail"]
    deep: object = []
    for _ in range(40):
        deep = [deep]
    r = send(client, pem, envelope({"items": deep}))
    assert r.status_code == 422 and "nested more than 32 levels deep" in r.json()["detail"]
    body = b'{"firm": "acme", "payload": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    r = client.post("/api/v1/submit", content=body, headers={HEADER: "x"})
    assert r.status_code == 422 and "nested too deeply" in r.json()["detail"]

    assert set(counts(store).values()) == {0}  # nothing stored anywhere
    assert store.firm("acme")["notes"] == "" and store.firm("acme")["status"] == "interested"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    # and the same requests without the bad character are taken
    assert send(client, pem, envelope({"items": items(store)})).status_code == 200


def test_a_release_from_a_newer_version_is_read_and_no_body_holds_infinity(
    tmp_path: Path,
) -> None:
    store = HubStore.init(tmp_path)
    rel = Release(version=1, created_at="2026-03-04T15:47:23+00:00", inputs_sha256="0" * 64,
                  rules={}, firms=0, cells=[])  # fmt: skip
    newer = {**json.loads(body_json(rel)), "privacy": None, "noise_audit": {"kept": True}}
    with store.connect() as con:
        con.execute("INSERT INTO releases (version, created_at, inputs_sha256, body) VALUES "
                    "(?, ?, ?, ?)", (1, rel.created_at, rel.inputs_sha256, json.dumps(newer)))  # fmt: skip
    r = TestClient(create_hub_app(tmp_path)).get("/api/v1/benchmark")
    assert r.status_code == 200 and r.json()["version"] == 1 and r.json()["cells"] == []

    with store.connect() as con:  # a hub whose p was set to 0 before the floor was checked
        con.execute("UPDATE settings SET value = '0' WHERE name = 'p'")
    with pytest.raises(InputError, match="hub setting p = '0': a release needs at least 1"):
        rules(store)

    bad = Release(version=2, created_at=rel.created_at, inputs_sha256=rel.inputs_sha256,
                  rules={}, firms=3, cells=[{"sums": {"run_time_s": float("inf")}}])  # fmt: skip
    with pytest.raises(InputError, match="release 2 holds a figure that is not a finite number"):
        body_json(bad)


@BACKENDS
def test_an_envelope_whose_firm_action_or_time_is_not_text_is_refused(
    tmp_path: Path, database_url: str | None
) -> None:
    """A firm id sent as a number (signed by that firm) reached the database as a number."""
    store = HubStore.init(tmp_path, url=database_url)
    pem = new_key()
    store.add_firm(id="7", name="Seven", sector="metal", size_band="small", region="north",
                   public_key=public_of(pem))  # fmt: skip
    client = TestClient(create_hub_app(tmp_path, database_url=database_url))
    good = {"firm": "7", "action": "me", "sent_at": clock.now().isoformat(), "payload": None}
    for n, (field, value) in enumerate((("firm", 7), ("action", ["me"]), ("sent_at", 1.5))):
        r = send(client, pem, {**good, field: value, "nonce": f"nonce-{n:04d}"}, "me")
        assert r.status_code == 422 and f"request field {field!r}" in r.json()["detail"], r.text
    assert send(client, pem, {**good, "nonce": "nonce-good"}, "me").json()["id"] == "7"
