"""A grant whose objects are a ROUTE such as "/submodels/*" opened every submodel to a partner
by its address while `share grant` said it gave nothing and the preview showed nothing (both
look at the list). Such a rule is refused; ROUTE "*" (every address alike) is taken. One stored
before that check is not applied (it gives nothing), and the server's log, `share grants` and
`share preview` say so."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from pilotline import clock
from pilotline.cli import app
from pilotline.errors import InputError
from pilotline.share.partners import Partners, scoped
from pilotline.store import EmbeddedStore
from pilotline.web import Users, create_app
from tests.conftest import NOW, WORKED_EXAMPLE_PLANT
from tests.share.conftest import b64
from tests.web.conftest import PASSWORD, api_login


def _rule(route: str) -> dict[str, object]:
    return {"ACL": {"ATTRIBUTES": [{"CLAIM": "partner"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
            "OBJECTS": [{"ROUTE": route}], "FORMULA": {"$boolean": True}}  # fmt: skip


def test_a_route_rule_is_refused_unless_it_is_every_route(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    partners = Partners(EmbeddedStore(tmp_path), tmp_path)
    partners.add("initech")
    for route in ("/submodels/*", "/shells/*/submodels/*", "/submodels*"):
        with pytest.raises(InputError, match=r"ROUTE .* cannot be granted here"):
            partners.add_rule("initech", _rule(route), by="test")
    assert not partners.grants("initech")
    partners.add_rule("initech", _rule("*"), by="test")
    assert len(partners.grants("initech")) == 1


def test_a_route_rule_stored_before_the_check_gives_nothing_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Stored before the check (written here as add_rule wrote it then), ROUTE '/submodels/*'
    gave every submodel by its address: it is not applied, and the firm's log, 'share grants'
    and 'share preview' say so."""
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    store = EmbeddedStore(tmp_path)
    partners = Partners(store, tmp_path)
    key = partners.add("initech")
    with store.session(write=True) as s:
        s.execute("INSERT INTO share_grants VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                  ["g-legacy01", "initech", json.dumps(scoped(_rule("/submodels/*"), "initech", None)),
                   "", None, False, "test", clock.utc_naive()])  # fmt: skip
    (grant,) = partners.grants("initech")
    assert grant.not_applied is not None and "/submodels/*" in grant.not_applied
    assert partners.rules() == ([], [])
    Users(store).add("boss", PASSWORD, role="admin")
    with clock.fixed(NOW), TestClient(create_app(tmp_path)) as client:
        service = client.app.state.share  # type: ignore[attr-defined]
        ours = sorted(service.repository().submodels)
        assert any(sid.endswith(":nameplate") for sid in ours)  # what the rule used to give
        h = {"Authorization": f"Bearer {key}"}
        with caplog.at_level(logging.WARNING, logger="pilotline.share.service"):
            for sid in ours:
                assert client.get(f"/aas/submodels/{b64(sid)}", headers=h).status_code == 404
            assert client.get("/aas/submodels", headers=h).json()["result"] == []
        said = [r.getMessage() for r in caplog.records if "g-legacy01" in r.getMessage()]
        assert len(said) == 1 and "not applied" in said[0] and "/submodels/*" in said[0]
        assert service.preview("initech")["notApplied"] == [
            {"grant": "g-legacy01", "why": grant.not_applied}
        ]
        api_login(client, "boss")  # the admin's Share page says so beside the grant
        page = client.get("/share").text
        assert "Not applied:" in page and "/submodels/*" in page.split("g-legacy01", 1)[1]
    cli = ["--home", str(tmp_path), "share"]
    listed = CliRunner().invoke(app, [*cli, "grants"], env={"COLUMNS": "300"})
    assert listed.exit_code == 0, listed.output
    assert "NOT APPLIED" in listed.output and "Grant g-legacy01 (initech) is not applied" in (
        listed.output
    )
    as_json = CliRunner().invoke(app, [*cli, "grants", "--format", "json"])
    assert json.loads(as_json.stdout)[0]["not_applied"] == grant.not_applied
    preview = CliRunner().invoke(app, [*cli, "preview", "initech"], env={"COLUMNS": "300"})
    assert preview.exit_code == 0, preview.output
    assert "  nothing" in preview.output
    assert "Grant g-legacy01 is not applied and gives nothing: ROUTE '/submodels/*'" in (
        preview.output
    )
