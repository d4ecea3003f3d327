"""A signing key named but unreadable: the server refuses to start (it served unsigned, and
answered a partner's GET /aas/reads with a 500 naming the server's path to the key)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.errors import SettingsError
from pilotline.share import anchor
from pilotline.share.partners import Partners
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.conftest import NOW, WORKED_EXAMPLE_PLANT
from tests.share.conftest import auth


def test_an_unreadable_key_stops_the_start_and_is_never_named_to_a_partner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home, key = tmp_path / "home", tmp_path / "keys" / "audit.key"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    partner = Partners(EmbeddedStore(home), home).add("initech")
    monkeypatch.setenv(anchor.ENV, str(key))
    with pytest.raises(SettingsError, match="cannot read the signing key"):
        create_app(home)
    anchor.keygen(key, home)
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        client.get("/aas/submodels", headers=auth(partner))
        client.get("/aas/reads", headers=auth(partner))
        signed = anchor.signing_key(home)
        assert signed is not None
        anchor.sign(home, signed, 1, "0" * 64)
        key.unlink()  # gone while the server runs
        r = client.get("/aas/reads", headers=auth(partner))
    assert r.status_code == 200, r.text
    assert str(tmp_path / "keys") not in r.text and "publicKey" not in r.json()["signedHead"]


def test_a_failure_behind_the_api_is_not_described_to_a_partner(tmp_path: Path) -> None:
    """Whatever breaks on the firm's side (here its plant model), a partner gets the spec's
    result shape and no file, path or internal message; the firm's log has the detail."""
    home = tmp_path / "home"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    partner = Partners(EmbeddedStore(home), home).add("initech")
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        assert client.get("/aas/shells", headers=auth(partner)).status_code == 200
        (home / "plant.toml").write_text("[site\nbroken = ")
        r = client.get("/aas/shells", headers=auth(partner))
    assert r.status_code in (500, 503), r.text
    assert "plant.toml" not in r.text and str(home) not in r.text and "TOML" not in r.text
    assert r.json()["messages"][0]["messageType"] in ("Error", "Exception")
