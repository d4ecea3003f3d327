"""A first look at a file before it is imported: what it holds, which column is which, the
timestamp format, the number style and the text encoding, from its first rows.

The upload form shows this and lets a person confirm or change each choice; nothing here is
stored. The import itself still checks every row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa

from pilotline.errors import InputError
from pilotline.ingest.mapping import (
    Sample,
    Suggestion,
    detect_kind,
    looks_like_event_log,
    suggest,
    timestamp_layouts,
)
from pilotline.ingest.reader import (
    MAX_COLUMNS,
    UTF16_MESSAGE,
    file_format,
    read_batches,
    read_headers,
    too_many_columns,
    utf16_text,
)
from pilotline.ingest.remembered import Remembered
from pilotline.ingest.schemas import SCHEMAS
from pilotline.plant.model import Plant

#: Rows looked at: enough to tell a format, few enough to answer at once.
SAMPLE_ROWS = 200


@dataclass
class Preview:
    file: str
    format: str  # csv, xlsx, parquet
    encoding: str  # utf-8 or cp1252 (Windows' Western European, as older exports write)
    separator: str | None
    headers: list[str]
    rows: list[list[str | None]]
    kind: str | None
    suggestions: dict[str, list[Suggestion]]  # kind → a suggestion per header
    timestamp_formats: dict[str, list[str]]  # header → layouts that read all its sample values
    timestamp_examples: dict[str, dict[str, str]]  # header → layout → its first value, spelt out
    decimal_comma: bool
    event_log: bool
    remembered: Remembered | None = None
    unknown_machines: list[str] = field(default_factory=list)
    unknown_reasons: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "encoding": self.encoding,
            "separator": self.separator,
            "headers": self.headers,
            "rows": self.rows[:5],
            "kind": self.kind,
            "suggestions": {
                kind: [{"header": s.header, "column": s.column, "why": s.why} for s in suggestions]
                for kind, suggestions in self.suggestions.items()
            },
            "timestamp_formats": self.timestamp_formats,
            "timestamp_examples": self.timestamp_examples,
            "decimal_comma": self.decimal_comma,
            "event_log": self.event_log,
            "remembered": None
            if self.remembered is None
            else {
                "kind": self.remembered.kind,
                "mapping": self.remembered.mapping,
                "options": self.remembered.options,
                "by": self.remembered.by,
                "saved_by": self.remembered.saved_by,
                "saved_at": self.remembered.saved_at,
            },
            "unknown_machines": self.unknown_machines,
            "unknown_reasons": self.unknown_reasons,
        }


def decode(data: bytes) -> tuple[str, str]:
    """The text of a CSV file's bytes and the encoding that reads them: UTF-8 (a byte-order
    mark is dropped), else Windows-1252. Bytes that are no text at all are refused, and UTF-16
    text with what to do about it."""
    if utf16_text(data):
        raise InputError(UTF16_MESSAGE)
    if b"\x00" in data:
        at = data.index(b"\x00")
        raise InputError(
            f"this is not a text (CSV) file: byte {at:,} is a zero byte, as in binary files; "
            "expected a CSV file, or an Excel (.xlsx) or Parquet file named so"
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError as exc:
        if exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
            return data[: exc.start].decode("utf-8-sig"), "utf-8"  # a cut character
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        raise InputError(
            "the file is neither UTF-8 nor Windows-1252 text; save it as 'CSV UTF-8'"
        ) from None


def _csv_sample(data: bytes, partial: bool) -> tuple[Sample, str, str]:
    text, encoding = decode(data)
    first = next((ln for ln in text.splitlines() if ln.strip()), None)
    if first is None:
        raise InputError("the file is empty; expected a header row and data rows")
    sep = max([",", ";", "\t", "|"], key=first.count)
    table: list[list[str]] = []
    try:
        # The csv module, not lines: a quoted cell may hold a line break.
        for row in csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=sep):
            if any(c.strip() for c in row):
                table.append(row)
                if len(table) == 1 and len(row) > MAX_COLUMNS:
                    raise InputError(too_many_columns(len(row)))
            if len(table) > SAMPLE_ROWS + 1:
                break
    except csv.Error as exc:
        raise InputError(f"cannot read the file as CSV: {exc}") from None
    if partial and len(table) > 2 and len(table) <= SAMPLE_ROWS + 1:
        table = table[:-1]  # the slice may end inside the last row
    headers = [h.strip() for h in table[0]]
    rows: list[list[str | None]] = [[c.strip() or None for c in r] for r in table[1:]]
    return Sample(headers, rows[:SAMPLE_ROWS]), encoding, sep


def _other_sample(path: Path) -> Sample:
    headers = read_headers(path)
    rows: list[list[str | None]] = []
    for batch in read_batches(path):
        part = batch.table.slice(0, SAMPLE_ROWS - len(rows))
        columns = [
            [None if v is None else str(v) for v in part.column(i).to_pylist()]
            for i in range(part.num_columns)
        ]
        rows.extend([list(r) for r in zip(*columns, strict=True)])
        if len(rows) >= SAMPLE_ROWS:
            break
    return Sample(headers, rows)


def preview(
    path: Path,
    plant: Plant,
    *,
    name: str,
    partial: bool = False,
    remembered: Remembered | None = None,
) -> Preview:
    """Look at the file at ``path`` (``partial``: only its first bytes, as the browser sends a
    large CSV file's start) and suggest how to import it."""
    fmt = file_format(path)
    encoding, sep = "utf-8", None
    if fmt == "csv":
        try:
            sample, encoding, sep = _csv_sample(path.read_bytes(), partial)
        except InputError as exc:
            raise InputError(f"{name}: {exc}") from None
    else:
        try:
            sample = _other_sample(path)
        except (pa.ArrowException, ValueError, OSError) as exc:
            raise InputError(f"{name} could not be read: {str(exc)[:200]}") from None
    machines = {m.id for _, m in plant.machines}
    reasons = set(plant.reason_categories())
    kind = detect_kind(sample, machines=machines)
    if remembered is not None and remembered.kind in SCHEMAS:
        kind = remembered.kind
    suggestions = {
        k: suggest(
            sample,
            k,
            machines=machines,
            reasons=reasons,
            remembered=remembered.mapping if remembered and remembered.kind == k else None,
        )
        for k in SCHEMAS
    }
    formats: dict[str, list[str]] = {}
    examples: dict[str, dict[str, str]] = {}
    for header in sample.headers:
        values = sample.values(header)
        if sample.looks(header, machines, reasons) == "timestamp":
            fits = timestamp_layouts(values)  # every sampled value, not only the first ones
            if fits:
                formats[header] = fits
                # What the first value means in each layout: '05/01/2026' is 5 January or 1 May.
                examples[header] = {
                    f: dt.datetime.strptime(values[0], f).strftime("%d %B %Y, %H:%M")  # noqa: DTZ007
                    for f in fits
                }
    comma = sep == ";" or any(
        re.fullmatch(r"\d+,\d+", v) for h in sample.headers for v in sample.values(h, limit=50)
    )
    out = Preview(
        name,
        fmt,
        encoding,
        sep,
        sample.headers,
        sample.rows,
        kind,
        suggestions,
        formats,
        examples,
        comma,
        looks_like_event_log(sample.headers),
        remembered,
    )
    if kind:
        chosen = {s.column: s.header for s in suggestions[kind] if s.column}
        if "machine" in chosen:
            seen = dict.fromkeys(sample.values(chosen["machine"]))
            out.unknown_machines = [m for m in seen if m not in machines][:50]
        if "reason" in chosen:
            seen = dict.fromkeys(sample.values(chosen["reason"]))
            out.unknown_reasons = [r for r in seen if r.strip().lower() not in reasons][:50]
    return out
