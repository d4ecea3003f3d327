"""File import: formats, column mapping, and every kind of bad input."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook

from pilotline.errors import ImportRejected, InputError, Problem
from pilotline.ingest import ImportOptions, import_file
from pilotline.ingest.parse import Problems, parse_timestamps
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.conftest import write

GOOD = """
machine,ts,state,reason
m1,2026-03-02T06:00:00Z,running,
m1,2026-03-02T07:00:00Z,stopped,breakdown
m2,2026-03-02T06:00:00Z,running,
"""


def _stored(store: EmbeddedStore, table: str = "states") -> int:
    with store.session() as s:
        return int(s.scalar(f"SELECT count(*) FROM {table}"))


def _problems(store: EmbeddedStore, plant: Plant, path: Path, **kw: object) -> list[Problem]:
    with pytest.raises(ImportRejected) as info:
        import_file(store, plant, path, options=ImportOptions(**kw))  # type: ignore[arg-type]
    assert _stored(store) == 0 and _stored(store, "counts") == 0, "a rejected file stored something"
    return info.value.problems


def test_import_is_idempotent(tmp_path: Path, store: EmbeddedStore, worked_plant: Plant) -> None:
    path = write(tmp_path / "s.csv", GOOD)
    first = import_file(store, worked_plant, path)
    second = import_file(store, worked_plant, path)
    assert (first.rows, first.new_rows) == (3, 3)
    assert (second.rows, second.new_rows, second.skipped) == (3, 0, 3)
    assert _stored(store) == 3


def test_a_row_contradicting_stored_data_is_refused(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    import_file(store, worked_plant, write(tmp_path / "s.csv", GOOD))
    with pytest.raises(ImportRejected, match="already stored with"):
        import_file(
            store, worked_plant, write(tmp_path / "t.csv", GOOD.replace("breakdown", "jam"))
        )
    assert _stored(store) == 3


def test_semicolons_foreign_headers_and_a_timestamp_format(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    path = write(
        tmp_path / "de.csv",
        "Maschine;Zeit;Zustand\nm1;02.03.2026 06:00;running\nm1;02.03.2026 07:30;stopped\n",
    )
    summary = import_file(
        store,
        worked_plant,
        path,
        options=ImportOptions(
            kind="states",
            mapping={"Maschine": "machine", "Zeit": "ts", "Zustand": "state"},
            timestamp_format="%d.%m.%Y %H:%M",
        ),
    )
    assert summary.new_rows == 2
    with store.session() as s:
        assert s.scalar("SELECT max(start_ts) FROM states") == dt.datetime(2026, 3, 2, 7, 30)


def test_excel_and_parquet(tmp_path: Path, store: EmbeddedStore, worked_plant: Plant) -> None:
    wb = Workbook()
    ws = wb.active
    ws.append(["machine", "timestamp", "total", "reject"])
    ws.append(["m1", dt.datetime(2026, 3, 2, 6, 1), 60, 1])
    ws.append(["m1", dt.datetime(2026, 3, 2, 6, 2), 58.0, 0])
    wb.save(tmp_path / "counts.xlsx")
    assert import_file(store, worked_plant, tmp_path / "counts.xlsx").new_rows == 2
    pq.write_table(
        pa.table(
            {
                "machine": ["m2"] * 3,
                "ts": pa.array(
                    [dt.datetime(2026, 3, 2, 6, i, tzinfo=dt.UTC) for i in (1, 2, 3)],
                    pa.timestamp("ms", "UTC"),
                ),
                "total": np.array([5, 6, 7], dtype=np.int32),
            }
        ),
        tmp_path / "counts.parquet",
    )
    assert import_file(store, worked_plant, tmp_path / "counts.parquet").new_rows == 3
    with store.session() as s:
        assert s.scalar("SELECT sum(total) FROM counts") == 60 + 58 + 18


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("machine,ts\nm1,2026-03-02T06:00:00Z\n", "cannot tell what this file holds"),
        ("", "the file is empty"),
        ("machine,ts,state\n", "has a header but no data rows"),
    ],
)
def test_files_that_cannot_be_imported(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant, text: str, expected: str
) -> None:
    path = tmp_path / "x.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=expected):
        import_file(store, worked_plant, path)


CASES = [
    (
        "missing column",
        "machine,ts,reason\nm1,2026-03-02T06:00:00Z,x\n",
        {"kind": "states"},
        "row 1, column 'state': required column is missing",
    ),
    (
        "extra column",
        "machine,ts,state,colour\nm1,2026-03-02T06:00:00Z,running,red\n",
        {},
        "row 1, column 'colour': unexpected column",
    ),
    (
        "unknown machine",
        GOOD + "m9,2026-03-02T06:00:00Z,running,\n",
        {},
        "row 5, column 'machine': unknown machine 'm9' (1 row(s))",
    ),
    (
        "unparsable timestamp",
        GOOD + "m1,yesterday,running,\n",
        {},
        "row 5, column 'ts': cannot read 'yesterday' as a timestamp",
    ),
    (
        "ambiguous local time",
        "machine,ts,state\nm1,2026-10-25 01:30:00,running\n",
        {"kind": "states"},
        None,
    ),
    (
        "end before start",
        "machine,start,end,reason\nm1,2026-03-02T07:00:00Z,2026-03-02T06:00:00Z,jam\n",
        {},
        "row 2, column 'end': ends (2026-03-02 06:00:00 UTC) before it starts",
    ),
    (
        "overlapping states",
        "machine,ts,end,state\nm1,2026-03-02T06:00:00Z,2026-03-02T08:00:00Z,running\nm1,2026-03-02T07:00:00Z,,stopped\n",
        {},
        "row 3, column 'ts': this state starts at 2026-03-02T07:00:00",
    ),
    (
        "two states at one second",
        GOOD + "m1,2026-03-02T07:10:05Z,stopped,jam\nm1,2026-03-02T07:10:05Z,running,\n",
        {},
        "row 6: repeats row 5",
    ),
    (
        "negative count",
        "machine,ts,total\nm1,2026-03-02T06:00:00Z,-4\n",
        {},
        "row 2, column 'total': is negative",
    ),
    (
        "text in a count",
        "machine,ts,total\nm1,2026-03-02T06:00:00Z,lots\n",
        {},
        "row 2, column 'total': is not a number; expected a whole number of parts (found 'lots')",
    ),
    (
        "rejects above total",
        "machine,ts,total,reject\nm1,2026-03-02T06:00:00Z,5,6\n",
        {},
        "row 2, column 'reject': 6 is more than total (5)",
    ),
    ("empty required cell", "machine,ts,state\nm1,,running\n", {}, "row 2, column 'ts': is empty"),
    (
        "bad state",
        "machine,ts,state\nm1,2026-03-02T06:00:00Z,dancing\n",
        {},
        "is not a machine state; expected running, stopped or no_data (found 'dancing')",
    ),
]


@pytest.mark.parametrize(("name", "text", "options", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_located_and_nothing_is_stored(
    tmp_path: Path,
    store: EmbeddedStore,
    london_plant: Plant,
    worked_plant: Plant,
    name: str,
    text: str,
    options: dict[str, object],
    expected: str | None,
) -> None:
    path = write(tmp_path / "bad.csv", text)
    if expected is None:  # time-zone cases need a plant with daylight saving
        problems = _problems(
            store, london_plant, write(tmp_path / "bad.csv", text.replace("m1", "n1")), **options
        )
        assert "happens twice in Europe/London (the clocks go back)" in str(problems[0])
        return
    messages = [str(p) for p in _problems(store, worked_plant, path, **options)]
    assert any(expected in m for m in messages), messages
    assert all(m.startswith(str(path)) for m in messages)


def test_a_bad_row_at_the_end_of_a_big_file_stores_nothing(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    rows = [f"m1,2026-03-02T06:{i // 60 % 60:02d}:{i % 60:02d}Z,1" for i in range(3000)]
    path = write(
        tmp_path / "c.csv", "machine,ts,total\n" + "\n".join(rows) + "\nm1,2026-03-02T07:00:00Z,x\n"
    )
    problems = _problems(store, worked_plant, path)
    assert [p.row for p in problems] == [3002]


def test_naive_timestamps_need_a_plant_time_zone() -> None:
    problems = Problems("f.csv")
    parse_timestamps(pa.array(["2026-03-02 06:00:00"]), np.array([2]), "ts", problems, tz=None)
    assert "has no UTC offset and the plant has no time zone" in str(problems.items[0])


@pytest.mark.parametrize(
    ("values", "hint"),
    [
        (["05.01.2026 08:00", "17.01.2026 21:15"], "read as '%d.%m.%Y %H:%M': give that"),
        (["05/21/2026 08:00 PM"], "read as '%m/%d/%Y %I:%M %p': give that"),
        (["05/01/2026 08:00"], "read as '%d/%m/%Y %H:%M' or as '%m/%d/%Y %H:%M' (day and month"),
        (["soon", "05.01.2026 08:00"], None),  # no one layout reads them all
    ],
)
def test_timestamps_in_a_common_layout_get_the_format_to_give(
    values: list[str], hint: str | None
) -> None:
    problems = Problems("f.csv")
    rows = np.arange(2, 2 + len(values))
    parse_timestamps(pa.array(values), rows, "ts", problems, tz=None)
    located = [p for p in problems.items if p.row is not None]
    assert [p.row for p in located] == rows.tolist()  # every cell is still named
    first = problems.items[0]
    if hint is None:
        assert first.row == 2 and "cannot read" in first.message
    else:
        assert first.row is None and first.column == "ts" and hint in first.message
        assert len(problems.items) == len(values) + 1
