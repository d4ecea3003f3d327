"""The semantic ids of what Pilotline shares, as the IDTA's submodel templates publish them.

Catalogues as data: each submodel template's id, and the semantic id of every element we fill, by
idShort path (``PlannedBusyTime/currentValue``; an item of a list is ``[0]``). A test reads the
published templates and checks every entry here against them.
"""

from __future__ import annotations

NAMEPLATE = "https://admin-shell.io/idta/nameplate/3/0/Nameplate"
KPI = "https://admin-shell.io/idta/SubmodelTemplate/ProcessVariablesForManufacturingKPICalculation/1/0"
CARBON = "https://admin-shell.io/idta/CarbonFootprint/CarbonFootprint/1/0"
TIME_SERIES = "https://admin-shell.io/idta/TimeSeries/1/1"
#: A trained model's card (issue 18), from pilotline.ai.nameplate, which follows the template.
AI_NAMEPLATE = "https://admin-shell.io/idta/SubmodelTemplate/AIModelNameplate/1/0"

#: The usage condition every served submodel and element carries (an AAS Extension): whether the
#: partner may pass it on. Ours, not an IDTA template's: IDTA-01004 states usage conditions but
#: publishes no element for them.
ONWARD = "urn:pilotline:share:usage:onward-sharing:1"
ONWARD_NAME = "OnwardSharing"

#: Submodel semantic id → the published template file (in the IDTA's submodel-templates).
TEMPLATE_FILES = {
    NAMEPLATE: "IDTA-02006-3-0-1_DigitalNameplate.json",
    KPI: "IDTA-02066-1-0_ProcessVariablesManufacturingKPI.json",
    CARBON: "IDTA-02023-1-0-1_CarbonFootprint.json",
    TIME_SERIES: "IDTA-02008-1-1-1_TimeSeriesData.json",
}

#: Short names people type (``pilotline share grant … --submodel kpi``) → semantic id.
SUBMODEL_NAMES = {
    "nameplate": NAMEPLATE,
    "kpi": KPI,
    "carbon-footprint": CARBON,
    "timeseries": TIME_SERIES,
    "ai-nameplate": AI_NAMEPLATE,
}

NAMEPLATE_IDS = {
    "URIOfTheProduct": "0112/2///61987#ABN590#002",
    "ManufacturerName": "0112/2///61987#ABA565#009",
    "ManufacturerProductDesignation": "0112/2///61987#ABA567#009",
    "AddressInformation": "https://admin-shell.io/zvei/nameplate/1/0/ContactInformations/AddressInformation",
    "ManufacturerProductType": "0112/2///61987#ABA300#008",
    "OrderCodeOfManufacturer": "0112/2///61987#ABA950#008",
    "SerialNumber": "0112/2///61987#ABA951#009",
    "CountryOfOrigin": "0112/2///61987#ABP462#001",
}

#: The address drop-in's elements (IDTA 02002 Contact Information; the nameplate template leaves
#: the collection empty, so these are not checked against a template here).
ADDRESS_IDS = {
    "Street": "0173-1#02-AAO128#002",
    "Zipcode": "0173-1#02-AAO129#002",
    "CityTown": "0173-1#02-AAO132#002",
    "NationalCode": "0173-1#02-AAO134#002",
}

_PV = "https://admin-shell.io/idta/ProcessVariablesForManufacturingKPICalculation"
KPI_KEY = f"{_PV}/key/1/0"
KPI_VALUE = f"{_PV}/currentValue/1/0"
KPI_COMMENT = f"{_PV}/comment/1/0"
_ISO = "http://www.w3id.org/hsu-aut/ISO22400-2#"

#: The 02066 collections we fill: idShort → (ISO 22400-2 semantic id, its abbreviation, duration?).
KPI_VARIABLES: dict[str, tuple[str, str, bool]] = {
    "PlannedBusyTime": (_ISO + "PlannedBusyTime", "PBT", True),
    "ActualProductionTime": (_ISO + "ActualProductionTime", "APT", True),
    "ActualUnitDownTime": (_ISO + "ActualUnitDownTime", "ADOT", True),
    "ActualUnitSetupTime": (_ISO + "ActualSetupTime", "ASUT", True),
    "ProducedQuantity": (_ISO + "ProducedQuantity", "PQ", False),
    "GoodQuantity": (_ISO + "GoodQuantity", "GQ", False),
    "ScrapQuantity": (_ISO + "ScrapQuantity", "SQ", False),
    "ReworkQuantity": (_ISO + "ReworkQuantity", "RQ", False),
    "PlannedRuntimePerItem": (_ISO + "PlannedRuntimePerUnit", "PRI", True),
}

_CF = "https://admin-shell.io/idta/CarbonFootprint"
CARBON_IDS = {
    "ProductCarbonFootprints": f"{_CF}/ProductCarbonFootprints/1/0",
    "ProductCarbonFootprints[0]": f"{_CF}/ProductCarbonFootprint/1/0",
    "PcfCalculationMethods": f"{_CF}/PcfCalculationMethods/1/0",
    "PcfCalculationMethods[0]": "0173-1#02-ABG854#003",
    "PcfCO2eq": "0173-1#02-ABG855#003",
    "ReferenceImpactUnitForCalculation": "0173-1#02-ABG856#003",
    "QuantityOfMeasureForCalculation": "0173-1#02-ABG857#003",
    "LifeCyclePhases": f"{_CF}/LifeCyclePhases/1/0",
    "LifeCyclePhases[0]": "0173-1#02-ABG858#003",
    "PublicationDate": f"{_CF}/PublicationDate/1/0",
    "ExpirationDate": f"{_CF}/ExpirationDate/1/0",
}

_TS = "https://admin-shell.io/idta/TimeSeries"
TS_IDS = {
    "Metadata": f"{_TS}/Metadata/1/1",
    "Metadata/Name": f"{_TS}/Metadata/Name/1/1",
    "Metadata/Description": f"{_TS}/Metadata/Description/1/1",
    "Record": f"{_TS}/Record/1/1",
    "Time": f"{_TS}/RelativePointInTime/1/1",
    "Segments": f"{_TS}/Segments/1/1",
    "InternalSegment": f"{_TS}/Segments/InternalSegment/1/1",
    "Segment/Name": f"{_TS}/Segment/Name/1/1",
    "RecordCount": f"{_TS}/Segment/RecordCount/1/1",
    "StartTime": f"{_TS}/Segment/StartTime/1/1",
    "EndTime": f"{_TS}/Segment/EndTime/1/1",
    "State": f"{_TS}/Segment/State/1/1",
    "LastUpdate": f"{_TS}/Segment/LastUpdate/1/1",
    "Records": f"{_TS}/Records/1/1",
}
