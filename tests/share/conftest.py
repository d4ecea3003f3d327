"""Shared by the share tests: a demo plant with its company, three days of simulated data, a
partner with grants, and the app (TestClient) or a real server on loopback."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from fastapi.testclient import TestClient

from pilotline import clock
from pilotline.ingest import import_table
from pilotline.plant import load_plant
from pilotline.share.partners import Partners
from pilotline.sim import demo_plant_text, simulate
from pilotline.store import EmbeddedStore
from pilotline.web import create_app
from tests.conftest import NOW

#: The public specifications beside the project (AAS API, security rules, templates).
SHARED_SPECS = Path(__file__).resolve().parents[2].parent / "shared" / "specs"

COMPANY = """
[company]
name = "Demo Works Ltd"
street = "1 Mill Lane"
postcode = "S1 2AB"
city = "Sheffield"
country = "GB"
email = "quality@demo.example"
"""

SHARE_TOML = """
[api]
rate_per_s = 1000
burst = 1000

[kpi]
days = 2

[carbon]
emission_factor_kg_per_kwh = 0.2
energy_tag = "energy_kwh"
[carbon.declared_kwh_per_part]
"BRK-200" = 0.5

[[timeseries]]
name = "press-1-temperature"
machine = "press-1"
tag = "temperature"
hours = 6

[[timeseries]]
name = "press-1-oee"
machine = "press-1"
kpi = "oee"
hours = 48
"""

PRODUCTS = """
[[products]]
id = "BRK-100"
name = "Bracket 100"
ideal_cycle_s = { press-1 = 0.9 }

[[products]]
id = "BRK-200"
name = "Bracket 200"
"""


@dataclass(frozen=True)
class Shared:
    home: Path
    key: str  # "acme": KPI of press-1 and the nameplates' ManufacturerName
    other_key: str  # "globex": carbon footprints, until revoked by a test that needs it
    grants: dict[str, str]


@pytest.fixture(scope="session")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Shared:
    home = tmp_path_factory.mktemp("share")
    (home / "plant.toml").write_text(demo_plant_text() + COMPANY + PRODUCTS)
    (home / "share.toml").write_text(SHARE_TOML)
    plant = load_plant(home / "plant.toml")
    store = EmbeddedStore(home)
    with clock.fixed(NOW):
        sim = simulate(plant, start=NOW - dt.timedelta(days=3), end=NOW, seed=7)
        counts = sim.counts
        # press-1 made BRK-100 all along; its energy meter and a temperature signal
        products = ["BRK-100" if m == "press-1" else None for m in counts["machine"].to_pylist()]
        counts = counts.append_column("product", pa.array(products, pa.string()))
        import_table(store, plant, sim.states, kind="states", source="sim-states")
        import_table(store, plant, counts, kind="counts", source="sim-counts")
        ts = [NOW - dt.timedelta(days=3) + dt.timedelta(minutes=10 * i) for i in range(432)]
        values = pa.table({
            "machine": ["press-1"] * (2 * len(ts)),
            "tag": ["energy_kwh"] * len(ts) + ["temperature"] * len(ts),
            "ts": pa.array([t.replace(tzinfo=None) for t in ts] * 2, pa.timestamp("us")),
            "value": [100.0 + 2.5 * i for i in range(len(ts))] + [40.0 + (i % 7) for i in range(len(ts))],
        })  # fmt: skip
        with store.session(write=True) as s:
            s.append("process_values", values)
        partners = Partners(store, home)
        key, other = partners.add("acme"), partners.add("globex")
        g1 = partners.grant("acme", plant=plant, submodel="kpi", machine="press-1", by="test",
                            expires=(NOW + dt.timedelta(days=30)).date(), purpose="planning")  # fmt: skip
        g2 = partners.grant("acme", plant=plant, submodel="nameplate", by="test",
                            paths=["ManufacturerName"])  # fmt: skip
        g3 = partners.grant("globex", plant=plant, submodel="carbon-footprint", by="test")
        g4 = partners.grant("globex", plant=plant, submodel="timeseries", by="test")
    return Shared(home, key, other, {"kpi": g1.id, "nameplate": g2.id, "carbon": g3.id,
                                     "series": g4.id})  # fmt: skip


@pytest.fixture(scope="session")
def client(shared: Shared) -> Iterator[TestClient]:
    with clock.fixed(NOW):
        yield TestClient(create_app(shared.home))


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def b64(ident: str) -> str:
    import base64

    return base64.urlsafe_b64encode(ident.encode()).decode().rstrip("=")


def ids(body: dict[str, Any]) -> list[str]:
    return [x["id"] for x in body["result"]]


def dump(x: Any) -> str:
    return json.dumps(x, indent=1)[:2000]
