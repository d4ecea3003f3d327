"""Fuzzing the event-log readers: whatever the bytes, a clean log or a clear problem.

Every reader — CSV, Parquet, XES (.xes and .xes.gz), OCEL 2.0 (JSON, XML, SQLite) — gets files
built by Hypothesis from nearly valid logs, then damaged: fields dropped or of the wrong type,
odd times, names that clash with the fixed columns, bytes cut off or flipped. Each must end as
an :class:`EventLog` whose events keep the log's invariant, or as an
:class:`~pilotline.errors.InputError` naming the file; any other exception fails the test.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pilotline.errors import ImportRejected, InputError
from pilotline.map import EventLog, LogColumns, read_log

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,  # nothing written to the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

NAMES = st.sampled_from(
    ["case", "activity", "timestamp", "seq", "ts", "Case", "resource", "start", "a", "pos", ""]
)
TEXT = st.text(max_size=12)
ODD_TIMES = st.one_of(
    st.sampled_from(
        [
            "2026-01-05T09:30:00+02:00",
            "2026-01-05 10:00:00",
            "0001-01-01T00:00:00Z",
            "2099-12-31T23:59:59Z",
            "10000-01-01T00:00:00Z",
            "1899-12-30T00:00:00",
            "2026-02-30T00:00:00Z",
            "2026-01-05T08:00:00-25:00",
            "yesterday",
            "",
        ]
    ),
    st.datetimes().map(lambda t: t.isoformat()),
    TEXT,
)
GOOD_TIMES = st.datetimes(dt.datetime(2020, 1, 1), dt.datetime(2026, 3, 1)).map(
    lambda t: t.isoformat() + "Z"
)
TIMES = st.one_of(GOOD_TIMES, GOOD_TIMES, GOOD_TIMES, ODD_TIMES)
CELL = st.one_of(TEXT, TIMES, st.sampled_from(["=1+2", "-3", "NA", '"', "\n", ","]))


def _outcome(path: Path, read: Callable[[], EventLog]) -> None:
    """A clean log, or an InputError that names the file; nothing else."""
    try:
        _check(path, read)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def _check(path: Path, read: Callable[[], EventLog]) -> None:
    try:
        log = read()
        table = log.events  # a Parquet log's other columns are read from the file only now
    except InputError as exc:
        event(f"refused: {type(exc).__name__}")
        assert path.name in str(exc), str(exc)
        if isinstance(exc, ImportRejected):
            assert exc.problems and all(p.file == str(path) for p in exc.problems)
        return
    event("a clean log")  # ordered by seq, each case's events follow one another from pos 0
    events = table.sort_by("seq")
    assert events.num_rows == log.num_events > 0
    assert len(set(events["seq"].to_pylist())) == events.num_rows
    codes = np.asarray(events["case_no"].to_numpy(zero_copy_only=False))
    pos = np.asarray(events["pos"].to_numpy(zero_copy_only=False))
    first = np.r_[True, codes[1:] != codes[:-1]]
    previous = np.r_[-1, pos[:-1]]
    assert (pos[first] == 0).all() and (pos[~first] == previous[~first] + 1).all()
    assert len(set(codes[first].tolist())) == int(first.sum())  # each case's events together


def _file(name: str, data: bytes | str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="pilotline-fuzz-"))
    path = folder / name
    path.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return path


def _damage(data: bytes, draw: Any) -> bytes:
    """Maybe cut the bytes off, or flip one."""
    how = draw(st.sampled_from(["none", "cut", "flip"]))
    if not data or how == "none":
        return data
    at = draw(st.integers(0, len(data) - 1))
    if how == "cut":
        return data[:at]
    return data[:at] + bytes([data[at] ^ draw(st.integers(1, 255))]) + data[at + 1 :]


# -- CSV and Parquet ----------------------------------------------------------------------------
@FUZZ
@given(
    extra=st.lists(NAMES, max_size=3),
    rows=st.lists(
        st.tuples(st.sampled_from(["1", "2", "NA", ""]), st.sampled_from(["a", "b", "=x"]), TIMES)
        .map(list)
        .flatmap(lambda r: st.lists(CELL, max_size=3).map(lambda more: r + more)),
        max_size=8,
    ),
    sep=st.sampled_from([",", ";", "\t"]),
    data=st.data(),
)
def test_csv(extra: list[str], rows: list[list[str]], sep: str, data: Any) -> None:
    def cell(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in f'"\n\r{sep}') else v

    header = ["case", "activity", "timestamp", *extra]
    text = "\n".join(sep.join(cell(v) for v in r) for r in [header, *rows]) + "\n"
    path = _file("log.csv", _damage(text.encode("utf-8", "surrogatepass"), data.draw))
    _outcome(path, lambda: read_log(path, LogColumns()))


PARQUET_COLUMNS = st.sampled_from(
    [
        pa.array(["1", "1", "2"]),
        pa.array([1, 2, None]),
        pa.array(["a", None, "b"]),
        pa.array([0.5, float("nan"), -1.0]),
        pa.array([0, 1_800_000_000_000_000, -62_135_596_800_000_000], pa.timestamp("us")),
        pa.array([0, 1, 2], pa.timestamp("s", "Europe/Berlin")),
        pa.array([None, None, None], pa.timestamp("ms", "UTC")),
        pa.array(["2026-01-05T08:00:00Z", "2026-01-05 09:00", "x"]),
        pa.array([True, False, None]),
    ]
)


@FUZZ
@given(
    extra=st.dictionaries(NAMES, PARQUET_COLUMNS, max_size=3),
    tz=st.sampled_from([None, "Europe/Berlin"]),
    data=st.data(),
)
def test_parquet(extra: dict[str, pa.Array], tz: str | None, data: Any) -> None:
    from zoneinfo import ZoneInfo

    columns = {
        "case": pa.array(["1", "1", "2"]),
        "activity": pa.array(["a", "b", "a"]),
        "timestamp": pa.array([0, 3_600, 7_200], pa.timestamp("s", "UTC")),
        **extra,  # may replace a fixed column with text, numbers, nulls or odd times
    }
    path = _file("log.parquet", b"")
    pq.write_table(pa.table(columns), path)
    path.write_bytes(_damage(path.read_bytes(), data.draw))
    zone = ZoneInfo(tz) if tz else None
    _outcome(path, lambda: read_log(path, LogColumns(), tz=zone))


# -- XES ----------------------------------------------------------------------------------------
KEYS = st.sampled_from(
    ["concept:name", "time:timestamp", "org:resource", "lifecycle:transition", "case", "seq", "k"]
)
TAGS = st.sampled_from(["string", "date", "int", "float", "boolean", "id", "list", "container"])
ATTRIBUTE = st.tuples(TAGS, KEYS, st.one_of(TIMES, TEXT))
EVENT = st.lists(ATTRIBUTE, max_size=5).map(
    lambda attrs: (
        [("string", "concept:name", "a"), ("date", "time:timestamp", "2026-01-05"), *attrs]
    )
)
TRACE = st.tuples(st.one_of(st.none(), TEXT), st.lists(EVENT, max_size=4))


def _xes_text(traces: list[tuple[str | None, list[list[tuple[str, str, str]]]]]) -> str:
    def element(tag: str, key: str, value: str) -> str:
        return f"<{tag} key={quoteattr(key)} value={quoteattr(value)}/>"

    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<log xes.version="2.0">']
    for name, events in traces:
        out.append("<trace>")
        if name is not None:
            out.append(element("string", "concept:name", name))
        for attrs in events:
            out.append("<event>" + "".join(element(*a) for a in attrs) + "</event>")
        out.append("</trace>")
    out.append("</log>\n")
    return "\n".join(out)


def _xml_safe(text: str) -> str:
    """Characters XML 1.0 allows (others make a well-formedness error: fuzzed separately)."""
    return "".join(c for c in text if c in "\t\n\r" or " " <= c <= "\ud7ff" or c >= "\ue000")


@FUZZ
@given(traces=st.lists(TRACE, max_size=4), gz=st.booleans(), data=st.data())
def test_xes(traces: list[Any], gz: bool, data: Any) -> None:
    raw = _xml_safe(_xes_text(traces)).encode()
    if gz:
        raw = gzip.compress(raw)
    path = _file("log.xes.gz" if gz else "log.xes", _damage(raw, data.draw))
    _outcome(path, lambda: read_log(path, max_xml_bytes=1_000_000))


# -- OCEL 2.0 -----------------------------------------------------------------------------------
JSONISH = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=False),
        TEXT,
        TIMES,
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=6,
)


def _ocel(draw: Any) -> dict[str, Any]:
    objects = [
        {"id": f"o{i}", "type": draw(st.sampled_from(["order", "order", "item", ""]))}
        for i in range(3)
    ]
    events = []
    for i in range(draw(st.integers(0, 4))):
        events.append(
            {
                "id": f"e{i}",
                "type": draw(st.sampled_from(["place", "pick", "ship"])),
                "time": draw(TIMES),
                "attributes": [{"name": draw(NAMES), "value": draw(JSONISH)}],
                "relationships": [
                    {"objectId": draw(st.sampled_from(["o0", "o1", "o2", "o9"])), "qualifier": ""}
                ],
            }
        )
    log: dict[str, Any] = {
        "objectTypes": [],
        "eventTypes": [],
        "objects": objects,
        "events": events,
    }
    # damage the structure: drop a field, or put something else in its place
    for _ in range(draw(st.integers(0, 3))):
        holders = [log, *objects, *events]
        holders += [r for e in events for r in e.get("relationships") or [] if isinstance(r, dict)]
        holders = [h for h in holders if isinstance(h, dict) and h]
        holder = draw(st.sampled_from(holders))
        key = draw(st.sampled_from(sorted(holder)))
        if draw(st.booleans()):
            del holder[key]
        else:
            holder[key] = draw(JSONISH)
    return log


@FUZZ
@given(data=st.data())
def test_ocel_json(data: Any) -> None:
    raw = json.dumps(_ocel(data.draw)).encode()
    path = _file("log.json", _damage(raw, data.draw))
    _outcome(path, lambda: read_log(path, object_type="order"))


@FUZZ
@given(data=st.data())
def test_ocel_xml(data: Any) -> None:
    log = _ocel(data.draw)

    def attr(name: str, value: Any) -> str:
        return f" {name}={quoteattr(_xml_safe(str(value)))}" if value is not None else ""

    parts = ["<?xml version='1.0'?><log><objects>"]
    for o in log.get("objects") if isinstance(log.get("objects"), list) else []:
        o = o if isinstance(o, dict) else {}
        parts.append(f"<object{attr('id', o.get('id'))}{attr('type', o.get('type'))}/>")
    parts.append("</objects><events>")
    for e in log.get("events") if isinstance(log.get("events"), list) else []:
        e = e if isinstance(e, dict) else {}
        head = "".join(attr(k, e.get(k)) for k in ("id", "type", "time"))
        rels = e.get("relationships") if isinstance(e.get("relationships"), list) else []
        parts.append(f"<event{head}><objects>")
        for r in rels:
            r = r if isinstance(r, dict) else {}
            parts.append(f"<relationship{attr('object-id', r.get('objectId'))}/>")
        parts.append("</objects></event>")
    parts.append("</events></log>")
    path = _file("log.xml", _damage("".join(parts).encode(), data.draw))
    _outcome(path, lambda: read_log(path, object_type="order"))


@FUZZ
@given(data=st.data())
def test_ocel_sqlite(data: Any) -> None:
    path = _file("log.sqlite", b"")
    path.unlink()
    con = sqlite3.connect(path)
    tables = {
        "object": "ocel_id, ocel_type",
        "event": "ocel_id, ocel_type",
        "event_object": "ocel_event_id, ocel_object_id, ocel_qualifier",
        "event_map_type": "ocel_type, ocel_type_map",
        "event_Place": "ocel_id, ocel_time, note",
    }
    dropped = data.draw(st.sets(st.sampled_from(sorted(tables)), max_size=1))
    for name, cols in tables.items():
        if name not in dropped:
            con.execute(f'CREATE TABLE "{name}" ({cols})')
    rows = {
        "object": [("o0", "order"), ("o1", "item")],
        "event": [(f"e{i}", "place") for i in range(3)],
        "event_object": [("e0", "o0", ""), ("e1", "o0", ""), ("e2", "o9", "")],
        "event_map_type": [("place", data.draw(st.sampled_from(["Place", "Gone", 'x"y'])))],
        "event_Place": [
            (
                f"e{i}",
                data.draw(
                    st.one_of(TIMES, JSONISH.filter(lambda v: not isinstance(v, (list, dict))))
                ),
                "n",
            )
            for i in range(data.draw(st.integers(0, 3)))
        ],
    }
    for name, values in rows.items():
        if name not in dropped and values:
            marks = ", ".join("?" * len(values[0]))
            con.executemany(f'INSERT INTO "{name}" VALUES ({marks})', values)
    con.commit()
    con.close()
    path.write_bytes(_damage(path.read_bytes(), data.draw))
    _outcome(path, lambda: read_log(path, object_type="order"))
