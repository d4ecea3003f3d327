"""``pilotline pilot …``: plan, evaluate and decide small experiments; SPC charts."""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pilotline.errors import InputError
from pilotline.pilot import Sources, evaluate, load_pilot, plan, registry
from pilotline.pilot.money import effect_text
from pilotline.pilot.spc import RULES, Chart, individuals, xbar

pilot_app = typer.Typer(
    help="Pilots: small experiments with honest statistics, and SPC charts.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
out = Console(soft_wrap=True)  # notes whole; tables still fit the terminal
err = Console(stderr=True, soft_wrap=True)  # messages whole, never wrapped or cut

SpecArg = Annotated[
    Path, typer.Argument(help="The pilot file (TOML); 'pilotline pilot new' writes one.")
]
FormatOpt = Annotated[
    str, typer.Option("--format", help="table, json or html (evaluate also pdf).")
]


def _sources() -> Sources:
    from pilotline.cli.app import home

    h = home()
    if not h.plant_file.exists():
        return Sources(h.store)
    return Sources(h.store, h.plant(), snapshot=True)  # one command reads one state of the data


def _with_registry(pilot: Any, result: dict[str, Any], sources: Sources) -> dict[str, Any]:
    """Add the pre-registration check and the latest decision to an evaluation."""
    if sources.store is None:
        return result
    return registry.annotate(sources.store, pilot, result, sources=sources)


def _json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


@pilot_app.command("new")
def new(
    path: Annotated[Path, typer.Argument(help="Where to write the example pilot file.")],
) -> None:
    """Write a commented example pilot file to edit."""
    from importlib.resources import files

    if path.exists():
        raise InputError(f"{path} already exists")
    path.write_text(
        (files("pilotline.pilot") / "example.toml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    out.print(f"Wrote {path}. Edit it, then run: pilotline pilot plan {path}")


@pilot_app.command("start")
def start_(
    spec: SpecArg,
    reason: Annotated[
        str | None,
        typer.Option("--reason", help="Why the frozen part changed (records a new version)."),
    ] = None,
) -> None:
    """Freeze the settings and the baseline data before results can be seen."""
    from pilotline.cli.app import home

    sources = _sources()
    info = registry.start(home().store, load_pilot(spec), reason=reason, sources=sources)
    word = "recorded as a new version" if info["changed"] else "registered"
    out.print(f"Pilot {word}: version {info['version']} ({info['fingerprint']}).")
    out.print(info["baseline"], markup=False)
    if info["note"]:
        out.print(info["note"], markup=False)


@pilot_app.command("decide")
def decide_(
    spec: SpecArg,
    decision: Annotated[str, typer.Option("--decision", help="adopt, adapt, abandon or extend.")],
    reason: Annotated[str, typer.Option("--reason", help="Why, in a sentence for the board.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluate as if today were this date.")
    ] = None,
) -> None:
    """Record the decision with the evaluation it rests on, in the decision log."""
    from pilotline.cli.app import home

    pilot = load_pilot(spec)
    result = evaluate(pilot, _sources(), as_of=dt.date.fromisoformat(as_of) if as_of else None)
    registry.decide(home().store, pilot, result, decision=decision, reason=reason)
    out.print(f"Decision recorded: {decision} — {result['verdict']}")


@pilot_app.command("log")
def log_(format_: FormatOpt = "table") -> None:
    """The decision log across pilots: what was decided, on what evidence, and why."""
    from pilotline.cli.app import home

    rows = registry.decision_log(home().store)
    if format_ == "json":
        _json(rows)
        return
    table = Table(title="Decision log")
    for c in ("when", "pilot", "decision", "effect", "reason"):
        table.add_column(c)
    for r in rows:
        table.add_row(
            f"{r['decided_at']:%Y-%m-%d}",
            r["title"],
            r["decision"],
            f"{r['effect']:+.2f} ({r['low']:+.2f} to {r['high']:+.2f})",
            r["reason"],
        )
    out.print(table)


@pilot_app.command("plan")
def plan_(spec: SpecArg, format_: FormatOpt = "table") -> None:
    """What the pilot can detect (minimum detectable effect) and how long it needs to run."""
    result = plan(load_pilot(spec), _sources())
    if format_ == "json":
        _json(result)
        return
    out.print(result["verdict"])
    out.print(
        f"Baseline: {result['baseline_points']} {result['unit']}s, mean {result['baseline_mean']:.2f}, "
        f"day-to-day autocorrelation {result['rho']:.2f} (so they count as "
        f"{result['effective_baseline_n']:.0f} independent {result['unit']}s); ignoring it would claim "
        f"{result['naive_mde']:.2f} — too optimistic."
    )


@pilot_app.command("evaluate")
def evaluate_(
    spec: SpecArg,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Evaluate as if today were this date.")
    ] = None,
    format_: FormatOpt = "table",
    output: Annotated[Path | None, typer.Option("--out", help="File for html or pdf.")] = None,
) -> None:
    """The pilot's effect with an honest interval, diagnostics, guardrails and payback."""
    pilot = load_pilot(spec)
    day = dt.date.fromisoformat(as_of) if as_of else None
    sources = _sources()
    result = _with_registry(pilot, evaluate(pilot, sources, as_of=day), sources)
    if format_ == "json":
        _json(result)
        return
    if format_ in ("html", "pdf"):
        from pilotline.report.a3 import render_a3, to_pdf

        page = render_a3(pilot, result)
        target = output or spec.with_suffix(f".a3.{format_}")
        if format_ == "html":
            target.write_text(page, encoding="utf-8")
        else:
            to_pdf(page, target)
        out.print(f"A3 written to {target}")
        return
    out.print(f"[bold]{result['verdict']}[/]")
    note = result.get("registration", {}).get("note")
    if note:
        out.print(note, markup=False)
    title = "Estimates (pilot minus baseline)"
    if result["effect"].get("scale") == "ratio":
        title = f"Estimates (rate ratio: 1 = no change; the others: pilot minus baseline, {result['metric_unit']})"
    table = Table(title=title)
    for c in ("method", "effect", "95 % interval", "p"):
        table.add_column(c)
    for e in result["estimates"]:
        ratio = e.get("scale") == "ratio"  # a rate ratio: 1.0 is no change
        table.add_row(
            e["method"],
            effect_text(e["value"], ratio),
            f"{effect_text(e['low'], ratio)} to {effect_text(e['high'], ratio)}",
            "–" if e["p_value"] is None else f"{e['p_value']:.3f}",
        )
    out.print(table)
    for w in result["warnings"]:
        out.print(f"⚠ {w}")


def _read_column(path: Path, column: str, subgroup: str | None) -> tuple[list[Any], list[float]]:
    if not path.exists():
        raise InputError(f"{path}: no such file")
    keys: list[Any] = []
    values: list[float] = []
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        for c in (column, subgroup):
            if c and c not in (reader.fieldnames or []):
                raise InputError(f"{path}: no column {c!r}; the columns are {reader.fieldnames}")
        for row_no, row in enumerate(reader, start=2):
            raw = (row[column] or "").strip()
            try:
                values.append(float(raw))
            except ValueError:
                raise InputError(
                    f"{path}, row {row_no}, column {column!r}: {raw!r} is not a number"
                ) from None
            keys.append(row[subgroup] if subgroup else row_no - 1)
    return keys, values


@pilot_app.command("spc")
def spc(
    path: Annotated[Path, typer.Argument(help="CSV file.")],
    column: Annotated[str, typer.Option("--column", help="The numeric column to chart.")],
    subgroup: Annotated[
        str | None,
        typer.Option("--subgroup", help="Column whose values key the subgroups (X-bar chart)."),
    ] = None,
    phase1: Annotated[
        int | None,
        typer.Option("--phase1", help="Compute limits from the first N points or subgroups only."),
    ] = None,
    format_: FormatOpt = "table",
    output: Annotated[Path | None, typer.Option("--out", help="File for html.")] = None,
) -> None:
    """An individuals chart of one column, or an X-bar chart of subgroups, with Western Electric rules."""
    keys, values = _read_column(path, column, subgroup)
    if subgroup:
        groups: dict[Any, list[float]] = {}
        for k, v in zip(keys, values, strict=True):
            groups.setdefault(k, []).append(v)
        chart: Chart = xbar(list(groups.items()), phase1=phase1)
    else:
        chart = individuals(values, keys=keys, phase1=phase1)
    if format_ == "json":
        _json(chart.as_dict())
        return
    if format_ == "html":
        from pilotline.report.a3 import render_spc

        target = output or path.with_suffix(".spc.html")
        target.write_text(render_spc(chart, title=f"{column} — {path.name}"), encoding="utf-8")
        out.print(f"Chart written to {target}")
        return
    out.print(
        f"{chart.kind} chart: centre {chart.center:.4g}, sigma {chart.sigma:.4g}, "
        f"limits {chart.lcl:.4g} to {chart.ucl:.4g}"
    )
    signals = chart.signals
    if not signals:
        out.print("No rule fires: the process looks stable.")
    for p in signals:
        out.print(
            f"  {p['key']}: {p['value']:.4g} — "
            + "; ".join(f"rule {r}: {RULES[r]}" for r in p["rules"])
        )
