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
from pilotline.ingest.phrasing import Surface, say

UTC_US = pa.timestamp("us", "UTC")
NAIVE_US = pa.timestamp("us")
#: The largest value a stored count column can hold (the store's BIGINT).
INT64_MAX = (1 << 63) - 1


@dataclass
class Problems:
    """Collects problems for one file, up to a limit (the first ones are what people need)."""

    file: str
    limit: int = 200
    items: list[Problem] = field(default_factory=list)
    total: int = 0
    surface: Surface = "cli"  # where the hints are read: the command line or the upload form

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
            suffix = f" (found {_shown(values[i])})" if values is not None else ""
            self.add(int(row), column, message + suffix)
            if len(self.items) >= self.limit:
                self.total += len(rows) - i - 1
                return


def _shown(value: object) -> str:
    """A cell's value for a message: in full when short, else its start and its length."""
    text = repr(value)
    if len(text) <= 60:
        return text
    return f"{text[:40]}… ({len(str(value)):,} characters)"


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
    try:
        return _to_utc_or_raise(ts, tz, text)
    except (OverflowError, ValueError):
        return f"{text!r} is outside the years a timestamp can have (1970 to now)"


def _to_utc_or_raise(ts: dt.datetime, tz: ZoneInfo | None, text: object) -> dt.datetime | str:
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
    if pa.types.is_dictionary(col.type):
        col = col.dictionary_decode()
    t = col.type
    if pa.types.is_null(t):
        return pa.nulls(len(col), NAIVE_US)  # every cell empty
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        col = _storable(col, rows, name, problems)
    if pa.types.is_timestamp(t) and t.unit == "ns":
        # The store keeps microseconds: nanoseconds are cut off (dividing cannot overflow).
        t = pa.timestamp("us", t.tz)
        col = pc.cast(col, t, safe=False)
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
    hint = _format_hint(unread, col, problems.surface)
    if hint:
        problems.add_first(name, hint)
    return pa.array(good, NAIVE_US)


#: Per unit of a typed timestamp or date: microseconds in one, and the plain integer type.
_UNITS = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}


def _storable(col: pa.Array, rows: np.ndarray, name: str, problems: Problems) -> pa.Array:
    """A typed timestamp or date column with every value that microseconds cannot hold (such as
    year 300,000 in seconds) made missing and reported, so that no later cast can overflow."""
    t = col.type
    if pa.types.is_date32(t):
        ints, per = pc.cast(col, pa.int32()).cast(pa.int64()), 86_400_000_000
    elif pa.types.is_date64(t):
        ints, per = pc.cast(col, pa.int64()), 1_000
    else:
        ints, per = pc.cast(col, pa.int64()), _UNITS[t.unit]
    if per == 1:
        return col
    limit = INT64_MAX // per // 2  # half the range: room for the zone's offset
    values = np.asarray(pc.fill_null(ints, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    bad = np.abs(values) > limit
    if not bad.any():
        return col
    problems.add_rows(
        rows[bad],
        name,
        "is outside the years a timestamp can have (1970 to now)",
        values[bad].tolist(),
    )
    return pc.if_else(pa.array(~bad), col, pa.scalar(None, t))


#: Machine data older than 1970 or more than a year ahead of now cannot be real readings;
#: data ahead of now, or older than this many years, is kept with a warning.
PLAUSIBLE_YEARS = 20
_EPOCH = dt.datetime(1970, 1, 1)  # noqa: DTZ001 - the store keeps UTC without a zone


@dataclass(frozen=True)
class Implausible:
    """Timestamps kept but worth a warning: how many, and the first."""

    column: str
    what: str
    count: int
    first_row: int
    first: str

    def note(self) -> str:
        return (
            f"{self.count:,} '{self.column}' value(s) are {self.what}, the first at row "
            f"{self.first_row} ({self.first} UTC): check the clock that wrote them"
        )


def check_instants(
    col: pa.Array, rows: np.ndarray, name: str, problems: Problems, *, warn_future: bool = True
) -> tuple[pa.Array, list[Implausible]]:
    """Refuse instants that cannot be machine data (before 1970, more than a year after
    ``clock.now()``); return the rest and warnings about the implausible (ahead of now, or more
    than :data:`PLAUSIBLE_YEARS` years old). ``col`` is UTC ``timestamp[us]`` without a zone."""
    from pilotline import clock

    now = clock.utc_naive()
    latest = now + dt.timedelta(days=366)
    oldest = now - dt.timedelta(days=365 * PLAUSIBLE_YEARS + PLAUSIBLE_YEARS // 4)
    us = np.asarray(
        pc.fill_null(pc.cast(col, pa.int64()), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False))

    def micros(moment: dt.datetime) -> int:
        return (moment - _EPOCH) // dt.timedelta(microseconds=1)

    shown = np.datetime_as_string(us.astype("datetime64[us]"), unit="s")
    early = valid & (us < 0)
    late = valid & (us > micros(latest))
    if early.any():
        problems.add_rows(
            rows[early],
            name,
            "is before 1970 (UTC); no machine reading can be that old",
            [str(v) for v in shown[early]],
        )
    if late.any():
        problems.add_rows(
            rows[late],
            name,
            f"is more than a year after now ({now:%Y-%m-%d %H:%M} UTC); check the clock that "
            "wrote it",
            [str(v) for v in shown[late]],
        )
    warnings: list[Implausible] = []
    ahead = valid & ~late & (us > micros(now)) if warn_future else np.zeros(len(us), bool)
    old = valid & ~early & (us < micros(oldest))
    for mask, what in (
        (ahead, f"after now ({now:%Y-%m-%d %H:%M} UTC)"),
        (old, f"more than {PLAUSIBLE_YEARS} years old (before {oldest:%Y-%m-%d})"),
    ):
        if mask.any():
            warnings.append(
                Implausible(name, what, int(mask.sum()), int(rows[mask][0]), str(shown[mask][0]))
            )
    bad = early | late
    if bad.any():
        col = pc.if_else(pa.array(~bad), col, pa.scalar(None, col.type))
    return col, warnings


#: Timestamp layouts that spreadsheets and ERP exports write, tried on text that is not ISO 8601.
LAYOUTS = [
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


def layouts_of(values: list[str]) -> list[str]:
    """Every layout of :data:`LAYOUTS` that reads all of ``values`` (Python's strptime)."""
    fits = []
    for layout in LAYOUTS:
        try:
            for v in values:
                dt.datetime.strptime(v.strip(), layout)  # noqa: DTZ007 - only the layout is tested
        except ValueError:
            continue
        fits.append(layout)
    return fits


def unread_with(col: pa.Array, fmt: str) -> np.ndarray:
    """Which cells of the text column ``col`` the format ``fmt`` does not read as a time from
    1970 on (Arrow's strptime, checked like the import checks: a two-digit year read by '%Y'
    as year 26 does not count as read)."""
    col = pc.utf8_trim_whitespace(col)
    parsed = pc.strptime(col, format=fmt, unit="us", error_is_null=True)
    early = pc.less(pc.cast(parsed, pa.int64()), 0)
    bad = pc.or_(pc.and_(pc.is_valid(col), pc.is_null(parsed)), pc.fill_null(early, False))
    return np.asarray(pc.fill_null(bad, False).to_numpy(zero_copy_only=False), dtype=bool)


def _format_hint(values: list[str], col: pa.Array, surface: Surface) -> str | None:
    """When timestamps are not ISO 8601 but all read with one or two common layouts, say so:
    a person can rarely tell which strftime codes their system writes. A layout is named only
    when it reads every cell of the column, so that using it cannot fail rows."""
    if not values:
        return None
    fits = [f for f in layouts_of(values) if not unread_with(col, f).any()]
    if not fits or len(fits) > 2:
        return None
    if len(fits) == 1:
        return f"the timestamps are not ISO 8601 but read as {fits[0]!r}: " + say(
            "ts_format_one", surface
        )
    return (
        f"the timestamps are not ISO 8601 but read as {fits[0]!r} or as {fits[1]!r} (day and "
        "month can be either way round in these): " + say("ts_format_two", surface)
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
        if ts.tzinfo:
            utc = _to_utc(ts, None, col[int(i)].as_py())
            if isinstance(utc, str):
                continue
            ts = utc.replace(tzinfo=None)
        values[i] = ts
        still_bad[i] = False
    return pa.array(values, NAIVE_US), still_bad


def _repeated(v: dt.datetime, tz: ZoneInfo) -> bool:
    """Whether the wall-clock time ``v`` happens twice in ``tz`` (the clocks go back over it)."""
    early, late = v.replace(tzinfo=tz, fold=0), v.replace(tzinfo=tz, fold=1)
    if early.utcoffset() == late.utcoffset():
        return False
    return early.astimezone(dt.UTC).astimezone(tz).replace(tzinfo=None) == v


def repeated_hour_folds(values: list[dt.datetime | None], tz: ZoneInfo) -> list[int | None]:
    """For local times in the hour the clocks go back, which pass each one is (0: the first,
    1: the second), read from the file's order as a clock writes it: within a run of such times
    the time goes back once, where the clocks went back. A run that never goes back (or goes
    back twice) says nothing and stays unresolved (None), as does every other time."""
    folds: list[int | None] = [None] * len(values)
    run: list[int] = []
    known = [v or _EPOCH for v in values]  # a run holds no empty cell

    def close() -> None:
        steps = [k for k in range(1, len(run)) if known[run[k]] < known[run[k - 1]]]
        if len(steps) == 1:
            for k, i in enumerate(run):
                folds[i] = 0 if k < steps[0] else 1
        run.clear()

    for i, v in enumerate(values):
        if v is None:
            continue
        if _repeated(v, tz):
            run.append(i)
        elif run:
            close()
    close()
    return folds


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
    folds = repeated_hour_folds(values, tz)
    out: list[dt.datetime | None] = []
    for i, v in enumerate(values):
        if v is None:
            out.append(None)
            continue
        if folds[i] is not None:
            out.append(v.replace(tzinfo=tz, fold=folds[i]).astimezone(dt.UTC).replace(tzinfo=None))
            continue
        res = _to_utc(v, tz, v.isoformat(sep=" "))
        if isinstance(res, str):
            problems.add(int(rows[i]), name, res)
            out.append(None)
        else:
            out.append(res.replace(tzinfo=None))
    return pa.array(out, NAIVE_US)


def parse_counts(
    col: pa.Array | pa.ChunkedArray,
    rows: np.ndarray,
    name: str,
    problems: Problems,
    *,
    maximum: int = INT64_MAX,
    what: str = "parts",
    why: str = "",
    decimal_comma: bool = False,
) -> pa.Array:
    """Parse whole numbers from 0 to ``maximum`` (``12`` or ``12.0``; with ``decimal_comma``,
    as German and French exports write them, ``12,0`` and ``1.234``); anything else, including
    NaN, infinity and numbers too large to store, is a located problem and becomes missing.
    No value is ever cast unchecked."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    typ = col.type
    if pa.types.is_dictionary(typ):
        col = col.dictionary_decode()
        typ = col.type
    if pa.types.is_null(typ):
        return pa.nulls(len(col), pa.int64())  # every cell empty
    if pa.types.is_string(typ) or pa.types.is_large_string(typ):
        text = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
        if decimal_comma:
            # 1.234,0 → 1234.0: thousands marks out, the decimal comma a point.
            grouped = pc.match_substring_regex(text, r"^\d{1,3}([.' ]\d{3})+(,\d*)?$")
            text = pc.if_else(
                pc.fill_null(grouped, False), pc.replace_substring_regex(text, r"[.' ]", ""), text
            )
            text = pc.replace_substring(text, ",", ".")
        elif pc.any(pc.match_substring_regex(text, r"^\d+,\d+$")).as_py():
            problems.add_first(
                name,
                "holds numbers with a decimal comma; " + say("decimal_comma", problems.surface),
            )
        return _text_counts(
            text,
            rows,
            name,
            problems,
            maximum,
            what,
            why,
            pc.utf8_trim_whitespace(pc.cast(col, pa.string())),
        )
    if pa.types.is_integer(typ):
        return _integer_counts(col, rows, name, problems, maximum, what, why)
    if pa.types.is_floating(typ):
        return _float_counts(col, rows, name, problems, maximum, what, why)
    problems.add(None, name, f"holds {typ} values; expected whole numbers of {what}")
    return pa.nulls(len(col), pa.int64())


def _too_large(maximum: int, what: str, why: str = "") -> str:
    return f"is too large; expected at most {maximum:,} {what}{why}"


def _text_counts(
    col: pa.Array,
    rows: np.ndarray,
    name: str,
    problems: Problems,
    maximum: int,
    what: str,
    why: str,
    shown: pa.Array | None = None,
) -> pa.Array:
    col = pc.utf8_trim_whitespace(col)
    shown = col if shown is None else shown  # the cells as written, for messages
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False))
    whole = np.asarray(
        pc.fill_null(pc.match_substring_regex(col, r"^\+?\d+(\.0*)?$"), False).to_numpy(
            zero_copy_only=False
        )
    )
    number = np.asarray(
        pc.fill_null(
            pc.match_substring_regex(col, r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$"), False
        ).to_numpy(zero_copy_only=False)
    )
    negative = number & np.asarray(
        pc.fill_null(pc.match_substring_regex(col, r"^-.*[1-9]"), False).to_numpy(
            zero_copy_only=False
        )
    )
    zero = (
        number
        & ~whole
        & ~negative
        & np.asarray(
            pc.fill_null(pc.match_substring_regex(col, r"^[-+]?[0.]+([eE].*)?$"), False).to_numpy(
                zero_copy_only=False
            )
        )
    )
    whole &= ~zero
    fractional = number & ~whole & ~negative & ~zero
    nonsense = valid & ~number
    if nonsense.any():
        problems.add_rows(
            rows[nonsense],
            name,
            f"is not a number; expected a whole number of {what}",
            shown.filter(pa.array(nonsense)).to_pylist(),
        )
    if negative.any():
        problems.add_rows(
            rows[negative],
            name,
            f"is negative; expected 0 or more {what}",
            shown.filter(pa.array(negative)).to_pylist(),
        )
    if fractional.any():
        # 1e3 is a whole number written as a float: read it when it is exact and small enough.
        values = col.filter(pa.array(fractional)).to_pylist()
        exact = np.zeros(len(col), dtype=bool)
        out_of_range: list[int] = []
        idx = np.flatnonzero(fractional)
        for i, text in zip(idx, values, strict=True):
            number_value = _exact_whole(str(text))
            if number_value is None:
                continue
            if number_value > maximum:
                out_of_range.append(int(i))
            exact[i] = True
        if out_of_range:
            problems.add_rows(
                rows[out_of_range],
                name,
                _too_large(maximum, what, why),
                [shown[i].as_py() for i in out_of_range],
            )
        bad = fractional & ~exact
        if bad.any():
            problems.add_rows(
                rows[bad],
                name,
                f"is not a whole number of {what}",
                shown.filter(pa.array(bad)).to_pylist(),
            )
    else:
        exact = np.zeros(len(col), dtype=bool)
    # Whole numbers: the digits without sign, leading zeros or ".000".
    digits = pc.replace_substring_regex(
        pc.replace_substring_regex(col, r"^\+?0*", ""), r"\.0*$", ""
    )
    digits = pc.if_else(pc.equal(digits, ""), pa.scalar("0"), digits)
    length = np.asarray(
        pc.fill_null(pc.utf8_length(digits), 0).to_numpy(zero_copy_only=False), dtype=np.int64
    )
    short = whole & (length <= 18)
    out = np.zeros(len(col), dtype=np.int64)
    ok = zero.copy()
    if short.any():
        small = pc.cast(digits.filter(pa.array(short)), pa.int64())  # 18 digits always fit
        out[short] = small.to_numpy(zero_copy_only=False)
        ok |= short
    big = short & (out > maximum)
    # 19 digits and more, and 1e3-style numbers: exact Python integers (few, if any).
    big |= whole & (length > 19)  # more digits than any int64 has
    for i in np.flatnonzero((whole & (length == 19)) | exact):
        text = str(col[int(i)].as_py())
        value = int(str(digits[int(i)].as_py())) if whole[i] else _exact_whole(text)
        if value is None:
            continue
        if value > maximum:
            if whole[i]:
                big[i] = True
            continue
        out[i] = value
        ok[i] = True
    if big.any():
        problems.add_rows(
            rows[big],
            name,
            _too_large(maximum, what, why),
            shown.filter(pa.array(big)).to_pylist(),
        )
    ok &= ~big
    return pa.array(out, pa.int64(), mask=~ok)


def _exact_whole(text: str) -> int | None:
    """``1e3`` or ``12.50e1`` as an exact whole number, or None when it is not one."""
    from decimal import Decimal, InvalidOperation

    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        return None
    if value.adjusted() > 30:
        return 1 << 100  # far too large, whatever it is exactly
    return int(value)


def _integer_counts(
    col: pa.Array,
    rows: np.ndarray,
    name: str,
    problems: Problems,
    maximum: int,
    what: str,
    why: str,
) -> pa.Array:
    unsigned = pa.types.is_unsigned_integer(col.type)
    if not unsigned:
        negative = np.asarray(
            pc.fill_null(pc.less(col, pa.scalar(0, col.type)), False).to_numpy(zero_copy_only=False)
        )
        if negative.any():
            problems.add_rows(
                rows[negative],
                name,
                f"is negative; expected 0 or more {what}",
                col.filter(pa.array(negative)).to_pylist(),
            )
    else:
        negative = np.zeros(len(col), dtype=bool)
    as_u64 = pc.cast(col, pa.uint64(), safe=False)  # only compared where not negative
    big = ~negative & np.asarray(
        pc.fill_null(pc.greater(as_u64, pa.scalar(maximum, pa.uint64())), False).to_numpy(
            zero_copy_only=False
        )
    )
    if big.any():
        problems.add_rows(
            rows[big], name, _too_large(maximum, what, why), col.filter(pa.array(big)).to_pylist()
        )
    ok = pa.array(~(negative | big))
    kept = pc.if_else(ok, col, pa.scalar(None, col.type))
    return pc.cast(kept, pa.int64())  # safe: every value left is in 0..maximum


def _float_counts(
    col: pa.Array,
    rows: np.ndarray,
    name: str,
    problems: Problems,
    maximum: int,
    what: str,
    why: str,
) -> pa.Array:
    values = np.asarray(pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=float)
    valid = np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False))
    with np.errstate(invalid="ignore"):
        nan = valid & np.isnan(values)
        inf = valid & np.isinf(values)
        finite = valid & np.isfinite(values)
        negative = finite & (values < 0)
        big = finite & ~negative & ((values > float(maximum)) | (values >= 2.0**63))
        fractional = finite & ~negative & ~big & (values != np.floor(values))
    for mask, message in (
        (nan, f"is NaN (not a number); expected a whole number of {what}"),
        (inf, f"is infinite; expected a whole number of {what}"),
        (negative, f"is negative; expected 0 or more {what}"),
        (big, _too_large(maximum, what, why)),
        (fractional, f"is not a whole number of {what}"),
    ):
        if mask.any():
            problems.add_rows(rows[mask], name, message, values[mask].tolist())
    ok = finite & ~negative & ~big & ~fractional
    out = np.where(ok, values, 0.0).astype(np.int64)  # exact: whole and below 2**63
    return pa.array(out, pa.int64(), mask=~ok)


def parse_text(col: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
        col = pc.cast(col, pa.string())
    col = pc.utf8_trim_whitespace(pc.cast(col, pa.string()))
    return pc.if_else(pc.equal(col, ""), pa.scalar(None, pa.string()), col)
