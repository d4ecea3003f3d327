"""A model card as an AI Model Nameplate submodel (IDTA 02060-1-0-1), in AAS V3 JSON, for the
share module to serve beside the plant's other submodels.

Elements, idShorts and semantic ids follow the template; every element the template requires
("One") is filled from the card, optional ones only where the card has something true to say.
"""

from __future__ import annotations

import json
import platform
from typing import Any

SEMANTIC_ID = "https://admin-shell.io/idta/SubmodelTemplate/AIModelNameplate/1/0"
_BASE = "https://admin-shell.io/idta/AIModelNameplate/"


def _ref(value: str) -> dict[str, Any]:
    return {"type": "ExternalReference", "keys": [{"type": "GlobalReference", "value": value}]}


def _prop(
    id_short: str, semantic: str, value: str, value_type: str = "xs:string"
) -> dict[str, Any]:
    return {
        "idShort": id_short,
        "semanticId": _ref(semantic),
        "valueType": value_type,
        "value": value,
        "modelType": "Property",
    }


def _text(id_short: str, semantic: str, text: str) -> dict[str, Any]:
    return {
        "idShort": id_short,
        "semanticId": _ref(semantic),
        "value": [{"language": "en", "text": text}],
        "modelType": "MultiLanguageProperty",
    }


def _coll(id_short: str, semantic: str, value: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "idShort": id_short,
        "semanticId": _ref(semantic),
        "value": value,
        "modelType": "SubmodelElementCollection",
    }


def _reference(id_short: str, semantic: str, target: str) -> dict[str, Any]:
    return {
        "idShort": id_short,
        "semanticId": _ref(semantic),
        "value": _ref(target),
        "modelType": "ReferenceElement",
    }


def nameplate(card: dict[str, Any], *, firm: str = "urn:pilotline:firm") -> dict[str, Any]:
    """The AI Model Nameplate submodel of a model card (:meth:`records.Model.card`)."""
    import numpy
    from sklearn import __version__ as sklearn_version  # type: ignore[import-untyped]

    name = card["name"]
    uri = f"{firm}:ai-model:{name}"
    bt = card["backtest"]
    result = (
        {
            "detector": bt["detector"],
            "f1": bt["f1"],
            "false_alarm_rate": bt["far"],
            "missed_alarm_rate": bt["mar"],
            "nab": bt["nab"],
            "baselines": {
                k: {"f1": v["f1"], "far": v["far"], "mar": v["mar"], "nab": v["nab"]}
                for k, v in bt.get("baselines", {}).items()
            },
            "verdict": bt["verdict"],
        }
        if "detector" in bt
        else {"note": bt.get("note", "no back-test")}
    )
    window = card["training_window"]
    inputs = [
        _prop(
            "KindOfInput", _BASE + "Inputs/KindOfInput/1/0", "time series of process values, 1 Hz"
        ),
        *(
            _coll(
                f"Dimension{i + 1}",
                _BASE + "Inputs/DimensionN/1/0",
                [
                    _prop("Size", _BASE + "Inputs/DimensionN/Size/1/0", "1"),
                    _prop("Information", _BASE + "Inputs/DimensionN/Information/1/0", signal),
                ],
            )
            for i, signal in enumerate(card["signals_used"])
        ),
    ]
    hyper = [
        _prop(k, _BASE + "AITypeSpecificInformation/Hyperparameter/LearningRate/1/0", str(v))
        for k, v in card["parameters"].items()
    ]
    hyper.append(
        _prop("Threshold", _BASE + "AITypeSpecificInformation/Hyperparameter/LearningRate/1/0",
              repr(card["threshold"]))
    )  # fmt: skip
    elements = [
        _prop("URIOfTheProduct", "0112/2///61987#ABN590#002", uri),
        _prop("Version", "0173-1#02-AAS354#002", f"{card['record_version']}.{card['trained_at']}"),
        _reference("ContactInformation", _BASE + "Contactinformation/1/0", f"{firm}:contact"),
        _prop("Storage", _BASE + "Storage/1/0", f"Pilotline store, table ai_models, name {name}"),
        _text(
            "KindOfLearning",
            _BASE + "KindOfLearning/1/0",
            "unsupervised: learnt from a window of normal running; labels only judge it",
        ),
        _coll("Inputs", _BASE + "Inputs/1/0", inputs),
        _coll(
            "Outputs",
            _BASE + "Outputs/1/0",
            [
                _coll(
                    "Dimension1",
                    _BASE + "Outputs/DimensionN/1/0",
                    [
                        _prop("Size", _BASE + "Outputs/DimensionN/Size/1/0", "1"),
                        _text(
                            "Result",
                            _BASE + "Outputs/DimensionN/Result/1/0",
                            "alarm (0 or 1) for each second, after the persistence filter",
                        ),
                    ],
                )
            ],
        ),
        _coll(
            "TrainingResults",
            _BASE + "TrainingResults/1/0",
            [_prop("ExampleResult", _BASE + "TrainingResults/Result/1/0", json.dumps(result))],
        ),
        _coll(
            "Details",
            _BASE + "Details/1/0",
            [
                _prop("FileExtension", _BASE + "Details/DataEnding/1/0", "json"),
                _prop(
                    "AIFramework",
                    _BASE + "Details/AIFramework/1/0",
                    f"numpy {numpy.__version__}, scikit-learn {sklearn_version}",
                ),
                _prop(
                    "ProgramLanguage",
                    _BASE + "Details/ProgramLanguage/1/0",
                    f"Python {platform.python_version()}",
                ),
            ],
        ),
        _coll(
            "AIDataset",
            _BASE + "AIDataset/1/0",
            [
                _reference(
                    "AIDatasetReference",
                    _BASE + "AIDataset/DatasetReference/1/0",
                    f"sha256:{card['data_fingerprint']}",
                ),
                {
                    "idShort": "TimeStamp",
                    "semanticId": _ref(_BASE + "AIDataset/TimeStamp/1/0"),
                    "valueType": "xs:dateTime",
                    "min": window["start"],
                    "max": window["end"],
                    "modelType": "Range",
                },
            ],
        ),
        _coll(
            "AITypeSpecificInformation",
            _BASE + "AITypeSpecificInformation/1/0",
            [
                _coll(
                    "Hyperparameter", _BASE + "AITypeSpecificInformation/Hyperparameter/1/0", hyper
                ),
                _text(
                    "Type",
                    _BASE + "AITypeSpecificInformation/Type/1/0",
                    f"statistical anomaly detector: {card['detector']}",
                ),
            ],
        ),
    ]
    return {
        "idShort": "AIModelNameplate",
        "id": f"{uri}:submodel:AIModelNameplate",
        "kind": "Instance",
        "semanticId": {
            "type": "ExternalReference",
            "keys": [{"type": "GlobalReference", "value": SEMANTIC_ID}],
        },
        "submodelElements": elements,
        "modelType": "Submodel",
    }
