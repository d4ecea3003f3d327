"""Turn raw columns into typed ones, collecting a located :class:`Problem` for every bad cell.

Timestamps come out as UTC (``timestamp[us]`` without zone). A timestamp without a UTC offset
is local plant time; one that falls in the hour the clocks skip, or in the hour they repeat,
is refused with a message, because the instant it means cannot be known.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pilotline.errors import Problem

UTC_US = pa.timestamp("us", "UTC")
NAIVE_US = pa.timestamp("us")


@dataclass
class Problems:
    """Collects problems for one file, up to a limit (the first ones are what people need)."""

    file: str
    limit: int = 200
    items: list[Problem] = field(default_factory=list)
    total: int = 0

    def add(self, row: int | None, column: str | None, message: str) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(Problem(self.file, row, column, message))

    def add_first(self, column: str | None, message: str) -> None:
        """A problem with the whole column, shown before the rows it explains; said once."""
        if all(p.message != message for p in self.items):
            self.items.insert(0, Problem(self.file, None, column, message))
            self.total += 1

    def add_rows(
        self, rows: np.ndarray, column: str | None, message: str, values: list[object] | None = None
    ) -> None:
        for i, row in enumerate(rows.tolist()):
            suffix = f" (found {values[i]!r})" if values is not None else ""
            self.add(int(row), column, message + suffix)
            if len(self.items) >= self.limit:
                self.total += len(rows) - i - 1
                return


def _bad_mask(raw: pa.Array, parsed: pa.Array) -> np.ndarray:
    return np.asarray(pc.and_(pc.is_valid(raw), pc.is_null(parsed)).to_numpy(zero_copy_only=False))


def required_present(
    col: pa.Array, rows: np.ndarray, name: str, problems: Problems, expected: str
) -> None:
    missing = np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False))
    if missing.any():
        problems.add_rows(rows[missing], name, f"is empty; expected {expected}")


def _python_parse(
    values: list[str | None], tz: ZoneInfo | None, fmt: str | None
) -> list[dt.datetime | str | None]:
    """Per-row parse, used only to locate problems or read mixed columns. str = error message."""
    out: list[dt.datetime | str | None] = []
    for v in values:
        if v is None:
            out.append(None)
            continue
        try:
            ts = (
                dt.datetime.strptime(v.strip(), fmt)  # noqa: DTZ007 - zone applied below
                if fmt
                else dt.datetime.fromisoformat(v.strip())
            )
        except ValueError:
            out.append(
                f"cannot read {v!r} as a timestamp; expected "
                + (f"the format {fmt!r}" if fmt else "ISO 8601 such as 2026-03-02T06:00:00+00:00")
            )
            continue
        out.append(_to_utc(ts, tz, v))
    return out


def _to_utc(ts: dt.datetime, tz: ZoneInfo | None, text: object) -> dt.datetime | str:
    if ts.tzinfo is not None:
        return ts.astimezone(dt.UTC)
    if tz is None:
        return (
            f"{text!r} has no UTC offset and the plant has no time zone; add an offset "
            "(e.g. +00:00) or set [site] timezone in plant.toml"
        )
    early, late = ts.replace(tzinfo=tz, fold=0), ts.replace(tzinfo=tz, fold=1)
    if early.utcoffset() != late.utcoffset():
        back = early.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == ts
        if back:
            return (
                f"{text!r} happens twice in {tz.key} (the clocks go back); give the UTC offset, "
                f"e.g. {early.isoformat()} or {late.isoformat()}"
            )
        return f"{text!r} does not exist in {tz.key} (the clocks go forward over it)"
    return early.astimezone(dt.UTC)


def unclear_local_times(
    tz: ZoneInfo, start: dt.datetime, end: dt.datetime
) -> list[tuple[dt.datetime, dt.datetime]]:
    """The wall-clock intervals [from, to) between naive ``start`` and ``end`` that ``tz`` skips
    (clocks go forward) or repeats (clocks go back): a local time in one of them names no
    instant, or two. Found by the zone's offset day by day, each change narrowed to the second."""
    utc = dt.UTC
    out: list[tuple[dt.datetime, dt.datetime]] = []
    day = dt.timedelta(days=1)
    t = (start - 2 * day).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=utc)
    stop = (end + 2 * day).replace(tzinfo=utc)

    def offset(at: dt.datetime) -> dt.timedelta:
        return at.astimezone(tz).utcoffset() or dt.timedelta(0)

    before = offset(t)
    while t < stop:
        nxt = t + day
        after = offset(nxt)
        if after != before:
            lo, hi = 0, 86_400  # seconds after t: the change is after lo, at or before hi
            while hi - lo > 1:
                mid = (lo + hi) // 2
                lo, hi = (mid, hi) if offset(t + dt.timedelta(seconds=mid)) == before else (lo, mid)
            change = (t + dt.timedelta(seconds=hi)).replace(tzinfo=None)
            out.append((change + min(before, after), change + max(before, after)))
        t, before = nxt, after
    return out


def unclear_local_time(ts: dt.datetime, tz: ZoneInfo) -> str | None:
    """Why the wall-clock time ``ts`` names no single instant in ``tz`` (skipped or repeated by
    a daylight-saving change), or None when it names one."""
    res = _to_utc(ts, tz, ts.isoformat(sep=" "))
    return res if isinstance(res, str) else None


def parse_timestamps(
    col: pa.Array | pa.ChunkedArray,
    rows: np.ndarray,
    name: str,
    problems: Problems,
    *,
    tz: ZoneInfo | None,
    fmt: str | None = None,
) -> pa.Array:
    """Parse a column to UTC instants (``timestamp[us]``, no zone); bad cells become problems."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    t = col.type
    if pa.types.is_timestamp(t):
        if t.tz is not None:
            return pc.cast(pc.cast(col, UTC_US), NAIVE_US)
        if tz is None:
            problems.add(
                None,
                name,
                "timestamps have no time zone and the plant has none; set [site] timezone",
            )
            return pa.nulls(len(col), NAIVE_US)
        return _localize(pc.cast(col, NAIVE_US), rows, name, problems, tz)
    if pa.types.is_date(t):
        return _localize(
            pc.cast(pc.cast(col, pa.timestamp("s")), NAIVE_US), rows, name, problems, tz
        )
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        problems.add(None, name, f"holds {t} values; expected timestamps")
        return pa.nulls(len(col), NAIVE_US)
    col = pc.utf8_trim_whitespace(col)
    if fmt:
        parsed = pc.strptime(col, format=fmt, unit="us", error_is_null=True)
        bad = _bad_mask(col, parsed)
        if bad.any():
            # Arrow's strptime lacks some of Python's directives (such as %f): retry those rows.
            parsed, bad = _python_strptime(col, parsed, bad, fmt)
        if bad.any():
            problems.add_rows(
                rows[bad],
                name,
                f"cannot be read with the format {fmt!r}",
                col.filter(pa.array(bad)).to_pylist(),
            )
            return parsed
        if "%z" in fmt:
            return pc.cast(pc.cast(parsed, UTC_US), NAIVE_US)
        return _localize(parsed, rows, name, problems, tz)
    try:
        return pc.cast(pc.cast(col, UTC_US), NAIVE_US)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    try:
        naive = pc.cast(col, NAIVE_US)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        naive = None
    if naive is not None and tz is not None:
        return _localize(naive, rows, name, problems, tz)
    # Mixed or unreadable: go row by row to say exactly which cells are wrong.
    raw = col.to_pylist()
    parsed_rows = _python_parse(raw, tz, None)
    good: list[dt.datetime | None] = []
    unread: list[str] = []
    for i, value in enumerate(parsed_rows):
        if isinstance(value, str):
            problems.add(int(rows[i]), name, value)
            good.append(None)
            if value.startswith("cannot read") and len(unread) < 50:
                unread.append(str(raw[i]).strip())
        else:
            good.append(value.replace(tzinfo=None) if value else None)
    hint = _format_hint(unread)
    if hint:
        problems.add_first(name, hint)
    return pa.array(good, NAIVE_US)


#: Timestamp layouts that spreadsheets and ERP exports write, tried on text that is not ISO 8601.
_LAYOUTS = [
    f"{date}{sep}{time}"
    for date in (
        "%d.%m.%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d-%m-%Y", "%d.%m.%y", "%d/%m/%y",
        "%m/%d/%y",
    )
    for sep, time in (
        (" ", "%H:%M:%S.%f"), (" ", "%H:%M:%S"), (" ", "%H:%M"), (" ", "%I:%M:%S %p"),
        (" ", "%I:%M %p"), ("", ""),
    )
]  # fmt: skip


def _format_hint(values: list[str]) -> str | None:
    """When timestamps are not ISO 8601 but all read with one or two common layouts, say so:
    a person can rarely tell which strftime codes their system writes."""
    if not values:
        return None
    fits = []
    for layout in _LAYOUTS:
        try:
            for v in values:
                dt.datetime.strptime(v, layout)  # noqa: DTZ007 - only the layout is tested
        except ValueError:
            continue
        fits.append(layout)
    if not fits or len(fits) > 2:
        return None
    if len(fits) == 1:
        return (
            f"the timestamps are not ISO 8601 but read as {fits[0]!r}: give that as the "
            "timestamp format (--timestamp-format)"
        )
    return (
        f"the timestamps are not ISO 8601 but read as {fits[0]!r} or as {fits[1]!r} (day and "
        "month can be either way round in these): give the one your system writes as the "
        "timestamp format (--timestamp-format)"
    )


def _python_strptime(
    col: pa.Array, parsed: pa.Array, bad: np.ndarray, fmt: str
) -> tuple[pa.Array, np.ndarray]:
    values = parsed.to_pylist()
    still_bad = bad.copy()
    for i in np.flatnonzero(bad):
        try:
            ts = dt.datetime.strptime(col[int(i)].as_py(), fmt)  # noqa: DTZ007 - zone applied later
        except ValueError:
            continue
        values[i] = ts.astimezone(dt.UTC).replace(tzinfo=None) if ts.tzinfo else ts
        still_bad[i] = False
    return pa.array(values, NAIVE_US), still_bad


def _localize(
    naive: pa.Array, rows: np.ndarray, name: str, problems: Problems, tz: ZoneInfo | None
) -> pa.Array:
    if tz is None:
        problems.add(
            None,
            name,
            "timestamps have no UTC offset and the plant has no time zone; "
            "add offsets or set [site] timezone in plant.toml",
        )
        return pa.nulls(len(naive), NAIVE_US)
    try:
        aware = pc.assume_timezone(naive, timezone=tz.key, ambiguous="raise", nonexistent="raise")
        return pc.cast(pc.cast(aware, UTC_US), NAIVE_US)
    except pa.ArrowInvalid:
        pass
    values = naive.to_pylist()
    out: list[dt.datetime | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        res = _to_utc(v, tz, v.isoformat(sep=" "))
        if isinstance(res, str):
            problems.add(int(rows[i]), name, res)
            out.append(None)
        else:
            out.append(res.replace(tzinfo=None))
    return pa.array(out, NAIVE_US)


def parse_counts(
    col: pa.Array | pa.ChunkedArray, rows: np.ndarray, name: str, problems: Problems
) -> pa.Array:
    """Parse whole, non-negative numbers (``12`` or ``12.0``); anything else is a problem."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
        col = pc.utf8_trim_whitespace(col)
        ok = pc.match_substring_regex(col, r"^[-+]?\d+(\.\d*)?$")
        bad = np.asarray(pc.and_(pc.is_valid(col), pc.invert(ok)).to_numpy(zero_copy_only=False))
        if bad.any():
            problems.add_rows(
                rows[bad],
                name,
                "is not a number; expected a whole number of parts",
                col.filter(pa.array(bad)).to_pylist(),
            )
        col = pc.cast(pc.if_else(ok, col, pa.scalar(None, pa.string())), pa.float64())
    elif not (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        problems.add(None, name, f"holds {col.type} values; expected whole numbers")
        return pa.nulls(len(col), pa.int64())
    values = np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    with np.errstate(invalid="ignore"):
        negative = values < 0
        fractional = ~np.isnan(values) & (values != np.floor(values))
    if negative.any():
        problems.add_rows(
            rows[negative], name, "is negative; expected 0 or more parts", values[negative].tolist()
        )
    if fractional.any():
        problems.add_rows(
            rows[fractional], name, "is not a whole number of parts", values[fractional].tolist()
        )
    return pc.cast(
        pc.if_else(pc.is_nan(pa.array(values)), pa.scalar(None, pa.float64()), pa.array(values)),
        pa.int64(),
        safe=False,
    )


def parse_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    col = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
