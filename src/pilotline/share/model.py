"""The Asset Administration Shells Pilotline shares, built from the plant model and the store.

A shell for the site and one per machine, and one per product that has a carbon footprint. Their
submodels are shaped as the IDTA's templates (ids in :mod:`pilotline.share.semantics`):

* Digital Nameplate 3.0 (IDTA 02006) for the site and each machine, naming the firm from the
  plant model's ``[company]`` section;
* Process Variables for Manufacturing KPI Calculation (IDTA 02066) per machine over the last
  complete days: the ISO 22400-2 times and quantities from which a partner computes our OEE
  (A = APT ÷ PBT, E = PRI × PQ ÷ APT, Q = GQ ÷ PQ);
* Carbon Footprint (IDTA 02023) per product, from measured energy per good part or a declared
  figure, times the emission factor in ``share.toml``;
* Time Series Data (IDTA 02008) for the signals and KPIs ``share.toml`` names.
"""

from __future__ import annotations

import datetime as dt
import decimal
import io
import json
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from basyx.aas import model

from pilotline import clock
from pilotline.errors import PilotlineError
from pilotline.measure import Measure
from pilotline.plant.model import Machine, Plant
from pilotline.share import semantics as sem
from pilotline.share.settings import Series, ShareSettings
from pilotline.store import Store

log = logging.getLogger(__name__)

MAX_POINTS = 10_000  # a time series keeps its newest points up to this many


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "site"


def _ref(value: str) -> model.ExternalReference:
    return model.ExternalReference((model.Key(model.KeyTypes.GLOBAL_REFERENCE, value),))


def _prop(id_short: str | None, vtype: Any, value: Any, semantic: str) -> model.Property:
    return model.Property(id_short, vtype, value=value, semantic_id=_ref(semantic))


def _text(id_short: str, text: str, semantic: str) -> model.MultiLanguageProperty:
    return model.MultiLanguageProperty(
        id_short, value=model.MultiLanguageTextType({"en": text}), semantic_id=_ref(semantic)
    )


def _duration(seconds: float) -> model.datatypes.Duration:
    micro = round(seconds * 1e6)
    return model.datatypes.Duration(
        seconds=micro // 1_000_000, microseconds=micro % 1_000_000
    ).normalized()


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Ids:
    """How shells, assets and submodels are named: ``urn:pilotline:<site>:…``."""

    base: str

    @classmethod
    def of(cls, plant: Plant) -> Ids:
        return cls(f"urn:pilotline:{_slug(plant.site.name)}")

    def shell(self, kind: str, key: str = "") -> str:
        return f"{self.base}:aas:{kind}" + (f":{key}" if key else "")

    def asset(self, kind: str, key: str = "") -> str:
        return f"{self.base}:asset:{kind}" + (f":{key}" if key else "")

    def submodel(self, kind: str, key: str, what: str) -> str:
        return f"{self.base}:sm:{kind}" + (f":{key}" if key else "") + f":{what}"


@dataclass
class Catalogue:
    """Every shell and submodel, and for each submodel the machine or product it is about."""

    shells: list[model.AssetAdministrationShell] = field(default_factory=list)
    submodels: dict[str, model.Submodel] = field(default_factory=dict)
    machine_of: dict[str, str] = field(default_factory=dict)
    built_at: dt.datetime = field(default_factory=clock.now)

    def add(
        self, shell: model.AssetAdministrationShell, *subs: model.Submodel, machine: str = ""
    ) -> None:
        for sm in subs:
            shell.submodel.add(model.ModelReference.from_referable(sm))
            self.submodels[sm.id] = sm
            if machine:
                self.machine_of[sm.id] = machine
        self.shells.append(shell)

    def adopt(self, objects: Iterable[model.Identifiable]) -> None:
        """Add shells and submodels from elsewhere (imported from partners); ids already in the
        catalogue keep ours."""
        for o in objects:
            if isinstance(o, model.AssetAdministrationShell):
                if all(s.id != o.id for s in self.shells):
                    self.shells.append(o)
            elif isinstance(o, model.Submodel) and o.id not in self.submodels:
                self.submodels[o.id] = o

    def object_store(self) -> model.DictIdentifiableStore[model.Identifiable]:
        out: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
        for shell in self.shells:
            out.add(shell)
        for sm in self.submodels.values():
            out.add(sm)
        return out


def _shell(ids: Ids, kind: str, key: str, name: str) -> model.AssetAdministrationShell:
    return model.AssetAdministrationShell(
        model.AssetInformation(
            asset_kind=model.AssetKind.INSTANCE, global_asset_id=ids.asset(kind, key)
        ),
        ids.shell(kind, key),
        id_short=re.sub(r"[^A-Za-z0-9_]", "_", f"{kind}_{key}" if key else kind),
        description=model.MultiLanguageTextType({"en": name}),
    )


def _submodel(
    sid: str, id_short: str, semantic: str, elements: list[Any], about: str
) -> model.Submodel:
    return model.Submodel(
        sid,
        submodel_element=elements,
        id_short=id_short,
        semantic_id=_ref(semantic),
        kind=model.ModellingKind.INSTANCE,
        description=model.MultiLanguageTextType({"en": about}),
    )


def nameplate(plant: Plant, ids: Ids, machine: Machine | None) -> model.Submodel:
    """The Digital Nameplate of the site or a machine, naming the firm that runs it."""
    company = plant.company
    firm = company.name if company else plant.site.name
    kind, key = ("machine", machine.id) if machine else ("site", "")
    what = machine.label if machine else plant.site.name
    n = sem.NAMEPLATE_IDS
    address: list[Any] = []
    if company:
        for id_short, value in (
            ("Street", company.street),
            ("Zipcode", company.postcode),
            ("CityTown", company.city),
            ("NationalCode", company.country),
        ):
            if value:
                address.append(_text(id_short, value, sem.ADDRESS_IDS[id_short]))
    elements: list[Any] = [
        _prop(
            "URIOfTheProduct", model.datatypes.AnyURI, ids.asset(kind, key), n["URIOfTheProduct"]
        ),
        _text("ManufacturerName", firm, n["ManufacturerName"]),
        _text("ManufacturerProductDesignation", what, n["ManufacturerProductDesignation"]),
        model.SubmodelElementCollection(
            "AddressInformation", value=address, semantic_id=_ref(n["AddressInformation"])
        ),
        _prop(
            "OrderCodeOfManufacturer",
            model.datatypes.String,
            key or _slug(what),
            n["OrderCodeOfManufacturer"],
        ),
    ]
    if company and company.country:
        elements.append(
            _prop("CountryOfOrigin", model.datatypes.String, company.country, n["CountryOfOrigin"])
        )
    return _submodel(
        ids.submodel(kind, key, "nameplate"),
        "Nameplate",
        sem.NAMEPLATE,
        elements,
        f"Digital nameplate of {what}",
    )


def kpi_period(plant: Plant, days: int, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The last ``days`` complete days in the plant's time zone, as UTC instants."""
    local = now.astimezone(plant.tz)
    end = dt.datetime.combine(local.date(), dt.time(), plant.tz)
    start = dt.datetime.combine(local.date() - dt.timedelta(days=days), dt.time(), plant.tz)
    return start.astimezone(dt.UTC), end.astimezone(dt.UTC)


def kpi_values(row: dict[str, Any], machine: Machine) -> dict[str, float | int]:
    """The 02066 variables from one row of :meth:`Measure.oee` (one machine, one period).

    PRI is the ideal cycle time of the good parts (Σ good × ideal ÷ good), so that
    PRI × GQ ÷ PBT is exactly our OEE; with one product per machine it is its ideal cycle time.
    """
    good = int(row["good_count"])
    return {
        "PlannedBusyTime": float(row["planned_s"]),
        "ActualProductionTime": float(row["run_s"]),
        "ActualUnitDownTime": float(row["breakdown_s"] + row["unexplained_s"]),
        "ActualUnitSetupTime": float(row["setup_s"]),
        "ProducedQuantity": int(row["total_count"]),
        "GoodQuantity": good,
        "ScrapQuantity": int(row["reject_count"] - row["rework_count"]),
        "ReworkQuantity": int(row["rework_count"]),
        "PlannedRuntimePerItem": float(row["good_ideal_s"]) / good
        if good
        else machine.ideal_cycle_s,
    }


def kpi_submodel(
    ids: Ids,
    machine: Machine,
    values: dict[str, float | int],
    start: dt.datetime,
    end: dt.datetime,
) -> model.Submodel:
    period = f"{_iso(start)} to {_iso(end)}"
    elements = []
    for id_short, (iso_id, key, is_time) in sem.KPI_VARIABLES.items():
        value = values[id_short]
        current = (
            _prop("currentValue", model.datatypes.Duration, _duration(float(value)), sem.KPI_VALUE)
            if is_time
            else _prop(
                "currentValue", model.datatypes.Decimal, decimal.Decimal(int(value)), sem.KPI_VALUE
            )
        )
        elements.append(
            model.SubmodelElementCollection(
                id_short,
                value=[
                    _prop("key", model.datatypes.String, key, sem.KPI_KEY),
                    current,
                    _text(
                        "comment",
                        f"ISO 22400-2 {key} of {machine.label}, {period}",
                        sem.KPI_COMMENT,
                    ),
                ],
                semantic_id=_ref(iso_id),
            )
        )
    return _submodel(
        ids.submodel("machine", machine.id, "kpi"),
        "ProcessVariablesForManufacturingKPICalculation",
        sem.KPI,
        elements,
        f"ISO 22400-2 process variables of {machine.label}, {period}",
    )


def carbon_submodel(
    ids: Ids, product: str, kg_per_part: float, *, method: str, how: str, now: dt.datetime
) -> model.Submodel:
    c = sem.CARBON_IDS
    pcf = model.SubmodelElementCollection(
        None,
        value=[
            model.SubmodelElementList(
                "PcfCalculationMethods",
                model.Property,
                value=[_prop(None, model.datatypes.String, method, c["PcfCalculationMethods[0]"])],
                semantic_id=_ref(c["PcfCalculationMethods"]),
                semantic_id_list_element=_ref(c["PcfCalculationMethods[0]"]),
                value_type_list_element=model.datatypes.String,
            ),
            _prop(
                "PcfCO2eq",
                model.datatypes.Decimal,
                decimal.Decimal(f"{kg_per_part:.6g}"),
                c["PcfCO2eq"],
            ),
            _prop(
                "ReferenceImpactUnitForCalculation",
                model.datatypes.String,
                "piece",
                c["ReferenceImpactUnitForCalculation"],
            ),
            _prop(
                "QuantityOfMeasureForCalculation",
                model.datatypes.Double,
                1.0,
                c["QuantityOfMeasureForCalculation"],
            ),
            model.SubmodelElementList(
                "LifeCyclePhases",
                model.Property,
                value=[
                    _prop(None, model.datatypes.String, "A3 - production", c["LifeCyclePhases[0]"])
                ],
                semantic_id=_ref(c["LifeCyclePhases"]),
                semantic_id_list_element=_ref(c["LifeCyclePhases[0]"]),
                value_type_list_element=model.datatypes.String,
            ),
            _prop(
                "PublicationDate",
                model.datatypes.DateTime,
                now.astimezone(dt.UTC),
                c["PublicationDate"],
            ),
        ],
        semantic_id=_ref(c["ProductCarbonFootprints[0]"]),
    )
    footprints = model.SubmodelElementList(
        "ProductCarbonFootprints",
        model.SubmodelElementCollection,
        value=[pcf],
        semantic_id=_ref(c["ProductCarbonFootprints"]),
        semantic_id_list_element=_ref(c["ProductCarbonFootprints[0]"]),
    )
    return _submodel(
        ids.submodel("product", product, "carbon-footprint"),
        "CarbonFootprint",
        sem.CARBON,
        [footprints],
        f"Carbon footprint of {product} per piece, production phase: {how}",
    )


def timeseries_submodel(
    ids: Ids,
    series: Series,
    points: list[tuple[dt.datetime, float]],
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime,
) -> model.Submodel:
    t = sem.TS_IDS
    what = series.tag or series.kpi or ""
    records = [
        model.SubmodelElementCollection(
            f"Record{i:05d}",
            value=[
                _prop("Time", model.datatypes.Long, round((ts - start).total_seconds()), t["Time"]),
                _prop(
                    series.name.replace("-", "_"),
                    model.datatypes.Double,
                    float(v),
                    f"urn:pilotline:signal:{what}",
                ),
            ],
            semantic_id=_ref(t["Record"]),
        )
        for i, (ts, v) in enumerate(points[-MAX_POINTS:])
    ]
    segment = model.SubmodelElementCollection(
        "InternalSegment",
        value=[
            _text("Name", series.name, t["Segment/Name"]),
            _prop("RecordCount", model.datatypes.Long, len(records), t["RecordCount"]),
            _prop("StartTime", model.datatypes.String, _iso(start), t["StartTime"]),
            _prop("EndTime", model.datatypes.String, _iso(end), t["EndTime"]),
            _prop("State", model.datatypes.String, "completed", t["State"]),
            _prop("LastUpdate", model.datatypes.String, _iso(now), t["LastUpdate"]),
            model.SubmodelElementCollection(
                "Records", value=records, semantic_id=_ref(t["Records"])
            ),
        ],
        semantic_id=_ref(t["InternalSegment"]),
    )
    metadata = model.SubmodelElementCollection(
        "Metadata",
        value=[
            _text("Name", series.name, t["Metadata/Name"]),
            _text(
                "Description",
                f"{what} of {series.machine}; Time is seconds after StartTime",
                t["Metadata/Description"],
            ),
        ],
        semantic_id=_ref(t["Metadata"]),
    )
    segments = model.SubmodelElementCollection(
        "Segments", value=[segment], semantic_id=_ref(t["Segments"])
    )
    return _submodel(
        # under its machine, so that a grant of one machine's time series covers it
        ids.submodel("machine", f"{series.machine}:series:{series.name}", "timeseries"),
        "TimeSeries",
        sem.TIME_SERIES,
        [metadata, segments],
        f"{what} of {series.machine}",
    )


# -- from the store ---------------------------------------------------------------------------
def _energy_per_product(
    store: Store, plant: Plant, tag: str, start: dt.datetime, end: dt.datetime
) -> dict[str, float]:
    """kWh per good part per product: each machine's metered energy in the window shared out
    over the products by good parts."""
    lo, hi = start.replace(tzinfo=None), end.replace(tzinfo=None)
    with store.session() as s:
        energy = {
            r["machine"]: max(0.0, float(r["used"] or 0.0))
            for r in s.arrow(
                "SELECT machine, max(value) - min(value) AS used FROM process_values "
                "WHERE tag = ? AND ts >= ? AND ts < ? GROUP BY machine",
                [tag, lo, hi],
            ).to_pylist()
        }
        if not energy:
            return {}
        goods = s.arrow(
            "SELECT machine, product, sum(total - reject) AS good FROM counts "
            "WHERE ts >= ? AND ts < ? AND product IS NOT NULL GROUP BY machine, product",
            [lo, hi],
        ).to_pylist()
    per_machine: dict[str, float] = {}
    for r in goods:
        per_machine[r["machine"]] = per_machine.get(r["machine"], 0.0) + float(r["good"] or 0)
    kwh: dict[str, float] = {}
    good_of: dict[str, float] = {}
    for r in goods:
        total = per_machine.get(r["machine"], 0.0)
        if total > 0 and r["machine"] in energy:
            kwh[r["product"]] = kwh.get(r["product"], 0.0) + energy[r["machine"]] * (
                float(r["good"]) / total
            )
            good_of[r["product"]] = good_of.get(r["product"], 0.0) + float(r["good"])
    return {p: kwh[p] / good_of[p] for p in kwh if good_of[p] > 0}


def _points(
    store: Store, plant: Plant, series: Series, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, float]]:
    if series.tag is not None:
        with store.session() as s:
            rows = s.arrow(
                "SELECT ts, value FROM process_values WHERE machine = ? AND tag = ? "
                "AND ts >= ? AND ts < ? AND value IS NOT NULL ORDER BY ts DESC LIMIT ?",
                [
                    series.machine,
                    series.tag,
                    start.replace(tzinfo=None),
                    end.replace(tzinfo=None),
                    MAX_POINTS,
                ],
            ).to_pylist()
        return [(r["ts"].replace(tzinfo=dt.UTC), float(r["value"])) for r in reversed(rows)]
    rows = Measure(store, plant).oee(
        start=start, end=end, by="machine,shift", machines=[series.machine]
    )
    key = series.kpi or "oee"
    return [(r["period_start"], float(r[key])) for r in rows if r[key] is not None]


def ai_nameplates(store: Store, ids: Ids) -> dict[str, list[model.Submodel]]:
    """The AI Model Nameplate (IDTA 02060) of every stored AI model, by machine: its card as the
    ``ai card --format aas`` command gives it, under our identifiers. A model whose record cannot
    be read (an older schema) is left out."""
    from basyx.aas.adapter.json import read_aas_json_file_into

    from pilotline.ai import records
    from pilotline.ai.nameplate import nameplate as card_nameplate

    cards = []
    with store.session() as s:
        if not s.scalar(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'ai_models'"
        ):
            return {}
        for r in s.arrow("SELECT name FROM ai_models ORDER BY name").to_pylist():
            try:
                cards.append(records.load(s, r["name"]).card())
            except PilotlineError as exc:
                log.info("AI model %s not shared: %s", r["name"], exc)
    out: dict[str, list[model.Submodel]] = {}
    for card in cards:
        doc = card_nameplate(card)
        doc["id"] = ids.submodel("machine", f"{card['machine']}:ai:{card['name']}", "ai-nameplate")
        objects: model.DictIdentifiableStore[model.Identifiable] = model.DictIdentifiableStore()
        read_aas_json_file_into(
            objects, io.StringIO(json.dumps({"submodels": [doc]})), failsafe=False
        )
        out.setdefault(card["machine"], []).extend(
            o for o in objects if isinstance(o, model.Submodel)
        )
    return out


def build_catalogue(
    store: Store,
    plant: Plant,
    settings: ShareSettings,
    *,
    now: dt.datetime | None = None,
    imported: Iterable[model.Identifiable] = (),
) -> Catalogue:
    """Every shell and submodel Pilotline can share, as of ``now``, and what was imported."""
    now = now or clock.now()
    ids = Ids.of(plant)
    cat = Catalogue(built_at=now)
    cat.add(_shell(ids, "site", "", plant.site.name), nameplate(plant, ids, None))
    start, end = kpi_period(plant, settings.kpi.days, now)
    rows = {r["machine"]: r for r in Measure(store, plant).oee(start=start, end=end, by="machine")}
    series_of: dict[str, list[Series]] = {}
    for s in settings.timeseries:
        series_of.setdefault(s.machine, []).append(s)
    models = ai_nameplates(store, ids)
    for _, machine in plant.machines:
        subs = [nameplate(plant, ids, machine), *models.get(machine.id, [])]
        row = rows.get(machine.id)
        if row is not None:
            subs.append(kpi_submodel(ids, machine, kpi_values(row, machine), start, end))
        for s in series_of.get(machine.id, []):
            s_start = now - dt.timedelta(hours=s.hours)
            subs.append(
                timeseries_submodel(
                    ids, s, _points(store, plant, s, s_start, now), s_start, now, now
                )
            )
        cat.add(_shell(ids, "machine", machine.id, machine.label), *subs, machine=machine.id)
    carbon = settings.carbon
    measured = _energy_per_product(store, plant, carbon.energy_tag, start, end)
    for product in plant.products:
        if product.id in measured:
            kwh, how = measured[product.id], f"metered energy ({carbon.energy_tag})"
        elif product.id in carbon.declared_kwh_per_part:
            kwh, how = carbon.declared_kwh_per_part[product.id], "declared energy per part"
        else:
            continue
        how += f" × {carbon.emission_factor_kg_per_kwh} kg CO2e/kWh"
        sm = carbon_submodel(
            ids,
            product.id,
            kwh * carbon.emission_factor_kg_per_kwh,
            method=carbon.method,
            how=how,
            now=now,
        )
        cat.add(_shell(ids, "product", product.id, product.name or product.id), sm)
    cat.adopt(imported)
    return cat
