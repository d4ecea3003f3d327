from pathlib import Path

import numpy as np

from pilotline.ingest import ImportOptions, counter_increments, import_file
from pilotline.plant import Plant
from pilotline.store import EmbeddedStore
from tests.conftest import write


def test_a_16_bit_counter_that_wraps() -> None:
    result = counter_increments(np.array([65_530, 65_535, 3, 10]), previous=65_500, bits=16)
    assert result.increments.tolist() == [30, 5, 4, 7]
    assert (result.wraps, result.resets) == (1, 0)


def test_a_counter_reset_at_shift_start_counts_from_zero() -> None:
    result = counter_increments(np.array([1_000, 1_200, 5, 40]), previous=None, bits=16)
    assert result.increments.tolist() == [0, 200, 5, 35]
    assert (result.wraps, result.resets) == (0, 1)


def test_without_a_width_every_drop_is_a_reset() -> None:
    result = counter_increments(np.array([65_535, 2]), previous=None, bits=None)
    assert result.increments.tolist() == [0, 2]


def test_counter_files_continue_across_imports_and_reimport_adds_nothing(
    tmp_path: Path, store: EmbeddedStore, worked_plant: Plant
) -> None:
    write(
        tmp_path / "a.csv",
        """
machine,ts,counter,reject_counter
m1,2026-03-02T06:00:00Z,65000,10
m1,2026-03-02T07:00:00Z,65535,12
""",
    )
    write(
        tmp_path / "b.csv",
        """
machine,ts,counter,reject_counter
m1,2026-03-02T08:00:00Z,464,12
m1,2026-03-02T09:00:00Z,7,0
m1,2026-03-02T10:00:00Z,107,1
""",
    )
    options = ImportOptions(counter_bits=16)
    import_file(store, worked_plant, tmp_path / "a.csv", options=options)
    summary = import_file(store, worked_plant, tmp_path / "b.csv", options=options)
    assert summary.notes == [
        "1 counter wrap(s) handled",
        "2 counter reset(s) handled (the counter restarted from 0: the reading after a reset "
        "is the parts made since)",
    ]
    again = import_file(store, worked_plant, tmp_path / "b.csv", options=options)
    assert again.new_rows == 0
    with store.session() as s:
        rows = s.arrow("SELECT total, reject FROM counts ORDER BY ts").to_pylist()
    assert [(r["total"], r["reject"]) for r in rows] == [
        (0, 0),
        (535, 2),
        (465, 0),
        (7, 0),
        (100, 1),
    ]


def test_an_8_bit_counter_from_a_live_tag_map_wraps_too() -> None:
    result = counter_increments(np.array([250, 3]), previous=None, bits=8)
    assert result.increments.tolist() == [0, 9]
    assert (result.wraps, result.resets) == (1, 0)


def test_a_64_bit_counter_never_wraps_a_drop_is_a_reset() -> None:
    top = 2**63 - 1
    result = counter_increments(np.array([top - 5, top, 7]), previous=None, bits=64)
    assert result.increments.tolist() == [0, 5, 7]
    assert (result.wraps, result.resets) == (0, 1)
