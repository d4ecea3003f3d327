"""Read CSV, Excel (.xlsx) and Parquet files as a stream of Arrow record batches.

CSV cells arrive as text and Excel cells as text (dates in ISO form), so that every value is
checked by the same parser and a bad cell is reported with its row and column. Parquet keeps
its types. Each batch carries the spreadsheet row number of its first row.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pilotline.errors import ImportRejected, InputError, Problem

Progress = Callable[[int, int], None]  # (done, total) in bytes or rows

BATCH_ROWS = 65_536


@dataclass(frozen=True)
class Batch:
    table: pa.Table
    first_row: int  # spreadsheet row number of the first data row (the header is row 1)


class _CountingReader(io.RawIOBase):
    def __init__(self, raw: io.BufferedReader, progress: Progress | None, total: int) -> None:
        self._raw, self._progress, self._total, self.done = raw, progress, total, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)
        self.done += n or 0
        if self._progress:
            self._progress(self.done, self._total)
        return n or 0


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    formats = {
        ".csv": "csv",
        ".txt": "csv",
        ".tsv": "csv",
        ".xlsx": "xlsx",
        ".parquet": "parquet",
        ".pq": "parquet",
    }
    if suffix not in formats:
        raise InputError(
            f"{path}: cannot read files of type '{suffix or '(none)'}'; "
            "expected .csv, .xlsx or .parquet"
        )
    return formats[suffix]


def _sniff_csv(path: Path, sep: str | None = None) -> tuple[list[str], str]:
    with path.open("r", encoding="utf-8-sig", newline="") as fh:
        first = fh.readline()
    if not first.strip():
        raise ImportRejected(
            [
                Problem(
                    str(path), None, None, "the file is empty; expected a header row and data rows"
                )
            ]
        )
    delimiter = sep or max([",", ";", "\t", "|"], key=first.count)
    header = next(csv.reader([first], delimiter=delimiter))
    return [h.strip() for h in header], delimiter


def read_headers(path: Path, *, sep: str | None = None) -> list[str]:
    """The file's column names; a file that is not what its name says is an InputError."""
    fmt = file_format(path)
    if fmt == "csv":
        return _sniff_csv(path, sep)[0]
    try:
        if fmt == "parquet":
            return list(pq.ParquetFile(path).schema_arrow.names)
        return _xlsx_headers(path)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, pa.ArrowException) as exc:
        kind = "Parquet" if fmt == "parquet" else "Excel (.xlsx)"
        raise InputError(f"{path}: not a readable {kind} file ({exc})") from None


def _csv_batches(path: Path, progress: Progress | None, sep: str | None) -> Iterator[Batch]:
    header, delimiter = _sniff_csv(path, sep)
    size = path.stat().st_size
    with path.open("rb") as fh:
        counting = _CountingReader(fh, progress, size)
        reader = pacsv.open_csv(
            io.BufferedReader(counting, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(block_size=8 << 20, use_threads=True),
            parse_options=pacsv.ParseOptions(delimiter=delimiter),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=True,
                null_values=[""],
            ),
        )
        row = 2
        for record_batch in reader:
            table = pa.Table.from_batches([record_batch])
            table = table.rename_columns([n.strip() for n in table.column_names])
            yield Batch(table, row)
            row += table.num_rows


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _xlsx_headers(path: Path) -> list[str]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        first = next(ws.iter_rows(max_row=1, values_only=True), None)
        return [str(h).strip() for h in first if h is not None] if first else []
    finally:
        wb.close()


def _xlsx_batches(path: Path, progress: Progress | None) -> Iterator[Batch]:
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise ImportRejected(
                [Problem(str(path), None, None, "the workbook's first sheet is empty")]
            )
        header = [
            str(h).strip() if h is not None else f"column {i + 1}" for i, h in enumerate(first)
        ]
        total = ws.max_row or 0
        buffer: list[list[str | None]] = [[] for _ in header]
        start, n = 2, 0
        for values in rows:
            if all(v is None for v in values):
                continue
            for i in range(len(header)):
                buffer[i].append(_cell_text(values[i]) if i < len(values) else None)
            n += 1
            if n % BATCH_ROWS == 0:
                yield Batch(
                    pa.table(
                        {h: pa.array(c, pa.string()) for h, c in zip(header, buffer, strict=True)}
                    ),
                    start,
                )
                start += BATCH_ROWS
                buffer = [[] for _ in header]
                if progress:
                    progress(n, total)
        if buffer[0]:
            yield Batch(
                pa.table(
                    {h: pa.array(c, pa.string()) for h, c in zip(header, buffer, strict=True)}
                ),
                start,
            )
        if progress:
            progress(total, total)
    finally:
        wb.close()


def _parquet_batches(path: Path, progress: Progress | None, dictionary: bool) -> Iterator[Batch]:
    schema = pq.read_schema(path)
    text = [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]
    # Dictionary-encoded text keeps repeated values (activities, machines, case ids) once.
    pf = pq.ParquetFile(path, read_dictionary=text if dictionary else None)
    total = pf.metadata.num_rows
    row = 1
    for record_batch in pf.iter_batches(batch_size=1 << 20):
        table = pa.Table.from_batches([record_batch])
        yield Batch(table, row)
        row += table.num_rows
        if progress:
            progress(row - 1, total)


def read_batches(
    path: Path,
    *,
    progress: Progress | None = None,
    sep: str | None = None,
    dictionary: bool = False,
) -> Iterator[Batch]:
    """Stream a file's rows as Arrow batches; raise a clear error for an unreadable file."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = file_format(path)
    try:
        if fmt == "csv":
            yield from _csv_batches(path, progress, sep)
        elif fmt == "xlsx":
            yield from _xlsx_batches(path, progress)
        else:
            yield from _parquet_batches(path, progress, dictionary)
    except pa.ArrowInvalid as exc:
        raise ImportRejected(
            [Problem(str(path), None, None, f"cannot be read as {fmt}: {exc}")]
        ) from None
