"""Every map filter on every engine: the same cases, summary and variants from the embedded
engine, PostgreSQL and Spark.

One tiny log (the orders of tests/map/test_analyses.py, with a tie in variant counts so that
the ranking's tie-break shows) is read once and handed to each engine in this process, so Spark
starts once for all of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from pilotline.map import EventLog, Miner, filters, read_log
from tests.conftest import write
from tests.engines.test_conformance import same
from tests.map.test_analyses import COLS, ORDERS
from tests.pg import Cluster

UTC = dt.UTC
#: Spark in this process: pyspark 4.0 gives pandas 3 options it deprecates, and py4j leaves its
#: sockets to the garbage collector. Their noise, not ours: only these are ignored.
pytestmark = [
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
    pytest.mark.filterwarnings("ignore:unclosed <socket.socket:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:Exception ignored in. <socket.socket:pytest.PytestUnraisableExceptionWarning"
    ),
]
JAN = {"start": dt.datetime(2026, 1, 1, tzinfo=UTC), "end": dt.datetime(2026, 2, 1, tzinfo=UTC)}

#: (name, filters applied in turn with their options); the last ones chain as the CLI does.
FILTERS: list[tuple[str, list[tuple[Callable[..., Any], dict[str, Any]]]]] = [
    ("window contained", [(filters.time_window, {**JAN, "mode": "contained"})]),
    ("window intersecting", [(filters.time_window, {**JAN, "mode": "intersecting"})]),
    ("window events", [(filters.time_window, {**JAN, "mode": "events"})]),
    ("attribute kept", [(filters.attribute_values, {"column": "resource", "values": ["dan"]})]),
    (
        "attribute dropped",
        [(filters.attribute_values, {"column": "resource", "values": ["dan"], "keep": False})],
    ),
    ("activities kept", [(filters.activities, {"keep": ["pick", "pack"]})]),
    ("activities dropped", [(filters.activities, {"drop": ["pack"]})]),
    ("top 2 variants", [(filters.top_variants, {"k": 2})]),
    ("coverage 0.5", [(filters.top_variants, {"coverage": 0.5})]),
    ("grouped by mapping", [(filters.group_activities, {"mapping": {"pick": "handle"}})]),
    ("grouped by pattern", [(filters.group_activities, {"pattern": "^(\\w+)"})]),
    ("collapsed", [(filters.collapse_repeats, {})]),
    (
        "grouped, collapsed, top variant",
        [
            (filters.group_activities, {"mapping": {"pick": "handle", "pack": "handle"}}),
            (filters.collapse_repeats, {}),
            (filters.top_variants, {"k": 1}),
        ],
    ),
]


@pytest.fixture(scope="module")
def orders(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    return read_log(write(tmp_path_factory.mktemp("orders") / "orders.csv", ORDERS), COLS)


@pytest.fixture(scope="module", params=["embedded", "postgres", "spark"])
def miner(request: pytest.FixtureRequest, orders: EventLog, pg_cluster: Cluster) -> Iterator[Miner]:
    url = pg_cluster.create_db("t_map_filters") if request.param == "postgres" else None
    m = Miner.on(orders, request.param, database_url=url)
    yield m
    if request.param == "postgres":  # Spark's one session stays for the rest of the run
        m._con.disconnect()


def _answers(m: Miner) -> dict[str, Any]:
    """Which events are left and in which order, as cheaply as Spark can say it: the cases
    (events, first and last activity, times) and the directly-follows graph. The variants'
    ranking is inside: top_variants ranks by ``variants()``."""
    return {"cases": m.cases(), "dfg": m.dfg()}


@pytest.fixture(scope="module")
def expected(orders: EventLog) -> dict[str, Any]:
    out = {}
    for name, steps in FILTERS:
        m = Miner(orders)
        for transform, options in steps:
            m = m.where(transform, **options)
        out[name] = _answers(m)
    return out


@pytest.mark.parametrize("name", [name for name, _ in FILTERS])
def test_every_filter_gives_the_embedded_answers(
    miner: Miner, expected: dict[str, Any], name: str
) -> None:
    m = miner
    for transform, options in dict(FILTERS)[name]:
        m = m.where(transform, **options)
    same(_answers(m), expected[name])


def test_the_expected_answers_are_the_known_ones(expected: dict[str, Any]) -> None:
    """A few figures checked by hand, so that agreeing engines cannot all be wrong alike."""

    def cases(name: str) -> list[str]:
        return sorted(c["case"] for c in expected[name]["cases"])

    assert cases("top 2 variants") == ["1", "2", "5"]  # equal counts go by code point
    assert cases("coverage 0.5") == ["1", "2", "5"]
    assert cases("window contained") == ["1", "2", "3"]
    assert cases("grouped, collapsed, top variant") == ["1", "2", "3"]
    steps = {(r["source"], r["target"]) for r in expected["grouped by mapping"]["dfg"]}
    assert {("receive", "handle"), ("handle", "pack")} <= steps
    assert "pick" not in {r["source"] for r in expected["grouped by mapping"]["dfg"]}


def test_top_variants_checks_its_options(orders: EventLog) -> None:
    from pilotline.errors import InputError

    m = Miner(orders)
    with pytest.raises(InputError, match="1 or more"):
        m.where(filters.top_variants, k=0)
    with pytest.raises(InputError, match="at most 1"):
        m.where(filters.top_variants, coverage=1.5)
    with pytest.raises(InputError, match="give the number"):
        m.where(filters.top_variants)
