"""The coordinator's reading: pilots pooled per step (checked against inverse-variance pooling by
hand), assessments T0 → T1, services and the EDIH-shaped CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

import pytest

from pilotline import clock
from pilotline.errors import InputError
from pilotline.hub.intake import consent_text, receive
from pilotline.hub.portfolio import (
    assessment_change,
    edih_csv,
    give_service,
    pilot_portfolio,
    set_status,
)
from pilotline.hub.store import HubStore

Z = 1.959963984540054


@pytest.fixture
def hub(tmp_path: Path) -> HubStore:
    store = HubStore.init(tmp_path)
    text = consent_text(store)
    given = {"person": "P", "text_version": text["version"], "text_sha256": text["sha256"],
             "given_at": clock.now().isoformat()}  # fmt: skip
    pilots = {"a": [(2.0, 1.0, 3.0, "adopt")], "b": [(4.0, 2.0, 6.0, "adopt")],
              "c": [(1.0, -1.0, 3.0, "abandon")]}  # fmt: skip
    dma = {"a": ({"data": 30, "human": 50}, {"data": 45, "human": 55}),
           "b": ({"data": 40, "human": 20}, {"data": 41, "human": 30}),
           "c": ({"data": 10, "human": 10}, None)}  # fmt: skip
    for f in "abc":
        store.add_firm(id=f, name=f.upper(), sector="metal" if f != "c" else "=cmd()",
                       size_band="small", region="north", public_key=None)  # fmt: skip
        items = [{"id": f"pilot:{n}", "kind": "pilot", "consent": given,
                  "content": {"title": f"p{n}", "step": "smed-setup", "effect": e, "low": lo,
                              "high": hi, "decision": d}}
                 for n, (e, lo, hi, d) in enumerate(pilots[f])]  # fmt: skip
        t0, t1 = dma[f]
        items.append({"id": "assessment:T0", "kind": "assessment", "consent": given,
                      "content": {"round": "T0", "dimensions": t0}})  # fmt: skip
        if t1:
            items.append({"id": "assessment:T1", "kind": "assessment", "consent": given,
                          "content": {"round": "T1", "dimensions": t1}})  # fmt: skip
        receive(store, {"firm": f, "payload": {"items": items}})
    return store


def test_pilots_are_pooled_per_step(hub) -> None:
    [row] = pilot_portfolio(hub)
    ses = [(3 - 1) / (2 * Z), (6 - 2) / (2 * Z), (3 + 1) / (2 * Z)]
    w = [1 / s**2 for s in ses]
    mean = sum(wi * e for wi, e in zip(w, [2.0, 4.0, 1.0], strict=True)) / sum(w)
    half = Z * math.sqrt(1 / sum(w))
    assert row["step"] == "smed-setup" and (row["pilots"], row["firms"]) == (3, 3)
    assert row["adopted_share"] == pytest.approx(2 / 3)
    assert row["pooled_effect"] == pytest.approx(mean)
    assert (row["pooled_low"], row["pooled_high"]) == (
        pytest.approx(mean - half),
        pytest.approx(mean + half),
    )
    assert 0 < row["heterogeneity_p"] <= 1


def test_assessment_change_uses_firms_with_both_rounds(hub) -> None:
    rows = {r["dimension"]: r for r in assessment_change(hub)}
    assert rows["data"] == {"dimension": "data", "firms": 2, "mean_T0": 35.0, "mean_T1": 43.0,
                            "mean_change": 8.0}  # fmt: skip
    assert rows["human"]["mean_change"] == pytest.approx(7.5)


def test_services_status_and_the_edih_export(hub) -> None:
    give_service(hub, "a", "skills", "lean basics course")
    give_service(hub, "a", "skills")
    give_service(hub, "b", "skills")
    give_service(hub, "c", "test-before-invest")
    set_status(hub, "a", "piloting", "SMED on press 2")
    assert hub.firm("a")["status"] == "piloting"
    with pytest.raises(InputError, match="expected one of"):
        give_service(hub, "a", "lunch")
    with pytest.raises(InputError, match="interested, engaged"):
        set_status(hub, "a", "asleep")
    lines = list(csv.reader(io.StringIO(edih_csv(hub))))
    served = [r for r in lines if r and r[0] == "entities_served"]
    assert served == [
        ["entities_served", "small", "'=cmd()", "north", "test-before-invest", "1"],
        ["entities_served", "small", "metal", "north", "skills", "2"],
    ]
    assert ["dma_change", "data", "2", "35.0", "43.0", "8.0"] in lines
