"""The onward-sharing statement survives the file a partner is given: basyx 2.x dropped an
Extension's value when it was false, so an exported AASX said ``OnwardSharing`` with no value."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import Any

from basyx.aas import model

from pilotline import clock
from pilotline.plant import load_plant
from pilotline.share.files import from_json, read_aasx, to_json, write_aasx
from pilotline.share.repository import onward_of
from pilotline.share.service import Service
from pilotline.store import EmbeddedStore
from tests.conftest import NOW
from tests.share.conftest import Shared


def _view(shared: Shared) -> dict[str, Any]:
    plant = load_plant(shared.home / "plant.toml")
    with clock.fixed(NOW):
        return dict(Service(shared.home, EmbeddedStore(shared.home), lambda: plant).preview("acme"))


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
