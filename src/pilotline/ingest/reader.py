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

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pilotline.errors import ImportRejected, InputError, Problem

Progress = Callable[[int, int], None]  # (done, total) in bytes or rows

BATCH_ROWS = 65_536


#: The most a header row may hold before we say the file is not a CSV with line breaks.
MAX_HEADER_BYTES = 1 << 20
#: An .xlsx file is a zip: refuse one whose parts would inflate to more than this (a "zip bomb"),
#: or that has more parts than a workbook needs, before openpyxl reads any of it.
MAX_XLSX_BYTES = 512 << 20
MAX_XLSX_MEMBERS = 10_000
#: No machine data export has more columns than this; a header row with more is refused before
#: anything is suggested or read (a million columns kept a server busy for many minutes).
MAX_COLUMNS = 1_000
CSV_BLOCK_BYTES = 8 << 20


@dataclass(frozen=True)
class Batch:
    table: pa.Table
    first_row: int  # spreadsheet row number of the first data row (the header is row 1)
    row_numbers: np.ndarray | None = None  # each row's number, when they are not consecutive

    def rows(self) -> np.ndarray:
        """The spreadsheet row number (Parquet: record number) of every row of the batch."""
        if self.row_numbers is not None:
            return self.row_numbers
        n = self.table.num_rows
        return np.arange(self.first_row, self.first_row + n, dtype=np.int64)


def _rejected(path: Path, message: str, row: int | None = None) -> ImportRejected:
    return ImportRejected([Problem(str(path), row, None, message)])


def too_many_columns(count: int) -> str:
    """What to say about a header row of ``count`` (more than :data:`MAX_COLUMNS`) columns."""
    return (
        f"the header row has {count:,} columns; Pilotline reads files of up to {MAX_COLUMNS:,} "
        "columns. Keep the columns you import (machine, time, state or counts, reason) and "
        "leave the others out of the export"
    )


def check_column_count(headers: list[str], source: str) -> None:
    """Refuse a header row of more than :data:`MAX_COLUMNS` columns."""
    if len(headers) > MAX_COLUMNS:
        raise ImportRejected([Problem(source, 1, None, too_many_columns(len(headers)))])


def utf16_text(head: bytes) -> bool:
    """Whether a file starting with ``head`` is UTF-16 text (Excel's "Unicode Text", some
    Windows tools): a UTF-16 byte-order mark."""
    return head[:2] in (b"\xff\xfe", b"\xfe\xff")


#: What to do with a UTF-16 file, worded for the command line and the upload form alike.
UTF16_MESSAGE = (
    "the file is UTF-16 text (as Excel's 'Unicode Text' saves it), which Pilotline does not "
    "read; save it as 'CSV UTF-8' (Excel: Save As → CSV UTF-8) and try again"
)


def check_unique_headers(headers: list[str], source: str) -> None:
    """Refuse two columns with the same name (compared as Pilotline compares them: trimmed,
    ignoring case); which one was meant cannot be known. A header of more than
    :data:`MAX_COLUMNS` columns is refused first."""
    check_column_count(headers, source)
    seen: dict[str, list[int]] = {}
    for i, h in enumerate(headers):
        seen.setdefault(h.strip().lower(), []).append(i + 1)
    problems = [
        Problem(
            source,
            1,
            headers[places[0] - 1],
            f"the header names {len(places)} columns {headers[places[0] - 1]!r} (columns "
            f"{', '.join(str(p) for p in places)}); rename or remove all but one",
        )
        for name, places in seen.items()
        if len(places) > 1
    ]
    if problems:
        raise ImportRejected(problems)


def _line_of(path: Path, offset: int) -> int:
    """The 1-based line number of a byte offset (newlines before it, plus one)."""
    lines, done = 1, 0
    with path.open("rb") as fh:
        while done < offset:
            chunk = fh.read(min(1 << 20, offset - done))
            if not chunk:
                break
            lines += chunk.count(b"\n")
            done += len(chunk)
    return lines


def first_bad_utf8(path: Path) -> tuple[int, int, bytes] | None:
    """(line, byte offset, the bytes) of the first bytes that are not UTF-8, or None. A UTF-16
    file is refused here with what to do (it is no Windows-1252 either)."""
    offset, carry = 0, b""
    with path.open("rb") as fh:
        if utf16_text(fh.read(2)):
            raise _rejected(path, UTF16_MESSAGE, 1)
        fh.seek(0)
        while True:
            chunk = fh.read(1 << 20)
            data = carry + chunk
            try:
                data.decode("utf-8")
                carry = b""
            except UnicodeDecodeError as exc:
                if not chunk or exc.start < len(data) - 3 or exc.reason != "unexpected end of data":
                    at = offset + exc.start
                    return _line_of(path, at), at, data[exc.start : exc.start + 4]
                carry = data[exc.start :]
                offset += exc.start
                if not chunk:
                    return None
                continue
            offset += len(data)
            if not chunk:
                return None


def _not_utf8(path: Path, line: int, offset: int, found: bytes) -> ImportRejected:
    return _rejected(
        path,
        f"the file is not UTF-8 text: byte {offset:,} (bytes {found!r}) is not UTF-8, probably "
        "Latin-1 or Windows-1252 from an older export; save it as 'CSV UTF-8' (Excel: Save As → "
        "CSV UTF-8), or convert it, e.g. iconv -f WINDOWS-1252 -t UTF-8 old.csv > new.csv",
        line,
    )


def _first_long_line(path: Path, limit: int) -> tuple[int, int] | None:
    """(line, byte offset where it starts) of the first line longer than ``limit`` bytes."""
    line, start, offset = 1, 0, 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            pos = 0
            while (nl := chunk.find(b"\n", pos)) >= 0:
                if offset + nl - start > limit:
                    return line, start
                line, start, pos = line + 1, offset + nl + 1, nl + 1
            offset += len(chunk)
            if offset - start > limit:
                return line, start
    return None


class _CountingReader(io.RawIOBase):
    """Reports progress, and stops at the first bytes that are not UTF-8 (before the CSV parser
    sees them). ASCII, the usual case, is checked at memory speed."""

    def __init__(self, raw: io.BufferedReader, progress: Progress | None, total: int) -> None:
        self._raw, self._progress, self._total, self.done = raw, progress, total, 0
        self._carry = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer) or 0
        self._check_utf8(bytes(memoryview(buffer)[:n]) if n else b"")
        self.done += n
        if self._progress:
            self._progress(self.done, self._total)
        return n

    def _check_utf8(self, chunk: bytes) -> None:
        data = self._carry + chunk
        self._carry = b""
        if data.isascii():
            return
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A character cut by the chunk's end is completed by the next chunk.
            if chunk and exc.reason == "unexpected end of data" and exc.start >= len(data) - 3:
                self._carry = data[exc.start :]
                return
            raise


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
    with path.open("rb") as fh:
        first_bytes = fh.readline(MAX_HEADER_BYTES + 1)
    if utf16_text(first_bytes):
        raise _rejected(path, UTF16_MESSAGE, 1)
    if len(first_bytes) > MAX_HEADER_BYTES:
        raise _rejected(
            path,
            f"the first row is longer than {MAX_HEADER_BYTES:,} bytes without a line break; "
            "expected a CSV file with a header row and one line per row",
            1,
        )
    try:
        first = first_bytes.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, 1, exc.start, first_bytes[exc.start : exc.start + 4]) from None
    if not first.strip():
        raise ImportRejected(
            [
                Problem(
                    str(path), None, None, "the file is empty; expected a header row and data rows"
                )
            ]
        )
    delimiter = sep or max([",", ";", "\t", "|"], key=first.count)
    try:
        header = next(csv.reader([first.rstrip("\r\n")], delimiter=delimiter))
    except csv.Error as exc:
        raise _rejected(path, f"cannot read the header row: {exc}", 1) from None
    return [h.strip() for h in header], delimiter


def csv_separator(path: Path) -> str:
    """The separator a CSV file's header row uses (',', ';', tab or '|')."""
    return _sniff_csv(path)[1]


def read_headers(path: Path, *, sep: str | None = None) -> list[str]:
    """The file's column names; a file that is not what its name says is an InputError, and
    two columns with one name are refused."""
    if not path.exists():
        raise InputError(f"{path}: no such file")
    fmt = file_format(path)
    if fmt == "csv":
        headers = _sniff_csv(path, sep)[0]
    else:
        try:
            if fmt == "parquet":
                headers = list(pq.ParquetFile(path).schema_arrow.names)
            else:
                headers = _xlsx_headers(path)
        except InputError:
            raise  # said already, with the file named (not twice over)
        except Exception as exc:  # a damaged file can fail anywhere in the reader
            kind = "Parquet" if fmt == "parquet" else "Excel (.xlsx)"
            raise InputError(f"{path}: not a readable {kind} file ({exc})") from None
    check_unique_headers(headers, str(path))
    return headers


def _csv_batches(path: Path, progress: Progress | None, sep: str | None) -> Iterator[Batch]:
    header, delimiter = _sniff_csv(path, sep)
    check_unique_headers(header, str(path))
    size = path.stat().st_size
    odd_rows: list[tuple[int | None, int, int]] = []  # (line, expected, found)

    def odd(row: Any) -> str:
        if row.text.strip():  # a line of spaces is a blank line
            odd_rows.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    with path.open("rb") as fh:
        counting = _CountingReader(fh, progress, size)
        reader = pacsv.open_csv(
            io.BufferedReader(counting, buffer_size=1 << 20),
            read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=True),
            # Empty lines come as rows of nulls, so that every row keeps its line's number.
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, invalid_row_handler=odd, ignore_empty_lines=False
            ),
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
            n = table.num_rows
            if not odd_rows:
                blank = _all_null(table)
                if blank is None:
                    yield Batch(table, row)
                else:
                    numbers = np.arange(row, row + n, dtype=np.int64)[~blank]
                    if numbers.size:
                        yield Batch(table.filter(pa.array(~blank)), int(numbers[0]), numbers)
            row += n
    if odd_rows:
        raise _odd_rows(path, delimiter, header, len(odd_rows))


def _all_null(table: pa.Table) -> np.ndarray | None:
    """Which rows are blank (every cell empty), or None when none is."""
    blank: Any = None
    for col in table.columns:
        null = pc.is_null(col)
        blank = null if blank is None else pc.and_(blank, null)
    if blank is None or not pc.any(blank).as_py():
        return None
    return np.asarray(blank.to_numpy(zero_copy_only=False), dtype=bool)


def _odd_rows(path: Path, delimiter: str, header: list[str], total: int) -> ImportRejected:
    """Rows with more or fewer cells than the header, with their line numbers (a second,
    single-threaded pass: the parallel reader does not know them)."""
    found: list[Problem] = []

    def note(row: Any) -> str:
        if len(found) < 200 and row.text.strip():
            cells = "cell" if row.actual_columns == 1 else "cells"
            found.append(
                Problem(
                    str(path),
                    row.number,
                    None,
                    f"has {row.actual_columns} {cells}; expected {row.expected_columns}, one per "
                    f"column of the header ({delimiter!r} separated)",
                )
            )
        return "skip"

    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=False),
        parse_options=pacsv.ParseOptions(
            delimiter=delimiter, invalid_row_handler=note, ignore_empty_lines=False
        ),
        convert_options=pacsv.ConvertOptions(
            column_types={name: pa.string() for name in header}, strings_can_be_null=True
        ),
    )
    for _ in reader:
        pass
    return ImportRejected(found, total=total)


def _cell_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip()
    return text or None


def _check_xlsx_size(path: Path) -> None:
    """Refuse a workbook that would inflate beyond :data:`MAX_XLSX_BYTES`, from the sizes its
    zip directory declares (Python's zip reader never gives more than those)."""
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable Excel (.xlsx) file ({exc})") from None
    inflated = sum(m.file_size for m in members)
    if len(members) > MAX_XLSX_MEMBERS or inflated > MAX_XLSX_BYTES:
        raise _rejected(
            path,
            f"the workbook would inflate to {inflated:,} bytes in {len(members):,} parts; "
            f"Pilotline reads workbooks up to {MAX_XLSX_BYTES:,} bytes unpacked. Save a large "
            "sheet as CSV or Parquet, or split it",
        )


def _xlsx_headers(path: Path) -> list[str]:
    from openpyxl import load_workbook

    _check_xlsx_size(path)
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        first = next(ws.iter_rows(max_row=1, values_only=True), None)
        return _xlsx_header(first) if first else []
    finally:
        wb.close()


def _xlsx_header(first: tuple[Any, ...]) -> list[str]:
    names = [str(h).strip() if h is not None else "" for h in first]
    while names and not names[-1]:
        names.pop()  # trailing empty header cells
    return [n or f"column {i + 1}" for i, n in enumerate(names)]


def _xlsx_batches(path: Path, progress: Progress | None) -> Iterator[Batch]:
    from openpyxl import load_workbook

    _check_xlsx_size(path)
    wb = load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        first = next(rows, None)
        if first is None:
            raise ImportRejected(
                [Problem(str(path), None, None, "the workbook's first sheet is empty")]
            )
        header = _xlsx_header(first)
        check_unique_headers(header, str(path))
        total = ws.max_row or 0
        width = len(header)

        def batch(buffer: list[list[str | None]], numbers: list[int]) -> Batch:
            table = pa.table(
                {h: pa.array(c, pa.string()) for h, c in zip(header, buffer, strict=True)}
            )
            return Batch(table, numbers[0], np.array(numbers, dtype=np.int64))

        buffer: list[list[str | None]] = [[] for _ in header]
        numbers: list[int] = []
        for number, values in enumerate(rows, start=2):
            if all(v is None for v in values):
                continue  # a blank row; the rows after it keep their own numbers
            extra = [v for v in values[width:] if v is not None]
            if extra:
                raise _rejected(
                    path,
                    f"has a value ({_cell_text(extra[0])!r}) right of the last named column; "
                    f"expected {width} columns, each with a header",
                    number,
                )
            for i in range(width):
                buffer[i].append(_cell_text(values[i]) if i < len(values) else None)
            numbers.append(number)
            if len(numbers) == BATCH_ROWS:
                yield batch(buffer, numbers)
                buffer, numbers = [[] for _ in header], []
                if progress:
                    progress(number, total)
        if numbers:
            yield batch(buffer, numbers)
        if progress:
            progress(total, total)
    finally:
        wb.close()


def _parquet_batches(path: Path, progress: Progress | None, dictionary: bool) -> Iterator[Batch]:
    schema = pq.read_schema(path)
    check_unique_headers(list(schema.names), str(path))
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
    except (InputError, ImportRejected):
        raise
    except UnicodeDecodeError:
        bad = first_bad_utf8(path)
        raise _not_utf8(path, *bad) if bad else _rejected(path, "the file is not UTF-8") from None
    except Exception as exc:  # the readers' errors, said with where they are
        raise _unreadable(path, fmt, exc) from None


def _unreadable(path: Path, fmt: str, exc: Exception) -> ImportRejected:
    if fmt == "csv":
        bad = first_bad_utf8(path)
        if bad:
            return _not_utf8(path, *bad)
        long_line = _first_long_line(path, CSV_BLOCK_BYTES // 2)
        if long_line:
            line, offset = long_line
            return _rejected(
                path,
                f"the line starting at byte {offset:,} is longer than "
                f'{CSV_BLOCK_BYTES // 2:,} bytes (no line break, or a quote " that is never '
                "closed); expected one line per row",
                line,
            )
    kind = {"csv": "CSV", "xlsx": "Excel (.xlsx)", "parquet": "Parquet"}[fmt]
    return _rejected(path, f"cannot be read as {kind}: {str(exc)[:300]}")
