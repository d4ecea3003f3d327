"""Our process-mining figures against pm4py's on the real logs in ../shared/data.

pm4py is a test-only reference (AGPL): it computes the expected values inside the test run.
"""

from __future__ import annotations

import statistics
import tempfile
import warnings
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from pilotline.map import LogColumns, Miner, read_log

DATA = Path(__file__).parents[3] / "shared" / "data"
PRODUCTION = LogColumns(
    case="Case ID",
    activity="Activity",
    timestamp="Complete Timestamp",
    timestamp_format="%Y/%m/%d %H:%M:%S.%f",
)
LOGS = ["running-example.xes", "receipt.xes.gz", "production_levy2014.csv", "bpic2012.xes.gz"]
# The same logs as Parquet with typed columns, which are read straight into the engine.
PARQUET = {"receipt.parquet": "receipt.xes.gz", "bpic2012.parquet": "bpic2012.xes.gz"}
LOGS += list(PARQUET)
PARQUET_COLUMNS = LogColumns(case="case:concept:name", activity="concept:name", timestamp="time")


@cache
def parquet_copy(name: str) -> Path:
    """The log written as Parquet in its order (ties in the file's order), with a time zone."""
    events = read_log(DATA / PARQUET[name]).events.sort_by([("seq", "ascending")])
    table = pa.table(
        {
            "case:concept:name": events["case"],
            "concept:name": events["activity"],
            "time": pc.assume_timezone(events["ts"], "UTC"),
            "org:resource": events["resource"],
        }
    )
    path = Path(tempfile.mkdtemp()) / name
    pq.write_table(table, path)
    return path


@cache
def _pm4py() -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pm4py

    return pm4py


@cache
def reference(name: str) -> dict[str, Any]:
    if name in PARQUET:
        return reference(PARQUET[name])
    pm4py = _pm4py()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name.endswith((".xes", ".xes.gz")):
            df = pm4py.read_xes(str(DATA / name), variant="iterparse", show_progress_bar=False)
        else:
            df = pd.read_csv(DATA / name, dtype=str, keep_default_na=False)
            df["Complete Timestamp"] = pd.to_datetime(
                df["Complete Timestamp"], format="%Y/%m/%d %H:%M:%S.%f", utc=True
            )
            df = pm4py.format_dataframe(
                df, case_id="Case ID", activity_key="Activity", timestamp_key="Complete Timestamp"
            )
        dfg, starts, ends = pm4py.discover_dfg(df)
        perf, _, _ = pm4py.discover_performance_dfg(df)
        return {
            "events": len(df),
            "cases": df["case:concept:name"].nunique(),
            "activities": df["concept:name"].nunique(),
            "variants": len(pm4py.get_variants(df)),
            "dfg": dict(dfg),
            "perf": {k: (v["mean"], v["median"], v["max"]) for k, v in perf.items()},
            "start": dict(starts),
            "end": dict(ends),
            "durations": sorted(pm4py.get_all_case_durations(df)),
        }


@cache
def ours(name: str) -> dict[str, Any]:
    if name in PARQUET:
        log = read_log(parquet_copy(name), PARQUET_COLUMNS)
        assert log.engine is not None  # the engine path, not the Arrow one
    else:
        log = read_log(DATA / name, PRODUCTION if name.endswith(".csv") else None)
    miner = Miner(log)
    return {"summary": miner.summary(), "cases": miner.cases()}


@pytest.mark.parametrize("name", LOGS)
def test_summary_equals_pm4py(name: str) -> None:
    ref, got = reference(name), ours(name)["summary"]
    assert (got["events"], got["cases"], got["activities"], got["variants"]) == (
        ref["events"],
        ref["cases"],
        ref["activities"],
        ref["variants"],
    )
    assert got["start_activities"] == ref["start"]
    assert got["end_activities"] == ref["end"]


@pytest.mark.parametrize("name", LOGS)
def test_dfg_counts_and_times_equal_pm4py(name: str) -> None:
    ref, got = reference(name), ours(name)["summary"]
    assert {(r["source"], r["target"]): r["count"] for r in got["dfg"]} == ref["dfg"]
    for r in got["dfg"]:
        mean, median, top = ref["perf"][r["source"], r["target"]]
        assert r["mean_s"] == pytest.approx(mean, rel=1e-6, abs=1e-3)
        assert r["median_s"] == pytest.approx(median, rel=1e-6, abs=1e-3)
        assert r["max_s"] == pytest.approx(top, rel=1e-6, abs=1e-3)


@pytest.mark.parametrize("name", LOGS)
def test_case_durations_equal_pm4py(name: str) -> None:
    ref, got = reference(name), ours(name)
    durations = sorted(c["duration_s"] for c in got["cases"])
    assert durations == pytest.approx(ref["durations"], abs=1e-3)
    assert got["summary"]["case_duration_median_s"] == pytest.approx(
        statistics.median(ref["durations"]), abs=1e-3
    )


def test_bpic2012_has_4366_variants_and_shuffling_changes_them() -> None:
    """Equal timestamps keep file order; an unstable order would change the variant count."""
    for name in ("bpic2012.xes.gz", "bpic2012.parquet"):
        summary = ours(name)["summary"]
        assert summary["variants"] == 4366
        assert any("share their timestamp" in n for n in summary["notes"])
