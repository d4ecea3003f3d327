"""The shells and submodels: the templates' semantic ids and shapes, read back by basyx, and the
02066 KPI variables that give a partner our OEE."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from typing import Any

import pytest
from basyx.aas import model
from basyx.aas.adapter.json import StrictAASFromJsonDecoder, read_aas_json_file_into
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.plant import load_plant
from pilotline.share import semantics as sem
from pilotline.share.model import build_catalogue, kpi_period
from pilotline.share.repository import Repository
from pilotline.share.settings import load_share_settings
from pilotline.store import EmbeddedStore
from tests.conftest import NOW
from tests.share.conftest import SHARED_SPECS, Shared

TEMPLATES = SHARED_SPECS / "aas-templates"


@pytest.fixture(scope="module")
def repo(shared: Shared) -> Repository:
    plant = load_plant(shared.home / "plant.toml")
    settings = load_share_settings(shared.home, plant)
    return Repository(build_catalogue(EmbeddedStore(shared.home), plant, settings, now=NOW))


def _template(semantic_id: str) -> dict[str, Any]:
    doc = json.loads((TEMPLATES / sem.TEMPLATE_FILES[semantic_id]).read_text())
    (sm,) = doc["submodels"]
    assert sm["semanticId"]["keys"][0]["value"] == semantic_id
    return dict(sm)


def _sid(e: dict[str, Any]) -> str:
    return str(e["semanticId"]["keys"][0]["value"])


def _compare(ours: list[dict[str, Any]], theirs: list[dict[str, Any]], path: str,
             listed: bool, checked: list[str]) -> None:  # fmt: skip
    for i, e in enumerate(ours):
        name = e.get("idShort", "")
        if listed:
            match = theirs[0] if theirs else None
        else:
            match = next((t for t in theirs if t.get("idShort") == name), None) or next(
                (t for t in theirs if t.get("idShort") == re.sub(r"\d+$", "", name)), None
            )
        where = f"{path}/{name or i}"
        if match is None:
            # the address drop-in (empty in the nameplate template) and a record's own signal
            # (the template's sampleAcceleration* are examples) are ours to fill
            assert re.search(r"/(AddressInformation|Record\d*)$", path), (
                f"{where}: not in the template"
            )
            continue
        assert _sid(e) == _sid(match), where
        assert e["modelType"] == match["modelType"], where
        if e.get("valueType") and match.get("valueType"):
            assert e["valueType"] == match["valueType"], where
        checked.append(where)
        if isinstance(e.get("value"), list) and e["modelType"].startswith("SubmodelElement"):
            _compare(e["value"], match.get("value", []), where,
                     e["modelType"] == "SubmodelElementList", checked)  # fmt: skip


@pytest.mark.parametrize("semantic_id", list(sem.TEMPLATE_FILES))
def test_every_element_has_the_templates_semantic_id(repo: Repository, semantic_id: str) -> None:
    template = _template(semantic_id)
    subs = [s for s in repo.submodels.values() if _sid(s) == semantic_id]
    assert subs, f"no {semantic_id} submodel was built"
    for sm in subs:
        assert sm["idShort"] == template["idShort"]
        assert sm.get("kind", "Instance") == "Instance"  # basyx leaves out the default
        checked: list[str] = []
        _compare(
            sm["submodelElements"], template["submodelElements"], sm["idShort"], False, checked
        )
        assert len(checked) >= 5


def test_every_submodel_and_shell_reads_back_in_basyx(repo: Repository) -> None:
    doc = {"assetAdministrationShells": list(repo.shells.values()),
           "submodels": list(repo.submodels.values())}  # fmt: skip
    store: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
    read_aas_json_file_into(store, io.StringIO(json.dumps(doc)), failsafe=False,
                            decoder=StrictAASFromJsonDecoder)  # fmt: skip
    assert {o.id for o in store} == set(repo.shells) | set(repo.submodels)
    shells = [o for o in store if isinstance(o, model.AssetAdministrationShell)]
    assert {s.id_short for s in shells} >= {"site", "machine_press_1", "product_BRK_100"}


def _seconds(duration: str) -> float:
    """An xs:duration as a partner would read it (days of 24 h; no months or years here)."""
    m = re.fullmatch(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:([\d.]+)S)?)?", duration)
    assert m, duration
    d, h, mi, s = (float(x or 0) for x in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def test_a_partner_computes_our_oee_from_the_kpi_variables(
    repo: Repository, shared: Shared
) -> None:
    plant = load_plant(shared.home / "plant.toml")
    start, end = kpi_period(plant, 2, NOW)
    assert (start, end) == (
        dt.datetime(2026, 3, 2, tzinfo=dt.UTC),
        dt.datetime(2026, 3, 4, tzinfo=dt.UTC),
    )
    # what `pilotline oee` says for the same machine and period
    r = CliRunner().invoke(app, ["--home", str(shared.home), "oee", "--by", "machine,all",
                                 "--from", "2026-03-02", "--to", "2026-03-04", "--machine",
                                 "press-1", "--format", "json"])  # fmt: skip
    assert r.exit_code == 0, r.output
    (ours,) = json.loads(r.stdout)
    sm = repo.submodels["urn:pilotline:demo-works:sm:machine:press-1:kpi"]
    v = {e["idShort"]: e["value"][1]["value"] for e in sm["submodelElements"]}
    keys = {e["idShort"]: e["value"][0]["value"] for e in sm["submodelElements"]}
    assert keys["PlannedBusyTime"] == "PBT" and keys["GoodQuantity"] == "GQ"
    pbt, apt = _seconds(v["PlannedBusyTime"]), _seconds(v["ActualProductionTime"])
    pri = _seconds(v["PlannedRuntimePerItem"])
    pq, gq = float(v["ProducedQuantity"]), float(v["GoodQuantity"])
    assert pbt == pytest.approx(ours["planned_s"], abs=1e-6)
    assert apt == pytest.approx(ours["run_s"], abs=1e-6)
    assert _seconds(v["ActualUnitSetupTime"]) == pytest.approx(ours["setup_s"], abs=1e-6)
    assert apt + _seconds(v["ActualUnitDownTime"]) + _seconds(v["ActualUnitSetupTime"]) == (
        pytest.approx(pbt, abs=1e-5)
    )
    assert (pq, gq) == (ours["total_count"], ours["good_count"])
    assert float(v["ScrapQuantity"]) + float(v["ReworkQuantity"]) == ours["reject_count"]
    assert ours["total_count"] > 1000 and 0.3 < ours["oee"] < 1
    # ISO 22400-2: availability × effectiveness × quality ratio
    oee = (apt / pbt) * (pri * pq / apt) * (gq / pq)
    assert oee == pytest.approx(ours["oee"], rel=1e-9)


def test_carbon_footprint_from_metered_energy_and_declared(
    repo: Repository, shared: Shared
) -> None:
    def pcf(product: str) -> float:
        sm = repo.submodels[f"urn:pilotline:demo-works:sm:product:{product}:carbon-footprint"]
        (item,) = sm["submodelElements"][0]["value"]
        values = {e.get("idShort"): e for e in item["value"]}
        assert values["PcfCalculationMethods"]["value"][0]["value"] == "ISO 14067"
        assert values["LifeCyclePhases"]["value"][0]["value"] == "A3 - production"
        assert values["ReferenceImpactUnitForCalculation"]["value"] == "piece"
        return float(values["PcfCO2eq"]["value"])

    assert pcf("BRK-200") == pytest.approx(0.5 * 0.2)  # declared 0.5 kWh a part × 0.2 kg/kWh
    # BRK-100: press-1's meter over the two KPI days (288 readings 2.5 kWh apart) over its good
    # parts in those days
    with EmbeddedStore(shared.home).session() as s:
        good = s.scalar("SELECT sum(total - reject) FROM counts WHERE product = 'BRK-100' "
                        "AND ts >= TIMESTAMP '2026-03-02' AND ts < TIMESTAMP '2026-03-04'")  # fmt: skip
    assert pcf("BRK-100") == pytest.approx(287 * 2.5 * 0.2 / float(good), rel=1e-5)


SERIES = "urn:pilotline:demo-works:sm:machine:press-1:series:"


def test_time_series_of_a_signal_and_a_kpi(repo: Repository) -> None:
    sm = repo.submodels[SERIES + "press-1-temperature:timeseries"]
    segment = sm["submodelElements"][1]["value"][0]
    fields = {e["idShort"]: e for e in segment["value"]}
    assert fields["RecordCount"]["value"] == "36"  # 6 hours of 10-minute readings
    first = fields["Records"]["value"][0]["value"]
    assert first[0]["idShort"] == "Time" and first[1]["valueType"] == "xs:double"
    oee = repo.submodels[SERIES + "press-1-oee:timeseries"]
    assert int(oee["submodelElements"][1]["value"][0]["value"][1]["value"]) >= 3  # shifts
