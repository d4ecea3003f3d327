"""The frozen baseline: the metric's data before the change, kept when the pilot is started.

Freezing the settings is not enough: a baseline row edited after the start moves the goalposts
through the data. ``pilot start`` keeps the value of every baseline period (of the metric, a
control line and each guardrail) with the registered version; the evaluation reads the same periods again and
names the dates that differ. Periods after the kept range — the pilot filling in, or the rest
of a baseline that had not ended at the start — are growth, not change.

What is kept, inside the version's frozen JSON under ``"_baseline"``::

    {"start": "2026-09-01", "through": "2026-10-01", "digest": "…",
     "lines": {"metric": {"fields": ["value"], "dates": {"2026-09-01": [[101.2]], …}}}}

Each date holds one row per period on it (shifts share a date); a row is the value and, for
counts, the exposure, or for proportion KPIs the bad and all parts behind the ratio.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from pilotline import clock
from pilotline.errors import InputError
from pilotline.pilot.evaluate import Series, Sources
from pilotline.pilot.spec import Metric, Pilot

#: Baseline dates named in a warning before "and N more".
SHOWN = 5


def freeze(pilot: Pilot, sources: Sources) -> dict[str, Any]:
    """The baseline data to keep with a registered version: every complete period of the
    baseline window up to today, or why it could not be read."""
    start = pilot.baseline.start
    through = max(start, min(pilot.baseline.end, _today(sources)))
    try:
        lines = read(pilot, sources, start, through)
    except InputError as exc:
        return {"error": str(exc)}
    return {
        "start": start.isoformat(),
        "through": through.isoformat(),
        "digest": _digest(lines),
        "lines": lines,
    }


def read(
    pilot: Pilot, sources: Sources, start: dt.date, through: dt.date
) -> dict[str, dict[str, Any]]:
    """The rows of the metric, the control line and the guardrails from ``start`` up to
    ``through`` (exclusive)."""
    if through <= start:
        return {}
    named: dict[str, Metric] = {"metric": pilot.metric}
    if pilot.control is not None:
        named["control"] = pilot.control
    for g in pilot.guardrails:
        named.setdefault(f"guardrail {g.label}", g)
    return {
        name: _rows(metric, sources.series(metric, pilot.unit, start, through))
        for name, metric in named.items()
    }


def changes(kept: dict[str, Any], pilot: Pilot, sources: Sources) -> dict[str, list[str]]:
    """The kept baseline dates whose data now differs, per line ("metric", "control"), each as
    ``2026-09-03 (was 41.0, now 99.0)``; empty when nothing changed."""
    start = dt.date.fromisoformat(kept["start"])
    through = dt.date.fromisoformat(kept["through"])
    now = read(pilot, sources, start, through)
    before: dict[str, dict[str, Any]] = kept.get("lines", {})
    if _digest(now) == kept.get("digest"):
        return {}
    out: dict[str, list[str]] = {}
    lines = set(before) | set(now)
    for line in sorted(lines, key=lambda n: (n != "metric", n != "control", n)):
        was = before.get(line, {}).get("dates", {})
        is_ = now.get(line, {}).get("dates", {})
        fields = (now.get(line) or before.get(line) or {}).get("fields", ["value"])
        dates = [d for d in sorted(set(was) | set(is_)) if was.get(d) != is_.get(d)]
        if dates:
            out[line] = [_change(d, was.get(d), is_.get(d), fields) for d in dates]
    return out


#: What to do about changed baseline data, after the evaluation's warning.
RECORD = "if this is a correction, 'pilotline pilot start --reason …' records it as a new version."


def warning(changed: dict[str, list[str]], *, then: str = RECORD) -> list[str]:
    """Plain words for :func:`changes`: one warning per line whose baseline data changed."""
    out = []
    for line, items in changed.items():
        who = {"metric": "The baseline data", "control": "The control line's baseline data"}.get(
            line, f"{line.capitalize()}'s baseline data"
        )
        more = f" and {len(items) - SHOWN} more date(s)" if len(items) > SHOWN else ""
        out.append(
            f"{who} changed after the pilot was started: {', '.join(items[:SHOWN])}{more}. The "
            f"estimate no longer rests on the data that was frozen; {then}"
        )
    return out


def _today(sources: Sources) -> dt.date:
    """Today where the plant is (UTC without one): periods before it are complete."""
    now = clock.now()
    return (now.astimezone(sources.plant.tz) if sources.plant is not None else now).date()


def _rows(metric: Metric, series: Series) -> dict[str, Any]:
    if metric.exposure_column and series.total is not None:
        fields = ["value", metric.exposure_column]
        parts = [series.values, series.total]
    elif series.bad is not None and series.total is not None:
        fields = ["value", "bad parts", "parts"]
        parts = [series.values, series.bad, series.total]
    else:
        fields, parts = ["value"], [series.values]
    dates: dict[str, list[list[float]]] = {}
    for i, day in enumerate(series.dates):
        dates.setdefault(day.isoformat(), []).append([_round(float(p[i])) for p in parts])
    return {"fields": fields, "dates": dates}


def _round(v: float) -> float:
    """Ten significant digits: a KPI summed in another order is the same number."""
    return float(f"{v:.10g}")


def _digest(lines: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(lines, sort_keys=True).encode()).hexdigest()[:16]


def _change(
    day: str, was: list[list[float]] | None, now: list[list[float]] | None, fields: list[str]
) -> str:
    if not now:
        return f"{day} (removed; was {_show(was, fields)})"
    if not was:
        return f"{day} (added: {_show(now, fields)})"
    return f"{day} (was {_show(was, fields)}, now {_show(now, fields)})"


def _show(rows: list[list[float]] | None, fields: list[str]) -> str:
    def one(row: list[float]) -> str:
        text = _number(row[0])
        extra = [f"{name} {_number(v)}" for name, v in zip(fields[1:], row[1:], strict=False)]
        return f"{text} ({', '.join(extra)})" if extra else text

    return "; ".join(one(r) for r in rows or [])


def _number(v: float) -> str:
    return f"{v:.1f}" if v == int(v) and abs(v) < 1e15 else f"{v:.10g}"
