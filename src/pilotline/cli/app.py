"""The ``pilotline`` command line."""

from __future__ import annotations

import csv
import datetime as dt
import gc
import getpass
import io
import json
import logging
import os
import shutil
import signal
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from pilotline import clock
from pilotline.cells import spreadsheet_safe
from pilotline.cli.assess import assess_app
from pilotline.cli.connect import collect, connect_app, sim_app
from pilotline.cli.map import map_app
from pilotline.cli.pilot import pilot_app
from pilotline.cli.share import share_app
from pilotline.cli.users import user_app
from pilotline.errors import InputError, PilotlineError
from pilotline.ingest import SCHEMAS, ImportOptions, import_file, import_table
from pilotline.measure import Measure, parse_by, waterfall
from pilotline.plant import Plant, example_plant_text, load_plant
from pilotline.plant.model import parse_plant
from pilotline.report import find_shift, last_completed_shift, render_shift_report
from pilotline.settings import Settings
from pilotline.sim import demo_plant_text, simulate
from pilotline.sim.feed import feed_forever, simulate_ahead, store_until
from pilotline.store import EmbeddedStore, SparkLake, Store, audit, open_store

app = typer.Typer(
    name="pilotline",
    help="Pilotline: measure where your plant loses time, one small step at a time.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
report_app = typer.Typer(
    help="Reports for people: self-contained HTML with plots.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(report_app, name="report")
app.add_typer(map_app, name="map")
app.add_typer(pilot_app, name="pilot")
app.add_typer(connect_app, name="connect")
app.command("collect")(collect)
app.add_typer(sim_app, name="sim")
app.add_typer(user_app, name="user")
app.add_typer(assess_app, name="assess")
app.add_typer(share_app, name="share")
app.add_typer(__import__("pilotline.cli.ai", fromlist=["ai_app"]).ai_app, name="ai")
app.add_typer(__import__("pilotline.cli.hub", fromlist=["hub_app"]).hub_app, name="hub")

out = Console(soft_wrap=True)  # notes whole; tables still fit the terminal
err = Console(stderr=True, soft_wrap=True)  # messages whole, never wrapped or cut

PLANT_FILE = "plant.toml"


class Home:
    """The data directory: plant.toml, the store and reports."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.path = settings.home
        self.store = open_store(
            self.path, database_url=settings.database_url, lock_timeout_s=settings.lock_timeout_s
        )

    def embedded(self, what: str, instead: str) -> EmbeddedStore:
        """The embedded store, or a clear refusal naming what to do on PostgreSQL instead."""
        if isinstance(self.store, EmbeddedStore):
            return self.store
        raise InputError(
            f"{what} works on the embedded store; this installation keeps its data in PostgreSQL "
            f"({self.store.where}). {instead}"
        )

    @property
    def plant_file(self) -> Path:
        return self.path / PLANT_FILE

    def plant(self) -> Plant:
        return load_plant(self.plant_file)


_state: dict[str, Home] = {}


def home() -> Home:
    return _state["home"]


@app.callback()
def _root(
    home_dir: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Data directory (default: $PILOTLINE_HOME, else ~/.local/share/pilotline).",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log what happens.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    _state["home"] = Home(Settings.from_env(home=home_dir))


# -- helpers -----------------------------------------------------------------------------------------
def _when(text: str | None, plant: Plant, default: dt.datetime) -> dt.datetime:
    if not text:
        return default
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"cannot read {text!r} as a date or time; expected e.g. 2026-03-02 or 2026-03-02T06:00"
        ) from None
    if not dt.date(1970, 1, 2) <= value.date() <= dt.date(9999, 12, 30):
        raise InputError(f"{text!r} is outside the dates Pilotline works with (1970 onwards)")
    return value.replace(tzinfo=plant.tz) if value.tzinfo is None else value


def _os_user() -> str:
    """Who runs the command, as the operating system knows them (for the audit trail)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container user without a name
        return f"uid {os.getuid()}"


def _window(plant: Plant, start: str | None, end: str | None) -> tuple[dt.datetime, dt.datetime]:
    now = clock.now().astimezone(plant.tz)
    to = _when(end, plant, now)
    frm = _when(start, plant, to - dt.timedelta(days=7))
    if frm >= to:
        raise InputError(
            f"the period starts ({frm:%Y-%m-%d %H:%M}) after it ends ({to:%Y-%m-%d %H:%M})"
        )
    return frm.astimezone(dt.UTC), to.astimezone(dt.UTC)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


FORMATS = ("table", "csv", "json")
TABLE_COLUMNS = (
    "availability",
    "performance",
    "quality",
    "oee",
    "planned_s",
    "run_s",
    "total_count",
    "good_count",
    "reject_count",
)


def _emit(rows: list[dict[str, Any]], fmt: str, columns: list[str], title: str, tz: Any) -> None:
    if fmt == "json":
        sys.stdout.write(
            json.dumps([{k: _jsonable(v) for k, v in r.items()} for r in rows], indent=2) + "\n"
        )
    elif fmt == "csv":
        buf = io.StringIO()
        keys = list(rows[0]) if rows else columns
        writer = csv.DictWriter(buf, fieldnames=keys, lineterminator="\n")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: spreadsheet_safe(_jsonable(v)) for k, v in r.items()})
        sys.stdout.write(buf.getvalue())
    else:
        table = Table(title=title)
        for c in columns:
            table.add_column(
                c.replace("_", " "),
                justify="left"
                if c in ("machine", "line", "site", "period", "reason", "category", "step", "shift")
                else "right",
            )
        for r in rows:
            cells = []
            for c in columns:
                v = r.get(c)
                if c == "period":
                    v = f"{r['period_start'].astimezone(tz):%a %d %b %H:%M} – {r['period_end'].astimezone(tz):%H:%M}"
                if isinstance(v, float) and c.endswith("_s"):
                    cells.append(f"{v / 60:,.0f} min")
                elif isinstance(v, float):
                    cells.append(
                        f"{v * 100:.1f} %"
                        + (" ⚑" if c == "performance" and r.get("performance_flag") else "")
                    )
                elif isinstance(v, int):
                    cells.append(f"{v:,}")
                else:
                    cells.append("–" if v is None else str(v))
            table.add_row(*cells)
        out.print(table)
        if any(r.get("performance_flag") for r in rows):
            out.print(
                "⚑ performance above 100 %: the ideal cycle time in plant.toml is probably too slow."
            )


def _check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    return fmt


# Options shared by the query commands.
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="Start (ISO date or time; plant time unless an offset is given). Default: 7 days before --to.",
    ),
]
ToOption = Annotated[str | None, typer.Option(help="End (exclusive). Default: now.")]
MachineOption = Annotated[list[str] | None, typer.Option(help="Only these machines. Repeatable.")]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]
EngineOption = Annotated[
    str,
    typer.Option(
        help="store: the data directory's store (embedded, or PostgreSQL when "
        "PILOTLINE_DATABASE_URL is set); spark: Spark over a Parquet lake (--lake).",
    ),
]
LakeOption = Annotated[
    Path | None,
    typer.Option(
        help="A Parquet lake written by 'pilotline export --parquet' (for --engine spark)."
    ),
]


def _engine_store(h: Home, engine: str, lake: Path | None) -> Store:
    """The store an analysis reads: the configured one, or Spark over a lake."""
    if engine == "store":
        if lake is not None:
            raise InputError("--lake is read by --engine spark; add --engine spark")
        return h.store
    if engine != "spark":
        raise InputError(f"--engine {engine!r} is not known; use store or spark")
    if lake is None:
        raise InputError(
            "--engine spark reads a Parquet lake: add --lake DIR (write one with "
            "'pilotline export --parquet DIR')"
        )
    return SparkLake(lake, h.path, lock_timeout_s=h.settings.lock_timeout_s)


# -- commands ------------------------------------------------------------------------------------------
@app.command()
def init(
    force: Annotated[bool, typer.Option(help="Overwrite an existing plant.toml.")] = False,
) -> None:
    """Write a commented example plant model (plant.toml) into the data directory."""
    h = home()
    if h.plant_file.exists() and not force:
        raise InputError(f"{h.plant_file} already exists; edit it, or pass --force to replace it")
    h.path.mkdir(parents=True, exist_ok=True)
    h.plant_file.write_text(example_plant_text(), encoding="utf-8")
    out.print(
        f"Wrote {h.plant_file}. Edit it to describe your plant, then run 'pilotline import FILE'."
    )


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="CSV, Excel (.xlsx) or Parquet files.")],
    kind: Annotated[
        str | None,
        typer.Option(
            help=f"What the file holds: {', '.join(SCHEMAS)} (guessed from the columns if not given)."
        ),
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="Rename a column: 'YOUR HEADER=column'. Repeatable."),
    ] = None,
    timestamp_format: Annotated[
        str | None, typer.Option(help="strftime format of the timestamps, e.g. '%d/%m/%Y %H:%M'.")
    ] = None,
    counter_bits: Annotated[
        int | None,
        typer.Option(help="Width of raw PLC counters (16 or 32) so wraps are recognised."),
    ] = None,
    ignore_extra: Annotated[
        bool, typer.Option(help="Ignore columns Pilotline does not know.")
    ] = False,
) -> None:
    """Import machine data files. Each file is checked completely and stored all or nothing."""
    h = home()
    plant = h.plant()
    mapping: dict[str, str] = {}
    for item in map_ or []:
        if "=" not in item:
            raise InputError(f"--map {item!r}: expected 'YOUR HEADER=column'")
        src, dst = item.rsplit("=", 1)
        mapping[src] = dst
    if counter_bits not in (None, 16, 32, 64):
        raise InputError("--counter-bits must be 16, 32 or 64")
    options = ImportOptions(
        kind=kind,
        mapping=mapping,
        timestamp_format=timestamp_format,
        counter_bits=counter_bits,
        ignore_extra=ignore_extra,
    )
    for path in files:
        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        ) as bar:
            task = bar.add_task(f"Reading {path.name}", total=None)
            summary = import_file(
                h.store,
                plant,
                path,
                options=options,
                progress=lambda done, total, bar=bar, task=task: bar.update(  # type: ignore[misc]
                    task, completed=done, total=total
                ),
            )
        with h.store.session(write=True) as session:  # who brought which file, and when
            audit.record(
                session,
                f"cli:{_os_user()}",
                "import",
                None,
                file=summary.file,
                kind=summary.kind,
                rows=summary.rows,
                new_rows=summary.new_rows,
            )
        skipped = f", {summary.skipped:,} already stored" if summary.skipped else ""
        out.print(
            f"{path.name}: {summary.rows:,} {summary.kind} row(s), {summary.new_rows:,} new{skipped}."
        )
        for note in summary.notes:
            out.print(f"  {note}", markup=False)


@app.command()
def backup(
    file: Annotated[Path, typer.Argument(help="A new file for the copy of the store.")],
) -> None:
    """Copy the store into FILE, consistent as of one moment (a running server only waits)."""
    store = home().embedded(
        "pilotline backup", "Back PostgreSQL up with its own tools: pg_dump -Fc -f FILE DATABASE."
    )
    version = store.backup(file)
    out.print(f"Backed up the store (schema {version}) to {file}.")


@app.command()
def restore(
    file: Annotated[Path, typer.Argument(help="A backup made by 'pilotline backup'.")],
) -> None:
    """Replace the store with a backup; the current store is kept beside it."""
    store = home().embedded(
        "pilotline restore", "Restore PostgreSQL with its own tools: pg_restore -d DATABASE FILE."
    )
    kept = store.restore(file)
    out.print(f"Restored {file}. The store it replaced is kept as {kept}.")


@app.command("copy-store")
def copy_store_command(
    to: Annotated[
        str,
        typer.Option(
            "--to", help="An empty PostgreSQL database: postgresql://user:password@host/db."
        ),
    ],
) -> None:
    """Copy the data directory's embedded store into an empty PostgreSQL database (machine \
data, imports, pilots, users and tokens), all or nothing; then set PILOTLINE_DATABASE_URL."""
    from pilotline.store.copy import copy_store

    h = home()
    source = EmbeddedStore(h.path, lock_timeout_s=h.settings.lock_timeout_s)
    if not source.path.exists():
        raise InputError(f"{h.path} has no embedded store ({source.path}) to copy")
    target = open_store(h.path, database_url=to, lock_timeout_s=h.settings.lock_timeout_s)
    with err.status(f"Copying {source.path} to {target.where}…"):
        copied = copy_store(source, target)
    for name, n in copied.items():
        if n:
            out.print(f"  {name}: {n:,} rows")
    out.print(
        f"Copied {sum(copied.values()):,} rows to {target.where}. To use it, set "
        "PILOTLINE_DATABASE_URL to that URL; the embedded store is left as it was."
    )


@app.command()
def prune(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be deleted.")
    ] = False,
) -> None:
    """Delete data older than the retention settings keep (PILOTLINE_KEEP_VALUES_DAYS, \
PILOTLINE_KEEP_MACHINE_DATA_DAYS); running collectors do this once a day."""
    from pilotline.store.retention import prune as prune_store

    h = home()
    keep = h.settings.retention()
    if not keep:
        out.print("Nothing to prune: the retention settings keep everything.")
        return
    done = prune_store(h.store, keep, now=clock.now(), dry_run=dry_run)
    verb = "would delete" if dry_run else "deleted"
    tz = h.plant().tz if h.plant_file.exists() else dt.UTC
    for p in done:
        out.print(
            f"{p.table}: {verb} {p.rows:,} row(s) from before "
            f"{p.before.astimezone(tz):%Y-%m-%d %H:%M} (kept {keep[p.table]:g} days)"
        )


@app.command()
def export(
    parquet: Annotated[
        Path,
        typer.Option(
            "--parquet",
            help="A new folder for the Parquet lake (partitioned by machine and month).",
        ),
    ],
) -> None:
    """Export the store as a Parquet lake for Spark or other tools (users and tokens stay behind)."""
    h = home()
    plant_text = h.plant_file.read_text(encoding="utf-8") if h.plant_file.exists() else None
    store = h.embedded(
        "pilotline export", "Unset PILOTLINE_DATABASE_URL to export an embedded store."
    )
    manifest = store.export_parquet(parquet, plant_text=plant_text)
    total = sum(t["rows"] for t in manifest["tables"].values())
    out.print(f"Wrote {total:,} rows in {len(manifest['tables'])} tables to {parquet}.")
    for name, t in manifest["tables"].items():
        if t["rows"]:
            out.print(f"  {name}: {t['rows']:,} rows")


@app.command()
def oee(
    by: Annotated[
        str,
        typer.Option(
            help="Group by machine, line, site, product or work_order and a period: shift, day, week, month or all. E.g. 'machine,shift'."
        ),
    ] = "machine,day",
    from_: FromOption = None,
    to: ToOption = None,
    machine: MachineOption = None,
    format_: FormatOption = "table",
    engine: EngineOption = "store",
    lake: LakeOption = None,
) -> None:
    """OEE, its factors and the ISO 22400 KPIs for shifts starting in a period."""
    _check_format(format_)
    h = home()
    plant = h.plant()
    start, end = _window(plant, from_, to)
    rows = Measure(_engine_store(h, engine, lake), plant).oee(
        start=start, end=end, by=by, machines=machine
    )
    dims, grain = parse_by(by)
    cols = [*dims, *(["shift"] if grain == "shift" else []), "period", *TABLE_COLUMNS]
    _emit(rows, format_, cols, f"OEE by {by}", plant.tz)
    outside = sum(r["outside_planned_count"] for r in rows)
    if outside and format_ == "table":
        out.print(
            f"{outside:,} part(s) counted outside planned time (breaks, between shifts): not in OEE; see outside_planned_count in --format json"
        )


@app.command()
def losses(
    from_: FromOption = None,
    to: ToOption = None,
    machine: MachineOption = None,
    format_: FormatOption = "table",
    engine: EngineOption = "store",
    lake: LakeOption = None,
) -> None:
    """The loss waterfall (calendar time to fully productive time) and the downtime Pareto."""
    _check_format(format_)
    h = home()
    plant = h.plant()
    start, end = _window(plant, from_, to)
    m = Measure(_engine_store(h, engine, lake), plant)
    total = m.oee(start=start, end=end, by="site", machines=machine)
    steps: list[dict[str, Any]] = [
        {"step": label, "minutes": round(s / 60, 2), "kind": kind}
        for label, s, kind in (waterfall(total[0]) if total else [])
    ]
    pareto = m.pareto(start=start, end=end, machines=machine)
    if format_ == "json":
        sys.stdout.write(json.dumps({"waterfall": steps, "pareto": pareto}, indent=2) + "\n")
        return
    if format_ == "csv":
        _emit(
            [{**r, "lost_min": round(r["lost_s"] / 60, 2)} for r in pareto], "csv", [], "", plant.tz
        )
        return
    table = Table(title="Where the time went")
    table.add_column("step")
    table.add_column("minutes", justify="right")
    for s in steps:
        table.add_row(
            ("  − " if s["kind"] == "loss" else "") + s["step"], f"{abs(s['minutes']):,.0f}"
        )
    out.print(table)
    _emit(
        pareto,
        "table",
        ["reason", "category", "lost_s", "stops", "cumulative_share"],
        "Downtime by reason",
        plant.tz,
    )


@report_app.command("shift")
def report_shift(
    shift: Annotated[
        str | None,
        typer.Option(
            "--shift",
            help="One shift by production date and name, like '2026-03-04 Early'. "
            "Default: the last completed shift (or the days given with --from/--to).",
        ),
    ] = None,
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Start (plant time): the shifts of whole days from here."),
    ] = None,
    to: Annotated[str | None, typer.Option(help="End (exclusive).")] = None,
    output: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the HTML (default: HOME/reports/…)."),
    ] = None,
) -> None:
    """Write a self-contained HTML shift report: KPIs, loss waterfall, Pareto, state timeline.

    The same report as the web app's: one shift (default the last completed one, in the plant's
    time zone), or the shifts of whole days with --from/--to."""
    h = home()
    plant = h.plant()
    if shift is not None and (from_ is not None or to is not None):
        raise InputError("give either --shift or --from/--to, not both")
    if from_ is not None or to is not None:
        start, end = _window(plant, from_, to)
        title = "Shift report"
    else:
        choice = find_shift(plant, shift) if shift else last_completed_shift(plant)
        if choice is None:
            raise InputError(
                "no shift has ended in the last 62 days by the plant's calendars; "
                "give the days with --from/--to"
            )
        start, end = choice.start, choice.end
        title = f"Shift report: {choice.label(plant)}"
    path = _write_report(h, plant, start, end, output, title=title)
    out.print(f"Report written to {path}")


def _write_report(
    h: Home,
    plant: Plant,
    start: dt.datetime,
    end: dt.datetime,
    output: Path | None,
    title: str = "Shift report",
) -> Path:
    page = render_shift_report(Measure(h.store, plant), start=start, end=end, title=title)
    path = output or h.path / "reports" / f"shift-{start.astimezone(plant.tz):%Y%m%d-%H%M}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path


@app.command()
def demo(
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Only simulate and write the report, then exit.")
    ] = False,
    days: Annotated[int, typer.Option(min=1, max=366, help="Days of history to simulate.")] = 14,
    machines: Annotated[int, typer.Option(min=1, max=500, help="Machines in the demo plant.")] = 6,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same plant.")] = 1,
    force: Annotated[
        bool, typer.Option(help="Replace an existing store and plant.toml in the data directory.")
    ] = False,
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 8000,
) -> None:
    """Simulate a plant, write its report, then run it live in the web app (unless --no-serve)."""
    h = home()
    store = h.embedded("The demo", "Unset PILOTLINE_DATABASE_URL to run it.")
    if (store.path.exists() or h.plant_file.exists()) and not force:
        raise InputError(
            f"{h.path} already holds a plant; use an empty --home, or --force to replace it"
        )
    if force:
        for p in (store.path, store.path.with_suffix(".duckdb.wal"), h.plant_file):
            p.unlink(missing_ok=True)
        shutil.rmtree(h.path / "reports", ignore_errors=True)
    h.path.mkdir(parents=True, exist_ok=True)
    h.plant_file.write_text(demo_plant_text(machines=machines), encoding="utf-8")
    plant = parse_plant(h.plant_file.read_text(encoding="utf-8"))
    tz = plant.tz
    today = clock.now().astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today.astimezone(dt.UTC)
    start = (today - dt.timedelta(days=days)).astimezone(dt.UTC)
    now = clock.now()
    with err.status(f"Simulating {machines} machines over {days} days…"):
        if no_serve:
            sim = simulate(plant, start=start, end=end, seed=seed)
            import_table(h.store, plant, sim.states, kind="states", source="simulator states")
            import_table(h.store, plant, sim.counts, kind="counts", source="simulator counts")
        else:  # up to this moment; the live feed takes it on from here
            store_until(
                h.store, plant, simulate_ahead(plant, start=start, now=now, seed=seed), None, now
            )
    week = Measure(h.store, plant).oee(start=end - dt.timedelta(days=7), end=end, by="site")
    path = _write_report(
        h, plant, (today - dt.timedelta(days=7)).astimezone(dt.UTC), end, None, title="Last 7 days"
    )
    out.print(f"Simulated {machines} machines over {days} days into {h.path}.")
    if week and week[0]["oee"] is not None:
        w = week[0]
        out.print(
            f"Last 7 days: OEE {w['oee'] * 100:.1f} % (availability {w['availability'] * 100:.1f} %, "
            f"performance {w['performance'] * 100:.1f} %, quality {w['quality'] * 100:.1f} %)."
        )
    out.print(f"Report: {path}")
    out.print(
        f"Next: pilotline --home {h.path} losses   |   pilotline --home {h.path} oee --by machine,shift"
    )
    if not no_serve:
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        feeder = ctx.Process(
            target=feed_forever, args=(str(h.path), start.isoformat(), seed), daemon=True
        )
        feeder.start()
        try:
            _serve(h, host="127.0.0.1", port=port, https=False)
        finally:
            feeder.terminate()


@app.command()
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (0.0.0.0: every network).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    https: Annotated[
        bool, typer.Option(help="Mark session cookies Secure (when a proxy serves HTTPS).")
    ] = False,
) -> None:
    """Run the web app: plant overview and REST API (OpenAPI at /openapi.json)."""
    _serve(home(), host=host, port=port, https=https)


#: How often the server fills the caches of pages nobody opened yet (see ``Web.warm``).
WARM_EVERY_S = 300.0


def keep_warm(web: Any) -> None:
    """Prepare the slow pages (pilots' evaluations) in the background: at start, then every
    :data:`WARM_EVERY_S` (a new day or a changed pilot gives a new cache key)."""
    import threading
    import time

    def loop() -> None:
        while True:
            web.warm()
            time.sleep(WARM_EVERY_S)

    threading.Thread(target=loop, name="pilotline-warm", daemon=True).start()


def _serve(h: Home, *, host: str, port: int, https: bool) -> None:
    import uvicorn

    from pilotline.web import Users, create_app

    h.plant()  # a clear message now rather than on the first page
    password = Users(h.store).create_first_admin()
    web = create_app(
        h.path,
        lock_timeout_s=h.settings.lock_timeout_s,
        https=https,
        max_upload_mb=h.settings.max_upload_mb,
        language=h.settings.language,
        database_url=h.settings.database_url,
    )
    out.print(f"Pilotline at http://{host}:{port}/  (Ctrl-C stops it)")
    if password:
        out.print(
            f"First run: log in as [bold]admin[/] with the password [bold]{password}[/] "
            "(shown once; write it down).",
            highlight=False,
        )
    keep_warm(web.state.web)
    # uvicorn stops on SIGTERM (systemctl stop, docker stop) as on Ctrl-C, then raises the signal
    # again: handled here, it ends the process by SystemExit, so what runs at exit runs then too
    # (the record of partner reads is written, signed and its journal removed).
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    # proxy_headers=False: a client cannot pick its own address with X-Forwarded-For (the login
    # throttle counts per address); put a reverse proxy in front for TLS and let it log clients.
    uvicorn.run(web, host=host, port=port, log_level="warning", proxy_headers=False)


def _exit_on_sigterm(_signum: int, _frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    """Entry point: run the CLI and turn Pilotline errors into a message and exit status 1."""
    gc.freeze()  # what the imports made lives until exit: spare it the garbage collector's walks
    try:
        status = app(standalone_mode=False)
        if status == 130:  # Typer's answer to Ctrl-C: say so, and that nothing half-done stays
            err.print("Aborted (Ctrl-C). What was under way was not kept; run it again to finish.")
        if isinstance(status, int) and status:
            sys.exit(status)  # a command that ended with typer.Exit(code)
    except PilotlineError as exc:
        err.print(f"[bold red]Error:[/] {escape(str(exc))}", highlight=False, markup=True)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt) as exc:
        if isinstance(exc.__cause__ or exc.__context__, EOFError):
            # Click turns an EOFError into "Aborted." as if Ctrl-C was pressed: it was not.
            cause = exc.__cause__ or exc.__context__
            err.print(
                f"[bold red]Error:[/] the input ended before it was complete ({escape(str(cause))}); "
                "is the file cut off? Nothing was imported.",
                highlight=False,
            )
            sys.exit(1)
        err.print("Aborted.")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except Exception as exc:
        # Usage errors from the command-line parser know how to show themselves.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "InterruptException" or (
            isinstance(exc, RuntimeError) and "interrupted" in str(exc).lower()
        ):  # Ctrl-C inside a DuckDB query
            err.print("Aborted (Ctrl-C). What was under way was not kept; run it again to finish.")
            sys.exit(130)
        if isinstance(exc, OSError) and exc.filename is not None:
            # A folder where a file should be, no permission, a full disk: say which path.
            err.print(
                f"[bold red]Error:[/] cannot use {escape(str(exc.filename))}: "
                f"{escape(str(exc.strerror or exc))}.",
                highlight=False,
            )
            sys.exit(1)
        if isinstance(exc, EOFError):
            err.print(
                f"[bold red]Error:[/] a file ended early ({escape(str(exc))}); is it cut off?"
            )
            sys.exit(1)
        if os.environ.get("PILOTLINE_DEBUG"):
            raise
        # No traceback for people: what happened, and how to get the details for a report.
        err.print(
            f"[bold red]Error:[/] something unexpected went wrong ({type(exc).__name__}: "
            f"{escape(str(exc)[:500])}). Nothing was half-done in the store. This is a fault in "
            "Pilotline: run the command again with PILOTLINE_DEBUG=1 to see where, and report it.",
            highlight=False,
        )
        sys.exit(2)
