"""The import wizard's parts below the web: header matching, format detection, decimal commas,
times to the minute, the repeated hour of a DST change, the CLI's hints and plant additions."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pytest

from pilotline.errors import InputError
from pilotline.ingest import ImportOptions, import_file
from pilotline.ingest.additions import NewMachine, add_to_plant
from pilotline.ingest.mapping import Sample, detect_kind, file_pattern, signature, suggest
from pilotline.ingest.parse import Problems, parse_timestamps
from pilotline.plant import Plant, parse_plant
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT


def test_a_french_counts_export_is_recognised_from_headers_and_values() -> None:
    sample = Sample(
        ["Équipement", "Horodatage", "Quantité", "Rebuts", "Commentaire"],
        [["m1", "02/03/2026 06:00", "58", "1", "ok"], ["m2", "02/03/2026 06:01", "60", "0", ""]],
    )
    assert detect_kind(sample, machines={"m1", "m2"}) == "counts"
    found = {s.header: s.column for s in suggest(sample, "counts")}
    assert found == {
        "Équipement": "machine",
        "Horodatage": "ts",
        "Quantité": "total",
        "Rebuts": "reject",
        "Commentaire": None,
    }
    # Unknown words, known values: the machine ids and the times tell.
    blind = Sample(["A", "B", "C"], [["m1", "2026-03-02T06:00:00Z", "running"]])
    found = {s.header: (s.column, s.why) for s in suggest(blind, "states", machines={"m1"})}
    assert found == {"A": ("machine", "values"), "B": ("ts", "values"), "C": ("state", "values")}
    assert signature(["Maschine", "Zeit"]) == signature([" zeit", "MASCHINE"])
    assert file_pattern("Export_2026-05-03 (2).CSV") == "export_#-#-# (#).csv"


def test_the_cli_names_the_flags_that_would_import_a_german_file(
    tmp_path: Path, worked_plant: Plant
) -> None:
    path = tmp_path / "de.csv"
    path.write_text("Maschine;Zeitstempel;Zustand\nm1;02.03.2026 06:00;läuft\n")
    store = EmbeddedStore(tmp_path)
    with pytest.raises(InputError) as info:
        import_file(store, worked_plant, path)
    assert "--kind states --map 'Maschine=machine' --map 'Zeitstempel=ts'" in str(info.value)
    with pytest.raises(InputError) as info:
        import_file(store, worked_plant, path, options=ImportOptions(surface="web"))
    assert "--" not in str(info.value) and "What it holds" in str(info.value)


def test_counts_to_the_minute_with_decimal_commas_are_added_up(
    tmp_path: Path, worked_plant: Plant
) -> None:
    path = tmp_path / "stueck.csv"
    path.write_text(
        "machine;ts;total;reject\n"
        "m1;2026-03-02T06:01:00Z;1.000,0;2\n"
        "m1;2026-03-02T06:01:00Z;20;0\n"
        "m1;2026-03-02T06:30:00Z;30,0;1\n"
    )
    store = EmbeddedStore(tmp_path)
    summary = import_file(store, worked_plant, path)
    assert (summary.rows, summary.new_rows) == (2, 2)
    assert "1 count row(s) shared a minute" in summary.notes[0]
    with store.session() as s:
        rows = s.arrow("SELECT total, reject FROM counts ORDER BY ts").to_pylist()
    assert rows == [{"total": 1020, "reject": 2}, {"total": 30, "reject": 1}]
    again = import_file(store, worked_plant, path)
    assert again.new_rows == 0  # still idempotent


def test_the_repeated_hour_is_placed_by_the_files_order() -> None:
    """25 October 2026 in Berlin: 02:00–02:59 happens twice. A clock's file goes back once, at
    the change; a time that stands alone in the hour cannot be placed and is a problem."""
    local = [
        "25.10.2026 01:50", "25.10.2026 02:10", "25.10.2026 02:40",
        "25.10.2026 02:05", "25.10.2026 02:50", "25.10.2026 03:10",
        "25.10.2026 02:30",
    ]  # fmt: skip
    problems = Problems("f")
    out = parse_timestamps(
        pa.array(local),
        np.arange(2, 9),
        "ts",
        problems,
        tz=ZoneInfo("Europe/Berlin"),
        fmt="%d.%m.%Y %H:%M",
    )
    utc = [v.strftime("%H:%M") if v else None for v in out.to_pylist()]
    assert utc == ["23:50", "00:10", "00:40", "01:05", "01:50", "02:10", None]
    assert [(p.row, "happens twice" in p.message) for p in problems.items] == [(8, True)]


def test_an_admin_addition_keeps_the_plant_file_and_lands_in_its_line() -> None:
    text = WORKED_EXAMPLE_PLANT + '\n[reasons]\n# our own codes\n"Kaffee" = "planned_stop"\n'
    new = add_to_plant(
        text,
        machines=[NewMachine("m3", "Line A", 1.5, "Presse 3")],
        reasons={'Werkzeug "neu"': "setup"},
    )
    plant = parse_plant(new)
    assert [m.id for _, m in plant.machines] == ["m1", "m2", "m3"]
    assert plant.reason_categories()['werkzeug "neu"'] == "setup"
    assert "# our own codes" in new and new.startswith(text[: text.index("[[lines]]")])
    assert new.endswith('# our own codes\n"Kaffee" = "planned_stop"\n')
    with pytest.raises(InputError, match="no line named 'Line Z'"):
        add_to_plant(text, machines=[NewMachine("m4", "Line Z", 1.0)], reasons={})
    with pytest.raises(InputError, match="machine ids must be unique"):
        add_to_plant(text, machines=[NewMachine("m1", "Line A", 1.0)], reasons={})


def test_a_reason_code_added_twice_is_kept_once_and_another_category_is_refused() -> None:
    """Review R15: adding a code the model already had wrote it twice: 'not valid TOML: Cannot
    overwrite a value (at line 80, column 24)', and the machines asked with it were lost."""
    text = WORKED_EXAMPLE_PLANT + '\n[reasons]\n"Störung" = "breakdown"\n'
    new = add_to_plant(
        text,
        machines=[NewMachine("m3", "Line A", 1.5)],
        reasons={"störung ": "breakdown", "Kaffee": "planned_stop"},
    )
    assert new.count("Störung") == 1 and new.count("Kaffee") == 1
    assert [m.id for _, m in parse_plant(new).machines] == ["m1", "m2", "m3"]
    with pytest.raises(InputError, match="already in the plant model, as 'breakdown'"):
        add_to_plant(text, machines=[], reasons={"Störung": "setup"})


@pytest.fixture
def worked_plant() -> Plant:
    return parse_plant(WORKED_EXAMPLE_PLANT)


def test_a_contradiction_with_stored_data_is_said_with_the_files_other_problems(
    tmp_path: Path, worked_plant: Plant
) -> None:
    store = EmbeddedStore(tmp_path)
    first = tmp_path / "a.csv"
    first.write_text("machine,ts,state\nm1,2026-03-02T06:00:00Z,running\n")
    import_file(store, worked_plant, first)
    second = tmp_path / "b.csv"
    second.write_text(
        "machine,ts,state\nm1,2026-03-02T06:00:00Z,stopped\nm1,2026-03-02T07:00:00Z,maybe\n"
    )
    with pytest.raises(InputError) as info:
        import_file(store, worked_plant, second)
    text = str(info.value)
    assert "row 3, column 'state': is not a machine state" in text
    assert "is already stored with {'end_ts': None, 'state': 'running'" in text


@pytest.mark.parametrize("blank", ["", "  ", "\u3000"])
def test_a_blank_machine_in_a_parquet_file_is_a_located_problem(
    tmp_path: Path, worked_plant: Plant, blank: str
) -> None:
    """Found by the fuzz test: a Parquet text cell of spaces passed the required check and the
    store refused it with a constraint error instead of a message."""
    import pyarrow.parquet as pq

    path = tmp_path / "blank.parquet"
    pq.write_table(
        pa.table({"machine": [blank], "ts": ["2026-03-02T06:00:00Z"], "state": ["running"]}), path
    )
    with pytest.raises(InputError, match=r"row 1, column 'machine': is empty"):
        import_file(
            EmbeddedStore(tmp_path), worked_plant, path, options=ImportOptions(kind="states")
        )


# The embedded store streams copies with DuckDB's fetch_record_batch(), deprecated (DuckDB 1.5.6)
# (a warning, an error under this suite's settings; the CLI's copy-store tests run it in a
# subprocess).
@pytest.mark.filterwarnings("ignore:fetch_record_batch\\(\\) is deprecated:DeprecationWarning")
def test_remembered_mappings_live_in_postgresql_too_and_move_with_copy_store(
    tmp_path: Path, pg_url: str
) -> None:
    from pilotline.ingest.remembered import recall, remember
    from pilotline.store import open_store
    from pilotline.store.copy import copy_store

    local = EmbeddedStore(tmp_path / "local")
    for who in ("mia", "boss"):  # saved twice: the latest wins
        remember(
            local,
            headers=["Maschine", "Zeit"],
            name="Export_2026-03-02.csv",
            kind="states",
            mapping={"Maschine": "machine", "Zeit": "ts"},
            options={"timestamp_format": "%d.%m.%Y %H:%M"},
            who=who,
        )
    server = open_store(tmp_path / "server", database_url=pg_url)
    assert copy_store(local, server)["import_mappings"] == 1
    by_headers = recall(server, headers=["zeit", "MASCHINE"], name="other.csv")
    assert by_headers is not None and (by_headers.by, by_headers.saved_by) == ("headers", "boss")
    by_name = recall(server, headers=["Maschine", "Datum"], name="Export_2026-04-01.csv")
    assert by_name is not None and by_name.mapping == {"Maschine": "machine"}
    assert by_name.options == {"timestamp_format": "%d.%m.%Y %H:%M"}
