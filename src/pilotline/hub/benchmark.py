"""The regional benchmark: a fixed KPI set, firms' figures per period, and versioned releases.

Firms send, per plant and month, the numerators and denominators of the KPI set (:data:`FIELDS`);
the hub sums them per firm (several plants = one contributor) and publishes only the predefined
tables: for every period, sector × size band × region with all margins. Each KPI is a ratio of
sums (never an average of ratios); OEE is availability × performance × quality of the sums.

Every measure summed into a table (:data:`MEASURES`) is protected as if it were published, on one
suppression pattern per period shared by all measures (:func:`pilotline.hub.disclosure.suppress`).
A cell suppressed in an earlier release of the same period stays suppressed, so comparing two
releases cannot reveal it. There is no margin over periods (a yearly total would let the months be
differenced), and no percentiles, minima or maxima.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from pilotline.errors import InputError
from pilotline.hub.disclosure import TOTAL, Key, Rules, Table, suppress
from pilotline.hub.privacy import Privacy, noisy, ratios

#: What a firm sends per plant and month (times in seconds, counts in parts).
FIELDS = {
    "planned_time_s": "planned production time (s)",
    "run_time_s": "run time (s)",
    "ideal_output_time_s": "ideal output time: parts made × ideal cycle time (s)",
    "total_count": "parts made",
    "good_count": "good parts",
    "scrap_count": "parts scrapped",
    "energy_kwh": "electrical energy (kWh), optional",
}
SIZE_BANDS = ("micro", "small", "medium", "large")
DIMS = ("sector", "size_band", "region")
#: Sums protected in every cell: each field, plus the good count of firms that sent energy.
MEASURES = (*FIELDS, "energy_good_count")
#: The published KPIs as ratios of the sums: name → (numerator, denominator, unit factor).
KPIS: dict[str, tuple[str, str]] = {
    "availability": ("run_time_s", "planned_time_s"),
    "performance": ("ideal_output_time_s", "run_time_s"),
    "quality": ("good_count", "total_count"),
    "scrap_rate": ("scrap_count", "total_count"),
    "energy_per_good_part_kwh": ("energy_kwh", "energy_good_count"),
}
PERIOD = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
MAX_SECONDS = 31 * 86400 * 10_000  # a month of 10,000 machines
MAX_COUNT = 10**12


@dataclass(frozen=True)
class Figures:
    """One plant's figures for one month, checked on arrival."""

    period: str
    plant: str
    planned_time_s: float
    run_time_s: float
    ideal_output_time_s: float
    total_count: float
    good_count: float
    scrap_count: float
    energy_kwh: float | None = None

    @classmethod
    def parse(cls, raw: Mapping[str, Any], where: str = "figures") -> Figures:
        """Check everything, naming the field: negative, non-numbers, good > total, run >
        planned, ideal output > run, scrap > total − good."""
        if not isinstance(raw, Mapping):
            raise InputError(f"{where}: expected an object with {', '.join(FIELDS)}")
        period = str(raw.get("period", ""))
        if not PERIOD.match(period):
            raise InputError(f"{where}, field 'period': {period!r} — expected a month, YYYY-MM")
        plant = str(raw.get("plant", "")).strip()
        if not plant or len(plant) > 100:
            raise InputError(f"{where}, field 'plant': expected a plant name (1–100 characters)")
        values: dict[str, float | None] = {}
        for name in FIELDS:
            v = raw.get(name)
            if v is None and name == "energy_kwh":
                values[name] = None
                continue
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise InputError(f"{where}, field '{name}': {v!r} — expected a number")
            limit = MAX_COUNT if name.endswith("count") or name == "energy_kwh" else MAX_SECONDS
            if not math.isfinite(v) or not 0 <= v <= limit:
                raise InputError(f"{where}, field '{name}': {v} — expected 0 to {limit:,}")
            if name.endswith("count") and v != int(v):
                raise InputError(f"{where}, field '{name}': {v} — expected a whole number")
            values[name] = float(v)
        unknown = set(raw) - {*FIELDS, "period", "plant"}
        if unknown:
            raise InputError(f"{where}: unknown field(s) {sorted(unknown)}")
        f = cls(period=period, plant=plant, **values)  # type: ignore[arg-type]
        checks = [
            ("good_count", f.good_count > f.total_count, "more good parts than parts made"),
            ("run_time_s", f.run_time_s > f.planned_time_s, "more run time than planned time"),
            (
                "ideal_output_time_s",
                f.ideal_output_time_s > f.run_time_s * 1.0001,
                "more ideal output time than run time (performance over 100 %)",
            ),
            (
                "scrap_count",
                f.scrap_count > f.total_count - f.good_count,
                "more scrap than parts made minus good parts",
            ),
        ]
        for name, bad, why in checks:
            if bad:
                raise InputError(f"{where}, field '{name}': {why}")
        return f


@dataclass(frozen=True)
class Firm:
    """What the tables know of a firm: its cell, never its name."""

    id: str
    sector: str
    size_band: str
    region: str

    def key(self) -> Key:
        return (self.sector, self.size_band, self.region)


def measures(f: Figures) -> dict[str, float]:
    out = {name: getattr(f, name) or 0.0 for name in FIELDS}
    out["energy_good_count"] = f.good_count if f.energy_kwh is not None else 0.0
    return out


def kpis(sums: Mapping[str, float]) -> dict[str, float | None]:
    """Ratios of sums, and OEE as their product (None where a denominator is 0)."""
    out: dict[str, float | None] = {}
    for name, (num, den) in KPIS.items():
        out[name] = sums[num] / sums[den] if sums[den] > 0 else None
    a, p, q = out["availability"], out["performance"], out["quality"]
    out["oee"] = a * p * q if a is not None and p is not None and q is not None else None
    return out


@dataclass
class Release:
    """A versioned release: reproducible from ``inputs_sha256`` (the figures and firms used) and
    the rules. ``cells`` hold every cell with its status (coordinator view)."""

    version: int
    created_at: str
    inputs_sha256: str
    rules: dict[str, Any]
    firms: int
    cells: list[dict[str, Any]]
    #: Per period, each firm's cell (coordinator-only): what the next release checks withdrawals
    #: against.
    contributors: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: The noise statement (:meth:`Privacy.statement`) when the release is noisy.
    privacy: dict[str, Any] | None = None

    def public(self) -> dict[str, Any]:
        """What firms and the public see: published cells only, no rules, no hidden values (with
        noise, the noisy count of firms and the KPIs of the noisy sums)."""
        out = {
            "version": self.version,
            "created_at": self.created_at,
            "dimensions": list(DIMS),
            "cells": [
                {
                    **{k: c[k] for k in ("period", *DIMS)},
                    **{k: c.get("noisy", c)[k] for k in ("firms", "kpis")},
                }
                for c in self.cells
                if c["status"] == "published" and c["firms"] > 0
            ],
        }
        if self.privacy is not None:
            out["privacy"] = self.privacy
        return out


def fingerprint(firms: Mapping[str, Firm], figures: Iterable[tuple[str, Figures]]) -> str:
    def canon(x: Any) -> str:
        return json.dumps(x, sort_keys=True, separators=(",", ":"), default=str)

    used = {fid for fid, _f in figures}
    body = {
        "firms": sorted(canon(asdict(f)) for f in firms.values() if f.id in used),
        "figures": sorted(canon([fid, asdict(f)]) for fid, f in figures),
    }
    text = canon(body)
    return hashlib.sha256(text.encode()).hexdigest()


def build_release(
    *,
    firms: Mapping[str, Firm],
    figures: Sequence[tuple[str, Figures]],
    rules: Rules,
    version: int,
    created_at: str,
    previous: Release | None = None,
    workers: int = 1,
    privacy: Privacy | None = None,
    secret: bytes = b"",
) -> Release:
    """Tables per period, suppressed and audited; earlier suppressions kept. ``workers`` > 1
    spreads the periods over that many processes (each period is independent). With
    ``privacy``, each firm's month is clipped to its bounds before the tables are built, and
    every published cell gets Laplace noise drawn with ``secret`` (:mod:`pilotline.hub.privacy`)."""
    by_period: dict[str, list[tuple[str, Figures]]] = {}
    for firm_id, f in figures:
        if firm_id not in firms:
            raise InputError(f"figures from unknown firm {firm_id!r}")
        by_period.setdefault(f.period, []).append((firm_id, f))
    carried: dict[str, set[Key]] = {}
    for c in previous.cells if previous else []:
        if c["status"] != "published":
            carried.setdefault(c["period"], set()).add(tuple(c[d] for d in DIMS))
    contributors = {
        period: {
            fid: [*firms[fid].key(), _digest([f for g, f in rows if g == fid])]
            for fid in sorted({g for g, _f in rows})
        }
        for period, rows in by_period.items()
    }
    watch = _withdrawals(previous, contributors, rules) if previous else {}
    jobs = [
        (period, _rows(firms, by_period[period], privacy), rules, carried.get(period, set()),
         watch.get(period, {}))
        for period in sorted(by_period)
    ]  # fmt: skip
    cells: list[dict[str, Any]] = []
    if workers > 1 and len(jobs) > 2:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        ctx = multiprocessing.get_context("spawn")  # safe beside a server's threads
        with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=ctx) as pool:
            for part in pool.map(_period_cells, *zip(*jobs, strict=True)):
                cells.extend(part)
    else:
        for job in jobs:
            cells.extend(_period_cells(*job))
    inputs = fingerprint(firms, figures)
    if privacy is not None:
        # A cell's noise is drawn from its own inputs (its firms, each with the fingerprint of
        # its figures for the month) and the noise settings: a cell whose firms and figures did
        # not change gets the same noise in every later release (so it cannot be averaged away
        # by releasing again after a change elsewhere), and a change of ε or of a bound draws
        # afresh (the same draw at two scales would give the true value away).
        settings = json.dumps(privacy.statement(MEASURES), sort_keys=True)
        inside: dict[tuple[str, Key], list[str]] = {}
        for period, held in contributors.items():
            for fid, (*key, digest) in sorted(held.items()):
                for cell in itertools.product(*((k, TOTAL) for k in key)):
                    inside.setdefault((period, cell), []).append(f"{fid}:{digest}")
        for c in cells:
            if c["status"] == "published" and c["firms"] > 0:
                mine = inside.get((c["period"], tuple(c[d] for d in DIMS)), [])
                seed = hashlib.sha256("|".join([settings, *mine]).encode()).hexdigest()
                c["noisy"] = noisy(c, privacy=privacy, measures=MEASURES, dims=DIMS,
                                   secret=secret, inputs=seed)  # fmt: skip
                c["noisy"]["kpis"] = ratios(kpis(c["noisy"]["sums"]))
    return Release(
        version=version,
        created_at=created_at,
        inputs_sha256=inputs,
        rules=asdict(rules),
        firms=len({fid for fid, _f in figures}),
        cells=cells,
        contributors=contributors,
        privacy=privacy.statement(MEASURES) if privacy is not None else None,
    )


def _rows(
    firms: Mapping[str, Firm], rows: Sequence[tuple[str, Figures]], privacy: Privacy | None
) -> list[tuple[Key, str, dict[str, float]]]:
    """Each plant's measures; with ``privacy``, each firm's plants summed and clipped."""
    if privacy is None:
        return [(firms[fid].key(), fid, measures(f)) for fid, f in rows]
    per_firm: dict[str, dict[str, float]] = {}
    for fid, f in rows:
        sums = per_firm.setdefault(fid, dict.fromkeys(MEASURES, 0.0))
        for m, v in measures(f).items():
            sums[m] += v
    return [(firms[fid].key(), fid, privacy.clip(s)) for fid, s in sorted(per_firm.items())]


def _within(cell: Key, key: Sequence[str]) -> bool:
    return all(c in (TOTAL, k) for c, k in zip(cell, key[: len(DIMS)], strict=True))


def _digest(figures: Sequence[Figures]) -> str:
    """A fingerprint of one firm's figures for a month: tells the next release whether they
    changed, without keeping them."""
    text = json.dumps(sorted(json.dumps(asdict(f), sort_keys=True) for f in figures))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _withdrawals(
    previous: Release, now: Mapping[str, Mapping[str, list[str]]], rules: Rules
) -> dict[str, dict[Key, dict[str, float]]]:
    """Cells whose difference between the previous release and this one would give away firms
    that left or changed their figures: published before, with fewer than ``min_firms`` firms gone
    from them or changed, and none come in. Per period, such cell → its previously published sums
    (the difference is checked once the new sums are known)."""
    out: dict[str, dict[Key, dict[str, float]]] = {}
    for c in previous.cells:
        if c["status"] != "published" or "sums" not in c:
            continue
        period = c["period"]
        before = previous.contributors.get(period, {})
        after = now.get(period, {})
        key = tuple(c[d] for d in DIMS)
        gone = [
            f
            for f, k in before.items()
            if _within(key, k) and (f not in after or after[f][len(DIMS) :] != k[len(DIMS) :])
        ]
        came = [f for f, k in after.items() if f not in before and _within(key, k)]
        if gone and not came and len(gone) < rules.min_firms:
            out.setdefault(period, {})[key] = dict(c["sums"])
    return out


def _period_cells(
    period: str,
    rows: list[tuple[Key, str, dict[str, float]]],
    rules: Rules,
    carried: set[Key],
    watch: Mapping[Key, Mapping[str, float]],
) -> list[dict[str, Any]]:
    tables = [Table.build(DIMS, [(key, fid, ms[m]) for key, fid, ms in rows]) for m in MEASURES]
    for key in carried:
        for t in tables:
            if key in t.cells:
                t.cells[key].status = "secondary"
    for key, before in watch.items():  # protect what left, as the difference would show it
        for m, t in zip(MEASURES, tables, strict=True):
            cell = t.cells.get(key)
            if cell is None:
                continue
            gone = before.get(m, 0.0) - cell.value
            level = max(rules.p, rules.protect_pct) / 100 * abs(gone)
            cell.status = "primary"
            if "withdrawal" not in cell.rules:
                cell.rules.append("withdrawal")
            cell.upper = max(cell.upper, level)
            cell.lower = max(cell.lower, min(level, cell.value))
    suppress(tables, rules)
    cells = []
    for key in tables[0].keys:
        head = tables[0].cells[key]
        primary = any(t.cells[key].status == "primary" for t in tables)
        sums = {m: t.cells[key].value for m, t in zip(MEASURES, tables, strict=True)}
        cells.append(
            {
                "period": period,
                **dict(zip(DIMS, key, strict=True)),
                "firms": head.firms,
                "status": "primary" if primary else head.status,
                "rules": sorted({r for t in tables for r in t.cells[key].rules}),
                "kpis": kpis(sums),
                "sums": sums,
            }
        )
    return cells


def compare(
    public: Mapping[str, Any], *, firm: Firm, own: Sequence[Figures], period: str
) -> dict[str, Any]:
    """A firm against the published figures only: its own KPIs for a period, beside the most
    specific published cell that holds firms like it (sector, size and region; then wider)."""
    mine = [f for f in own if f.period == period]
    if not mine:
        raise InputError(f"no figures of yours for {period}")
    sums = {m: sum(measures(f)[m] for f in mine) for m in MEASURES}
    cells = {tuple(c[d] for d in DIMS): c for c in public.get("cells", []) if c["period"] == period}
    s, z, r = firm.key()
    for key, label in [
        ((s, z, r), "same sector, size and region"),
        ((s, TOTAL, r), "same sector and region"),
        ((TOTAL, TOTAL, r), "same region"),
        ((s, TOTAL, TOTAL), "same sector"),
        ((TOTAL, TOTAL, TOTAL), "all firms"),
    ]:
        if key in cells:
            c = cells[key]
            return {"period": period, "yours": kpis(sums), "peers": c["kpis"],
                    "peer_firms": c["firms"], "peer_group": label}  # fmt: skip
    return {"period": period, "yours": kpis(sums), "peers": None, "peer_firms": 0,
            "peer_group": "no published figures for this period"}  # fmt: skip
