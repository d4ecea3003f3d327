"""What travels with what a partner reads, and how much of it: the onward-sharing condition of
its grants (an AAS Extension on every submodel and element, a header on every answer), and the
API's ``level`` and ``extent`` parameters (IDTA-01002 Part 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.share.partners import grant_rule
from pilotline.share.repository import View, onward_of, shape, value_only
from pilotline.share.semantics import KPI as KPI_SEMANTIC
from pilotline.share.semantics import ONWARD
from tests.conftest import NOW
from tests.share.conftest import Shared, auth, b64

KPI = "urn:pilotline:demo-works:sm:machine:press-1:kpi"
PRESS2_KPI = "urn:pilotline:demo-works:sm:machine:press-2:kpi"
NAMEPLATE = "urn:pilotline:demo-works:sm:machine:press-1:nameplate"
SERIES = "urn:pilotline:demo-works:sm:machine:press-1:series:press-1-temperature:timeseries"


def test_what_is_served_says_it_may_not_be_passed_on(client: TestClient, shared: Shared) -> None:
    h = auth(shared.key)  # acme's grants forbid onward sharing (the default)
    r = client.get(f"/aas/submodels/{b64(KPI)}", headers=h)
    assert r.headers["Pilotline-Onward-Sharing"] == "forbidden"
    (ext,) = [x for x in r.json()["extensions"] if x["name"] == "OnwardSharing"]
    assert ext == {"semanticId": {"type": "ExternalReference",
                                  "keys": [{"type": "GlobalReference", "value": ONWARD}]},
                   "name": "OnwardSharing", "valueType": "xs:boolean", "value": "false"}  # fmt: skip
    element = client.get(f"/aas/submodels/{b64(KPI)}/submodel-elements/GoodQuantity", headers=h)
    assert onward_of(element.json()) is False
    value = client.get(f"/aas/submodels/{b64(KPI)}/$value", headers=h)
    assert value.headers["Pilotline-Onward-Sharing"] == "forbidden"  # no room in the body
    listed = client.get("/aas/submodels", headers=h).json()["result"]
    assert listed and all(onward_of(s) is False for s in listed)
    # the partner's own record carries no grant, so no condition
    assert "Pilotline-Onward-Sharing" not in client.get("/aas/reads", headers=h).headers


def test_onward_only_when_every_grant_giving_it_allows_it(client: TestClient,
                                                          shared: Shared) -> None:  # fmt: skip
    service = client.app.state.share  # type: ignore[attr-defined]
    every_kpi = grant_rule(partner="acme", semantic_id=KPI_SEMANTIC, machine_prefix=None,
                           paths=[], ends=None)  # fmt: skip
    with clock.fixed(NOW):
        view = service.preview("acme", extra=every_kpi, extra_onward=True)
    onward = {s["id"]: onward_of(s) for s in view["submodels"]}
    assert onward[PRESS2_KPI] is True  # only the new grant gives it, and it allows onward
    assert onward[KPI] is False  # also given by acme's KPI grant, which does not
    assert onward[NAMEPLATE] is False


def test_level_core_leaves_out_the_childrens_children(client: TestClient, shared: Shared) -> None:
    h = auth(shared.other_key)  # globex: time series
    deep = client.get(f"/aas/submodels/{b64(SERIES)}", headers=h).json()
    core = client.get(f"/aas/submodels/{b64(SERIES)}", params={"level": "core"}, headers=h).json()
    assert [e["idShort"] for e in core["submodelElements"]] == [
        e["idShort"] for e in deep["submodelElements"]
    ]
    assert any("value" in e for e in deep["submodelElements"] if _has_children(e))
    assert not any("value" in e for e in core["submodelElements"] if _has_children(e))
    # an element asked for with core: its children, not theirs
    name = next(e["idShort"] for e in deep["submodelElements"] if _has_children(e))
    url = f"/aas/submodels/{b64(SERIES)}/submodel-elements/{name}"
    one = client.get(url, params={"level": "core"}, headers=h).json()
    assert [c["idShort"] for c in one["value"]] == [
        c["idShort"] for c in client.get(url, headers=h).json()["value"]
    ]
    assert not any("value" in c for c in one["value"] if _has_children(c))
    # $value with core and the listing of elements with core follow the same cut
    value = client.get(f"/aas/submodels/{b64(SERIES)}/$value", params={"level": "core"},
                       headers=h).json()  # fmt: skip
    assert value[name] in ({}, [])
    listed = client.get(f"/aas/submodels/{b64(SERIES)}/submodel-elements",
                        params={"level": "core"}, headers=h).json()["result"]  # fmt: skip
    assert not any("value" in e for e in listed if _has_children(e))
    # the defaults are deep and withoutBlobValue: the same as saying so
    said = client.get(f"/aas/submodels/{b64(SERIES)}",
                      params={"level": "deep", "extent": "withoutBlobValue"}, headers=h)  # fmt: skip
    assert said.json() == deep


def test_invalid_level_or_extent_is_a_400_result(client: TestClient, shared: Shared) -> None:
    h = auth(shared.key)
    for params in ({"level": "shallow"}, {"extent": "withBlob"}, {"level": ""}):
        for url in (
            f"/aas/submodels/{b64(KPI)}",
            f"/aas/submodels/{b64(KPI)}/$value",
            f"/aas/submodels/{b64(KPI)}/submodel-elements/GoodQuantity",
            "/aas/submodels",
        ):
            r = client.get(url, params=params, headers=h)
            assert r.status_code == 400, (url, params)
            (m,) = r.json()["messages"]
            assert m["code"] == "400" and m["messageType"] == "Error"
            assert next(iter(params)) in m["text"]


def _has_children(e: dict[str, Any]) -> bool:
    return e.get("modelType") in ("SubmodelElementCollection", "SubmodelElementList")


BLOB = {"modelType": "Blob", "idShort": "Photo", "contentType": "image/png", "value": "iVBORw0K"}
DOC = {"modelType": "SubmodelElementCollection", "idShort": "Document",
       "value": [BLOB, {"modelType": "SubmodelElementList", "idShort": "Pages",
                        "value": [{"modelType": "Blob", "contentType": "image/png",
                                   "value": "AAAA"}]}]}  # fmt: skip


def test_extent_leaves_blob_values_out_unless_asked() -> None:
    without = View().element(DOC, has_blob=True)
    assert "value" not in without["value"][0] and without["value"][0]["contentType"] == "image/png"
    assert "value" not in without["value"][1]["value"][0]  # at every depth
    assert View(extent="withBlobValue").element(DOC, has_blob=True) == DOC
    assert value_only(without["value"][0]) == {"contentType": "image/png"}
    assert value_only(BLOB) == {"contentType": "image/png", "value": "iVBORw0K"}
    core = View(level="core", extent="withBlobValue").element(DOC, has_blob=True)
    assert core["value"][0] == BLOB and "value" not in core["value"][1]
    assert shape(DOC, depth=0, blobs=True) == {"modelType": "SubmodelElementCollection",
                                               "idShort": "Document"}  # fmt: skip
    assert DOC["value"][0] is BLOB and "value" in BLOB  # nothing cached is changed


def _filtered_rule(machine: str, fragment: str, condition: dict[str, Any]) -> dict[str, Any]:
    rule = grant_rule(partner="hooli", semantic_id=KPI_SEMANTIC, paths=[], ends=None,
                      machine_prefix=f"urn:pilotline:demo-works:sm:machine:{machine}:")  # fmt: skip
    return {**rule, "FILTER": {"FRAGMENT": fragment, "CONDITION": condition}}


def test_a_rules_filter_gives_only_the_items_it_keeps(client: TestClient, shared: Shared) -> None:
    from pilotline.share.partners import Partners
    from pilotline.store import EmbeddedStore

    partners = Partners(EmbeddedStore(shared.home), shared.home)
    key = partners.add("hooli")
    quantities = {"$and": [
        {"$ends-with": [{"$field": "$sme#idShort"}, {"$strVal": "Quantity"}]},
        {"$ge": [{"$field": "$sme.GoodQuantity.currentValue#value"}, {"$numVal": 0}]},
    ]}  # fmt: skip
    numbers = {"$ge": [{"$field": "$sme#value"}, {"$numVal": 0}]}
    with clock.fixed(NOW):
        partners.add_rule("hooli", _filtered_rule("press-1", "$sme", quantities), by="test")
        partners.add_rule("hooli", _filtered_rule("press-2", "$sme.GoodQuantity", numbers),
                          by="test")  # fmt: skip
    h = auth(key)
    whole = client.get(f"/aas/submodels/{b64(KPI)}", headers=auth(shared.key)).json()
    names = [e["idShort"] for e in whole["submodelElements"]]
    one = client.get(f"/aas/submodels/{b64(KPI)}", headers=h).json()
    assert [e["idShort"] for e in one["submodelElements"]] == [
        n for n in names if n.endswith("Quantity")
    ]
    assert len(one["submodelElements"]) >= 2
    two = client.get(f"/aas/submodels/{b64(PRESS2_KPI)}", headers=h).json()
    assert [e["idShort"] for e in two["submodelElements"]] == names  # the rest whole
    good = client.get(f"/aas/submodels/{b64(PRESS2_KPI)}/submodel-elements/GoodQuantity",
                      headers=h).json()  # fmt: skip
    assert [c["idShort"] for c in good["value"]] == ["currentValue"]  # the number only
    hidden = f"/aas/submodels/{b64(PRESS2_KPI)}/submodel-elements/GoodQuantity.key"
    assert client.get(hidden, headers=h).status_code == 404
    assert client.get(hidden, headers=auth(shared.key)).status_code == 404  # acme: not granted
    scrap = client.get(f"/aas/submodels/{b64(PRESS2_KPI)}/submodel-elements/ScrapQuantity.key",
                       headers=h)  # fmt: skip
    assert scrap.status_code == 200  # outside the fragment: as the objects give it


def test_a_partner_receives_the_signed_head_with_its_record(
    shared: Shared, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a signing key set, GET /aas/reads gives the newest signed head and the public key:
    the partner holds an anchor the firm cannot later rewrite past. (A copy of the shared data
    directory with a server of its own: the session's server keeps writing its record in the
    background, and signs with whatever key another test sets meanwhile.)"""
    import shutil

    from pilotline.share import anchor
    from pilotline.share.readlog import verify
    from pilotline.store import EmbeddedStore
    from pilotline.web import create_app

    home = tmp_path / "home"
    shutil.copytree(shared.home, home)
    (home / "share" / "reads.anchors").unlink(missing_ok=True)  # heads other tests' keys signed
    key = tmp_path / "audit.key"
    public = anchor.keygen(key, home)
    monkeypatch.setenv(anchor.ENV, str(key))
    h = auth(shared.key)
    with clock.fixed(NOW):
        client = TestClient(create_app(home))
        client.get(f"/aas/submodels/{b64(KPI)}", headers=h)
        service = client.app.state.share  # type: ignore[attr-defined]
        service.log.close()  # written and signed, as at exit
        head = client.get("/aas/reads", headers=h).json()["signedHead"]
    assert head["publicKey"] == anchor.public_text(public)
    assert head["key"] == anchor.fingerprint(public) and head["seq"] >= 1
    (signed,) = [a for a in anchor.read_anchors(home) if a.sig == head["signature"]]
    assert anchor.check(signed, public) is None
    assert verify(EmbeddedStore(home), home) >= head["seq"]
