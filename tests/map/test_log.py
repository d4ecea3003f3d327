"""Reading event logs: order, ties, time zones, text ids, and bad input."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from pilotline.errors import ImportRejected, InputError
from pilotline.map import LogColumns, Miner, read_log
from tests.conftest import write

COLS = LogColumns(case="case", activity="activity", timestamp="time")


def _summary(path: Path, columns: LogColumns = COLS) -> dict:
    return Miner(read_log(path, columns)).summary()


def test_equal_timestamps_keep_file_order_or_a_tie_break(tmp_path: Path) -> None:
    text = """
case,activity,time,step
1,A,2026-01-01T08:00:00Z,2
1,B,2026-01-01T08:00:00Z,1
2,B,2026-01-01T09:00:00Z,1
2,A,2026-01-01T09:00:00Z,2
"""
    path = write(tmp_path / "ties.csv", text)
    s = _summary(path)
    assert s["variants"] == 2  # A→B and B→A, as the file says
    assert "2 events (50.0%) share their timestamp" in s["notes"][0]
    s = _summary(
        path, LogColumns(case="case", activity="activity", timestamp="time", tie_break="step")
    )
    assert s["variants"] == 1  # both B→A once the tie-break column orders them


def test_ids_are_text_and_unicode_names_survive(tmp_path: Path) -> None:
    path = write(
        tmp_path / "ids.csv",
        """
case,activity,time
NA,Prüfung,2026-01-01T08:00:00Z
NA,Versand 📦,2026-01-01T09:00:00Z
null,Prüfung,2026-01-01T08:00:00Z
007,Prüfung,2026-01-01T08:00:00Z
7,Prüfung,2026-01-01T08:00:00Z
""",
    )
    m = Miner(read_log(path, COLS))
    assert sorted(c["case"] for c in m.cases()) == ["007", "7", "NA", "null"]
    assert {(r["source"], r["target"]) for r in m.dfg()} == {("Prüfung", "Versand 📦")}
    assert m.summary()["end_activities"] == {"Prüfung": 3, "Versand 📦": 1}


def test_one_event_cases_and_duplicate_events(tmp_path: Path) -> None:
    path = write(
        tmp_path / "one.csv",
        """
case,activity,time
a,X,2026-01-01T08:00:00Z
b,X,2026-01-01T08:00:00Z
b,X,2026-01-01T08:00:00Z
""",
    )
    s = _summary(path)
    assert (s["events"], s["cases"], s["variants"]) == (3, 2, 2)
    assert s["dfg"] == [
        {
            "source": "X",
            "target": "X",
            "count": 1,
            "mean_s": 0.0,
            "median_s": 0.0,
            "max_s": 0.0,
            "total_s": 0.0,
        }
    ]
    assert s["case_duration_mean_s"] == 0.0


def test_mixed_time_zones_in_xes_are_compared_as_instants(tmp_path: Path) -> None:
    xes = """<?xml version="1.0" encoding="UTF-8"?>
<log xes.version="1.0">
  <trace><string key="concept:name" value="c1"/>
    <event><string key="concept:name" value="late"/><date key="time:timestamp" value="2026-03-01T10:30:00+01:00"/></event>
    <event><string key="concept:name" value="early"/><date key="time:timestamp" value="2026-03-01T09:00:00Z"/></event>
  </trace>
</log>"""
    path = tmp_path / "tz.xes.gz"
    path.write_bytes(gzip.compress(xes.encode()))
    s = Miner(read_log(path)).summary()
    # 10:30+01:00 is 09:30 UTC: after 09:00 UTC although it comes first in the file.
    assert s["dfg"][0]["source"] == "early" and s["dfg"][0]["target"] == "late"
    assert s["dfg"][0]["mean_s"] == 1800.0


def test_xes_attributes_belong_to_the_element_they_sit_in(tmp_path: Path) -> None:
    xes = """<?xml version="1.0" encoding="UTF-8"?>
<log xmlns="http://www.xes-standard.org/" xes.version="2.0">
  <string key="concept:name" value="the log, not a case"/>
  <global scope="event"><string key="concept:name" value="a default, not an event"/></global>
  <trace>
    <string key="concept:name" value="c1"><string key="concept:name" value="nested"/></string>
    <event>
      <string key="concept:name" value="Pick"/>
      <list key="parts"><string key="concept:name" value="nested in a list"/></list>
      <date key="time:timestamp" value="2026-03-01T09:00:00"/>
      <int key="qty" value="3"/>
    </event>
    <event><string key="concept:name" value="Pack"/><date key="time:timestamp" value="2026-03-01T10:00:00+01:00"/></event>
  </trace>
  <trace><event><string key="concept:name" value="Pick"/><date key="time:timestamp" value="2026-03-01T11:00:00Z"/></event></trace>
</log>"""
    seen: list[tuple[int, int]] = []
    from pilotline.map.xes import read_xes

    log = read_xes(
        write(tmp_path / "ns.xes", xes), progress=lambda done, size: seen.append((done, size))
    )
    rows = log.events.sort_by("seq").to_pylist()
    assert [(r["case"], r["activity"]) for r in rows] == [
        ("c1", "Pick"),
        ("c1", "Pack"),
        ("(trace 2)", "Pick"),
    ]
    # a time without an offset is UTC; the others are converted to it
    assert [r["ts"].isoformat() for r in rows] == [
        "2026-03-01T09:00:00",
        "2026-03-01T09:00:00",
        "2026-03-01T11:00:00",
    ]
    assert [r["qty"] for r in rows] == ["3", None, None]
    assert seen and seen[-1][0] == seen[-1][1]  # the progress ends at the file's size
    bad = xes.replace("2026-03-01T11:00:00Z", "eleven o'clock")
    with pytest.raises(
        ImportRejected, match=r"event 3: cannot read \"eleven o'clock\" as a timestamp"
    ):
        read_log(write(tmp_path / "bad-time.xes", bad))


def test_malformed_xes_names_line_and_column(tmp_path: Path) -> None:
    path = write(
        tmp_path / "bad.xes",
        '<log>\n<trace>\n<event><string key="concept:name" value="x">\n</trace></log>\n',
    )
    with pytest.raises(InputError, match=r"not well-formed XML at line 4, column \d+"):
        read_log(path)


def test_unknown_columns_and_unparsable_timestamps_are_located(tmp_path: Path) -> None:
    path = write(tmp_path / "log.csv", "case,activity,time\n1,A,2026-01-01T08:00:00Z\n1,B,soon\n")
    with pytest.raises(ImportRejected, match="no case column 'Case ID'"):
        read_log(path, LogColumns(case="Case ID", activity="activity", timestamp="time"))
    with pytest.raises(ImportRejected) as info:
        read_log(path, COLS)
    assert "row 3, column 'time': cannot read 'soon' as a timestamp" in str(info.value)
    with pytest.raises(ImportRejected, match=r"cannot be read with the format '%d\.%m\.%Y'"):
        read_log(
            path,
            LogColumns(
                case="case", activity="activity", timestamp="time", timestamp_format="%d.%m.%Y"
            ),
        )


def test_empty_logs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRejected, match="no events"):
        read_log(write(tmp_path / "empty.csv", "case,activity,time\n"), COLS)
    with pytest.raises(ImportRejected, match="no events"):
        read_log(write(tmp_path / "empty.xes", "<log></log>"))
    with pytest.raises(InputError, match="no such file"):
        read_log(tmp_path / "missing.xes")


def test_lifecycle_pairs_start_and_complete_into_instances(tmp_path: Path) -> None:
    from pilotline.map.lifecycle import pair_lifecycle

    path = write(
        tmp_path / "lc.csv",
        """
case,activity,time,lifecycle
1,cut,2026-01-01T08:00:00Z,start
1,cut,2026-01-01T08:20:00Z,complete
1,weld,2026-01-01T09:00:00Z,schedule
1,weld,2026-01-01T09:30:00Z,start
1,weld,2026-01-01T10:30:00Z,complete
2,cut,2026-01-02T08:00:00Z,complete
""",
    )
    log = pair_lifecycle(read_log(path, COLS), "lifecycle")
    assert log.num_events == 3
    assert "1 events with other lifecycle transitions were left out" in log.notes
    assert "1 completions had no start (processing time counted as 0)" in log.notes
    times = {r["activity"]: r for r in Miner(log).processing_and_waiting()}
    assert times["weld"]["processing_mean_s"] == 3600.0
    assert times["weld"]["waiting_mean_s"] == 70 * 60  # cut completed 08:20, weld started 09:30
    assert times["cut"]["processing_mean_s"] == 600.0  # (20 min + 0) / 2


def _parquet(tmp_path: Path, name: str, columns: dict[str, list[object]], types: dict) -> Path:  # type: ignore[type-arg]
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / name
    pq.write_table(pa.table({k: pa.array(v, types.get(k)) for k, v in columns.items()}), path)
    return path


def test_parquet_read_in_the_engine_keeps_ties_tie_breaks_and_text_ids(tmp_path: Path) -> None:
    import datetime as dt

    import pyarrow as pa

    t = dt.datetime(2026, 1, 1, 8)
    path = _parquet(
        tmp_path,
        "ties.parquet",
        {
            "case": [1, 1, 2, 2, 3],
            "activity": ["Prüfen ✓", "B", "B", "Prüfen ✓", "B"],
            "time": [t, t, t, t, t + dt.timedelta(hours=1)],
            "step": [2, 1, 1, 2, 1],
        },
        {"time": pa.timestamp("us", "UTC")},
    )
    log = read_log(path, COLS)
    assert log.engine is not None
    s = Miner(log).summary()
    assert s["variants"] == 3 and s["cases"] == 3
    assert "2 events (40.0%) share their timestamp" in s["notes"][0]
    assert s["start_activities"] == {"B": 2, "Prüfen ✓": 1}
    by_step = Miner(read_log(path, LogColumns("case", "activity", "time", tie_break="step")))
    assert by_step.summary()["variants"] == 2  # both B → Prüfen once the tie-break orders them
    assert sorted(c["case"] for c in by_step.cases()) == ["1", "2", "3"]  # ids are text
    events = log.events  # built on demand from the engine, in the log's order
    assert events.column_names[:3] == ["case", "activity", "ts"] and "step" in events.column_names
    assert events["case"].to_pylist() == ["1", "1", "2", "2", "3"]


def test_parquet_local_times_become_utc_across_daylight_saving(tmp_path: Path) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    path = _parquet(
        tmp_path,
        "local.parquet",
        {
            "case": ["a", "a"],
            "activity": ["start", "end"],
            # Berlin: 01:30 CET is 00:30 UTC; 03:30 CEST (after the change at 02:00) is 01:30 UTC
            "time": [dt.datetime(2026, 3, 29, 1, 30), dt.datetime(2026, 3, 29, 3, 30)],
        },
        {},
    )
    log = read_log(path, COLS, tz=ZoneInfo("Europe/Berlin"))
    assert log.engine is not None
    [case] = Miner(log).cases()
    assert case["duration_s"] == 3600.0  # one real hour, not two
    assert case["start"] == dt.datetime(2026, 3, 29, 0, 30)


def test_local_times_the_clocks_skip_or_repeat_are_refused_alike(tmp_path: Path) -> None:
    import datetime as dt
    from zoneinfo import ZoneInfo

    import pyarrow as pa

    times = [
        dt.datetime(2026, 3, 29, 1, 59),  # fine: before the spring change
        dt.datetime(2026, 3, 29, 2, 30),  # skipped in Berlin
        dt.datetime(2026, 10, 25, 2, 30),  # happens twice
        dt.datetime(2026, 10, 25, 3, 0),  # fine: after the autumn change
    ]
    columns = {"case": ["a", "a", "b", "b"], "activity": ["x", "y", "x", "y"], "time": times}
    berlin = ZoneInfo("Europe/Berlin")
    parquet = _parquet(tmp_path, "local.parquet", columns, {})
    csv = write(
        tmp_path / "local.csv",
        "case,activity,time\n"
        + "".join(
            f"{c},{a},{t.isoformat(sep=' ')}\n" for c, a, t in zip(*columns.values(), strict=True)
        ),
    )
    said = {}
    for path in (parquet, csv):
        with pytest.raises(ImportRejected) as info:
            read_log(path, COLS, tz=berlin)
        said[path.suffix] = [(p.column, p.message) for p in info.value.problems]
    assert said[".parquet"] == said[".csv"]
    assert [m for _, m in said[".csv"]] == [
        "'2026-03-29 02:30:00' does not exist in Europe/Berlin (the clocks go forward over it)",
        "'2026-10-25 02:30:00' happens twice in Europe/Berlin (the clocks go back); give the UTC "
        "offset, e.g. 2026-10-25T02:30:00+02:00 or 2026-10-25T02:30:00+01:00",
    ]
    assert [p.row for p in info.value.problems] == [3, 4]  # the CSV's lines
    # the same file read as UTC has no such hour
    assert Miner(read_log(parquet, COLS)).summary()["cases"] == 2
    empty = _parquet(
        tmp_path,
        "empty.parquet",
        {k: v[:0] for k, v in columns.items()},
        {"case": pa.string(), "activity": pa.string(), "time": pa.timestamp("us")},
    )
    with pytest.raises(ImportRejected, match="no events"):
        read_log(empty, COLS, tz=berlin)


def test_parquet_with_empty_cells_names_their_rows(tmp_path: Path) -> None:
    import datetime as dt

    t = dt.datetime(2026, 1, 1, 8)
    path = _parquet(
        tmp_path,
        "holes.parquet",
        {
            "case": ["1", None, "2"],
            "activity": ["A", "B", None],
            "time": [t, t, None],
        },
        {},
    )
    with pytest.raises(ImportRejected) as err:
        read_log(path, COLS)
    found = {(p.row, p.column) for p in err.value.problems}
    assert found == {(2, "case"), (3, "activity"), (3, "time")}
    assert "expected the case" in str(err.value)


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_many_cases_of_one_event_each(tmp_path: Path, kind: str) -> None:
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    n = 200_000
    table = pa.table(
        {
            "case": pa.array([f"order {i}" for i in range(n)]),
            "activity": pa.array(["A" if i % 3 else "B" for i in range(n)]),
            "time": pa.array(
                [1_700_000_000_000_000 + i * 1_000_000 for i in range(n)], pa.timestamp("us", "UTC")
            ),
        }
    )
    path = tmp_path / f"single.{kind}"
    if kind == "csv":
        pacsv.write_csv(table, path)
    else:
        pq.write_table(table, path)
    s = _summary(path)
    assert (s["events"], s["cases"], s["variants"], s["dfg"]) == (n, n, 2, [])
    assert s["start_activities"] == s["end_activities"] == {"A": n - n // 3 - 1, "B": n // 3 + 1}
    assert s["case_duration_mean_s"] == 0.0


PRODUCTION = LogColumns(
    case="Case ID",
    activity="Activity",
    timestamp="Complete Timestamp",
    resource="Resource",
    timestamp_format="%Y/%m/%d %H:%M:%S.%f",
)
DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def test_a_streamed_csv_gives_the_in_memory_answers() -> None:
    from pilotline.map import filters

    path = DATA / "production_levy2014.csv"
    held, streamed = (
        read_log(path, PRODUCTION, stream=False),
        read_log(path, PRODUCTION, stream=True),
    )
    assert held.engine is None and streamed.engine is not None
    a, b = Miner(held), Miner(streamed)
    assert a.summary() == b.summary()
    assert a.variants() == b.variants()
    assert a.cases() == b.cases()
    assert a.resources() == b.resources() and a.handovers() == b.handovers()
    qa = a.where(filters.attribute_values, column="Report_Type", values=["S"])
    qb = b.where(filters.attribute_values, column="Report_Type", values=["S"])
    assert qa.summary() == qb.summary() and qa.summary()["events"] > 0


def test_big_csv_files_stream_and_small_ones_stay_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pilotline.map.log as log_module

    path = write(tmp_path / "log.csv", "case,activity,time\nNA,A,2026-01-01T08:00:00Z\n")
    assert read_log(path, COLS).engine is None
    monkeypatch.setattr(log_module, "STREAM_ABOVE_BYTES", 10)
    log = read_log(path, COLS)
    assert log.engine is not None
    assert Miner(log).cases()[0]["case"] == "NA"  # an id, not a missing value


def test_a_streamed_csv_keeps_ties_in_file_order_or_by_the_tie_break(tmp_path: Path) -> None:
    text = "case,activity,time,step\n1,A,2026-01-01T08:00:00Z,2\n1,B,2026-01-01T08:00:00Z,1\n"
    path = write(tmp_path / "ties.csv", text)
    s = Miner(read_log(path, COLS, stream=True)).summary()
    assert s["start_activities"] == {"A": 1} and "share their timestamp" in s["notes"][0]
    tie = LogColumns(case="case", activity="activity", timestamp="time", tie_break="step")
    assert Miner(read_log(path, tie, stream=True)).summary()["start_activities"] == {"B": 1}


def test_a_streamed_csv_reports_every_problem_and_leaves_nothing(tmp_path: Path) -> None:
    import glob
    import tempfile

    path = write(
        tmp_path / "bad.csv",
        "case,activity,time\n1,A,2026-01-01T08:00:00Z\n1,B,soon\n,C,2026-01-01T09:00:00Z\n2,D,\n",
    )
    before = set(glob.glob(f"{tempfile.gettempdir()}/pilotline-log-*"))
    messages = []
    for stream in (False, True):
        with pytest.raises(ImportRejected) as info:
            read_log(path, COLS, stream=stream)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "row 3, column 'time': cannot read 'soon' as a timestamp" in messages[1]
    assert "row 4, column 'case': is empty; expected the case" in messages[1]
    assert set(glob.glob(f"{tempfile.gettempdir()}/pilotline-log-*")) == before


def test_the_map_engine_memory_cap_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    from pilotline.errors import SettingsError
    from pilotline.store import scratch_backend

    monkeypatch.setenv("PILOTLINE_MAP_MEMORY_MB", "512")
    backend = scratch_backend()
    limit = backend.raw_sql("SELECT current_setting('memory_limit')").fetchone()[0]
    assert limit in ("512.0 MiB", "488.2 MiB", "512.0 MB"), limit
    monkeypatch.setenv("PILOTLINE_MAP_MEMORY_MB", "lots")
    with pytest.raises(SettingsError, match="not a number of megabytes"):
        scratch_backend()


# -- hostile and broken files (an attacker's review): bounded memory, a clear located problem ---
def _xes(*traces: str) -> str:
    return (
        '<?xml version="1.0"?>\n<log xmlns="http://www.xes-standard.org/">\n'
        + "".join(traces)
        + "</log>\n"
    )


def _event(activity: str, time: str, extra: str = "") -> str:
    return (
        f'<event><string key="concept:name" value="{activity}"/>'
        f'<date key="time:timestamp" value="{time}"/>{extra}</event>\n'
    )


def test_a_new_attribute_key_on_every_event_keeps_memory_bounded(tmp_path: Path) -> None:
    """Each of 20,000 events brings its own key: once a full column per key (quadratic: 1.7 MB
    grew the server by 2.27 GB); now at most MAX_ATTRIBUTES columns, the rest dropped with a note."""
    import tracemalloc

    from pilotline.map.log import MAX_ATTRIBUTES

    n = 20_000
    events = "".join(
        _event("a", f"2026-01-01T00:00:{i % 60:02d}Z", f'<string key="k{i}" value="v"/>')
        for i in range(n)
    )
    path = write(tmp_path / "keys.xes", _xes(f"<trace>{events}</trace>"))
    tracemalloc.start()
    try:
        log = read_log(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert log.num_events == n
    attributes = [c for c in log.column_names if c.startswith("k")]
    assert len(attributes) == MAX_ATTRIBUTES and attributes[:2] == ["k0", "k1"]
    assert any(f"only the first {MAX_ATTRIBUTES} event attribute keys" in x for x in log.notes)
    assert peak < 200e6, f"{peak / 1e6:.0f} MB"


def test_csv_columns_beyond_the_limit_are_dropped_with_a_note(tmp_path: Path) -> None:
    from pilotline.map.log import MAX_ATTRIBUTES

    extra = [f"x{i}" for i in range(MAX_ATTRIBUTES + 5)]
    text = ",".join(["case", "activity", "timestamp", *extra]) + "\n"
    text += ",".join(["1", "a", "2026-01-01T00:00:00Z", *["v"] * len(extra)]) + "\n"
    log = read_log(write(tmp_path / "wide.csv", text))
    assert sum(c.startswith("x") for c in log.column_names) == MAX_ATTRIBUTES
    assert any("5 more (such as 'x250', 'x251', 'x252') were dropped" in x for x in log.notes)


def test_a_cut_off_or_damaged_xes_gz_says_so(tmp_path: Path) -> None:
    whole = gzip.compress(
        _xes("<trace>" + _event("a", "2026-01-01T00:00:00Z") * 500 + "</trace>").encode()
    )
    cut = tmp_path / "cut.xes.gz"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(InputError, match=r"cut\.xes\.gz: the compressed file is cut off"):
        read_log(cut)
    plain = tmp_path / "plain.xes.gz"
    plain.write_bytes(b"<log></log>")
    with pytest.raises(InputError, match=r"plain\.xes\.gz: not a gzip file"):
        read_log(plain)
    damaged = bytearray(whole)
    damaged[len(damaged) // 2] ^= 0xFF
    (tmp_path / "damaged.xes.gz").write_bytes(bytes(damaged))
    with pytest.raises(InputError, match=r"damaged\.xes\.gz: "):
        read_log(tmp_path / "damaged.xes.gz")
    xml = tmp_path / "cut.xes"
    xml.write_text(_xes("<trace>" + _event("a", "2026-01-01T00:00:00Z"))[:150])
    with pytest.raises(InputError, match=r"line \d+, column \d+: .*\(the file ends too early"):
        read_log(xml)


def test_unpacked_xml_is_capped(tmp_path: Path) -> None:
    from pilotline.map.xes import read_xes

    body = _xes("<trace>" + _event("a", "2026-01-01T00:00:00Z") * 20_000 + "</trace>").encode()
    bomb = tmp_path / "bomb.xes.gz"
    bomb.write_bytes(gzip.compress(body))
    assert bomb.stat().st_size < len(body) / 50
    with pytest.raises(InputError, match=r"bomb\.xes\.gz: unpacks to more than 1 MB of XML"):
        read_xes(bomb, max_bytes=1_000_000)
    assert read_xes(bomb, max_bytes=len(body)).num_events == 20_000


def test_traces_without_a_name_are_never_merged(tmp_path: Path) -> None:
    e = _event("a", "2026-01-01T00:00:00Z")
    xes = _xes(
        f'<trace><string key="concept:name" value=""/>{e}</trace>\n',
        f"<trace>{e}</trace>\n",
        f'<trace><string key="concept:name" value="  "/>{e}{e}</trace>\n',
        f'<trace><string key="concept:name" value="(trace 2)"/>{e}</trace>\n',
        f'<trace><string key="concept:name" value="c5"/>{e}</trace>\n',
    )
    log = read_log(write(tmp_path / "unnamed.xes", xes))
    cases = log.events.sort_by("seq")["case"].to_pylist()
    assert cases == ["(trace 1)", "(trace 2, unnamed)", "(trace 3)", "(trace 3)", "(trace 2)", "c5"]
    assert log.notes[0].startswith(
        "3 trace(s) have no case name (an empty or missing concept:name): trace 1 (line 3), "
        "trace 2 (line 5), trace 3 (line 7)"
    )


@pytest.mark.parametrize("kind", ["csv", "xes", "parquet"])
def test_impossible_times_are_refused_and_future_ones_noted(tmp_path: Path, kind: str) -> None:
    def log(*times: str) -> Path:
        rows = [("1", "a", times[0]), ("1", "b", times[1]), ("2", "a", times[2])]
        if kind == "xes":
            traces = [f'<trace><string key="concept:name" value="{c}"/>' for c in ("1", "2")]
            body = traces[0] + _event("a", times[0]) + _event("b", times[1]) + "</trace>"
            body += traces[1] + _event("a", times[2]) + "</trace>"
            return write(tmp_path / "t.xes", _xes(body))
        text = "case,activity,timestamp\n" + "".join(f"{c},{a},{t}\n" for c, a, t in rows)
        path = write(tmp_path / "t.csv", text)
        if kind == "parquet":
            table = pacsv.read_csv(path)
            path = tmp_path / "t.parquet"
            pq.write_table(table, path)
        return path

    where = {"csv": "row 3, column 'timestamp'", "parquet": "row 2, column 'timestamp'"}
    first = where.get(kind, "column 'timestamp': event 2")
    if kind == "xes":
        first = "column 'time:timestamp': event 2"
    with pytest.raises(
        ImportRejected, match=re.escape(first) + r": 0001-01-01 00:00 is before 1900"
    ):
        read_log(log("2026-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "2026-01-02T00:00:00Z"))
    late = read_log(log("2026-01-01T00:00:00Z", "2099-01-01T00:00:00Z", "2026-01-02T00:00:00Z"))
    assert any(
        n.startswith("1 event(s) are later than now, the last at 2099-01-01 00:00 UTC")
        and first in n
        for n in late.notes
    )
    on_time = read_log(log("2026-01-01T00:00:00Z", "2026-03-05T09:00:00Z", "2026-01-02T00:00:00Z"))
    assert not any("later than now" in n for n in on_time.notes)  # within a day of now
    if kind != "parquet":  # Arrow's Parquet timestamps cannot be year 10000 from CSV text
        with pytest.raises(ImportRejected, match="10000-01-01"):
            read_log(log("2026-01-01T00:00:00Z", "10000-01-01T00:00:00Z", "2026-01-02T00:00:00Z"))


def test_attributes_named_like_the_fixed_columns_do_not_replace_them(tmp_path: Path) -> None:
    text = "Order,Step,When,case,seq\n1,a,2026-01-01T00:00:00Z,x,y\n1,b,2026-01-01T01:00:00Z,x,y\n"
    log = read_log(
        write(tmp_path / "names.csv", text),
        LogColumns(case="Order", activity="Step", timestamp="When"),
    )
    rows = log.events.sort_by("seq").to_pylist()
    assert [r["case"] for r in rows] == ["1", "1"] and rows[0]["case (attribute)"] == "x"
    assert rows[0]["seq (attribute)"] == "y"
