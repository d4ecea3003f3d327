"""The partner AAS API: what a partner is granted and nothing else, the spec's Result shape for
errors, paging, and — against a real server on loopback — expiry, revocation through the CLI,
the record of reads and pulling a partner's submodel."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path

import httpx
import pytest
from basyx.aas.model import Submodel
from fastapi.testclient import TestClient
from typer.testing import CliRunner, Result

from pilotline import clock
from pilotline.cli import app
from pilotline.errors import InputError
from pilotline.plant import load_plant
from pilotline.share.files import imported
from pilotline.share.partners import Partners, grant_rule
from pilotline.share.readlog import records, verify
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.conftest import NOW, WORKED_EXAMPLE_PLANT
from tests.share.conftest import SHARED_SPECS, Shared, auth, b64, ids
from tests.web.conftest import serving

KPI = "urn:pilotline:demo-works:sm:machine:press-1:kpi"
PRESS2_KPI = "urn:pilotline:demo-works:sm:machine:press-2:kpi"
NAMEPLATE = "urn:pilotline:demo-works:sm:machine:press-1:nameplate"


def test_a_partner_sees_exactly_its_grants(client: TestClient, shared: Shared) -> None:
    h = auth(shared.key)
    subs = client.get("/aas/submodels", headers=h).json()
    assert KPI in ids(subs) and PRESS2_KPI not in ids(subs)
    assert all(x.endswith((":kpi", ":nameplate")) for x in ids(subs))
    nameplates = [s for s in subs["result"] if s["id"].endswith(":nameplate")]
    assert nameplates and all(
        [e["idShort"] for e in s["submodelElements"]] == ["ManufacturerName"] for s in nameplates
    )
    shells = client.get("/aas/shells", headers=h).json()["result"]
    press1 = next(s for s in shells if s["id"].endswith(":machine:press-1"))
    assert {r["keys"][0]["value"] for r in press1["submodels"]} == {KPI, NAMEPLATE}
    assert not any(s["id"].startswith("urn:pilotline:demo-works:aas:product") for s in shells)
    # not granted: "not found", the same as what does not exist
    for url in (
        f"/aas/submodels/{b64(PRESS2_KPI)}",
        f"/aas/submodels/{b64('urn:nothing')}",
        f"/aas/submodels/{b64(NAMEPLATE)}/submodel-elements/OrderCodeOfManufacturer",
        f"/aas/shells/{b64('urn:pilotline:demo-works:aas:product:BRK-100')}",
    ):
        r = client.get(url, headers=h)
        assert r.status_code == 404, url
        (m,) = r.json()["messages"]
        assert m["messageType"] == "Error" and m["code"] == "404"
    texts = {
        client.get(f"/aas/shells/{b64(shell)}/submodels/{b64(sm)}", headers=h).json()["messages"][0]["text"]
        for shell, sm in (
            ("urn:pilotline:demo-works:aas:machine:press-2", PRESS2_KPI),  # exists, not given
            ("urn:pilotline:demo-works:aas:machine:press-1", PRESS2_KPI),  # not in this shell
            ("urn:pilotline:demo-works:aas:machine:press-1", "urn:nothing"),  # does not exist
        )
    }  # fmt: skip
    assert len(texts) == 1  # the same answer whether it exists or not
    r = client.get(f"/aas/submodels/{b64(NAMEPLATE)}/submodel-elements/ManufacturerName", headers=h)
    assert r.status_code == 200 and r.json()["value"] == [
        {"language": "en", "text": "Demo Works Ltd"}
    ]


def test_values_elements_and_paths(client: TestClient, shared: Shared) -> None:
    h = auth(shared.key)
    value = client.get(f"/aas/submodels/{b64(KPI)}/$value", headers=h).json()
    assert value["GoodQuantity"]["key"] == "GQ" and isinstance(
        value["GoodQuantity"]["currentValue"], int
    )
    r = client.get(f"/aas/submodels/{b64(KPI)}/submodel-elements/PlannedBusyTime.currentValue/$value",
                   headers=h)  # fmt: skip
    assert r.json() == {"currentValue": value["PlannedBusyTime"]["currentValue"]}
    shell = b64("urn:pilotline:demo-works:aas:machine:press-1")
    same = client.get(f"/aas/shells/{shell}/submodels/{b64(KPI)}/$value", headers=h).json()
    assert same == value
    refs = client.get(f"/aas/shells/{shell}/submodel-refs", headers=h).json()
    assert {r["keys"][0]["value"] for r in refs["result"]} == {KPI, NAMEPLATE}
    other = client.get(f"/aas/submodels/{b64(KPI)}", headers=auth(shared.other_key))
    assert other.status_code == 404  # globex was not given the KPI
    client.get(f"/aas/submodels/{b64(NAMEPLATE)}", headers=h)
    client.app.state.share.log.flush()  # type: ignore[attr-defined]
    last = records(EmbeddedStore(shared.home), partner="acme", limit=1, newest=True)[0]
    assert last["returned"] == [f"{NAMEPLATE}#ManufacturerName"]  # the elements given
    assert last["grants"] == [shared.grants["nameplate"]] and last["status"] == 200


def test_paging_and_bad_input(client: TestClient, shared: Shared) -> None:
    h = auth(shared.key)
    everything = ids(client.get("/aas/submodels", headers=h).json())
    seen, cursor = [], None
    while True:
        page = client.get("/aas/submodels", params={"limit": 3, "cursor": cursor} if cursor
                          else {"limit": 3}, headers=h).json()  # fmt: skip
        seen += ids(page)
        cursor = page["paging_metadata"].get("cursor")
        if not cursor:
            break
    assert seen == everything and len(everything) > 3
    first = client.get("/aas/shells", params={"limit": 1}, headers=h).json()
    foreign = first["paging_metadata"]["cursor"]
    for url, params, words in (
        ("/aas/submodels", {"cursor": foreign}, "another list"),
        ("/aas/submodels", {"cursor": "bm9wZQ"}, "not one this server gave"),
        ("/aas/submodels", {"limit": 0}, "limit"),
        ("/aas/submodels/not*base64", {}, "base64url"),
        (f"/aas/submodels/{b64(KPI)}/submodel-elements/Planned..Busy", {}, "idShort path"),
    ):
        r = client.get(url, params=params, headers=h)
        assert r.status_code == 400, url
        assert words in r.json()["messages"][0]["text"]
    assert client.get("/aas/shells").status_code == 401
    assert client.get("/aas/shells", headers=auth("plk_nope")).status_code == 401
    assert client.post("/aas/shells", headers=h).status_code == 405
    # partner keys open nothing else of the web app
    assert client.get("/api/machines", headers=h).status_code == 401
    assert client.get("/aas/description").json()["profiles"][0].endswith("SSP-002")


def test_a_malformed_custom_rule_is_refused_and_nothing_changes(shared: Shared) -> None:
    partners = Partners(EmbeddedStore(shared.home), shared.home)
    before = len(partners.grants())
    bad = grant_rule(partner="acme", semantic_id="x", machine_prefix=None, paths=[], ends=None)
    bad["ACL"]["RIGHTS"] = ["READ", "STEAL"]
    with pytest.raises(Exception, match=r"rules\[0\]\.ACL\.RIGHTS\[1\]"):
        partners.add_rule("acme", bad, by="test")
    assert len(partners.grants()) == before


def _cli(home: Path, *args: str) -> Result:
    """The CLI in this process (a subprocess costs seconds of imports); it reaches the server
    only through the store and the grants stamp, as it would from another process."""
    return CliRunner().invoke(app, ["--home", str(home), "share", *args])


def test_real_server_expiry_revocation_record_and_pull(shared: Shared, tmp_path: Path) -> None:
    home = shared.home
    added = _cli(home, "partner", "add", "Initech", "--format", "json")
    assert added.exit_code == 0, added.output
    key = json.loads(added.stdout)["api_key"]
    assert json.loads(added.stdout)["partner"] == "Initech"
    plant = load_plant(home / "plant.toml")
    partners = Partners(EmbeddedStore(home), home)
    partners.grant("Initech", plant=plant, submodel="kpi", machine="press-2", by="test",
                   expires=dt.date(2026, 3, 5))  # fmt: skip
    # a grant that ended a second ago (as the server's clock sees it)
    prefix = "urn:pilotline:demo-works:sm:machine:press-3:"
    partners.add_rule("Initech", grant_rule(partner="Initech", semantic_id=
        "https://admin-shell.io/idta/SubmodelTemplate/ProcessVariablesForManufacturingKPICalculation/1/0",
        machine_prefix=prefix, paths=[], ends=NOW - dt.timedelta(seconds=1)), by="test")  # fmt: skip
    with serving(home) as url:
        h = auth(key)
        got = httpx.get(f"{url}/aas/submodels", headers=h).json()
        assert ids(got) == [PRESS2_KPI]  # press-3's grant has expired; press-1 was never given
        assert httpx.get(f"{url}/aas/submodels/{b64(prefix + 'kpi')}", headers=h).status_code == 404
        # pull the partner's submodel into another firm's model (this server is the partner)
        pulled = CliRunner().invoke(app, ["--home", str(tmp_path), "share", "pull", f"{url}/aas",
                                          "--submodel", PRESS2_KPI, "--key-env", "THEIR_KEY"],
                                    env={"THEIR_KEY": key})  # fmt: skip
        assert pulled.exit_code == 0, pulled.output
        (got,) = imported(tmp_path)
        assert isinstance(got, Submodel) and got.id == PRESS2_KPI
        assert got.get_referable("GoodQuantity")
        refused = CliRunner().invoke(app, ["--home", str(tmp_path), "share", "pull", f"{url}/aas",
                                           "--submodel", PRESS2_KPI], env={"PILOTLINE_PARTNER_KEY": "plk_x"})  # fmt: skip
        assert refused.exit_code != 0 and "answered 401" in str(refused.exception)
        revoked = _cli(home, "revoke", "Initech")
        assert revoked.exit_code == 0, revoked.output
        r = httpx.get(f"{url}/aas/submodels/{b64(PRESS2_KPI)}", headers=h)
        assert r.status_code == 404  # at the very next request
        assert ids(httpx.get(f"{url}/aas/submodels", headers=h).json()) == []
        mine = httpx.get(f"{url}/aas/reads", headers=h).json()["result"]
        assert [m["status"] for m in mine][:3] == [200, 404, 200]
        assert mine[0]["returned"] == [PRESS2_KPI] and mine[0]["grants"]
        assert {m["partner"] for m in mine} == {"Initech"}
    assert verify(EmbeddedStore(home), home) >= 5
    ok = _cli(home, "audit", "verify")
    assert ok.exit_code == 0 and "intact" in ok.stdout


def test_client_credentials_give_a_short_lived_token(client: TestClient, shared: Shared) -> None:
    form = {"grant_type": "client_credentials", "client_id": "acme", "client_secret": shared.key}
    r = client.post("/aas/token", data=form)
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 300
    token = body["access_token"]
    assert ids(client.get("/aas/submodels", headers=auth(token)).json()) == ids(
        client.get("/aas/submodels", headers=auth(shared.key)).json()
    )
    basic = base64.b64encode(f"acme:{shared.key}".encode()).decode()
    r = client.post("/aas/token", data={"grant_type": "client_credentials"},
                    headers={"Authorization": f"Basic {basic}"})  # fmt: skip
    assert r.status_code == 200
    for data, status, error in (
        ({**form, "client_secret": "plk_wrong"}, 401, "invalid_client"),
        ({**form, "client_id": "globex"}, 401, "invalid_client"),  # acme's key, globex's name
        ({**form, "grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, 400, "invalid_request"),
    ):
        r = client.post("/aas/token", data=data)
        assert (r.status_code, r.json()["error"]) == (status, error)
    # a token is a bearer credential for the AAS API only, and for five minutes
    assert client.get("/api/machines", headers=auth(token)).status_code == 401
    with clock.fixed(NOW + dt.timedelta(seconds=301)):
        assert client.get("/aas/submodels", headers=auth(token)).status_code == 401
    assert client.get("/aas/submodels", headers=auth(token + "x")).status_code == 401


def test_a_partner_over_its_rate_is_refused_and_that_is_on_record(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    (tmp_path / "share.toml").write_text("[api]\nrate_per_s = 0.01\nburst = 2\n")
    store = EmbeddedStore(tmp_path)
    partners = Partners(store, tmp_path)
    key = partners.add("acme")
    partners.grant("acme", plant=load_plant(tmp_path / "plant.toml"), submodel="nameplate", by="t")
    web = create_app(tmp_path)
    client = TestClient(web)
    got = [client.get("/aas/submodels", headers=auth(key)) for _ in range(3)]
    assert [r.status_code for r in got] == [200, 200, 429]
    assert 90 <= int(got[2].headers["retry-after"]) <= 100  # a token every 100 s
    assert "Too many requests" in got[2].json()["messages"][0]["text"]
    assert len(ids(got[0].json())) == 3  # the site's and two machines' nameplates
    reads = web.state.share.log
    reads.flush()
    assert [r["status"] for r in records(store, partner="acme")] == [200, 200, 429]


def test_a_custom_rule_opens_nothing_to_other_partners(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    partners = Partners(EmbeddedStore(tmp_path), tmp_path)
    mine, theirs = partners.add("acme"), partners.add("globex")
    doc = json.loads((SHARED_SPECS / "aas-security" / "allow-read-complete-api.json").read_text())
    rule = doc["AllAccessPermissionRules"]["rules"][0]  # anyone may read everything
    r = CliRunner().invoke(app, ["--home", str(tmp_path), "share", "grant", "globex", "--rule",
                                 str(_write(tmp_path / "rule.json", rule)), "--expires", "2026-03-04"])  # fmt: skip
    assert r.exit_code == 0, r.output
    (stored,) = partners.grants("globex")
    assert stored.rule["FORMULA"]["$and"][0] == {
        "$eq": [{"$attribute": {"CLAIM": "partner"}}, {"$strVal": "globex"}]
    }
    client = TestClient(create_app(tmp_path))
    assert len(ids(client.get("/aas/submodels", headers=auth(theirs)).json())) == 5  # all
    assert ids(client.get("/aas/submodels", headers=auth(mine)).json()) == []
    with clock.fixed(dt.datetime(2026, 3, 5, tzinfo=dt.UTC)):  # after the last day
        assert ids(client.get("/aas/submodels", headers=auth(theirs)).json()) == []


def _write(path: Path, value: object) -> Path:
    path.write_text(json.dumps(value))
    return path


def test_a_grant_of_one_products_footprint(client: TestClient, shared: Shared) -> None:
    partners = Partners(EmbeddedStore(shared.home), shared.home)
    key = partners.add("Umbrella")
    plant = load_plant(shared.home / "plant.toml")
    g = partners.grant("Umbrella", plant=plant, submodel="carbon-footprint", product="BRK-200",
                       by="test")  # fmt: skip
    assert g.what == "carbon-footprint of product BRK-200"
    got = client.get("/aas/submodels", headers=auth(key)).json()
    assert ids(got) == ["urn:pilotline:demo-works:sm:product:BRK-200:carbon-footprint"]
    with pytest.raises(InputError, match="per product"):
        partners.grant("Umbrella", plant=plant, submodel="carbon-footprint", machine="press-1",
                       by="test")  # fmt: skip
    partners.remove("Umbrella")


def test_refusals_before_any_handler_are_on_the_record_too(client: TestClient,
                                                            shared: Shared) -> None:  # fmt: skip
    """A bad limit, a route that does not exist and a write are refused, and each is on the
    record (docs/share.md: refusals too); with no partner's key there is nobody to record."""
    h = auth(shared.key)
    got = [
        client.get("/aas/submodels?limit=0", headers=h).status_code,
        client.get("/aas/submodels?limit=1000000000000", headers=h).status_code,
        client.get("/aas/nothing/here", headers=h).status_code,
        client.post("/aas/submodels", headers=h).status_code,
    ]
    assert got == [400, 400, 404, 405]
    assert client.get("/aas/nothing/here").status_code == 404
    client.app.state.share.log.flush()  # type: ignore[attr-defined]
    last = records(EmbeddedStore(shared.home), partner="acme", limit=4, newest=True)[::-1]
    assert [(r["route"], r["status"]) for r in last] == [
        ("/aas/submodels?limit=0", 400),
        ("/aas/submodels?limit=1000000000000", 400),
        ("/aas/nothing/here", 404),
        ("/aas/submodels", 405),
    ]


def test_a_grant_ends_at_the_instant_its_last_day_ends(tmp_path: Path) -> None:
    """--expires 2026-03-04 in a plant on New York time: readable a microsecond before
    2026-03-05T05:00Z, "not found" at that instant."""
    (tmp_path / "plant.toml").write_text(
        WORKED_EXAMPLE_PLANT.replace('timezone = "UTC"', 'timezone = "America/New_York"')
    )
    partners = Partners(EmbeddedStore(tmp_path), tmp_path)
    key = partners.add("acme")
    with clock.fixed(NOW):
        partners.grant("acme", plant=load_plant(tmp_path / "plant.toml"), submodel="nameplate",
                       by="t", expires=dt.date(2026, 3, 4))  # fmt: skip
    client = TestClient(create_app(tmp_path))
    end = dt.datetime(2026, 3, 5, 5, tzinfo=dt.UTC)
    for at, n in ((end - dt.timedelta(microseconds=1), 3), (end, 0)):
        with clock.fixed(at):
            got = client.get("/aas/submodels", headers=auth(key))
            assert (got.status_code, len(ids(got.json()))) == (200, n), at
            one = client.get(f"/aas/submodels/{b64(got.json()['result'][0]['id'])}" if n else
                             "/aas/shells", headers=auth(key))  # fmt: skip
            assert one.status_code == 200 and (n or one.json()["result"] == [])


def test_a_rule_file_nested_too_deep_is_refused_not_a_fault(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    Partners(EmbeddedStore(tmp_path), tmp_path).add("acme")
    deep = tmp_path / "deep.json"
    deep.write_text('{"ACL":' * 5000 + "1" + "}" * 5000)
    got = CliRunner().invoke(app, ["--home", str(tmp_path), "share", "grant", "acme",
                                   "--rule", str(deep)])  # fmt: skip
    assert isinstance(got.exception, InputError)  # said plainly, not "a fault in Pilotline"
    assert "not a JSON file" in str(got.exception)


def test_wrong_secrets_in_a_partners_name_do_not_lock_it_out(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    (tmp_path / "share.toml").write_text("[api]\nrate_per_s = 0.01\nburst = 2\n")
    key = Partners(EmbeddedStore(tmp_path), tmp_path).add("acme")
    client = TestClient(create_app(tmp_path))
    form = {"grant_type": "client_credentials", "client_id": "acme"}
    wrong = [client.post("/aas/token", data={**form, "client_secret": "plk_guess"}).status_code
             for _ in range(4)]  # fmt: skip
    assert wrong == [401, 401, 429, 429]  # slowed per address
    got = client.post("/aas/token", data={**form, "client_secret": key})
    assert got.status_code == 200 and got.json()["access_token"].startswith("plt.")


def test_reading_ones_own_record_counts_as_ten_requests(tmp_path: Path) -> None:
    """/aas/reads writes the queue to the store first (about 0.1 s): at the full rate it would
    keep the server busy; it counts as 10 requests."""
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    (tmp_path / "share.toml").write_text("[api]\nrate_per_s = 0.01\nburst = 15\n")
    key = Partners(EmbeddedStore(tmp_path), tmp_path).add("acme")
    client = TestClient(create_app(tmp_path))
    got = [client.get(p, headers=auth(key)).status_code
           for p in ("/aas/reads", "/aas/reads", "/aas/shells")]  # fmt: skip
    assert got == [200, 429, 200]


def test_a_grant_that_gives_nothing_now_is_said_so(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    Partners(EmbeddedStore(tmp_path), tmp_path).add("acme")
    typo = _cli(tmp_path, "grant", "acme", "--submodel", "nameplate", "--element", "ManufacturerName",
                "--element", "ManufacturerNmae")  # fmt: skip
    assert "no element ManufacturerNmae in what" in typo.output
    assert "ManufacturerName," not in typo.output.split("Note:")[1]
    none = _cli(tmp_path, "grant", "acme", "--submodel", "carbon-footprint")
    assert "gives acme nothing with what there is now" in none.output
