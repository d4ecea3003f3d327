"""``pilotline assess …``: readiness answers and scores, evidence, recommendations, the roadmap
and the skills matrix."""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pilotline.assess import kept
from pilotline.assess import skills as skills_plan
from pilotline.assess.answers import (
    Answers,
    check_answers,
    check_respondent,
    check_round,
    combine,
    compare,
    from_dma,
    load_answers,
    score,
    to_dma,
)
from pilotline.assess.evidence import Evidence, contradictions, gather, mapped_processes
from pilotline.assess.questionnaire import DIMENSIONS, SCALE_LABELS, band, dimension, questionnaire
from pilotline.assess.recommend import Recommendation, pilot_text, plan_for, recommend
from pilotline.errors import InputError

assess_app = typer.Typer(
    help="Assess: readiness, evidence from the plant's data, the next small step, skills.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
skills_app = typer.Typer(
    help="The skills matrix: people × skills, levels 0–4 (names stay in the firm).",
    no_args_is_help=True,
    rich_markup_mode=None,
)
assess_app.add_typer(skills_app, name="skills")
out = Console()
err = Console(stderr=True, soft_wrap=True)

FormatOpt = Annotated[str, typer.Option("--format", help="table or json.")]
AnswersOpt = Annotated[
    Path | None,
    typer.Option("--answers", help="An answers file (default: the latest kept answers)."),
]
ValueOpt = Annotated[
    float | None,
    typer.Option(
        "--value-per-hour",
        help="Value of an hour of the constraint's time (default: value_per_hour in "
        "<home>/assess.toml; else 100, marked as assumed).",
    ),
]
LogOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--log", help="An event log (CSV: case, activity, timestamp) to judge; repeatable."
    ),
]


def _json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str, ensure_ascii=False) + "\n")


def _check_format(fmt: str) -> None:
    if fmt not in ("table", "json"):
        raise InputError(f"--format {fmt!r}: choose table or json")


def _evidence(
    value_per_hour: float | None, answers: Answers | None, logs: list[Path] | None
) -> Evidence:
    from pilotline.cli.app import home

    h = home()
    settings: dict[str, Any] = {}
    path = h.path / "assess.toml"
    if path.exists():
        try:
            settings = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise InputError(f"{path}: not valid TOML: {exc}") from None
    value = value_per_hour if value_per_hour is not None else settings.get("value_per_hour")
    if value is not None and (not isinstance(value, int | float) or value < 0):
        raise InputError(f"value per hour {value!r} must be a number of money, 0 or more")
    plant = h.plant() if h.plant_file.exists() else None
    processes = mapped_processes(h.path, plant, logs or [])
    ev = gather(
        h.store,
        plant,
        value_per_hour=None if value is None else float(value),
        currency=str(settings.get("currency", "GBP")),
        processes=processes,
    )
    ev.contradictions = contradictions(ev, answers)
    return ev


def _answers(path: Path | None) -> Answers | None:
    from pilotline.cli.app import home

    if path is not None:
        return load_answers(path)
    store = home().store
    kept_rounds = kept.rounds(store)
    return kept.load_round(store, kept_rounds[-1])[-1] if kept_rounds else None


@assess_app.command("new")
def new(
    path: Annotated[Path, typer.Argument(help="Where to write the example answers file.")],
) -> None:
    """Write an example answers file to edit (every question, with its items)."""
    from importlib.resources import files

    if path.exists():
        raise InputError(f"{path} already exists")
    text = (files("pilotline.assess") / "example-answers.toml").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    out.print(f"Wrote {path}. Edit it, then run: pilotline assess score {path}")


def _ask(q: Any) -> Any:
    out.print(f"\n[bold]{q.id}[/bold] {q.text}")
    if q.kind == "checklist":
        for n, (_, text) in enumerate(q.items, 1):
            out.print(f"  {n}. {text}")
        raw = typer.prompt("Numbers that apply (e.g. 1,3; empty for none)", default="")
        picked = [int(x) for x in raw.replace(" ", "").split(",") if x]
        if any(not 1 <= n <= len(q.items) for n in picked):
            raise InputError(f"question {q.id}: choose numbers from 1 to {len(q.items)}")
        return [q.items[n - 1][0] for n in picked]
    if q.kind == "scale":
        out.print("  " + ", ".join(f"{n} {t}" for n, t in enumerate(SCALE_LABELS)))
        return {i: typer.prompt(f"  {text}", type=int, default=0) for i, text in q.items}
    if q.kind == "invest":
        answer: dict[str, list[str]] = {"invested": [], "planned": []}
        for i, text in q.items:
            said = typer.prompt(f"  {text}: invested, planned or none", default="none")
            if said in ("invested", "planned"):
                answer[said].append(i)
        return answer
    if not q.items:
        return typer.prompt("  no, partly or yes", default="no")
    return {i: typer.prompt(f"  {text}: no, partly or yes", default="no") for i, text in q.items}


@assess_app.command("answer")
def answer(
    path: Annotated[
        Path | None, typer.Argument(help="An answers file; without one, asks in the terminal.")
    ] = None,
    round_: Annotated[
        str | None, typer.Option("--round", help="T0, T1, … (default: the file's).")
    ] = None,
    respondent: Annotated[
        str | None, typer.Option("--respondent", help="The respondent's role (not a name).")
    ] = None,
    save: Annotated[
        Path | None, typer.Option("--save", help="Also write the answers to this file.")
    ] = None,
) -> None:
    """Keep one respondent's answers for a round (checked first: nothing is kept if one is wrong)."""
    from pilotline.cli.app import home

    if path is not None:
        a = load_answers(path)
    else:
        raw = {q.id: _ask(q) for d in questionnaire() for q in d.questions}
        a = check_answers(raw, respondent="production manager", source="your answers")
    who = check_respondent(respondent, "--respondent") if respondent is not None else a.respondent
    when = check_round(round_, "--round") if round_ is not None else a.round
    a = Answers(who, a.values, when, a.answered_on)
    if save is not None:
        save.write_text(_to_toml(a), encoding="utf-8")
    kept.save_answers(home().store, a)
    s = score(a)
    out.print(
        f"Kept the answers of {a.respondent} for round {a.round}: overall {s.overall:.0f} "
        f"({band(s.overall)})."
    )


def _to_toml(a: Answers) -> str:
    def value(v: Any) -> str:
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(json.dumps(x) for x in v) + "]"
        return "{ " + ", ".join(f"{k} = {value(x)}" for k, x in v.items()) + " }"

    lines = [
        f"respondent = {json.dumps(a.respondent)}",
        f"round = {json.dumps(a.round)}",
        "",
        "[answers]",
    ]
    lines += [f"{k} = {value(v)}" for k, v in a.values.items()]
    return "\n".join(lines) + "\n"


@assess_app.command("score")
def score_(
    answers: Annotated[
        list[Path] | None, typer.Argument(help="Answers files (several: one per respondent).")
    ] = None,
    round_: Annotated[
        str | None, typer.Option("--round", help="Score a kept round instead of files.")
    ] = None,
    compare_: Annotated[
        str | None, typer.Option("--compare", help="Two kept rounds, e.g. T0,T1: the change.")
    ] = None,
    format_: FormatOpt = "table",
) -> None:
    """Scores 0–100 per dimension, overall and band; with several respondents the median,
    spread and disagreements (25 points or more); with --compare the change per dimension."""
    from pilotline.cli.app import home

    _check_format(format_)
    if compare_:
        names = [n.strip() for n in compare_.split(",") if n.strip()]
        if len(names) != 2:
            raise InputError("--compare takes two rounds, e.g. T0,T1")
        both = [combine([score(a) for a in kept.load_round(home().store, n)]) for n in names]
        dims = [{**c["dimensions"], "overall": c["overall"]} for c in both]
        result: dict[str, Any] = {
            "before": names[0],
            "after": names[1],
            **{"change": compare(*dims)},
        }
        if format_ == "json":
            _json(result)
            return
        table = Table("dimension", names[0], names[1], "change")
        for d, row in result["change"].items():
            title = dimension(d).title if d in DIMENSIONS else "Overall"
            table.add_row(
                title, f"{row['before']:.1f}", f"{row['after']:.1f}", f"{row['change']:+.1f}"
            )
        out.print(table)
        return
    if round_:
        given = kept.load_round(home().store, round_)
    elif answers:
        given = [load_answers(p) for p in answers]
    else:
        raise InputError("give answers files, or --round to score a kept round")
    scores = [score(a) for a in given]
    if len(scores) == 1:
        res = scores[0].as_json()
    else:
        res = combine(scores)
        res["why"] = {d: [s.why[d] for s in scores] for d in DIMENSIONS}
    if format_ == "json":
        _json(res)
        return
    table = Table("dimension", "score", "band", *(["spread"] if "spread" in res else []))
    for d in DIMENSIONS:
        cells = [dimension(d).title, f"{res['dimensions'][d]:.1f}", band(res["dimensions"][d])]
        if "spread" in res:
            cells.append(f"{res['spread'][d]:.1f}")
        table.add_row(*cells)
    table.add_row("Overall", f"{res['overall']:.1f}", res["band"])
    out.print(table)
    if len(scores) == 1:
        for d in DIMENSIONS:
            out.print(f"- {res['why'][d]}")
    for dis in res.get("disagreements", []):
        out.print(f"[red]Disagreement[/red] {dis['why']}")


@assess_app.command("evidence")
def evidence_(
    answers: AnswersOpt = None,
    log: LogOpt = None,
    value_per_hour: ValueOpt = None,
    format_: FormatOpt = "table",
) -> None:
    """What the plant's own data says, beside the answers, and where they disagree."""
    _check_format(format_)
    a = _answers(answers)
    ev = _evidence(value_per_hour, a, log)
    doc = ev.as_json()
    if format_ == "json":
        _json(doc)
        return
    share = ev.reason_share
    out.print(
        f"Machines with data in the last 30 days: {ev.machines_with_data} of {len(ev.machines)}"
    )
    out.print(f"Stop time with a reason: {'–' if share is None else f'{share:.0%}'}")
    out.print(f"OEE: {'–' if ev.oee is None else f'{ev.oee:.1%}'}")
    for loss in doc["largest_losses"]:
        out.print(
            f"  {loss['label']}: {loss['hours']:.1f} h in the window, "
            f"{loss['hours_per_year']:,.0f} h and {ev.currency} {loss['money_per_year']:,.0f} a year"
        )
    if ev.value_assumed:
        out.print("The value of an hour is assumed (100); set it with --value-per-hour.")
    out.print(f"Pilots run: {ev.pilots}; decided: {sum(ev.decisions.values())}")
    for c in ev.contradictions:
        out.print(f"[red]Contradiction:[/red] {c}")


def _recommend(
    answers: Path | None, log: list[Path] | None, value_per_hour: float | None
) -> tuple[Evidence, Answers | None, list[Recommendation], dict[str, dict[str, int]]]:
    from pilotline.cli.app import home

    a = _answers(answers)
    ev = _evidence(value_per_hour, a, log)
    matrix = kept.matrix(home().store)
    return ev, a, recommend(ev, a, matrix=matrix), matrix


@assess_app.command("recommend")
def recommend_(
    answers: AnswersOpt = None,
    log: LogOpt = None,
    value_per_hour: ValueOpt = None,
    pilot: Annotated[
        Path | None,
        typer.Option(
            "--pilot", help="Write the next small step's pilot file here (Start this pilot)."
        ),
    ] = None,
    format_: FormatOpt = "table",
) -> None:
    """Every step of the catalogue, ranked for this firm by the loss it addresses, against cost
    and time to value; blocked steps with the gates that hold them."""
    from pilotline.cli.app import home

    _check_format(format_)
    ev, _, recs, _ = _recommend(answers, log, value_per_hour)
    first = recs[0] if recs and recs[0].rank == 1 else None
    if pilot is not None:
        if first is None:
            raise InputError("no step is open yet: see the blocked steps and what opens them")
        h = home()
        text = pilot_text(first, ev, h.plant() if h.plant_file.exists() else None)
        pilot.write_text(text, encoding="utf-8")
        planned = plan_for(text, h.store, h.plant() if h.plant_file.exists() else None)
        err.print(f"Wrote {pilot}: {planned.get('verdict', '')}")
    if format_ == "json":
        _json([r.as_json() for r in recs])
        return
    table = Table("rank", "step", "category", "value a year", "why")
    for r in recs:
        value = f"{r.low:,.0f}–{r.high:,.0f}" if r.high > 0 else "–"
        blocked = ", ".join(r.blocked_by)
        table.add_row(
            str(r.rank or f"blocked: {blocked}"), r.step.id, r.step.category, value, r.why
        )
    out.print(table)
    if first is not None:
        out.print(
            f"Next small step: {first.step.title}. 'pilotline assess recommend --pilot FILE' writes its pilot."
        )


@assess_app.command("roadmap")
def roadmap_(
    out_path: Annotated[Path, typer.Option("--out", help="The HTML (or with --pdf, PDF) file.")],
    answers: AnswersOpt = None,
    log: LogOpt = None,
    value_per_hour: ValueOpt = None,
    pdf: Annotated[bool, typer.Option("--pdf", help="Print to PDF with Chromium.")] = False,
) -> None:
    """The roadmap: radar of every kept round, evidence, gates, the next steps, the skills plan."""
    from pilotline.assess.roadmap import render_roadmap
    from pilotline.cli.app import home

    h = home()
    ev, _, recs, matrix = _recommend(answers, log, value_per_hour)
    rounds: dict[str, dict[str, float]] = {}
    for name in kept.rounds(h.store):
        rounds[name] = combine([score(a) for a in kept.load_round(h.store, name)])["dimensions"]
    if answers is not None:
        a = load_answers(answers)
        rounds.setdefault(a.round, score(a).as_json()["dimensions"])
    first = recs[0] if recs and recs[0].rank == 1 else None
    plant = h.plant() if h.plant_file.exists() else None
    text = pilot_text(first, ev, plant) if first else None
    page = render_roadmap(
        rounds=rounds,
        evidence=ev,
        recs=recs,
        next_pilot=text,
        next_plan=plan_for(text, h.store, plant) if text else None,
        training=skills_plan.plan(matrix, recs),
        warnings=skills_plan.single_holders(matrix),
    )
    if pdf:
        from pilotline.report.a3 import to_pdf

        to_pdf(page, out_path)
    else:
        out_path.write_text(page, encoding="utf-8")
    out.print(f"Wrote {out_path}")


@assess_app.command("export")
def export(
    target: Annotated[Path, typer.Argument(help="The JSON file to write (DMA-shaped).")],
    round_: Annotated[str, typer.Option("--round", help="The kept round to export.")] = "T0",
) -> None:
    """A kept round as DMA-shaped JSON for a hub: scores and answers, respondents by role only."""
    from pilotline.cli.app import home

    doc = to_dma(kept.load_round(home().store, round_), round_=round_)
    target.write_text(json.dumps(doc, indent=2, ensure_ascii=False), encoding="utf-8")
    out.print(f"Wrote {target} ({len(doc['responses'])} responses, round {round_}).")


@assess_app.command("import")
def import_(source: Annotated[Path, typer.Argument(help="A DMA-shaped JSON file.")]) -> None:
    """Keep the answers of a DMA-shaped JSON file (all checked before any is kept)."""
    from pilotline.cli.app import home

    try:
        doc = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{source}: cannot read it as JSON ({exc})") from None
    except RecursionError:
        raise InputError(f"{source}: nested too deeply to be a DMA export") from None
    answers = from_dma(doc, source=str(source))
    for a in answers:
        kept.save_answers(home().store, a)
    out.print(f"Kept {len(answers)} responses for round {answers[0].round}.")


# -- skills -----------------------------------------------------------------------------------
@skills_app.command("set")
def skills_set(
    person: Annotated[str, typer.Argument(help="Name or initials.")],
    skill: Annotated[str, typer.Argument(help="A skill id (see 'skills show').")],
    level: Annotated[
        int, typer.Argument(help="0 none, 1 learning, 2 with help, 3 alone, 4 can teach.")
    ],
) -> None:
    """Record a person's level in a skill."""
    from pilotline.cli.app import home

    kept.set_level(home().store, person, skill, level)
    out.print(f"{person}: {skill} = {level} ({kept.LEVELS[level]})")


@skills_app.command("show")
def skills_show(
    answers: AnswersOpt = None, value_per_hour: ValueOpt = None, format_: FormatOpt = "table"
) -> None:
    """The matrix, the training plan for the recommended steps, and single-holder warnings."""
    from pilotline.assess.catalogue import skills

    _check_format(format_)
    _, _, recs, matrix = _recommend(answers, None, value_per_hour)
    training = skills_plan.plan(matrix, recs)
    warnings = skills_plan.single_holders(matrix)
    if format_ == "json":
        _json({"matrix": matrix, "training": training, "warnings": warnings})
        return
    table = Table("skill", *matrix)
    for sk, info in skills().items():
        table.add_row(f"{info.title} ({sk})", *(str(matrix[p].get(sk, 0)) for p in matrix))
    out.print(table)
    for t in training:
        out.print(
            f"- {t['learner']} learns {t['title']} (level {t['needed_level']}) from {t['from']}, for {t['for_step']}"
        )
    for w in warnings:
        out.print(f"[red]Warning:[/red] {w}")


@skills_app.command("export")
def skills_export(
    person: Annotated[str, typer.Argument(help="The person's name as kept.")],
) -> None:
    """Everything kept about one person, as JSON (their right of access)."""
    from pilotline.cli.app import home

    _json(kept.export_person(home().store, person))


@skills_app.command("erase")
def skills_erase(person: Annotated[str, typer.Argument(help="The person's name as kept.")]) -> None:
    """Erase a person: their skills, and their name from any answers they gave."""
    from pilotline.cli.app import home

    n = kept.erase_person(home().store, person)
    out.print(
        f"Erased {person}: {n['skills']} skill level(s), {n['assess_answers']} answer set(s) renamed."
    )
