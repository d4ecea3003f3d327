"""Fuzzing every machine-data reader (CSV, Excel, Parquet): whatever a file holds, the import
either succeeds or is refused with problems that name the file (and, for a cell, its row and
column); never a traceback, and never a value out of range in the store."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from pilotline import clock
from pilotline.errors import ImportRejected, InputError
from pilotline.ingest import ImportOptions, import_file
from pilotline.ingest.schemas import MAX_PARTS
from pilotline.plant import Plant, parse_plant
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT

PLANT: Plant = parse_plant(WORKED_EXAMPLE_PLANT)
T0 = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC)
#: Examples per test; PILOTLINE_FUZZ_EXAMPLES=1000 searches harder (the suite keeps it quick).
EXAMPLES = int(os.environ.get("PILOTLINE_FUZZ_EXAMPLES", "30"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

HEADERS = {
    "counts": ["machine", "ts", "total", "reject", "rework", "product"],
    "counters": ["machine", "ts", "counter", "reject_counter"],
    "states": ["machine", "ts", "state", "reason", "end"],
    "orders": ["work_order", "machine", "start", "end", "quantity"],
}

# -- cells ------------------------------------------------------------------------------------------
machines = st.sampled_from(["m1", "m2", "m9", "", " m1 ", "M1"])
good_times = st.integers(0, 3 * 86_400).map(
    lambda s: (T0 + dt.timedelta(seconds=s)).isoformat().replace("+00:00", "Z")
)
odd_times = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31), timezones=st.none()
    ).map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "2099-01-01T00:00:00Z",
            "10000-01-01T00:00:00Z",
            "2026-13-01",
            "2026-03-29 01:30:00",
            "yesterday",
            "1e30",
            "NaN",
            "2026-03-02T06:00:00+25:00",
        ]
    ),
    st.text(max_size=12),
)
times = st.one_of(good_times, good_times, odd_times)
numbers = st.one_of(
    st.integers(0, 200).map(str),
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["99999999999999999999", "1e30", "NaN", "inf", "-0", "12.0", "1e3", " 7 "]),
    st.text(max_size=8),
)
words = st.one_of(
    st.sampled_from(["running", "stopped", "no_data", "breakdown", "jam", "slow-part", "WO-1"]),
    st.text(max_size=10),
)


def cell_for(column: str) -> st.SearchStrategy[str]:
    if column == "machine":
        return machines
    if column in ("ts", "start", "end"):
        return times
    if column in ("total", "reject", "rework", "counter", "reject_counter", "quantity"):
        return numbers
    return words


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, str]:
    kind = draw(st.sampled_from(sorted(HEADERS)))
    header = list(HEADERS[kind])
    if draw(st.booleans()):
        header.append(draw(st.sampled_from([*header, "extra", "Total", ""])))  # repeats too
    n = draw(st.integers(0, 12))
    lines = [",".join(header)]
    for _ in range(n):
        cells = [draw(cell_for(c)).replace(",", ";").replace("\n", " ") for c in header]
        if draw(st.integers(0, 9)) == 0:  # a short or a long row
            cells = cells[:-1] if draw(st.booleans()) else [*cells, "x"]
        lines.append(",".join(cells))
    data = ("\n".join(lines) + "\n").encode()
    if draw(st.integers(0, 4)) == 0:  # stray bytes: Latin-1, NUL, a lone quote, CR
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=6)) + data[at:]
    return data, kind


# -- the check every example ends with --------------------------------------------------------------
@contextmanager
def fresh_store() -> Iterator[tuple[Path, EmbeddedStore]]:
    with tempfile.TemporaryDirectory() as tmp:
        yield Path(tmp), EmbeddedStore(Path(tmp) / "home", lock_timeout_s=5)


def import_or_refuse(store: EmbeddedStore, path: Path, **options: object) -> None:
    """The import succeeds, or says what is wrong and where; anything else fails the test."""
    try:
        import_file(store, PLANT, path, options=ImportOptions(**options))  # type: ignore[arg-type]
    except ImportRejected as exc:
        assert exc.problems and exc.total >= len(exc.problems)
        for p in exc.problems:
            assert p.file == str(path) and p.message, p
            assert "Traceback" not in p.message
        assert str(exc).startswith("Nothing was imported")
    except InputError as exc:
        assert str(path) in str(exc) or "counter" in str(exc) or "kind" in str(exc), exc
    assert_stored_in_range(store)


def assert_stored_in_range(store: EmbeddedStore) -> None:
    latest = clock.utc_naive() + dt.timedelta(days=366)
    earliest = dt.datetime(1970, 1, 1)
    with store.session() as s:
        for table, ts in (
            ("counts", "ts"),
            ("states", "start_ts"),
            ("counter_readings", "ts"),
            ("work_orders", "start_ts"),
        ):
            wrong = s.scalar(
                f"SELECT count(*) FROM {table} WHERE {ts} < ? OR {ts} > ?", [earliest, latest]
            )
            assert wrong == 0, f"{table} holds a time out of range"
        wrong = s.scalar(
            "SELECT count(*) FROM counts WHERE total IS NULL OR total < 0 OR total > ? "
            "OR reject < 0 OR reject > total OR rework < 0 OR rework > reject",
            [MAX_PARTS],
        )
        assert wrong == 0, "a count out of range was stored"
        assert s.scalar("SELECT count(*) FROM counter_readings WHERE value < 0") == 0
        assert (
            s.scalar(
                "SELECT count(*) FROM work_orders WHERE quantity < 0 OR quantity > ?", [MAX_PARTS]
            )
            == 0
        )


# -- CSV --------------------------------------------------------------------------------------------
@FUZZ
@given(csv_files(), st.sampled_from([None, 16, 32, 64]))
def test_csv_files_import_cleanly_or_say_where_they_are_wrong(
    case: tuple[bytes, str], bits: int | None
) -> None:
    data, kind = case
    with fresh_store() as (tmp, store):
        path = tmp / "fuzz.csv"
        path.write_bytes(data)
        import_or_refuse(store, path, kind=kind, counter_bits=bits)


@settings(FUZZ, max_examples=EXAMPLES + 10)
@given(st.binary(max_size=400))
def test_any_bytes_named_csv_never_crash_the_reader(data: bytes) -> None:
    with fresh_store() as (tmp, store):
        path = tmp / "bytes.csv"
        path.write_bytes(b"machine,ts,total\n" + data)
        import_or_refuse(store, path)


# -- Excel ------------------------------------------------------------------------------------------
def _excel_safe(value: object) -> object:
    """Text a worksheet can hold (openpyxl refuses control characters when writing)."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


excel_cells = st.one_of(
    st.none(),
    st.integers(-(10**25), 10**25),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.datetimes(min_value=dt.datetime(1900, 3, 1), max_value=dt.datetime(9999, 12, 31)),
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=10),
    times,
    machines,
).map(_excel_safe)


@FUZZ
@given(
    st.sampled_from(sorted(HEADERS)),
    st.lists(st.lists(excel_cells, min_size=0, max_size=7), max_size=8),
    st.booleans(),
)
def test_excel_files_import_cleanly_or_say_where_they_are_wrong(
    kind: str, rows: list[list[object]], repeat_header: bool
) -> None:
    header = list(HEADERS[kind])
    if repeat_header:
        header.append(header[-1])
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    with fresh_store() as (tmp, store):
        path = tmp / "fuzz.xlsx"
        wb.save(path)
        import_or_refuse(store, path, kind=kind)


# -- Parquet ----------------------------------------------------------------------------------------
def column_strategy(column: str, n: int) -> st.SearchStrategy[pa.Array]:
    size = {"min_size": n, "max_size": n}
    ints = st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), **size)
    uints = st.lists(st.one_of(st.none(), st.integers(0, 2**64 - 1)), **size)
    floats = st.lists(st.one_of(st.none(), st.floats()), **size)
    text = st.lists(st.one_of(st.none(), cell_for(column)), **size)
    stamps = st.lists(st.one_of(st.none(), st.integers(-(2**53), 2**53)), **size)
    options = [
        text.map(lambda v: pa.array(v, pa.string())),
        ints.map(lambda v: pa.array(v, pa.int64())),
        uints.map(lambda v: pa.array(v, pa.uint64())),
        floats.map(lambda v: pa.array(v, pa.float64())),
        st.lists(st.booleans(), **size).map(lambda v: pa.array(v, pa.bool_())),
    ]
    if column in ("ts", "start", "end"):
        for unit in ("s", "ms", "us", "ns"):
            for tz in (None, "UTC", "Europe/London"):
                options.append(stamps.map(lambda v, u=unit, z=tz: pa.array(v, pa.timestamp(u, z))))
        good = st.lists(st.integers(0, 3 * 86_400), **size).map(
            lambda v: pa.array([T0 + dt.timedelta(seconds=s) for s in v], pa.timestamp("us", "UTC"))
        )
        options += [good, good]
    if column == "machine":
        options += [st.lists(machines, **size).map(lambda v: pa.array(v, pa.string()))] * 3
    return st.one_of(options)


@st.composite
def parquet_tables(draw: st.DrawFn) -> tuple[pa.Table, str]:
    kind = draw(st.sampled_from(sorted(HEADERS)))
    n = draw(st.integers(0, 8))
    names = list(HEADERS[kind])
    columns = [draw(column_strategy(c, n)) for c in names]
    return pa.Table.from_arrays(columns, names=names), kind


@FUZZ
@given(parquet_tables(), st.sampled_from([None, 16, 64]))
def test_parquet_files_import_cleanly_or_say_where_they_are_wrong(
    case: tuple[pa.Table, str], bits: int | None
) -> None:
    table, kind = case
    with fresh_store() as (tmp, store):
        path = tmp / "fuzz.parquet"
        pq.write_table(table, path)
        import_or_refuse(store, path, kind=kind, counter_bits=bits)


# -- a good file still imports ----------------------------------------------------------------------
@settings(FUZZ, max_examples=max(15, EXAMPLES // 2))
@given(
    st.lists(
        st.tuples(st.integers(1, 3 * 1440), st.integers(0, 600), st.integers(0, 5)),
        min_size=1,
        max_size=20,
        unique_by=lambda r: r[0],
    )
)
def test_plausible_counts_always_import(rows: list[tuple[int, int, int]]) -> None:
    """The checks refuse nonsense, not real data: one part a second (m1's ideal), give or take."""
    rows.sort()
    lines = ["machine,ts,total,reject"]
    previous = 0
    for minute, total, reject in rows:
        made = min(total, (minute - previous) * 60)
        lines.append(
            f"m1,{(T0 + dt.timedelta(minutes=minute)).isoformat()},{made},{min(reject, made)}"
        )
        previous = minute
    with fresh_store() as (tmp, store):
        path = tmp / "good.csv"
        path.write_text("\n".join(lines) + "\n")
        summary = import_file(store, PLANT, path)
        assert summary.new_rows == len(rows)
        assert_stored_in_range(store)
