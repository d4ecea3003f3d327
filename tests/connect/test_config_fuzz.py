"""Fuzzing the collector configuration: whatever a file says, the answer is a configuration whose
every number is finite and in range, or an InputError naming the field — never a traceback."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.connect import parse_collect_config
from pilotline.errors import InputError

SOURCES: list[dict[str, Any]] = [
    {
        "kind": "mqtt",
        "name": "broker",
        "port": 1883,
        "qos": 1,
        "session_expiry_s": 3600,
        "keepalive_s": 30,
        "tag": [{"name": "s", "machine": "m1", "role": "state", "topic": "t", "path": "state"}],
    },
    {
        "kind": "modbus",
        "name": "plc",
        "port": 502,
        "unit": 1,
        "poll_s": 1.0,
        "timeout_s": 3.0,
        "tag": [
            {"name": "c", "machine": "m1", "role": "part_counter", "address": 4, "type": "uint32"}
        ],
    },
    {
        "kind": "opcua",
        "name": "ua",
        "url": "opc.tcp://127.0.0.1:4840",
        "sampling_ms": 100.0,
        "publishing_ms": 500.0,
        "tag": [{"name": "t", "machine": "m1", "role": "value", "node": "ns=2;i=7", "scale": 2.0}],
    },
]
TOP = {"max_clock_skew_s": 300.0, "max_payload_kb": 256.0, "forward_every_s": 1.0}

odd_values = st.one_of(
    st.integers(min_value=-(2**80), max_value=2**80),
    st.sampled_from([0, -1, 2**63, 2**64, 10**30]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.inf, -math.inf, math.nan, 1e308, 5e-324, -0.0]),
    st.text(max_size=30),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(value)


def render(top: dict[str, Any], source: dict[str, Any]) -> str:
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    lines.append("[[source]]")
    lines += [f"{k} = {toml_value(v)}" for k, v in source.items() if k != "tag"]
    for tag in source["tag"]:
        lines.append("[[source.tag]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in tag.items()]
    return "\n".join(lines) + "\n"


def numbers(obj: Any) -> list[float]:
    if isinstance(obj, dict):
        return [n for v in obj.values() for n in numbers(v)]
    if isinstance(obj, list):
        return [n for v in obj for n in numbers(v)]
    if isinstance(obj, bool):
        return []
    return [obj] if isinstance(obj, int | float) else []


@pytest.mark.parametrize("base", SOURCES, ids=[s["kind"] for s in SOURCES])
def test_the_unmutated_configurations_are_valid(base: dict[str, Any]) -> None:
    assert parse_collect_config(render(TOP, base)).sources[0].name == base["name"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    base=st.sampled_from(SOURCES),
    where=st.sampled_from(["top", "source", "tag"]),
    key=st.text(min_size=1, max_size=20)
    | st.sampled_from(
        [
            "port",
            "qos",
            "poll_s",
            "timeout_s",
            "scale",
            "offset",
            "bits",
            "address",
            "session_expiry_s",
            "keepalive_s",
            "sampling_ms",
            "publishing_ms",
            "max_clock_skew_s",
            "max_payload_kb",
            "forward_every_s",
            "running_above",
            "unit",
            "name",
            "kind",
        ]
    ),
    value=odd_values,
)
def test_any_value_anywhere_is_in_range_or_refused(
    base: dict[str, Any], where: str, key: str, value: Any
) -> None:
    top, source = dict(TOP), {**base, "tag": [dict(t) for t in base["tag"]]}
    target = {"top": top, "source": source, "tag": source["tag"][0]}[where]
    target[key] = value
    try:
        config = parse_collect_config(render(top, source))
    except InputError as exc:
        assert str(exc)  # a message, naming the file and field
        return
    for n in numbers(config.model_dump()):
        assert math.isfinite(n) and abs(n) <= 1e12, n


@pytest.mark.parametrize(
    "text",
    [
        "a = " + "[" * 5000 + "]" * 5000,
        "source = 5",
        "source = 'x'",
        "[source]\nkind = 'mqtt'",
        "\x00\x01",
        "x = " + "{ y = " * 200 + "1" + " }" * 200,
    ],
    ids=[
        "deep arrays",
        "source a number",
        "source a string",
        "source a table",
        "bytes",
        "deep tables",
    ],
)
def test_odd_shapes_are_refused_plainly(text: str) -> None:
    with pytest.raises(InputError):
        parse_collect_config(text)
