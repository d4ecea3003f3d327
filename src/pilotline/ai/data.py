"""Labelled process values from CSV files (SKAB's layout: a time column, signals, 0/1 labels),
checked up front so that bad input gets a message naming file, row and column, not a traceback.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from numpy.typing import NDArray

from pilotline.errors import InputError


@dataclass
class Recording:
    """One file: rows in time order, its signals' values, and its labels when it has them."""

    name: str
    seconds: NDArray[np.float64]  # since the epoch, UTC
    values: NDArray[np.float64]  # rows × signals
    label: NDArray[np.bool_] | None = None
    changepoint: NDArray[np.bool_] | None = None
    notes: list[str] = field(default_factory=list)

    def start(self, row: int = 0) -> dt.datetime:
        return dt.datetime.fromtimestamp(float(self.seconds[row]), dt.UTC)


@dataclass
class Dataset:
    signals: list[str]
    recordings: list[Recording]
    fingerprint: str  # SHA-256 of the files' bytes, in order


def csv_files(path: Path) -> list[Path]:
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.csv") if p.is_file())
        if not files:
            raise InputError(f"{path}: the folder holds no .csv files")
        return files
    return [path]


def _labels(table: pa.Table, column: str, where: str) -> NDArray[np.bool_]:
    try:
        v = table.column(column).to_numpy(zero_copy_only=False).astype(np.float64)
    except (ValueError, TypeError, pa.ArrowInvalid):
        raise InputError(f"{where}: column '{column}' must hold 0 or 1 in every row") from None
    bad = np.flatnonzero(~np.isin(v, (0.0, 1.0)))
    if len(bad):
        raise InputError(
            f"{where}, row {int(bad[0]) + 2}, column '{column}': {float(v[bad[0]]):g} is not a label; "
            f"expected 0 or 1 ({len(bad):,} such row(s))"
        )
    return np.asarray(v == 1.0, dtype=bool)


#: Column names that hold labels in SKAB-like files: never read as signals.
LABEL_COLUMNS = ("anomaly", "changepoint")


def _no_label_copy(
    values: NDArray[np.float64],
    label: NDArray[np.bool_],
    names: list[str],
    where: str,
    label_column: str,
) -> None:
    """Refuse a signal that is the label again (0/1, the same rows, or their opposite)."""
    if not label.any() or label.all():
        return
    for j, name in enumerate(names):
        v = values[:, j]
        if np.isin(v, (0.0, 1.0)).all() and (
            np.array_equal(v == 1.0, label) or np.array_equal(v == 0.0, label)
        ):
            raise InputError(
                f"{where}, column '{name}': it holds the same 0/1 values as the label "
                f"'{label_column}' — a model given it would be told the answer; drop the column"
            )


def read_recordings(
    path: Path,
    *,
    time_column: str = "datetime",
    label_column: str | None = "anomaly",
    changepoint_column: str | None = "changepoint",
    sep: str = ";",
    signals: list[str] | None = None,
    one_per_time: bool = True,
) -> Dataset:
    """Read one CSV file or every CSV file under a folder (sorted by path). Rows must be in time
    order; with ``one_per_time`` (sensor readings) no two in a file may share a time, without it
    (parts, batches) they may."""
    if len(sep) != 1:
        raise InputError(f"--sep {sep!r}: the separator must be one character")
    files = csv_files(path)
    digest = hashlib.sha256()
    out: list[Recording] = []
    names: list[str] | None = signals
    skipped: list[str] = []
    for f in files:
        where = str(f)
        raw = f.read_bytes()
        digest.update(raw)
        try:
            table = pacsv.read_csv(f, parse_options=pacsv.ParseOptions(delimiter=sep))
        except pa.ArrowInvalid as exc:
            raise InputError(
                f"{where}: not a readable CSV file with separator {sep!r} ({exc})"
            ) from None
        cols = table.column_names
        if time_column not in cols:
            raise InputError(
                f"{where}: no time column '{time_column}'; the columns are {', '.join(cols)} "
                "(name it with --time-column, and the separator with --sep)"
            )
        if label_column and label_column not in cols and len(files) > 1:
            skipped.append(str(f.relative_to(path)))
            continue
        if label_column and label_column not in cols:
            raise InputError(
                f"{where}: no label column '{label_column}' (0/1 for each row); the columns are "
                f"{', '.join(cols)}"
            )
        # the usual label columns are never signals, whichever is named the label: SKAB's
        # 'anomaly' read as a signal under --label-column changepoint tells a detector the answer
        reserved = {time_column, label_column, changepoint_column, *LABEL_COLUMNS}
        mine = [c for c in cols if c not in reserved]
        if names is None:
            names = mine
        missing = [s for s in names if s not in cols]
        if missing:
            raise InputError(
                f"{where}: signal(s) {', '.join(missing)} missing; every file needs the same "
                f"signals ({', '.join(names)})"
            )
        if not names:
            raise InputError(f"{where}: no signal columns besides time and labels")
        if table.num_rows == 0:
            raise InputError(f"{where}: the file has a header but no rows")
        times = table.column(time_column)
        if not pa.types.is_timestamp(times.type):
            try:
                times = pc.strptime(times.cast(pa.string()), format="%Y-%m-%d %H:%M:%S", unit="s")
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                raise InputError(
                    f"{where}: column '{time_column}' must hold times like 2020-03-09 10:14:33"
                ) from None
        if times.null_count:
            first = int(np.flatnonzero(times.is_null().to_numpy(zero_copy_only=False))[0])
            raise InputError(f"{where}, row {first + 2}, column '{time_column}': no time")
        seconds = (
            times.cast(pa.timestamp("us")).cast(pa.int64()).to_numpy().astype(np.float64) / 1e6
        )
        step = np.diff(seconds)
        back = np.flatnonzero(step <= 0 if one_per_time else step < 0)
        if len(back):
            raise InputError(
                f"{where}, row {int(back[0]) + 3}: the time does not move forward "
                + (
                    "(rows must be in time order, one per time)"
                    if one_per_time
                    else "(rows must be in time order)"
                )
            )
        values = np.empty((table.num_rows, len(names)))
        for j, s in enumerate(names):
            col = table.column(s)
            if not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
                if pa.types.is_null(col.type):
                    raise InputError(
                        f"{where}, row 2, column '{s}': a gap — the signal has no values"
                    )
                raise InputError(f"{where}, column '{s}': the signal must be numbers ({col.type})")
            v = col.to_numpy(zero_copy_only=False).astype(np.float64)
            gaps = np.flatnonzero(~np.isfinite(v))
            if len(gaps):
                what = "a gap (no value)" if np.isnan(v[gaps[0]]) else f"{v[gaps[0]]} (not finite)"
                raise InputError(
                    f"{where}, row {int(gaps[0]) + 2}, column '{s}': {what} — "
                    f"{len(gaps):,} row(s) with a gap or an infinite value; fill or drop them "
                    "before training"
                )
            values[:, j] = v
        rec = Recording(f.name if len(files) == 1 else str(f.relative_to(path)), seconds, values)
        if label_column:
            rec.label = _labels(table, label_column, where)
            _no_label_copy(values, rec.label, names, where, label_column)
        if changepoint_column and changepoint_column in cols:
            rec.changepoint = _labels(table, changepoint_column, where)
        step = np.median(np.diff(seconds)) if len(seconds) > 1 else 1.0
        big = int((np.diff(seconds) > 10 * step).sum())
        if big:
            rec.notes.append(f"{rec.name}: {big} gap(s) in time longer than 10 sampling steps")
        out.append(rec)
    if not out:
        raise InputError(f"{path}: no file has a label column '{label_column}' (0/1 for each row)")
    if skipped:
        out[0].notes.append(f"left out, no '{label_column}' column: {', '.join(skipped)}")
    return Dataset(list(names or []), out, digest.hexdigest())


def split_row(rec: Recording, *, train_rows: int | None, train_until: dt.datetime | None) -> int:
    """The first test row: everything before it trains, everything from it on is scored."""
    if train_rows is not None and train_until is not None:
        raise InputError("give --train-rows or --train-until, not both")
    if train_until is not None:
        cut = train_until.timestamp()
        k = int(np.searchsorted(rec.seconds, cut, side="right"))
    else:
        k = 400 if train_rows is None else train_rows
        if k < 1:
            raise InputError(
                f"--train-rows {k}: at least 1 row is needed (a few hundred is better)"
            )
    if k < 10:
        raise InputError(
            f"{rec.name}: the training window has {k} row(s); at least 10 rows of normal running "
            "are needed"
        )
    if k >= len(rec.seconds):
        raise InputError(
            f"{rec.name}: the training window takes all {len(rec.seconds):,} rows; nothing is left "
            "to test (use fewer training rows or an earlier --train-until)"
        )
    return k
