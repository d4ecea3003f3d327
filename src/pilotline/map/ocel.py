"""OCEL 2.0 object-centric event logs (JSON, XML or SQLite), flattened per object type.

An object-centric log relates each event to several objects (an order, its items, a delivery).
Flattening on one object type makes each object of that type a case, holding every event related
to it — the classical view the other analyses use. Events keep the file's order for ties.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.map.log import MAX_ATTRIBUTES, UTC_NAIVE, EventLog, _finish, attribute_name


@dataclass
class ObjectCentricLog:
    source: str
    events: list[tuple[str, str, dt.datetime, dict[str, Any]]] = field(default_factory=list)
    objects: dict[str, str] = field(default_factory=dict)  # object id → type
    relations: list[tuple[str, str, str]] = field(default_factory=list)  # event, object, qualifier

    def object_types(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.objects.values():
            counts[t] = counts.get(t, 0) + 1
        return dict(sorted(counts.items()))


def _time(value: Any, source: str, where: str) -> dt.datetime:
    try:
        ts = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (ValueError, OverflowError):
        raise ImportRejected(
            [Problem(source, None, "time", f"{where}: cannot read {value!r} as a timestamp")]
        ) from None


def _text(item: Any, key: str, source: str, where: str) -> str:
    """A required field of an event, object or relationship as text; its absence is located."""
    value = item.get(key) if isinstance(item, dict) else None
    if value is None or isinstance(value, (dict, list)) or str(value) == "":
        raise ImportRejected(
            [Problem(source, None, key, f"{where} has no {key!r}; expected a name or id")]
        )
    return str(value)


def _list(value: Any, source: str, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ImportRejected([Problem(source, None, None, f"{where}: expected a list")])
    return value


def _read_json(path: Path) -> ObjectCentricLog:
    source = str(path)
    try:
        raw = json.loads(path.read_bytes())
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (UnicodeDecodeError, RecursionError) as exc:
        raise InputError(f"{source}: not valid JSON ({type(exc).__name__})") from None
    if not isinstance(raw, dict) or "events" not in raw or "objects" not in raw:
        raise InputError(f"{source}: not an OCEL 2.0 JSON log (expected 'events' and 'objects')")
    log = ObjectCentricLog(source)
    for i, o in enumerate(_list(raw["objects"], source, "'objects'")):
        where = f"object {i + 1}"
        log.objects[_text(o, "id", source, where)] = _text(o, "type", source, where)
    for i, e in enumerate(_list(raw["events"], source, "'events'")):
        eid = _text(e, "id", source, f"event {i + 1}")
        where = f"event {i + 1} ({eid})"
        attrs = {}
        for a in _list(e.get("attributes"), source, f"{where}, 'attributes'"):
            attrs[_text(a, "name", source, f"{where}, an attribute")] = a.get("value")
        log.events.append(
            (eid, _text(e, "type", source, where), _time(e.get("time"), source, where), attrs)
        )
        for r in _list(e.get("relationships"), source, f"{where}, 'relationships'"):
            oid = _text(r, "objectId", source, f"{where}, a relationship")
            log.relations.append((eid, oid, str(r.get("qualifier") or "")))
    return log


def _read_xml(path: Path) -> ObjectCentricLog:
    source = str(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(f"{source}: not well-formed XML at line {line}, column {column}") from None
    log = ObjectCentricLog(source)
    for i, o in enumerate(root.iterfind("./objects/object")):
        where = f"object {i + 1}"
        log.objects[_text(o.attrib, "id", source, where)] = _text(o.attrib, "type", source, where)
    for i, e in enumerate(root.iterfind("./events/event")):
        eid = _text(e.attrib, "id", source, f"event {i + 1}")
        where = f"event {i + 1} ({eid})"
        attrs = {a.get("name", ""): a.text for a in e.iterfind("./attributes/attribute")}
        log.events.append(
            (
                eid,
                _text(e.attrib, "type", source, where),
                _time(e.get("time"), source, where),
                attrs,
            )
        )
        for r in e.iterfind("./objects/relationship"):
            oid = _text(r.attrib, "object-id", source, f"{where}, a relationship")
            log.relations.append((eid, oid, str(r.get("qualifier") or "")))
    return log


def _read_sqlite(path: Path) -> ObjectCentricLog:
    source = str(path)
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise InputError(f"{source}: cannot read as SQLite: {exc}") from None
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        needed = {"event", "object", "event_object", "event_map_type"}
        if not needed <= tables:
            raise InputError(
                f"{source}: not an OCEL 2.0 SQLite log (missing tables {sorted(needed - tables)})"
            )
        log = ObjectCentricLog(source)
        log.objects = {
            str(i): str(t) for i, t in con.execute("SELECT ocel_id, ocel_type FROM object")
        }
        times: dict[str, tuple[dt.datetime, dict[str, Any]]] = {}
        for (mapped,) in con.execute("SELECT ocel_type_map FROM event_map_type"):
            table = f"event_{mapped}"
            if table not in tables:
                raise InputError(f"{source}: no table {table!r} for the events of type {mapped!r}")
            cur = con.execute('SELECT * FROM "' + table.replace('"', '""') + '"')
            names = [d[0] for d in cur.description]
            if "ocel_id" not in names or "ocel_time" not in names:
                raise InputError(f"{source}: table {table!r} lacks 'ocel_id' or 'ocel_time'")
            for row in cur:
                values = dict(zip(names, row, strict=True))
                eid = str(values.pop("ocel_id"))
                stamp = _time(values.pop("ocel_time"), source, f"event {eid}")
                times[eid] = (stamp, {k: v for k, v in values.items() if not k.startswith("ocel")})
        for eid, etype in con.execute("SELECT ocel_id, ocel_type FROM event ORDER BY rowid"):
            if str(eid) not in times:
                raise ImportRejected(
                    [Problem(source, None, "ocel_time", f"event {eid} has no time")]
                )
            stamp, attrs = times[str(eid)]
            log.events.append((str(eid), str(etype), stamp, attrs))
        log.relations = [
            (str(e), str(o), str(q or ""))
            for e, o, q in con.execute(
                "SELECT ocel_event_id, ocel_object_id, ocel_qualifier FROM event_object"
            )
        ]
        return log
    except sqlite3.Error as exc:
        raise InputError(f"{source}: cannot read as an OCEL 2.0 SQLite log: {exc}") from None
    finally:
        con.close()


def read_ocel(path: Path) -> ObjectCentricLog:
    """Read an OCEL 2.0 log: ``.json``/``.jsonocel``, ``.xml``/``.xmlocel`` or ``.sqlite``/``.db``."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix in (".json", ".jsonocel"):
        return _read_json(path)
    if suffix in (".xml", ".xmlocel"):
        return _read_xml(path)
    if suffix in (".sqlite", ".db", ".sqlite3"):
        return _read_sqlite(path)
    raise InputError(f"{path}: expected an OCEL 2.0 file (.json, .xml or .sqlite)")


def flatten(log: ObjectCentricLog, object_type: str) -> EventLog:
    """The classical event log of one object type: each object is a case."""
    types = log.object_types()
    if object_type not in types:
        raise InputError(
            f"{log.source}: no objects of type {object_type!r}; the types are "
            + ", ".join(f"{t} ({n})" for t, n in types.items())
        )
    index = {e[0]: i for i, e in enumerate(log.events)}
    rows: list[tuple[int, str]] = []
    missing = []
    for eid, oid, _ in log.relations:
        if log.objects.get(oid) != object_type:
            continue
        if eid not in index:
            missing.append(eid)
            continue
        rows.append((index[eid], oid))
    if missing:
        raise ImportRejected(
            [
                Problem(log.source, None, None, f"relationship names unknown event {e!r}")
                for e in missing[:10]
            ]
        )
    if not rows:
        raise ImportRejected(
            [
                Problem(
                    log.source, None, None, f"no events relate to objects of type {object_type!r}"
                )
            ]
        )
    rows = sorted(set(rows))
    seen: dict[str, None] = {}  # attribute names in the order met, at most MAX_ATTRIBUTES + 1
    for i, _ in rows:
        for k in log.events[i][3]:
            if len(seen) > MAX_ATTRIBUTES:
                break
            seen.setdefault(k, None)
    attr_names = sorted(list(seen)[:MAX_ATTRIBUTES])

    columns: dict[str, pa.Array] = {
        "case": pa.array([o for _, o in rows], pa.string()),
        "activity": pa.array([log.events[i][1] for i, _ in rows], pa.string()),
        "ts": pa.array([log.events[i][2].replace(tzinfo=None) for i, _ in rows], UTC_NAIVE),
        "seq": pa.array(np.arange(len(rows), dtype=np.int64)),
        "event_id": pa.array([log.events[i][0] for i, _ in rows], pa.string()),
    }
    for name in attr_names:
        values = [log.events[i][3].get(name) for i, _ in rows]
        key = "event_id (attribute)" if name == "event_id" else attribute_name(name)
        columns[key] = pa.array([None if v is None else str(v) for v in values], pa.string())

    def place(source: str, seq: int, message: str) -> Problem:
        return Problem(source, None, "time", f"event {log.events[rows[seq][0]][0]}: {message}")

    flat = _finish(pa.table(columns), log.source, place=place)
    if len(seen) > MAX_ATTRIBUTES:
        flat.notes.append(
            f"only the first {MAX_ATTRIBUTES} event attributes are kept; the values of further "
            "ones were dropped"
        )
    return flat
