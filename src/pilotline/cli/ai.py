"""``pilotline ai …``: back-test detectors against baselines, train models as records, run them in
shadow mode, judge the shadow period, and draft a pilot — each step small and honest."""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pilotline.ai import records, shadow
from pilotline.ai.backtest import Backtest, Costs, Scores, backtest
from pilotline.ai.data import read_recordings, split_row
from pilotline.ai.detectors import DEFAULT, DETECTORS, build
from pilotline.ai.quality import plain_importance, predict_quality
from pilotline.errors import InputError, PilotlineError

ai_app = typer.Typer(
    help="AI as a small experiment: alarms that must beat a simple baseline before they go live.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
SepOpt = Annotated[str, typer.Option("--sep", help="The CSV files' separator.")]
TimeColOpt = Annotated[str, typer.Option("--time-column", help="The column with the time.")]
LabelOpt = Annotated[
    str, typer.Option("--label-column", help="The 0/1 column: 1 where something was wrong.")
]
DetectorOpt = Annotated[str, typer.Option("--detector", help=f"One of: {', '.join(DETECTORS)}.")]
CostFaOpt = Annotated[
    float | None, typer.Option("--cost-false-alarm", help="What one false alarm costs.")
]
CostMissOpt = Annotated[
    float | None, typer.Option("--cost-missed", help="What one event without warning costs.")
]


def _json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def _store() -> Any:
    from pilotline.cli.app import home

    store = home().store
    records.ensure_tables(store)
    return store


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise InputError(f"--format {fmt!r}: choose table or json")


def _seconds(text: str) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h)?\s*", text)
    if not m:
        raise InputError(f"--nab-window {text!r}: expected a duration such as 60s, 5min or 1h")
    return float(m.group(1)) * {"min": 60, "m": 60, "h": 3600}.get(m.group(2) or "s", 1)


def _moment(text: str, option: str) -> dt.datetime:
    try:
        t = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{option} {text!r}: expected a time such as 2026-03-01T06:00 (UTC unless it says)"
        ) from None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t


def _pl() -> str:
    """The command to type next, with this data directory (as ``pilotline demo`` prints it)."""
    from pilotline.cli.app import home

    return f"pilotline --home {home().path}"


def _naive_utc(t: dt.datetime) -> dt.datetime:
    """``t`` as the store keeps times: naive UTC."""
    return t.astimezone(dt.UTC).replace(tzinfo=None)


def _costs(fa: float | None, miss: float | None) -> Costs | None:
    if (fa is None) != (miss is None):
        raise InputError("give both --cost-false-alarm and --cost-missed, or neither")
    return None if fa is None or miss is None else Costs(fa, miss)


def _row(s: Scores) -> list[str]:
    money = "—"
    if s.money is not None:
        money = f"{s.money.saving_per_month:,.0f} ({s.money.low:,.0f}…{s.money.high:,.0f})"
    return [
        s.detector,
        f"{s.f1:.3f}",
        f"{s.far:.1%}",
        f"{s.mar:.1%}",
        f"{s.nab['standard']:.1f}",
        f"{s.caught}/{s.events}",
        "—" if s.delay_median_s is None else f"{s.delay_median_s:.0f}",
        money,
    ]


def _show(b: Backtest) -> None:
    t = Table(title="Back-test in time order: train on the start of each file, score the rest")
    for head in ("detector", "F1", "FAR", "MAR", "NAB", "caught", "delay s", "saving/month (95 %)"):
        t.add_column(head, no_wrap=head == "detector")
    for s in (*b.baselines.values(), b.chosen):
        if s.detector in b.baselines and s is b.chosen:
            continue
        t.add_row(*_row(s))
    out.print(t)
    c = b.chosen
    out.print(
        f"NAB profiles of {c.detector}: standard {c.nab['standard']:.1f}, low false positives "
        f"{c.nab['low_fp']:.1f}, low false negatives {c.nab['low_fn']:.1f}; "
        f"{c.alarms_per_week:,.0f} alarms a week.",
        highlight=False,
    )
    out.print(f"[bold]Verdict:[/] {b.verdict}", highlight=False)
    for n in b.notes:
        out.print(f"Note: {n}", highlight=False)


@ai_app.command("detectors")
def detectors_cmd() -> None:
    """The detectors to choose from."""
    t = Table(title="Detectors")
    t.add_column("name")
    t.add_column("what it is")
    for e in DETECTORS.values():
        t.add_row(e.name + (" (default)" if e.name == DEFAULT else ""), e.summary)
    out.print(t)


@ai_app.command("backtest")
def backtest_cmd(
    data: Annotated[
        Path, typer.Argument(help="A CSV file, or a folder of them (scored together).")
    ],
    detector: DetectorOpt = DEFAULT,
    train_rows: Annotated[
        int | None, typer.Option("--train-rows", help="Rows at the start of each file to train on.")
    ] = None,
    train_until: Annotated[
        str | None, typer.Option("--train-until", help="Train on rows up to this time.")
    ] = None,
    label_column: LabelOpt = "anomaly",
    time_column: TimeColOpt = "datetime",
    sep: SepOpt = ";",
    nab_window: Annotated[
        str | None,
        typer.Option(
            "--nab-window", help="A fixed NAB window right of each changepoint, e.g. 60s."
        ),
    ] = None,
    cost_false_alarm: CostFaOpt = None,
    cost_missed: CostMissOpt = None,
    model_name: Annotated[
        str | None,
        typer.Option("--model", help="Judge a stored model as it is, on data after its training."),
    ] = None,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Also write the first files on a time axis (an HTML page)."),
    ] = None,
    fmt: FormatOpt = "table",
) -> None:
    """Back-test a detector beside the null detector and Hotelling T², in time order only."""
    _check_format(fmt)
    until = _moment(train_until, "--train-until") if train_until else None
    window = _seconds(nab_window) if nab_window else None
    costs = _costs(cost_false_alarm, cost_missed)
    ds = read_recordings(data, time_column=time_column, label_column=label_column, sep=sep)
    stored = None
    if model_name is not None:
        with _store().session() as s:
            m = records.load(s, model_name)
        records.check_signals(m, ds.signals)
        stored = (m.detector, m.train_end)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=fmt == "json" or not err.is_terminal,
    ) as bar:
        task = bar.add_task("back-testing", total=3)

        def step(name: str) -> None:
            bar.update(task, description=f"back-testing {name}", advance=1)

        b = backtest(
            ds,
            detector=detector,
            train_rows=train_rows,
            train_until=until,
            nab_window_s=window,
            costs=costs,
            progress=step,
            model=stored,
        )
    if fmt == "json":
        _json(b.to_json())
    else:
        _show(b)
    if plot is not None:
        from pilotline.ai.plot import backtest_html

        n = backtest_html(ds, b, plot)
        err.print(f"Wrote {plot} ({n} file(s) on a time axis).", highlight=False)


def _check_machine(machine: str) -> None:
    """A model trained on a file still watches a machine of the plant (its pilot measures that
    machine's availability): once there is a plant model, refuse a machine it does not know."""
    from pilotline.cli.app import home

    h = home()
    if not h.plant_file.exists():
        return
    plant = h.plant()
    known = [m.id for _, m in plant.machines]
    if machine not in known:
        raise InputError(
            f"--machine {machine!r} is not a machine of the plant; known: {', '.join(known)}"
        )


@ai_app.command("train")
def train_cmd(
    name: Annotated[str, typer.Argument(help="The model's name, e.g. pump-1.")],
    machine: Annotated[str, typer.Option("--machine", help="The machine whose values it watches.")],
    tag: Annotated[
        list[str] | None, typer.Option("--tag", help="A process value (tag); repeatable.")
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="Start of the normal window (stored values).")
    ] = None,
    until: Annotated[str | None, typer.Option("--until", help="End of the normal window.")] = None,
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Train on a labelled CSV file instead, back-tested first."),
    ] = None,
    train_rows: Annotated[int | None, typer.Option("--train-rows")] = None,
    detector: DetectorOpt = DEFAULT,
    sep: SepOpt = ";",
    fmt: FormatOpt = "table",
) -> None:
    """Train a model on a window of normal running and keep it as a record."""
    _check_format(fmt)
    store = _store()
    who = getpass.getuser()
    if data is not None:
        _check_machine(machine)
        ds = read_recordings(data, sep=sep)
        if len(ds.recordings) != 1:
            raise InputError("--data: train on one file (back-test a folder with ai backtest)")
        rec = ds.recordings[0]
        b = backtest(ds, detector=detector, train_rows=train_rows)
        k = split_row(rec, train_rows=train_rows, train_until=None)
        det = build(detector).fit(rec.values[:k])
        model = records.Model(
            name=records.check_name(name),
            machine=machine,
            detector=det,
            signals=ds.signals,
            train_start=rec.start(0),
            train_end=rec.start(k),
            train_rows=k,
            fingerprint=records.fingerprint(rec.seconds[:k], rec.values[:k], ds.signals),
            backtest=b.to_json(),
            trained_by=who,
        )
        records.save(store, model)
    else:
        if start is None or until is None:
            raise InputError("give the normal window with --from and --until (or a file: --data)")
        model = shadow.train_on_store(
            store,
            name=name,
            machine=machine,
            tags=tag or [],
            start=_moment(start, "--from"),
            end=_moment(until, "--until"),
            detector=detector,
            trained_by=who,
        )
    if fmt == "json":
        _json(model.card())
    else:
        out.print(
            f"Model {name!r} ({model.detector.name}) trained on {model.train_rows:,} rows of "
            f"{model.machine}; threshold {model.detector.threshold:.4g}. "
            f"Next: {_pl()} ai shadow {name}",
            highlight=False,
        )


@ai_app.command("card")
def card_cmd(
    name: Annotated[str, typer.Argument()],
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="table, json, or aas (the AI Model Nameplate submodel, IDTA 02060)."
        ),
    ] = "table",
) -> None:
    """A model's card: training window, data fingerprint, signals, parameters, back-test."""
    if fmt not in ("table", "json", "aas"):
        raise InputError(f"--format {fmt!r}: choose table, json or aas")
    with _store().session() as s:
        card = records.load(s, name).card()
    if fmt == "json":
        _json(card)
        return
    if fmt == "aas":
        from pilotline.ai.nameplate import nameplate

        _json(nameplate(card))
        return
    t = Table(title=f"Model card: {name}", show_header=False)
    bt = card.pop("backtest")
    for k, v in card.items():
        t.add_row(k.replace("_", " "), v if isinstance(v, str) else json.dumps(v, default=str))
    out.print(t)
    if "detector" in bt:
        for s in (*bt["baselines"].values(), bt):
            out.print(
                f"back-test {s['detector']}: F1 {s['f1']:.3f}, false alarms {s['far']:.1%}, "
                f"missed {s['mar']:.1%}, NAB {s['nab']['standard']:.1f}",
                highlight=False,
            )
        out.print(f"[bold]Verdict:[/] {bt['verdict']}", highlight=False)
    else:
        out.print(bt.get("note", "no back-test"), highlight=False)


@ai_app.command("status")
def status_cmd(fmt: FormatOpt = "table") -> None:
    """The stored models, their last shadow run and their alarms."""

    _check_format(fmt)
    with _store().session() as s:
        rows = s.arrow(
            "SELECT m.name, m.machine, m.detector, m.trained_at, "
            "(SELECT max(scored_until) FROM ai_shadow_runs r WHERE r.model = m.name) AS last_run, "
            "(SELECT count(*) FROM ai_alarms a WHERE a.model = m.name) AS alarms "
            "FROM ai_models m ORDER BY m.name"
        ).to_pylist()
    if fmt == "json":
        _json(rows)
        return
    if not rows:
        out.print("No AI models yet. Back-test first: pilotline ai backtest DATA")
        return
    t = Table(title="AI models")
    for c in ("name", "machine", "detector", "trained", "shadow until", "alarms"):
        t.add_column(c)
    for r in rows:
        t.add_row(
            r["name"],
            r["machine"],
            r["detector"],
            str(r["trained_at"]),
            str(r["last_run"] or "—"),
            str(r["alarms"]),
        )
    out.print(t)


@ai_app.command("shadow")
def shadow_cmd(
    name: Annotated[
        str | None, typer.Argument(help="A model; without one, every stored model runs.")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", help="Score up to this time (default now).")
    ] = None,
    every: Annotated[
        float | None,
        typer.Option(
            "--every",
            min=1,
            max=3600,
            help="Keep running: score what the collectors stored every this many seconds "
            "(Ctrl-C stops), beside the collectors.",
        ),
    ] = None,
    rounds: Annotated[
        int, typer.Option("--rounds", min=0, help="With --every: stop after this many (0: never).")
    ] = 0,
    fmt: FormatOpt = "table",
) -> None:
    """Score the values stored since the last run, once or --every few seconds.

    Alarms are recorded silently; once the model's pilot is on, they show on the floor."""
    from pilotline.cli.app import home

    _check_format(fmt)
    if rounds and every is None:
        raise InputError("--rounds counts the rounds of --every; give --every S too")
    store = home().store
    end = _moment(until, "--until") if until else None

    def models() -> list[str]:
        records.ensure_tables(store)  # in each round: the first may find the store busy
        if name is not None:
            return [name]
        with store.session() as s:
            names = [
                r["name"] for r in s.arrow("SELECT name FROM ai_models ORDER BY name").to_pylist()
            ]
        if not names:
            raise InputError("no AI models to run; train one with pilotline ai train")
        return names

    h = home()
    tz = h.plant().tz if h.plant_file.exists() else None  # the days a pilot shows alarms
    if every is None:
        _shadow_round(store, models(), end, tz, fmt, single=name is not None, lines=False)
        return
    done = 0
    try:
        while True:
            try:  # the models are read each round: the first round may find the store busy too
                _shadow_round(store, models(), end, tz, fmt, single=name is not None, lines=True)
            except PilotlineError as exc:  # a busy store, a model removed: say so, go on
                err.print(f"This round did not run: {exc}", highlight=False, soft_wrap=True)
            done += 1
            if rounds and done >= rounds:
                return
            time.sleep(every)
    except KeyboardInterrupt:
        err.print(f"Stopped after {done} round(s).")


def _shadow_round(
    store: Any,
    names: list[str],
    end: dt.datetime | None,
    tz: Any,
    fmt: str,
    *,
    single: bool,
    lines: bool,
) -> None:
    """One shadow run of each model; ``lines``: JSON as one line per round (a running log)."""
    done = []
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=fmt == "json" or not err.is_terminal or len(names) == 1,
    ) as bar:
        task = bar.add_task("shadow mode", total=len(names))
        for n in names:
            bar.update(task, description=f"shadow mode: {n}")
            done.append(shadow.run(store, n, until=end, tz=tz))
            bar.advance(task)
    if fmt == "json":
        value = done[0].to_json() if single else [r.to_json() for r in done]
        if lines:
            sys.stdout.write(json.dumps(value, default=str, ensure_ascii=False) + "\n")
            sys.stdout.flush()
        else:
            _json(value)
        return
    for r in done:
        out.print(
            f"Scored {r.rows:,} seconds of {r.model} ({r.scored_from:%Y-%m-%d %H:%M} to "
            f"{r.scored_until:%Y-%m-%d %H:%M} UTC): {r.alarms} new alarm(s)"
            + (
                f", {r.shown} shown on the floor (its pilot is on)."
                if r.shown
                else ", recorded silently."
            ),
            highlight=False,
        )


@ai_app.command("evaluate")
def evaluate_cmd(name: Annotated[str, typer.Argument()], fmt: FormatOpt = "table") -> None:
    """Judge the shadow period against the stops and scrap recorded meanwhile."""

    _check_format(fmt)
    e = shadow.evaluate(_store(), name)
    if fmt == "json":
        _json(e.to_json())
        return
    t = Table(title=f"Shadow period of {name} on {e.machine} ({e.days} days)", show_header=False)
    for k in (
        "alarms",
        "stops",
        "warned",
        "false_alarms",
        "scrap_parts",
        "answered_real",
        "answered_false",
    ):
        t.add_row(k.replace("_", " "), str(getattr(e, k)))
    t.add_row("random alarms followed by a stop or scrap", f"{e.by_chance:.0%}")
    out.print(t)
    out.print(f"[bold]Verdict:[/] {e.verdict}", highlight=False)


@ai_app.command("answer")
def answer_cmd(
    name: Annotated[str, typer.Argument()],
    start: Annotated[str, typer.Argument(help="The alarm's start time (UTC).")],
    verdict: Annotated[str, typer.Argument(help="real or false.")],
) -> None:
    """Record whether an alarm was a real problem or a false alarm (labels for next time).

    The answer goes into the audit trail as cli:USER; one that replaces an operator's answer
    names it there."""

    if verdict not in ("real", "false"):
        raise InputError(f"{verdict!r}: answer real (a real problem) or false (a false alarm)")
    shadow.answer(
        _store(),
        name,
        _moment(start, "START"),
        real=verdict == "real",
        by=f"cli:{getpass.getuser()}",
        audited=True,
        account="command line",
    )
    out.print(f"Recorded: the alarm of {name} at {start} was {verdict}.", highlight=False)


@ai_app.command("pilot")
def pilot_cmd(name: Annotated[str, typer.Argument()]) -> None:
    """Draft a pilot (switchback: alarms shown on alternate days) from a model."""
    from pilotline.cli.app import home

    h = home()
    path = shadow.pilot_draft(h.store, name, h.path / "pilots")
    out.print(
        f"Pilot draft written to {path}. Check it, then: {_pl()} pilot plan {path}",
        highlight=False,
    )


@ai_app.command("simulate")
def simulate_cmd(
    folder: Annotated[
        Path, typer.Argument(help="Where to write the runs (CSV files): a new or empty folder.")
    ],
    fault: Annotated[
        list[str] | None,
        typer.Option("--fault", help="bearing, valve, sensor_drift or none; repeat for more."),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", min=0, max=2**31 - 1)] = 0,
    start: Annotated[
        str | None,
        typer.Option(
            "--from", help="When the first run starts (default: an hour before now per run)."
        ),
    ] = None,
    machine: Annotated[
        str | None,
        typer.Option(
            "--machine",
            help="Also store the runs as this machine's process values (it must have none in "
            "those hours).",
        ),
    ] = None,
) -> None:
    """Simulated pump runs at 1 Hz with injected faults, labelled, for trying the whole path:
    back-test, train on the normal start, shadow mode."""
    from pilotline.sim.faults import FAULTS, simulate_fault, write_fault_files

    kinds: list[str | None] = []
    for f in fault or [*FAULTS, "none"]:
        if f != "none" and f not in FAULTS:
            raise InputError(f"--fault {f!r}: choose one of {', '.join(FAULTS)} or none")
        kinds.append(None if f == "none" else f)
    begin = (
        _moment(start, "--from").astimezone(dt.UTC)
        if start
        else (dt.datetime.now(dt.UTC) - dt.timedelta(hours=len(kinds))).replace(microsecond=0)
    )
    try:
        last = begin + dt.timedelta(hours=len(kinds))
    except OverflowError:
        raise InputError(f"--from {start!r}: the runs would end after the year 9999") from None
    if folder.is_dir() and any(folder.glob("*.csv")):  # a back-test would read the old runs too
        raise InputError(
            f"{folder} holds CSV files already; name a new or empty folder "
            "(ai backtest reads every CSV file in it)"
        )
    store = None
    if machine is not None:  # checked before anything is written
        _check_machine(machine)
        store = _store()
        with store.session() as s:
            stored = s.scalar(
                "SELECT count(*) FROM process_values WHERE machine = ? AND ts >= ? AND ts < ?",
                [machine, _naive_utc(begin), _naive_utc(last)],
            )
        if stored:  # the store keeps what it has: the runs would be stored in part, or not at all
            raise InputError(
                f"{machine} has {int(stored):,} process value(s) stored between "
                f"{begin:%Y-%m-%d %H:%M} and {last:%Y-%m-%d %H:%M} UTC already; choose another "
                "--from or --machine"
            )
    paths = write_fault_files(folder, tuple(kinds), start=begin, seed=seed)
    out.print(
        f"Wrote {len(paths)} run(s) of an hour each to {folder}: the first 10 minutes of each are "
        "normal running, the fault (if any) from minute 30 to 45 (column anomaly = 1).",
        highlight=False,
    )
    if machine is not None and store is not None:
        with store.session(write=True) as s:
            for i, k in enumerate(kinds):
                run = simulate_fault(k, start=begin + dt.timedelta(hours=i), seed=seed)
                s.insert_new("process_values", run.process_values(machine))
        out.print(
            f"Stored them as {machine}'s process values from {begin:%Y-%m-%d %H:%M} UTC.",
            highlight=False,
        )
    end = begin + dt.timedelta(minutes=10)
    out.print(
        f"Next: {_pl()} ai backtest {folder} --train-rows 600"
        + (
            f"\n      {_pl()} ai train watch --machine {machine} --tag vibration --tag current "
            f"--tag pressure --tag temperature --tag flow --from {begin:%Y-%m-%dT%H:%M:%S} "
            f"--until {end:%Y-%m-%dT%H:%M:%S}\n      {_pl()} ai shadow watch"
            if machine
            else ""
        ),
        highlight=False,
    )


@ai_app.command("quality")
def quality_cmd(
    data: Annotated[
        Path, typer.Argument(help="A CSV file: one row per part or batch, in time order.")
    ],
    outcome: Annotated[
        str, typer.Option("--outcome", help="The 0/1 column: 1 = failed.")
    ] = "failed",
    time_column: TimeColOpt = "datetime",
    sep: SepOpt = ";",
    cost_false_alarm: Annotated[float, typer.Option("--cost-false-alarm")] = 1.0,
    cost_missed: Annotated[float, typer.Option("--cost-missed")] = 10.0,
    fmt: FormatOpt = "table",
) -> None:
    """Predict pass/fail per part or batch; compare with the base rate, always-pass and SPC limits."""
    _check_format(fmt)
    ds = read_recordings(
        data,
        time_column=time_column,
        label_column=outcome,
        changepoint_column=None,
        sep=sep,
        one_per_time=False,  # parts of one batch, or made in the same second, share a time
    )
    # a folder's files are read in name order: put all parts in time order (ties keep file
    # order), or the time-ordered folds would train on later parts than they test
    order = np.argsort(np.concatenate([r.seconds for r in ds.recordings]), kind="stable")
    x = np.vstack([r.values for r in ds.recordings])[order]
    y = np.concatenate([r.label for r in ds.recordings if r.label is not None])[order]
    rep = predict_quality(
        x, y, ds.signals, cost_false_alarm=cost_false_alarm, cost_missed=cost_missed
    )
    if fmt == "json":
        _json(rep.to_json())
        return
    t = Table(title=f"Quality prediction: {rep.rows:,} parts, {rep.base_rate:.1%} failed")
    for c in ("model", "balanced error", "precision", "recall", "cost"):
        t.add_column(c)
    for r in rep.results:
        t.add_row(
            r.name,
            f"{r.balanced_error:.3f}",
            f"{r.precision:.0%}",
            f"{r.recall:.0%}",
            f"{r.cost:,.0f}",
        )
    out.print(t)
    for line in plain_importance(rep.importance):
        out.print(line, highlight=False)
    out.print(f"[bold]Verdict:[/] {rep.verdict}", highlight=False)
