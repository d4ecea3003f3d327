"""``pilotline map …``: process mining on an event log file."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pilotline.cells import spreadsheet_safe
from pilotline.errors import InputError
from pilotline.map import LogColumns, Miner, filters, read_log
from pilotline.map.conformance import load_routing
from pilotline.map.lifecycle import pair_lifecycle
from pilotline.map.petri import read_pnml
from pilotline.map.render import Statistic, dfg_dot, render_svg

map_app = typer.Typer(
    help="Process mining: see the real process in an event log before automating it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
out = Console(soft_wrap=True)  # notes whole; tables still fit the terminal
err = Console(stderr=True, soft_wrap=True)  # messages whole, never wrapped or cut

LogArg = Annotated[
    Path,
    typer.Argument(
        help="Event log: .xes, .xes.gz, .csv, .xlsx, .parquet, or OCEL 2.0 .json/.xml/.sqlite."
    ),
]
CaseOpt = Annotated[str, typer.Option("--case", help="Case id column (CSV/Parquet).")]
ActivityOpt = Annotated[str, typer.Option("--activity", help="Activity column.")]
TimestampOpt = Annotated[
    str, typer.Option("--timestamp", help="Timestamp column (completion time).")
]
StartOpt = Annotated[
    str | None, typer.Option("--start-timestamp", help="Start time column, if any.")
]
ResourceOpt = Annotated[str | None, typer.Option("--resource", help="Resource column, if any.")]
SepOpt = Annotated[str | None, typer.Option("--sep", help="CSV separator (default: guessed).")]
FormatTsOpt = Annotated[
    str | None,
    typer.Option("--timestamp-format", help="strftime format, e.g. '%Y/%m/%d %H:%M:%S.%f'."),
]
TzOpt = Annotated[str, typer.Option("--tz", help="Time zone of timestamps without an offset.")]
TieOpt = Annotated[
    str | None, typer.Option("--tie-break", help="Column that orders events with equal timestamps.")
]
TopOpt = Annotated[
    int | None,
    typer.Option("--top-variants", help="Keep only the cases of the K most frequent variants."),
]
CoverageOpt = Annotated[
    float | None,
    typer.Option(
        "--coverage", help="Keep the most frequent variants covering this share of cases (0–1)."
    ),
]
PatternOpt = Annotated[
    str | None,
    typer.Option(
        "--group-pattern",
        help="Group activities by the first group of this regular expression, e.g. '^(\\w+)'.",
    ),
]
CollapseOpt = Annotated[
    bool, typer.Option("--collapse-repeats", help="Merge directly repeated steps (A, A, B → A, B).")
]
FormatOpt = Annotated[str, typer.Option("--format", help="table, csv or json.")]
ObjectTypeOpt = Annotated[
    str | None,
    typer.Option(
        "--object-type", help="OCEL 2.0 logs: the object type whose objects are the cases."
    ),
]
EngineOpt = Annotated[
    str,
    typer.Option(
        help="Where the analyses run: embedded (DuckDB here), postgres (the database in "
        "PILOTLINE_DATABASE_URL) or spark (PILOTLINE_SPARK_MASTER, default local[2]).",
    ),
]
LifecycleOpt = Annotated[
    str | None,
    typer.Option(
        "--lifecycle",
        help="Pair start and complete events into activity instances, using this lifecycle column "
        "(XES: lifecycle:transition).",
    ),
]


def _writable(option: str, suffix: str) -> Any:
    """A Typer callback refusing an output path that cannot be a file (a folder, or in a folder
    that does not exist) before the log is read."""

    def check(path: Path | None) -> Path | None:
        if path is None:
            return None
        if path.is_dir():
            raise typer.BadParameter(
                f"{path} is a folder; give a file name, e.g. {path / ('map' + suffix)}",
                param_hint=option,
            )
        if not path.parent.is_dir():
            raise typer.BadParameter(
                f"the folder {path.parent} does not exist; create it or choose another",
                param_hint=option,
            )
        return path

    return check


def _write(path: Path, option: str, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{option} {path}: cannot write there ({exc.strerror or exc})") from None


def _miner(
    log: Path,
    case: str,
    activity: str,
    timestamp: str,
    start: str | None,
    resource: str | None,
    sep: str | None,
    timestamp_format: str | None,
    tz: str,
    tie_break: str | None,
    top: int | None,
    coverage: float | None,
    pattern: str | None,
    collapse: bool,
    lifecycle: str | None = None,
    object_type: str | None = None,
    engine: str = "embedded",
) -> Miner:
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"--tz {tz!r} is not a time zone; use an IANA name such as Europe/London"
        ) from None
    columns = LogColumns(
        case=case,
        activity=activity,
        timestamp=timestamp,
        start_timestamp=start,
        resource=resource,
        timestamp_format=timestamp_format,
        tie_break=tie_break,
        sep=sep,
    )
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    ) as bar:
        task = bar.add_task(f"Reading {log.name}", total=None)
        event_log = read_log(
            log,
            columns,
            tz=zone,
            object_type=object_type,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    if lifecycle:
        event_log = pair_lifecycle(event_log, lifecycle)
    for note in event_log.notes:
        err.print(f"Note: {note}", markup=False)
    if engine != "embedded":
        from pilotline.settings import Settings

        with err.status(f"Handing the log to {engine}…"):
            miner = Miner.on(event_log, engine, database_url=Settings.from_env().database_url)
    else:
        miner = Miner(event_log)
    if pattern:
        miner = miner.where(filters.group_activities, pattern=pattern)
    if collapse:
        miner = miner.where(filters.collapse_repeats)
    if top is not None or coverage is not None:
        miner = miner.where(filters.top_variants, k=top, coverage=coverage)
    return miner


def _common(
    log: LogArg,
    case: CaseOpt = "case",
    activity: ActivityOpt = "activity",
    timestamp: TimestampOpt = "timestamp",
    start_timestamp: StartOpt = None,
    resource: ResourceOpt = None,
    sep: SepOpt = None,
    timestamp_format: FormatTsOpt = None,
    tz: TzOpt = "UTC",
    tie_break: TieOpt = None,
    top_variants: TopOpt = None,
    coverage: CoverageOpt = None,
    group_pattern: PatternOpt = None,
    collapse_repeats: CollapseOpt = False,
    lifecycle: LifecycleOpt = None,
    object_type: ObjectTypeOpt = None,
    engine: EngineOpt = "embedded",
) -> Miner:
    return _miner(
        log,
        case,
        activity,
        timestamp,
        start_timestamp,
        resource,
        sep,
        timestamp_format,
        tz,
        tie_break,
        top_variants,
        coverage,
        group_pattern,
        collapse_repeats,
        lifecycle,
        object_type,
        engine,
    )


def pm4py_extra_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("pm4py") is not None


def _json(value: Any) -> None:
    def default(o: Any) -> Any:
        if isinstance(o, dt.datetime):
            return o.isoformat()
        raise TypeError(type(o))

    sys.stdout.write(json.dumps(value, indent=2, default=default, ensure_ascii=False) + "\n")


def _table(rows: list[dict[str, Any]], columns: list[str], title: str, fmt: str) -> None:
    if fmt == "json":
        _json(rows)
        return
    if fmt == "csv":
        import csv

        writer = csv.DictWriter(
            sys.stdout, fieldnames=columns, extrasaction="ignore", lineterminator="\n"
        )
        writer.writeheader()
        for r in rows:  # names from someone else's export: never a live formula in a spreadsheet
            writer.writerow(
                {
                    k: spreadsheet_safe("; ".join(map(str, v)) if isinstance(v, list) else v)
                    for k, v in r.items()
                }
            )
        return
    if fmt != "table":
        raise InputError(f"unknown format {fmt!r}; use table, csv or json")
    table = Table(title=title)
    for c in columns:
        table.add_column(c.replace("_", " "))
    for r in rows:
        cells = []
        for c in columns:
            v = r.get(c)
            if isinstance(v, float) and c.endswith("_s"):
                cells.append(_human(v))
            elif isinstance(v, float):
                cells.append(
                    f"{v:.1%}"
                    if c in ("share", "coverage", "case_share", "rework_share")
                    else f"{v:,.2f}"
                )
            elif isinstance(v, list):
                cells.append(
                    " → ".join(map(str, v)) if c == "activities" else "; ".join(map(str, v))
                )
            elif isinstance(v, int):
                cells.append(f"{v:,}")
            else:
                cells.append("–" if v is None else str(v))
        table.add_row(*cells)
    out.print(table)


def _human(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if abs(seconds) >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} s"


# Each command takes the same log options; typer reads them from ``_common``'s signature.
def _command(fn: Any) -> Any:
    import functools
    import inspect

    common = inspect.signature(_common, eval_str=True).parameters
    own = [
        p for name, p in inspect.signature(fn, eval_str=True).parameters.items() if name != "miner"
    ]

    @functools.wraps(fn)
    def wrapper(**kwargs: Any) -> None:
        miner = _common(**{k: kwargs.pop(k) for k in list(kwargs) if k in common})
        fn(miner, **kwargs)

    params = [
        p if name == "log" else p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        for name, p in [*common.items(), *((p.name, p) for p in own)]
    ]
    wrapper.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {
        **{k: v for k, v in _common.__annotations__.items() if k != "return"},
        **{k: v for k, v in fn.__annotations__.items() if k != "miner"},
    }
    return wrapper


@map_app.command("summary")
@_command
def summary(miner: Miner, format_: FormatOpt = "table") -> None:
    """Events, cases, activities, variants, start and end activities, case durations, DFG."""
    s = miner.summary()
    if format_ == "json":
        _json(s)
        return
    out.print(
        f"{s['events']:,} events in {s['cases']:,} cases; {s['activities']} activities; "
        f"{s['variants']:,} variants. Case duration: mean {_human(s['case_duration_mean_s'])}, "
        f"median {_human(s['case_duration_median_s'])}."
    )
    _table(
        [{"activity": k, "cases": v} for k, v in s["start_activities"].items()],
        ["activity", "cases"],
        "Start activities",
        format_,
    )
    _table(
        [{"activity": k, "cases": v} for k, v in s["end_activities"].items()],
        ["activity", "cases"],
        "End activities",
        format_,
    )
    _table(
        s["dfg"][:25],
        ["source", "target", "count", "mean_s", "median_s"],
        "Most frequent steps",
        format_,
    )


@map_app.command("dfg")
@_command
def dfg(
    miner: Miner,
    svg: Annotated[
        Path | None,
        typer.Option(
            "--svg",
            help="Draw the process map into this SVG file.",
            callback=_writable("--svg", ".svg"),
        ),
    ] = None,
    metric: Annotated[
        str, typer.Option(help="Edge labels: frequency or time (see --statistic).")
    ] = "frequency",
    statistic: Annotated[
        str,
        typer.Option(help="Times on the map's edges: median, mean, max or total."),
    ] = "median",
    format_: FormatOpt = "table",
) -> None:
    """The directly-follows graph: how often each step follows another, and the time between."""
    if metric not in ("frequency", "time"):
        raise InputError("--metric must be frequency or time")
    if statistic not in ("median", "mean", "max", "total"):
        raise InputError(f"--statistic must be median, mean, max or total, not {statistic!r}")
    rows = miner.dfg()
    if svg is not None:
        s = miner.summary()
        acts = {a["activity"]: a["events"] for a in miner.activities()}
        drawn = dfg_dot(
            rows,
            acts,
            s["start_activities"],
            s["end_activities"],
            metric="time" if metric == "time" else "frequency",
            statistic=cast(Statistic, statistic),
        )
        _write(svg, "--svg", render_svg(drawn))
        err.print(f"Process map written to {svg}")
    _table(
        rows,
        ["source", "target", "count", "mean_s", "median_s", "max_s", "total_s"],
        "Directly-follows graph",
        format_,
    )


@map_app.command("variants")
@_command
def variants(
    miner: Miner,
    limit: Annotated[int, typer.Option(help="Show this many variants.")] = 20,
    format_: FormatOpt = "table",
) -> None:
    """Variants (the distinct paths cases take) with their counts and coverage."""
    rows = miner.variants()
    _table(
        rows[:limit] if format_ == "table" else rows,
        ["cases", "share", "coverage", "mean_duration_s", "activities"],
        "Variants",
        format_,
    )


@map_app.command("rework")
@_command
def rework(miner: Miner, format_: FormatOpt = "table") -> None:
    """Activities repeated within a case (rework) and self-loops; the loop-back steps."""
    rows = [r for r in miner.activities() if r["rework_cases"]]
    _table(
        rows,
        ["activity", "events", "cases", "rework_cases"],
        "Rework: activities repeated in a case",
        format_,
    )
    if format_ == "table":
        _table(
            miner.loopbacks()[:20],
            ["source", "target", "count"],
            "Steps that loop back to an earlier activity",
            format_,
        )


@map_app.command("bottlenecks")
@_command
def bottlenecks(
    miner: Miner,
    top: Annotated[int, typer.Option(help="How many steps.")] = 10,
    format_: FormatOpt = "table",
) -> None:
    """The steps where most time accumulates between one activity and the next."""
    _table(
        miner.bottlenecks(top),
        ["source", "target", "count", "total_s", "mean_s", "median_s"],
        "Where time accumulates",
        format_,
    )


@map_app.command("discover")
@_command
def discover(
    miner: Miner,
    pnml: Annotated[
        Path,
        typer.Option(
            "--pnml",
            help="Write the discovered Petri net here.",
            callback=_writable("--pnml", ".pnml"),
        ),
    ],
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds before pm4py is stopped.")
    ] = 120.0,
) -> None:
    """Discover a Petri net with pm4py's inductive miner (needs the pm4py extra)."""
    from pilotline.map import pm4py_extra

    result = pm4py_extra.discover(miner.log, pnml=pnml, time_limit_s=time_limit)
    out.print(
        f"Petri net with {result['places']} places and {result['transitions']} transitions written to "
        f"{pnml}; alignment fitness on this log {result['fitness'].get('log_fitness', 0):.3f}."
    )


@map_app.command("times")
@_command
def times(miner: Miner, format_: FormatOpt = "table") -> None:
    """Processing time and waiting time per activity (needs --start-timestamp or --lifecycle)."""
    _table(
        miner.processing_and_waiting(),
        ["activity", "instances", "processing_median_s", "waiting_median_s", "waiting_total_s"],
        "Processing and waiting, most waiting first",
        format_,
    )


@map_app.command("resources")
@_command
def resources(miner: Miner, format_: FormatOpt = "table") -> None:
    """Workload per resource and the most frequent hand-overs between resources."""
    _table(miner.resources(), ["resource", "events", "cases", "activities"], "Workload", format_)
    if format_ == "table":
        _table(miner.handovers()[:20], ["source", "target", "count"], "Hand-overs", format_)


@map_app.command("automation")
@_command
def automation(miner: Miner, format_: FormatOpt = "table") -> None:
    """Per activity: is it ready to automate, or should the process be stabilised first?"""
    _table(
        miner.automation(),
        ["activity", "score", "verdict", "events", "case_share", "rework_share", "reasons"],
        "Automation readiness",
        format_,
    )


@map_app.command("conform")
@_command
def conform(
    miner: Miner,
    model: Annotated[
        Path,
        typer.Option(
            "--model", help="Routing model (TOML): start, end, transitions, required, accepted."
        ),
    ],
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds before the check is stopped.")
    ] = 60.0,
    method: Annotated[
        str,
        typer.Option(
            help="For a Petri net: replay (token-based, built in, state-machine nets), align "
            "(alignments, needs the pm4py extra) or auto (replay when the net allows it)."
        ),
    ] = "auto",
    format_: FormatOpt = "table",
) -> None:
    """Fitness per case and deviations by kind against the intended routing (TOML); token-based
    replay on a state-machine Petri net (.pnml, built in); or alignment fitness against any Petri
    net or BPMN model (.bpmn) with the pm4py extra."""
    if method not in ("auto", "replay", "align"):
        raise InputError("--method must be auto, replay or align")
    if model.suffix.lower() == ".pnml" and method != "align":
        try:
            net = read_pnml(model)
        except InputError:
            if method == "replay" or not pm4py_extra_installed():
                raise
            net = None
        if net is not None:
            replayed = miner.replay(net, time_limit_s=time_limit)
            if format_ == "json":
                _json(replayed)
                return
            if format_ == "csv":
                _table(
                    replayed["per_case"],
                    ["case", "missing", "consumed", "remaining", "produced", "fitness"],
                    "",
                    "csv",
                )
                return
            out.print(
                f"{replayed['fitting_cases']:,} of {replayed['cases']:,} cases fit the net "
                f"({replayed['fitting_share']:.1%} with no missing token); log fitness "
                f"{replayed['log_fitness']:.3f}, mean case fitness {replayed['mean_fitness']:.3f} "
                "(token-based replay)."
            )
            return
    if model.suffix.lower() in (".pnml", ".bpmn"):
        from pilotline.map import pm4py_extra

        aligned = pm4py_extra.align(miner.log, model, time_limit_s=time_limit)
        if format_ == "json":
            _json(aligned)
            return
        out.print(
            f"{aligned['fitting_cases']:,} of {aligned['cases']:,} cases fit the model; mean alignment "
            f"fitness {aligned['mean_fitness']:.3f} (pm4py)."
        )
        return
    result = miner.conform(load_routing(model), time_limit_s=time_limit)
    if format_ == "json":
        _json(result)
        return
    if format_ == "csv":
        _table(
            result["per_case"], ["case", "events", "deviations", "fitness", "impact_s"], "", "csv"
        )
        return
    out.print(
        f"{result['fitting_cases']:,} of {result['cases']:,} cases follow the routing "
        f"({result['fitting_share']:.1%}); mean fitness {result['mean_fitness']:.3f}."
    )
    _table(
        [{"kind": k, **v} for k, v in result["by_kind"].items()],
        ["kind", "deviations", "cases", "impact_s"],
        "Deviations by kind",
        format_,
    )
    _table(
        result["top_deviations"],
        ["kind", "after", "activity", "deviations", "impact_s"],
        "Most frequent deviations",
        format_,
    )
