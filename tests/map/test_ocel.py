"""OCEL 2.0: read JSON, XML and SQLite and flatten per object type, as pm4py does."""

from __future__ import annotations

import datetime as dt
import warnings
from pathlib import Path

import pytest

from pilotline.errors import InputError
from pilotline.map import Miner, read_log

SAMPLE = Path(__file__).parent / "data" / "orders-ocel2.json"


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The sample as JSON, and as SQLite and XML written by pm4py (an independent writer)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        ocel = pm4py.read_ocel2_json(str(SAMPLE))
        out = tmp_path_factory.mktemp("ocel")
        pm4py.write_ocel2_sqlite(ocel, str(out / "orders.sqlite"))
        pm4py.write_ocel2_xml(ocel, str(out / "orders.xml"))
    return {"json": SAMPLE, "sqlite": out / "orders.sqlite", "xml": out / "orders.xml"}


def _reference(object_type: str) -> list[tuple[str, str, str]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

        flat = pm4py.ocel_flattening(pm4py.read_ocel2_json(str(SAMPLE)), object_type)
    return sorted(
        (r["case:concept:name"], r["concept:name"], r["time:timestamp"].isoformat())
        for _, r in flat.iterrows()
    )


@pytest.mark.parametrize("fmt", ["json", "xml", "sqlite"])
@pytest.mark.parametrize("object_type", ["order", "item"])
def test_flattening_matches_pm4py(files: dict[str, Path], fmt: str, object_type: str) -> None:
    log = read_log(files[fmt], object_type=object_type)
    ours = sorted(
        (r["case"], r["activity"], r["ts"].replace(tzinfo=dt.UTC).isoformat())
        for r in log.events.to_pylist()
    )
    assert ours == _reference(object_type)


def test_object_type_is_required_and_checked(files: dict[str, Path]) -> None:
    with pytest.raises(
        InputError, match=r"choose --object-type, one of item \(3 objects\), order \(2 objects\)"
    ):
        read_log(files["json"])
    with pytest.raises(InputError, match="no objects of type 'parcel'"):
        read_log(files["json"], object_type="parcel")


def test_flattened_orders_give_a_process_map() -> None:
    m = Miner(read_log(SAMPLE, object_type="order"))
    dfg = {(r["source"], r["target"]): r["count"] for r in m.dfg()}
    assert dfg == {
        ("place order", "pick item"): 2,
        ("pick item", "pick item"): 1,
        ("pick item", "ship"): 2,
    }
