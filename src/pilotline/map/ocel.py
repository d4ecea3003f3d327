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
from pilotline.map.log import UTC_NAIVE, EventLog, _finish


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


def _time(value: str, source: str, where: str) -> dt.datetime:
    try:
        ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ImportRejected(
            [Problem(source, None, "time", f"{where}: cannot read {value!r} as a timestamp")]
        ) from None
    return (ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _read_json(path: Path) -> ObjectCentricLog:
    source = str(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(raw, dict) or "events" not in raw or "objects" not in raw:
        raise InputError(f"{source}: not an OCEL 2.0 JSON log (expected 'events' and 'objects')")
    log = ObjectCentricLog(source)
    for o in raw["objects"]:
        log.objects[str(o["id"])] = str(o["type"])
    for i, e in enumerate(raw["events"]):
        eid = str(e["id"])
        attrs = {a["name"]: a.get("value") for a in e.get("attributes") or []}
        log.events.append(
            (eid, str(e["type"]), _time(str(e["time"]), source, f"event {i + 1} ({eid})"), attrs)
        )
        for r in e.get("relationships") or []:
            log.relations.append((eid, str(r["objectId"]), str(r.get("qualifier") or "")))
    return log


def _read_xml(path: Path) -> ObjectCentricLog:
    source = str(path)
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        line, column = exc.position
        raise InputError(f"{source}: not well-formed XML at line {line}, column {column}") from None
    log = ObjectCentricLog(source)
    for o in root.iterfind("./objects/object"):
        log.objects[str(o.get("id"))] = str(o.get("type"))
    for i, e in enumerate(root.iterfind("./events/event")):
        eid = str(e.get("id"))
        attrs = {a.get("name", ""): a.text for a in e.iterfind("./attributes/attribute")}
        log.events.append(
            (
                eid,
                str(e.get("type")),
                _time(str(e.get("time")), source, f"event {i + 1} ({eid})"),
                attrs,
            )
        )
        for r in e.iterfind("./objects/relationship"):
            log.relations.append((eid, str(r.get("object-id")), str(r.get("qualifier") or "")))
    return log


def _read_sqlite(path: Path) -> ObjectCentricLog:
    source = str(path)
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
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
            cur = con.execute(f'SELECT * FROM "event_{mapped}"')
            names = [d[0] for d in cur.description]
            for row in cur:
                values = dict(zip(names, row, strict=True))
                eid = str(values.pop("ocel_id"))
                stamp = _time(str(values.pop("ocel_time")), source, f"event {eid}")
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
    except sqlite3.DatabaseError as exc:
        raise InputError(f"{source}: cannot read as SQLite: {exc}") from None
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
    attr_names = sorted({k for i, _ in rows for k in log.events[i][3]})
    columns: dict[str, pa.Array] = {
        "case": pa.array([o for _, o in rows], pa.string()),
        "activity": pa.array([log.events[i][1] for i, _ in rows], pa.string()),
        "ts": pa.array([log.events[i][2].replace(tzinfo=None) for i, _ in rows], UTC_NAIVE),
        "seq": pa.array(np.arange(len(rows), dtype=np.int64)),
        "event_id": pa.array([log.events[i][0] for i, _ in rows], pa.string()),
    }
    for name in attr_names:
        values = [log.events[i][3].get(name) for i, _ in rows]
        columns[name] = pa.array([None if v is None else str(v) for v in values], pa.string())
    return _finish(pa.table(columns), log.source)
