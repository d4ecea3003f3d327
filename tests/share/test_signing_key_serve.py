"""A signing key named but unreadable: the server refuses to start (it served unsigned, and
answered a partner's GET /aas/reads with a 500 naming the server's path to the key). The key is
the one read at the start: another key put in the file while the server runs is refused, and so
is a start with a key that did not sign the record. The newest records get a signed head within
a minute whether or not partners read again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.errors import SettingsError
from pilotline.share import anchor
from pilotline.share.partners import Partners
from pilotline.share.readlog import Read, ReadLog, verify
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


def test_a_key_changed_while_serving_is_refused_and_a_restart_with_it_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """The key is read when the server starts; another key put in the file meanwhile is not
    taken (the server goes on signing with the one it started with, and says so once), and a
    start with it is refused, as 'share audit verify' checks every head with one key."""
    home, key, other = tmp_path / "home", tmp_path / "keys" / "audit.key", tmp_path / "o.key"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    partner = Partners(EmbeddedStore(home), home).add("initech")
    first = anchor.keygen(key, home)
    anchor.keygen(other, home)
    monkeypatch.setenv(anchor.ENV, str(key))
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        client.get("/aas/shells", headers=auth(partner))
        log = client.app.state.share.log  # type: ignore[attr-defined]
        log.flush()  # the first write signs at once
        key.write_bytes(other.read_bytes())  # another key, while the server runs
        with caplog.at_level(logging.WARNING, logger="pilotline.share.anchor"):
            client.get("/aas/shells", headers=auth(partner))
            log.close()  # signs the newest head, as at exit
            head = client.get("/aas/reads", headers=auth(partner)).json()["signedHead"]
    heads = anchor.read_anchors(home)
    assert [a.seq for a in heads] == [1, 2]
    assert {a.key for a in heads} == {anchor.fingerprint(first)} == {head["key"]}
    assert head["publicKey"] == anchor.public_text(first)
    said = [r.getMessage() for r in caplog.records if "signing key changed" in r.getMessage()]
    assert len(said) == 1 and anchor.fingerprint(first) in said[0]
    assert verify(EmbeddedStore(home), home, public_key=first) >= 2
    # started again (a new process reads the file afresh): the new key did not sign this record
    monkeypatch.setattr(anchor, "_pinned", {})
    with pytest.raises(SettingsError, match=r"did not sign this record.*names key"):
        create_app(home)


def test_records_after_the_last_signed_head_wait_at_most_a_minute_without_new_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head was signed only when records were written: a read just after a signing stayed
    unsigned for as long as no partner read again. The writer's round signs it once a minute
    has passed since the last signing, reads or not."""
    home, key = tmp_path / "home", tmp_path / "audit.key"
    anchor.keygen(key, home)
    monkeypatch.setenv(anchor.ENV, str(key))
    log = ReadLog(EmbeddedStore(home), home, interval_s=3600)
    log.append(Read(NOW, "acme", "/aas/shells", [], [], 200))
    log.flush()  # signed at once (the first)
    log.append(Read(NOW, "acme", "/aas/submodels", [], [], 200))
    log.flush()  # within the minute: written, not signed
    log.tick()
    assert [a.seq for a in anchor.read_anchors(home)] == [1]
    log._signed_at -= anchor.EVERY_S  # a minute has passed, with no read since
    log.tick()
    assert [a.seq for a in anchor.read_anchors(home)] == [1, 2]
    log.tick()  # nothing new: nothing signed again
    assert [a.seq for a in anchor.read_anchors(home)] == [1, 2]
