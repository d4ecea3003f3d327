"""The onward-sharing statement survives the file a partner is given: basyx 2.x dropped an
Extension's value when it was false, so an exported AASX said ``OnwardSharing`` with no value."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path
from typing import Any

from basyx.aas import model

from pilotline import clock
from pilotline.plant import load_plant
from pilotline.share.files import from_json, read_aasx, to_json, write_aasx
from pilotline.share.partners import Partners
from pilotline.share.repository import onward_of
from pilotline.share.service import Service
from pilotline.store import EmbeddedStore
from tests.conftest import NOW
from tests.share.conftest import Shared


def _view(shared: Shared) -> dict[str, Any]:
    plant = load_plant(shared.home / "plant.toml")
    with clock.fixed(NOW):
        return dict(Service(shared.home, EmbeddedStore(shared.home), lambda: plant).preview("acme"))


def _initech_and_suppliers_rule(home: Path) -> tuple[Partners, str, dict[str, Any]]:
    """Partner ``initech`` added to ``home`` (its :class:`Partners` and key), and a rule giving
    every submodel received from the supplier (``urn:supplier:…``)."""
    partners = Partners(EmbeddedStore(home), home)
    key = partners.add("initech")
    rule = {
        "ACL": {"ATTRIBUTES": [{"CLAIM": "partner"}], "RIGHTS": ["READ"], "ACCESS": "ALLOW"},
        "OBJECTS": [{"IDENTIFIABLE": "(Submodel)*"}],
        "FORMULA": {"$starts-with": [{"$field": "$sm#id"}, {"$strVal": "urn:supplier:"}]},
    }
    return partners, key, rule


def test_an_exported_aasx_says_false_not_nothing(shared: Shared, tmp_path: Path) -> None:
    view = _view(shared)
    assert view["submodels"] and all(onward_of(s) is False for s in view["submodels"])
    path = tmp_path / "acme.aasx"
    write_aasx(path, from_json(view["assetAdministrationShells"], view["submodels"]))
    with zipfile.ZipFile(path) as z:
        text = "".join(z.read(n).decode() for n in z.namelist() if n.endswith((".xml", ".json")))
    exts = re.findall(r"<aas:extension>.*?</aas:extension>", text)
    onward = [x for x in exts if "<aas:name>OnwardSharing</aas:name>" in x]
    assert len(onward) == len(view["submodels"])
    assert all("<aas:value>false</aas:value>" in x for x in onward), onward[0]
    back = read_aasx(path)
    for sm in (o for o in back if isinstance(o, model.Submodel)):
        (ext,) = [e for e in sm.extension if e.name == "OnwardSharing"]
        assert ext.value is False
    # and the JSON form (what an import stores) keeps it too
    assert all(onward_of(s) is False and any(x.get("value") == "false" for x in s["extensions"])
               for s in to_json(back)["submodels"])  # fmt: skip


def test_an_element_received_without_onward_sharing_is_not_passed_on(tmp_path: Path) -> None:
    """A supplier's submodel whose *element* says OnwardSharing false was served under a grant
    with --onward, the element's own statement replaced by "true"."""
    from basyx.aas.adapter import aasx
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from pilotline.cli import app
    from pilotline.web import create_app
    from tests.conftest import WORKED_EXAMPLE_PLANT
    from tests.share.conftest import b64

    no = model.Extension("OnwardSharing", model.datatypes.Boolean, value=False)
    sid = "urn:supplier:sm:cf:1"
    sm = model.Submodel(sid, id_short="CF", submodel_element=[
        model.Property("Secret", model.datatypes.String, "s", extension=[no]),
        model.Property("Open", model.datatypes.String, "o")])  # fmt: skip
    shell = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id="urn:supplier:asset"), "urn:supplier:aas",
        submodel={model.ModelReference.from_referable(sm)})  # fmt: skip
    path = tmp_path / "supplier.aasx"
    with aasx.AASXWriter(str(path)) as w:
        w.write_aas(shell.id, model.DictIdentifiableStore([sm, shell]),
                    aasx.DictSupplementaryFileContainer())  # type: ignore[no-untyped-call]  # fmt: skip
    home = tmp_path / "firm"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    r = CliRunner().invoke(app, ["--home", str(home), "share", "import", str(path)])
    assert r.exit_code == 0 and "may not be passed on" in r.output and sid in r.output
    partners, key, rule = _initech_and_suppliers_rule(home)
    partners.add_rule("initech", rule, onward=True, by="test")  # stored past the CLI's check
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        h = {"Authorization": f"Bearer {key}"}
        listed = client.get("/aas/submodels", headers=h).json()["result"]
        secret = client.get(f"/aas/submodels/{b64(sid)}/submodel-elements/Secret", headers=h)
    assert listed == [] and secret.status_code == 404


def test_a_shell_received_without_onward_sharing_is_not_passed_on(tmp_path: Path) -> None:
    """A supplier's shell whose own OnwardSharing is false was served (in /aas/shells and at
    its address) once a granted submodel sat on it. It is held back now, with the submodels
    reachable only through it; a submodel also on another shell is served as before."""
    from basyx.aas.adapter import aasx
    from fastapi.testclient import TestClient
    from typer.testing import CliRunner

    from pilotline.cli import app
    from pilotline.web import create_app
    from tests.conftest import WORKED_EXAMPLE_PLANT
    from tests.share.conftest import b64, ids

    no = model.Extension("OnwardSharing", model.datatypes.Boolean, value=False)
    only = model.Submodel("urn:supplier:sm:only", id_short="Only", submodel_element=[
        model.Property("X", model.datatypes.String, "x")])  # fmt: skip
    both = model.Submodel("urn:supplier:sm:both", id_short="Both", submodel_element=[
        model.Property("Y", model.datatypes.String, "y")])  # fmt: skip
    held = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id="urn:supplier:asset:1"), "urn:supplier:aas:held",
        submodel={model.ModelReference.from_referable(only),
                  model.ModelReference.from_referable(both)}, extension=[no])  # fmt: skip
    free = model.AssetAdministrationShell(
        model.AssetInformation(global_asset_id="urn:supplier:asset:2"), "urn:supplier:aas:free",
        submodel={model.ModelReference.from_referable(both)})  # fmt: skip
    path = tmp_path / "supplier.aasx"
    with aasx.AASXWriter(str(path)) as w:
        w.write_aas([held.id, free.id], model.DictIdentifiableStore([only, both, held, free]),
                    aasx.DictSupplementaryFileContainer())  # type: ignore[no-untyped-call]  # fmt: skip
    home = tmp_path / "firm"
    home.mkdir()
    (home / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    cli = ["--home", str(home), "share"]
    r = CliRunner().invoke(app, [*cli, "import", str(path)], env={"COLUMNS": "300"})
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "1 shell(s) may not be passed on" in said and "urn:supplier:aas:held" in said
    assert "1 submodel(s) may not be passed on" in said and "urn:supplier:sm:only" in said
    assert "urn:supplier:sm:both," not in said and not said.endswith("urn:supplier:sm:both")
    partners, key, rule = _initech_and_suppliers_rule(home)
    rule_file = tmp_path / "rule.json"
    rule_file.write_text(json.dumps(rule))
    refused = CliRunner().invoke(app, [*cli, "grant", "initech", "--rule", str(rule_file)])
    assert refused.exit_code != 0 and "urn:supplier:sm:only" in str(refused.exception)
    partners.add_rule("initech", rule, onward=True, by="test")  # stored past the CLI's check
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        h = {"Authorization": f"Bearer {key}"}
        shells = client.get("/aas/shells", headers=h).json()
        submodels = client.get("/aas/submodels", headers=h).json()
        at = {
            what: client.get(url, headers=h).status_code
            for what, url in {
                "held shell": f"/aas/shells/{b64(held.id)}",
                "its refs": f"/aas/shells/{b64(held.id)}/submodel-refs",
                "both via it": f"/aas/shells/{b64(held.id)}/submodels/{b64(both.id)}",
                "only": f"/aas/submodels/{b64(only.id)}",
                "both": f"/aas/submodels/{b64(both.id)}",
                "free shell": f"/aas/shells/{b64(free.id)}",
                "both via free": f"/aas/shells/{b64(free.id)}/submodels/{b64(both.id)}",
            }.items()
        }  # fmt: skip
        view = client.app.state.share.preview("initech")  # type: ignore[attr-defined]
    assert ids(shells) == [free.id] and ids(submodels) == [both.id]
    assert at == {"held shell": 404, "its refs": 404, "both via it": 404, "only": 404,
                  "both": 200, "free shell": 200, "both via free": 200}  # fmt: skip
    assert [s["id"] for s in view["assetAdministrationShells"]] == [free.id]
    assert [s["id"] for s in view["submodels"]] == [both.id]
