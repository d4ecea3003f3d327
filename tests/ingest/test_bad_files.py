"""Hostile and broken machine-data files: each is refused with where and what, nothing is stored,
and nothing out of range ever reaches the store."""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from pilotline import clock
from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.ingest import ImportOptions, import_file, reader
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.conftest import write

TS = "2026-03-02T06:{:02d}:00Z"


def _stored(store: EmbeddedStore) -> int:
    with store.session() as s:
        return sum(
            int(s.scalar(f"SELECT count(*) FROM {t}"))
            for t in ("states", "counts", "counter_readings", "work_orders")
        )


def _refused(store: EmbeddedStore, plant: Plant, path: Path, **kw: object) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        import_file(store, plant, path, options=ImportOptions(**kw))  # type: ignore[arg-type]
    assert _stored(store) == 0, "a refused file stored something"
    for p in info.value.problems:
        assert p.file == str(path), p
    return info.value


def _one(error: ImportRejected) -> Problem:
    assert len(error.problems) == 1, error.problems
    return error.problems[0]


# -- numbers out of range --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("99999999999999999999", "is too large; expected at most 1,000,000,000,000 parts"),
        ("9223372036854775808", "is too large"),
        ("1e30", "is too large"),
        ("NaN", "is not a number"),
        ("inf", "is not a number"),
        ("12.5", "is not a whole number of parts"),
    ],
)
def test_a_count_out_of_range_in_a_csv_is_refused_at_its_row(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant, cell: str, message: str
) -> None:
    path = write(
        tmp_path / "c.csv",
        f"machine,ts,total\nm1,{TS.format(1)},60\nm1,{TS.format(2)},{cell}\n",
    )
    problem = _one(_refused(store, worked_plant, path))
    assert (problem.row, problem.column) == (3, "total")
    assert message in problem.message


def test_a_count_above_what_the_machine_can_make_in_the_interval_is_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    # m1 makes one part a second at its ideal cycle: 600 in a minute is ten times too many (+10).
    path = write(
        tmp_path / "c.csv",
        f"machine,ts,total\nm1,{TS.format(1)},60\nm1,{TS.format(2)},610\nm1,{TS.format(3)},611\n",
    )
    problem = _one(_refused(store, worked_plant, path))
    assert (problem.row, problem.column) == (4, "total")
    assert "611 parts in 60 s is more than 10 × what 'm1' makes" in problem.message
    assert "at most 610" in problem.message


def test_excel_numbers_too_large_for_the_store_are_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["machine", "ts", "total"])
    ws.append(["m1", dt.datetime(2026, 3, 2, 6, 1), 1e30])
    ws.append(["m1", dt.datetime(2026, 3, 2, 6, 2), 99999999999999999999])
    wb.save(tmp_path / "c.xlsx")
    problems = _refused(store, worked_plant, tmp_path / "c.xlsx").problems
    assert [(p.row, p.column) for p in problems] == [(2, "total"), (3, "total")]
    assert all("is too large" in p.message for p in problems)


def test_parquet_uint64_nan_and_infinity_are_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    ts = pa.array([dt.datetime(2026, 3, 2, 6, i, tzinfo=dt.UTC) for i in (1, 2, 3)])
    pq.write_table(
        pa.table(
            {
                "machine": ["m1"] * 3,
                "ts": ts,
                "total": pa.array([1, 2**64 - 1, 2**63], pa.uint64()),
                "reject": pa.array([0.0, float("nan"), float("inf")]),
            }
        ),
        tmp_path / "c.parquet",
    )
    problems = _refused(store, worked_plant, tmp_path / "c.parquet").problems
    said = {(p.row, p.column, p.message.split(";")[0].split(" (")[0]) for p in problems}
    assert said == {
        (2, "total", "is too large"),
        (3, "total", "is too large"),
        (2, "reject", "is NaN"),
        (3, "reject", "is infinite"),
    }


# -- counters ---------------------------------------------------------------------------------------
def test_an_empty_reject_counter_cell_is_no_reading_not_zero(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "k.csv",
        f"""
machine,ts,counter,reject_counter
m1,{TS.format(1)},100,7
m1,{TS.format(2)},150,
m1,{TS.format(3)},200,7
m1,{TS.format(4)},250,
m1,{TS.format(5)},300,9
""",
    )
    import_file(store, worked_plant, path)
    with store.session() as s:
        rows = s.arrow("SELECT total, reject FROM counts ORDER BY ts").to_pylist()
        readings = s.scalar(
            "SELECT count(*) FROM counter_readings WHERE counter = 'reject_counter'"
        )
    assert [(r["total"], r["reject"]) for r in rows] == [(0, 0), (50, 0), (50, 0), (50, 0), (50, 2)]
    assert readings == 3


def test_rejects_read_late_land_on_the_rows_since_the_reading_before(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "k.csv",
        f"""
machine,ts,counter,reject_counter
m1,{TS.format(1)},100,0
m1,{TS.format(2)},110,
m1,{TS.format(3)},112,12
""",
    )
    import_file(store, worked_plant, path)
    with store.session() as s:
        rows = s.arrow("SELECT total, reject FROM counts ORDER BY ts").to_pylist()
    assert [(r["total"], r["reject"]) for r in rows] == [(0, 0), (10, 10), (2, 2)]


def test_more_rejects_than_parts_is_a_problem_not_silently_capped(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "k.csv",
        f"machine,ts,counter,reject_counter\nm1,{TS.format(1)},100,0\nm1,{TS.format(2)},110,50\n",
    )
    problem = _one(_refused(store, worked_plant, path))
    assert (problem.row, problem.column) == (3, "reject_counter")
    assert "rose by 50" in problem.message and "by only 10" in problem.message


def test_64_bit_counters_work_and_other_widths_are_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    big = 2**62
    path = write(
        tmp_path / "k.csv",
        f"machine,ts,counter\nm1,{TS.format(1)},{big}\nm1,{TS.format(2)},{big + 60}\n"
        f"m1,{TS.format(3)},5\n",
    )
    summary = import_file(store, worked_plant, path, options=ImportOptions(counter_bits=64))
    assert summary.notes[0].startswith("1 counter reset(s) handled")
    with store.session() as s:
        assert s.arrow("SELECT total FROM counts ORDER BY ts")["total"].to_pylist() == [0, 60, 5]
    with pytest.raises(InputError, match="8, 16, 32 or 64 bits, not 12"):
        import_file(store, worked_plant, path, options=ImportOptions(counter_bits=12))


def test_a_counter_reading_above_its_width_or_the_store_is_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "k.csv",
        f"machine,ts,counter\nm1,{TS.format(1)},65536\nm1,{TS.format(2)},{2**64 - 1}\n",
    )
    narrow = _refused(store, worked_plant, path, counter_bits=16).problems
    assert [(p.row, p.column) for p in narrow] == [(2, "counter"), (3, "counter")]
    assert "(the most a 16-bit counter holds)" in narrow[0].message
    wide = _refused(store, worked_plant, path, counter_bits=64).problems
    assert [p.row for p in wide] == [3]
    assert "the largest counter reading Pilotline stores" in wide[0].message


def test_a_counter_jump_beyond_the_machine_is_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "k.csv",
        f"machine,ts,counter\nm1,{TS.format(1)},10\nm1,{TS.format(2)},5000000\n",
    )
    problem = _one(_refused(store, worked_plant, path))
    assert (problem.row, problem.column) == (3, "counter")
    assert "4,999,990 parts in 60 s" in problem.message


# -- headers and rows -------------------------------------------------------------------------------
def test_two_columns_with_one_name_are_refused_in_csv_excel_and_parquet(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    csv_path = write(tmp_path / "d.csv", f"machine,ts,total,Total\nm1,{TS.format(1)},5,6\n")
    problem = _one(_refused(store, worked_plant, csv_path))
    assert (problem.row, problem.column) == (1, "total")
    assert "2 columns 'total' (columns 3, 4)" in problem.message
    wb = Workbook()
    wb.active.append(["machine", "ts", "total", "total"])
    wb.active.append(["m1", TS.format(1), 5, 6])
    wb.save(tmp_path / "d.xlsx")
    assert "(columns 3, 4)" in _one(_refused(store, worked_plant, tmp_path / "d.xlsx")).message
    table = pa.Table.from_arrays(
        [pa.array(["m1"]), pa.array([TS.format(1)]), pa.array([5]), pa.array([6])],
        names=["machine", "ts", "total", "total"],
    )
    pq.write_table(table, tmp_path / "d.parquet")
    assert "(columns 3, 4)" in _one(_refused(store, worked_plant, tmp_path / "d.parquet")).message


def test_short_and_long_csv_rows_are_named_by_row(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "r.csv",
        f"machine,ts,total\nm1,{TS.format(1)},5\nm1,{TS.format(2)}\n"
        f"m1,{TS.format(3)},5,9\nm1,{TS.format(4)},5\n",
    )
    problems = _refused(store, worked_plant, path).problems
    assert [(p.row, p.message) for p in problems] == [
        (3, "has 2 cells; expected 3, one per column of the header (',' separated)"),
        (4, "has 4 cells; expected 3, one per column of the header (',' separated)"),
    ]


def test_blank_lines_and_rows_keep_the_row_numbers_people_see(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "b.csv", f"machine,ts,total\nm1,{TS.format(1)},5\n\n\nm1,{TS.format(2)},x\n"
    )
    assert _one(_refused(store, worked_plant, path)).row == 5
    wb = Workbook()
    ws = wb.active
    ws.append(["machine", "ts", "total"])
    ws.append(["m1", TS.format(1), 5])
    ws.append([])
    ws.append([None, None, None])
    ws.append(["m1", TS.format(2), "x"])
    wb.save(tmp_path / "b.xlsx")
    assert _one(_refused(store, worked_plant, tmp_path / "b.xlsx")).row == 5


def test_many_problems_say_how_many_in_all_and_show_the_first(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    rows = "".join(f"m1,2026-03-02T06:{i // 60 % 60:02d}:{i % 60:02d}Z,x\n" for i in range(3000))
    error = _refused(store, worked_plant, write(tmp_path / "m.csv", "machine,ts,total\n" + rows))
    assert error.total == 3000
    text = str(error)
    assert text.startswith("Nothing was imported: 3,000 problem(s) found; the first 20:")
    assert "… and 2,980 more problem(s)" in text


# -- encodings and sizes ----------------------------------------------------------------------------
@pytest.mark.parametrize("where", ["header", "row"])
def test_latin_1_bytes_are_named_with_row_and_byte(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant, where: str
) -> None:
    good = [f"m1,2026-03-02T06:{i // 60:02d}:{i % 60:02d}Z,5\n" for i in range(2000)]
    if where == "header":
        text = "machine,ts,total,Maßeinheit\n".encode("latin-1")
        line, offset = 1, len(b"machine,ts,total,Ma")
    else:
        head = "machine,ts,total,note\n" + "".join(g.replace("\n", ",\n") for g in good)
        text = head.encode() + "m1,2026-03-02T08:00:00Z,5,Stückzahl\n".encode("latin-1")
        line, offset = 2002, len(head.encode()) + len(b"m1,2026-03-02T08:00:00Z,5,St")
    path = tmp_path / "l.csv"
    path.write_bytes(text)
    problem = _one(_refused(store, worked_plant, path, ignore_extra=True))
    assert problem.row == line
    assert f"byte {offset:,}" in problem.message
    assert "not UTF-8" in problem.message and "CSV UTF-8" in problem.message


def test_a_huge_line_without_a_line_break_is_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"machine,ts,total\nm1,2026-03-02T06:01:00Z," + b"9" * (10 << 20))
    problem = _one(_refused(store, worked_plant, path))
    assert (problem.row, problem.column) == (2, "total") and "too large" in problem.message
    assert len(str(problem)) < 200 + len(str(path))  # the value is not repeated in full
    path.write_bytes(b"x" * (2 << 20))
    problem = _one(_refused(store, worked_plant, path))
    assert problem.row == 1 and "without a line break" in problem.message


def test_a_header_of_a_million_columns_is_refused_at_once_in_import_and_preview(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    """Review R15: a 10^6-column header kept a server's preview busy for many minutes."""
    from pilotline.ingest.preview import preview

    path = tmp_path / "wide.csv"
    path.write_bytes(b",".join(b"c%d" % i for i in range(10**5)) + b"\n" + b"1," * 10 + b"\n")
    problem = _one(_refused(store, worked_plant, path))
    assert problem.row == 1 and "100,000 columns" in problem.message
    with pytest.raises(InputError, match="up to 1,000 columns"):
        preview(path, worked_plant, name="wide.csv")
    table = pa.table({f"c{i}": [1] for i in range(reader.MAX_COLUMNS + 1)})
    pq.write_table(table, tmp_path / "wide.parquet")
    assert "1,001 columns" in _one(_refused(store, worked_plant, tmp_path / "wide.parquet")).message


def test_a_damaged_workbook_is_named_once(tmp_path: Path) -> None:
    """Review R15: 'x.xlsx: not a readable Excel (.xlsx) file (x.xlsx: not a readable …))'."""
    path = tmp_path / "x.xlsx"
    path.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(InputError) as info:
        reader.read_headers(path)
    assert str(info.value).count("not a readable") == 1


def test_a_utf16_file_says_to_save_it_as_csv_utf8(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    """Review R15: Excel's "Unicode Text" was called a binary file, or Windows-1252."""
    from pilotline.ingest.preview import preview

    path = tmp_path / "u.csv"
    path.write_bytes(f"machine\tts\tstate\nm1\t{TS.format(1)}\trunning\n".encode("utf-16"))
    problem = _one(_refused(store, worked_plant, path))
    assert "UTF-16" in problem.message and "CSV UTF-8" in problem.message
    with pytest.raises(InputError, match="UTF-16"):
        preview(path, worked_plant, name="u.csv")
    with pytest.raises(ImportRejected, match="UTF-16"):
        reader.first_bad_utf8(path)


def test_a_workbook_that_would_inflate_too_far_is_refused_before_reading(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant, monkeypatch: pytest.MonkeyPatch
) -> None:
    wb = Workbook()
    wb.active.append(["machine", "ts", "total"])
    wb.save(tmp_path / "z.xlsx")
    with zipfile.ZipFile(tmp_path / "z.xlsx", "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/padding.bin", b"\0" * (4 << 20))
    monkeypatch.setattr(reader, "MAX_XLSX_BYTES", 2 << 20)
    problem = _one(_refused(store, worked_plant, tmp_path / "z.xlsx"))
    assert "would inflate to" in problem.message and "CSV or Parquet" in problem.message


# -- time -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("ts", "message"),
    [
        ("0001-01-01T00:00:00Z", "is before 1970"),
        ("2099-01-01T00:00:00Z", "is more than a year after now ("),
        ("10000-01-01T00:00:00Z", "cannot read"),
    ],
)
def test_impossible_times_are_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant, ts: str, message: str
) -> None:
    path = write(tmp_path / "t.csv", f"machine,ts,state\nm1,{ts},running\n")
    problem = _one(_refused(store, worked_plant, path))
    assert (problem.row, problem.column) == (2, "ts") and message in problem.message


def test_parquet_times_beyond_any_clock_are_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    seconds = np.array([1_772_431_200, 10**15], dtype=np.int64)  # 2026, and year ~31.7 million
    pq.write_table(
        pa.table(
            {
                "machine": ["m1", "m1"],
                "ts": pa.array(seconds, pa.timestamp("s", "UTC")),
                "state": ["running", "stopped"],
            }
        ),
        tmp_path / "t.parquet",
    )
    problem = _one(_refused(store, worked_plant, tmp_path / "t.parquet"))
    assert (problem.row, problem.column) == (2, "ts")


def test_implausible_times_are_kept_with_a_warning(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "t.csv",
        "machine,ts,state\nm1,2001-05-01T06:00:00Z,running\nm1,2026-03-02T06:00:00Z,running\n"
        "m1,2026-03-05T06:00:00Z,stopped\n",
    )
    summary = import_file(store, worked_plant, path)
    assert summary.new_rows == 3
    now = f"{clock.now():%Y-%m-%d %H:%M}"
    assert summary.notes == [
        f"1 'ts' value(s) are after now ({now} UTC), the first at row 4 "
        "(2026-03-05T06:00:00 UTC): check the clock that wrote them",
        "1 'ts' value(s) are more than 20 years old (before 2006-03-04), the first at row 2 "
        "(2001-05-01T06:00:00 UTC): check the clock that wrote them",
    ]


def test_an_arrow_table_with_wholly_empty_optional_columns_imports(
    store: EmbeddedStore, worked_plant: Plant
) -> None:
    from pilotline.ingest import import_table

    table = pa.table(
        {
            "machine": ["m1", "m1"],
            "ts": pa.array([dt.datetime(2026, 3, 2, 6, i, tzinfo=dt.UTC) for i in (1, 2)]),
            "total": [5, 6],
            "reject": pa.nulls(2),
            "product": pa.nulls(2),
        }
    )
    assert import_table(store, worked_plant, table, kind="counts").new_rows == 2


@pytest.mark.parametrize("kind", ["counts", "counters"])
def test_an_empty_arrow_table_imports_as_nothing(
    store: EmbeddedStore, worked_plant: Plant, kind: str
) -> None:
    from pilotline.ingest import import_table

    value = "total" if kind == "counts" else "counter"
    table = pa.table(
        {
            "machine": pa.array([], pa.string()),
            "ts": pa.array([], pa.timestamp("us", "UTC")),
            value: pa.array([], pa.int64()),
        }
    )
    assert import_table(store, worked_plant, table, kind=kind).new_rows == 0
