"""XES event logs (``.xes`` and ``.xes.gz``), streamed with Expat into the columnar shape of
:mod:`pilotline.map.log`.

A hostile or broken file costs bounded memory and says what is wrong: attribute columns are
capped at :data:`~pilotline.map.log.MAX_ATTRIBUTES` (the values of further keys are dropped, with
a note), an attribute's values are kept only where they occur (a log whose every event brings a
new key does not grow a full column per key), a ``.xes.gz`` may unpack to at most
``max_bytes``, and a compressed file that is cut off says so.
"""

from __future__ import annotations

import datetime as dt
import gzip
import zlib
from pathlib import Path
from typing import IO
from xml.parsers import expat

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.map.log import (
    MAX_ATTRIBUTES,
    UTC_NAIVE,
    EventLog,
    Progress,
    _finish,
    attribute_name,
)

_TYPED = {"string", "date", "int", "float", "boolean", "id"}
#: Expat's errors for a document that stops before its elements are closed.
_ENDS_EARLY = {
    expat.errors.codes[expat.errors.XML_ERROR_NO_ELEMENTS],
    expat.errors.codes[expat.errors.XML_ERROR_UNCLOSED_TOKEN],
}


def _open(raw: IO[bytes], path: Path) -> IO[bytes]:
    """The XML stream; ``raw`` is the file on disk, whose position measures progress."""
    if path.suffix.lower() == ".gz":
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    return raw


def _xes_time(value: str) -> dt.datetime:
    ts = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def _xes_times(stamps: list[str | None], source: str) -> pa.Array:
    """XES timestamps as UTC instants (no zone). Arrow parses offsets ("+02:00", "Z") for the
    whole column at once; a column it cannot (a time without an offset, read as UTC, or a bad
    one) is read value by value, which names the first event that does not parse."""
    try:
        return pa.array(stamps, pa.string()).cast(pa.timestamp("us", "UTC")).cast(UTC_NAIVE)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    out: list[dt.datetime | None] = []
    for i, raw in enumerate(stamps):
        if raw is None:
            out.append(None)
            continue
        try:
            out.append(_xes_time(raw).astimezone(dt.UTC).replace(tzinfo=None))
        except (ValueError, OverflowError):
            raise ImportRejected(
                [
                    Problem(
                        source,
                        None,
                        "time:timestamp",
                        f"event {i + 1}: cannot read {raw!r} as a timestamp",
                    )
                ]
            ) from None
    return pa.array(out, UTC_NAIVE)


def _column(n: int, rows: list[int], values: list[str]) -> pa.Array:
    """A text column of ``n`` events holding ``values`` at ``rows`` and nulls elsewhere."""
    where = np.full(n, -1, dtype=np.int64)
    where[np.asarray(rows, dtype=np.int64)] = np.arange(len(values), dtype=np.int64)
    return pc.take(pa.array(values, pa.string()), pa.array(where, mask=where < 0))


def read_xes(
    path: Path, *, progress: Progress | None = None, max_bytes: int | None = None
) -> EventLog:
    """Stream an XES (or .xes.gz) file; time zones in timestamps are kept (converted to UTC).

    Expat calls back for each element as it reads (no element tree is built). An event's
    attributes are the typed elements directly inside it; a case's id is the ``concept:name``
    directly inside its trace. A trace without one, or with an empty one, is named by its
    number, ``(trace 7)``, and a note says which traces those are (they are never merged into
    one case). ``max_bytes`` caps the XML read (after unpacking a ``.xes.gz``)."""
    source = str(path)
    cases: list[str] = []
    activities: list[str | None] = []
    stamps: list[str | None] = []
    attrs: dict[str, tuple[list[int], list[str]]] = {}  # key → (event numbers, values)
    dropped = [0]  # values of keys past MAX_ATTRIBUTES
    dropped_keys: list[str] = []  # the first few such keys, for the note
    case_id: str | None = None
    trace_no = trace_line = 0
    unnamed: list[tuple[int, int]] = []  # (trace number, line) of traces without a name
    unnamed_total = [0]
    clashes: set[str] = set()  # trace names that look like the names given to unnamed traces
    spans: list[tuple[int, int, int]] = []  # unnamed traces' events: first, stop, trace number
    trace_first = 0  # the open trace's first event
    level = trace_level = event_level = 0  # element depth; where the open trace and event are
    current: dict[str, str] = {}

    def start(name: str, at: dict[str, str]) -> None:
        nonlocal level, trace_level, event_level, case_id, trace_no, trace_line, trace_first
        nonlocal current
        level += 1
        tag = name.rpartition(" ")[2]  # "namespace local" → local
        if tag in _TYPED:
            key, value = at.get("key"), at.get("value")
            if key is None or value is None:
                return
            if event_level and level == event_level + 1:
                current[key] = value
            elif (
                key == "concept:name"
                and case_id is None
                and trace_level
                and not event_level
                and level == trace_level + 1
                and value.strip()
            ):
                case_id = value
        elif tag == "event" and trace_level and not event_level:
            event_level, current = level, {}
        elif tag == "trace" and not trace_level:
            trace_level, case_id, trace_no = level, None, trace_no + 1
            trace_line, trace_first = parser.CurrentLineNumber, len(cases)

    def end(name: str) -> None:
        nonlocal level, trace_level, event_level
        if level == event_level:
            event_level = 0
            n = len(cases)
            cases.append(case_id if case_id is not None else f"(trace {trace_no})")
            activities.append(current.pop("concept:name", None))
            stamps.append(current.pop("time:timestamp", None))
            for k, v in current.items():
                col = attrs.get(k)
                if col is None:
                    if len(attrs) >= MAX_ATTRIBUTES + ("org:resource" in attrs):
                        dropped[0] += 1
                        if len(dropped_keys) < 3 and k not in dropped_keys:
                            dropped_keys.append(k)
                        continue
                    col = attrs[k] = ([], [])
                col[0].append(n)
                col[1].append(v)
        elif level == trace_level:
            trace_level = 0
            if case_id is not None and case_id.startswith("(trace "):
                clashes.add(case_id)
            elif case_id is None:
                spans.append((trace_first, len(cases), trace_no))
                unnamed_total[0] += 1
                if len(unnamed) < 5:
                    unnamed.append((trace_no, trace_line))
        level -= 1

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    size = path.stat().st_size
    read = 0
    try:
        with path.open("rb") as raw, _open(raw, path) as fh:
            while chunk := fh.read(1 << 20):
                read += len(chunk)
                if max_bytes is not None and read > max_bytes:
                    raise InputError(
                        f"{source}: unpacks to more than {max_bytes / 1e6:,.0f} MB of XML, the "
                        "limit here; read it with 'pilotline map' on the server instead"
                    )
                parser.Parse(chunk, False)
                if progress:
                    progress(raw.tell(), size)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        cut = " (the file ends too early: is it cut off?)" if exc.code in _ENDS_EARLY else ""
        raise InputError(
            f"{source}: not well-formed XML at line {exc.lineno}, column {exc.offset}: "
            f"{expat.ErrorString(exc.code)}{cut}"
        ) from None
    except EOFError:
        raise InputError(
            f"{source}: the compressed file is cut off (it ends before its end marker); "
            "copy or download it again"
        ) from None
    except gzip.BadGzipFile as exc:
        raise InputError(f"{source}: not a gzip file ({exc}); a .xes.gz must be gzipped") from None
    except zlib.error as exc:
        raise InputError(f"{source}: the compressed file is damaged ({exc})") from None
    if not cases:
        raise ImportRejected([Problem(source, None, None, "the log has no events")])
    missing = [i for i, a in enumerate(activities) if a is None][:5]
    if missing:
        raise ImportRejected(
            [
                Problem(source, None, "concept:name", f"event {i + 1} has no activity name")
                for i in missing
            ]
        )
    no_time = [i for i, t in enumerate(stamps) if t is None][:5]
    if no_time:
        raise ImportRejected(
            [
                Problem(source, None, "time:timestamp", f"event {i + 1} has no timestamp")
                for i in no_time
            ]
        )
    n = len(cases)
    if (
        clashes
    ):  # a trace is really called "(trace 3)": the unnamed third becomes "(trace 3, unnamed)"
        for first, stop, number in spans:
            if f"(trace {number})" in clashes:
                cases[first:stop] = [f"(trace {number}, unnamed)"] * (stop - first)
    case = pa.array(cases, pa.string())
    columns: dict[str, pa.Array] = {
        "case": case,
        "activity": pa.array(activities, pa.string()),
        "ts": _xes_times(stamps, source),
        "seq": pa.array(np.arange(n, dtype=np.int64)),
    }
    if "org:resource" in attrs:
        columns["resource"] = _column(n, *attrs.pop("org:resource"))
    for key, (rows, values) in attrs.items():
        columns[attribute_name(key)] = _column(n, rows, values)
    notes = []
    if unnamed_total[0]:
        which = ", ".join(f"trace {t} (line {line})" for t, line in unnamed)
        more = f" and {unnamed_total[0] - len(unnamed):,} more" if unnamed_total[0] > 5 else ""
        notes.append(
            f"{unnamed_total[0]:,} trace(s) have no case name (an empty or missing concept:name): "
            f"{which}{more}; each is a case of its own, named by its number, e.g. "
            f"'(trace {unnamed[0][0]})'"
        )
    if dropped[0]:
        notes.append(
            f"only the first {MAX_ATTRIBUTES} event attribute keys are kept; {dropped[0]:,} "
            f"values of further keys (such as {', '.join(map(repr, dropped_keys))}) were dropped"
        )
    log = _finish(pa.table(columns), source, place=_event)
    log.notes[:0] = notes
    return log


def _event(source: str, seq: int, message: str) -> Problem:
    """Where an XES event is: its number in the file."""
    return Problem(source, None, "time:timestamp", f"event {seq + 1}: {message}")
