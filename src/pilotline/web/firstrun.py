"""Where to start and what next: the first-run checklist, the biggest loss of the week, and the
"what next" line the pages show.

Every step's tick is worked out from what is there now — the plant model, the store, the logs and
pilot files in the data directory — never from a tick someone stored, so a step undone (a log
deleted, the example plant put back) shows as not done again. Steps are cut to the user's role:
an operator sees what concerns their lines; a step their role cannot do says who to ask.

The biggest loss is Measure's own loss figures (``Measure.oee`` by machine, the loss columns
summed over the shifts) over the last seven days in the plant's time zone, valued with the assess
module's value of an hour (``value_per_hour`` in ``<home>/assess.toml``; 100 assumed, and said so,
when it is not set).
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from pilotline import clock
from pilotline.assess.evidence import LOSS_COLUMNS, read_settings
from pilotline.errors import PilotlineError
from pilotline.measure import Measure
from pilotline.pilot import registry
from pilotline.plant import Plant, example_plant_text
from pilotline.web.assess_answers import tag
from pilotline.web.cache import Cache
from pilotline.web.context import Web
from pilotline.web.data import collectors
from pilotline.web.pilot_files import all_pilots, sees
from pilotline.web.users import User

log = logging.getLogger(__name__)

#: The days the biggest-loss card looks back over (today and the six local days before it).
WEEK_DAYS = 7
#: How old the week's losses may be on a page (seconds).
LOSSES_TTL_S = 120
#: How old the checklist's next step and the biggest-loss card may be on a busy page (seconds).
PAGE_TTL_S = 10.0
#: The value of an hour when the plant has not set one (the assess module's default).
ASSUMED_VALUE_PER_HOUR = 100.0
#: The loss categories the card may name, with the KPI row column holding each one's time (the
#: assessment's evidence counts the same ones). Planned time without data is a gap in the data,
#: not a loss to run a pilot on: left out.
LOSSES: dict[str, tuple[str, str]] = {k: v for k, v in LOSS_COLUMNS.items() if k != "no_data"}
#: The losses that are stops: the new-pilot form takes them as the reason to cut.
STOP_LOSSES = ("breakdown", "setup", "unexplained", "minor_stop")
SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


@dataclass
class Step:
    """One line of the checklist."""

    key: str
    title: str
    done: bool
    detail: str
    href: str | None = None  # the page that does it, when the user may
    action: str = ""  # the link's words
    ask: str = ""  # who to ask, when the user's role cannot do it
    docs: tuple[tuple[str, str], ...] = ()  # (href, words) of the docs that explain it


class StepOut(BaseModel):
    """A checklist step as the API answers it."""

    key: Literal["plant", "data", "oee", "assess", "map", "pilot"]
    title: str
    done: bool
    detail: str
    href: str | None = Field(description="The page that does it, when the user may")
    action: str = Field(description="The link's words")
    ask: str = Field(description="Whom to ask, when the user's role cannot do it")
    docs: list[tuple[str, str]] = Field(description="(address, words) of the docs explaining it")


class BiggestLossOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    machine: str
    name: str
    line: str
    category: str = Field(description="breakdown, setup, unexplained, minor_stop, …")
    category_label: str
    seconds: float = Field(ge=0)
    hours: float = Field(ge=0)
    money: float = Field(ge=0)
    value_per_hour: float = Field(ge=0)
    value_assumed: bool = Field(description="True: value_per_hour is not set; 100 assumed")
    currency: str
    start: str = Field(description="ISO 8601, UTC: local midnight six days before today")
    end: str = Field(description="ISO 8601, UTC: now")
    pilot_href: str | None = Field(
        description="The new-pilot form, pre-filled for this loss; null for an operator, who "
        "cannot start pilots"
    )


class StartOut(BaseModel):
    steps: list[StepOut]
    done: int = Field(ge=0)
    total: int = Field(ge=0)
    next: str | None = Field(description="The key of the step to do next; null when all done")
    biggest_loss: BiggestLossOut | None


def money(amount: float, currency: str) -> str:
    return f"{SYMBOLS.get(currency, currency + ' ')}{amount:,.0f}"


def _is_example(web: Web) -> bool:
    """Whether plant.toml still says what the example ``pilotline init`` wrote: comments, blanks
    and layout aside (a comment added to the example describes no plant)."""
    try:
        text = web.plant_file.read_text(encoding="utf-8")
    except OSError:
        return True
    try:
        return tomllib.loads(text) == tomllib.loads(example_plant_text())
    except tomllib.TOMLDecodeError:
        return False


def _visible(plant: Plant, user: User) -> list[str]:
    return [m.id for line, m in plant.machines if user.sees_line(line.name)]


# -- the checklist --------------------------------------------------------------------------------
def checklist(web: Web, user: User, *, biggest: dict[str, Any] | None = None) -> list[Step]:
    """The first-run steps for ``user``, each ticked from the state of the plant and the store."""
    plant, now = web.plant(), clock.now()
    machines = _visible(plant, user)
    manager, admin = user.at_least("manager"), user.at_least("admin")
    every_line = len(machines) == len(plant.machines)
    where = "" if every_line else " WHERE machine IN (SELECT unnest(?))"  # the fast way if all
    with web.store.session() as s:
        row = s.arrow(
            f"SELECT (SELECT count(*) FROM states{where}) AS s, "
            f"(SELECT count(*) FROM counts{where}) AS c, "
            f"(SELECT max(ts) FROM counts{where}) AS latest",
            None if every_line else [machines, machines, machines],
        ).to_pylist()[0]
        states, counts, latest = row["s"], row["c"], row["latest"]
        files = int(s.scalar("SELECT count(*) FROM imports"))
        answers = s.arrow("SELECT respondent FROM assess_answers").to_pylist()
        any_frozen = bool(s.scalar("SELECT EXISTS (SELECT 1 FROM pilot_versions)"))
    steps: list[Step] = []

    # 1. The plant model.
    example = _is_example(web)
    n_lines = len({line.name for line, _ in plant.machines})
    shape = f"{plant.site.name}: {len(plant.machines)} machines on {n_lines} lines"
    steps.append(
        Step(
            "plant",
            "Describe your plant",
            not example and bool(plant.machines),
            f"{shape} — still the example that 'pilotline init' wrote."
            if example
            else f"{shape}, shift calendars and {len(plant.reason_categories())} reason codes.",
            "/settings" if admin else None,
            "Edit the plant model" if admin else "",
            "" if admin else "Ask your admin: the plant model is theirs to edit.",
            (
                ("/docs/getting-started.md#2-describe-your-plant", "Describing your plant"),
                ("/docs/web.md#editing-the-plant-model", "Editing it in the browser"),
            ),
        )
    )

    # 2. Data: a file, or live from a collector.
    live = collectors(web.home)
    has_data = bool(states or counts)
    where = (
        f"{states:,} state changes and {counts:,} part counts"
        + ("" if manager or not machines else " on your lines")
        + f" ({files} files imported; {len(live)} live collectors)."
    )
    sample = example and manager
    steps.append(
        Step(
            "data",
            "Bring machine data",
            has_data,
            where
            if has_data
            else "No machine data yet: upload an export (CSV, Excel, Parquet) of machine states "
            "and part counts, or connect a machine live with 'pilotline collect'."
            + (" Try the two sample files below for the example plant." if sample else ""),
            "/data" if manager else None,
            "Upload a file" if manager else "",
            "" if manager else "Ask a manager or your admin to import your machines' data.",
            (
                ("/docs/getting-started.md#3-import-your-data", "Importing a file"),
                ("/docs/live-data.md", "Live data from PLCs and sensors"),
                ("/docs/file-schemas.md", "File formats"),
                *(
                    (
                        ("/docs/examples/states.csv", "sample states.csv"),
                        ("/docs/examples/counts.csv", "sample counts.csv"),
                    )
                    if sample
                    else ()
                ),
            ),
        )
    )

    # 3. The first OEE: Measure's figure for the machine with the latest part count.
    oee_row = _first_oee(web, plant, machines, latest, now)
    if oee_row:
        local = oee_row["period_start"].astimezone(plant.tz)
        label = {m.id: m.label for _, m in plant.machines}[oee_row["machine"]]
        detail = f"{label}: OEE {oee_row['oee']:.0%} in the shifts of {local:%d %b %Y}."
    elif has_data:
        detail = (
            "There is data, but none of it falls in a planned shift with parts counted: check "
            "the shift calendar, the time zone and the machine ids in the plant model."
        )
    else:
        detail = "Comes with the first data: OEE, its losses and where the time went."
    steps.append(
        Step(
            "oee",
            "See the first OEE",
            oee_row is not None,
            detail,
            f"/machines/{oee_row['machine']}" if oee_row else None,
            "Open the machine's OEE and losses" if oee_row else "",
            "",
            (("/docs/kpis.md", "How OEE and the losses are counted"),),
        )
    )

    # 4. The readiness assessment.
    mine = f" #{tag(web, user)}"
    own = any(a["respondent"].endswith(mine) for a in answers)
    steps.append(
        Step(
            "assess",
            "Take the readiness assessment",
            own or (manager and bool(answers)),
            (
                f"{len(answers)} sets of answers kept"
                + (" (yours among them)." if own else "; yours are not in yet.")
            )
            if answers
            else "Six short dimensions; it points to the smallest useful next step.",
            "/assess",
            "Answer the questionnaire" if not own else "See the questionnaire",
            "",
            (("/docs/assess.md", "The assessment and its steps"),),
        )
    )

    # 5. A process map (managers upload event logs; not an operator's step).
    if manager:
        logs = web.home / "logs"
        mapped = (
            sum(1 for f in logs.iterdir() if (f / "meta.json").exists()) if logs.is_dir() else 0
        )
        steps.append(
            Step(
                "map",
                "Map a process",
                mapped > 0,
                f"{mapped} event logs mapped."
                if mapped
                else "Upload an event log from your ERP or MES (orders and their steps with "
                "times) and see the real process before anyone automates it.",
                "/maps",
                "Map a process",
                "",
                (("/docs/process-mining.md", "Process mining"),),
            )
        )

    # 6. A pilot: a draft counts for nothing until it is frozen (started).
    pilots = [p for _, p, _ in all_pilots(web) if p is not None and sees(user, plant, p)]
    started = sum(1 for p in pilots if _frozen(web, p)) if any_frozen else 0
    href: str | None
    if manager:
        href, action = "/pilots/new", "Start a pilot"
        if biggest:
            href, action = biggest["pilot_href"], f"Start a pilot on {biggest['text']}"
        if pilots and not started:
            href, action = "/pilots", "Freeze a draft to start it"
    else:
        href, action = ("/pilots", "See the pilots") if pilots else (None, "")
    steps.append(
        Step(
            "pilot",
            "Start a pilot" if manager else "A pilot on your lines",
            started > 0,
            (f"{started} of {len(pilots)} pilots started." if started else "")
            or (f"{len(pilots)} drafts, none frozen yet." if pilots else "")
            or "One small change, written down before it starts, judged in money against its "
            "own baseline.",
            href,
            action,
            "" if manager else "Managers start pilots; ask yours about a loss you see.",
            (("/docs/pilots.md", "Pilots and their statistics"),),
        )
    )
    return steps


#: Found first OEE figures by what decides them (data directory, machines, latest part count,
#: plant model's mtime, the hour): the same inputs give the same figure, so none goes stale.
_FIRST_OEE: dict[tuple[Any, ...], dict[str, Any] | None] = {}


def _first_oee(
    web: Web, plant: Plant, machines: list[str], latest: dt.datetime | None, now: dt.datetime
) -> dict[str, Any] | None:
    """Measure's OEE of the machine with the latest part count, over the days around it."""
    if latest is None:
        return None
    latest = latest.replace(tzinfo=dt.UTC)
    try:
        mtime = web.plant_file.stat().st_mtime_ns
    except OSError:
        mtime = 0
    key = (str(web.home), tuple(machines), latest, mtime, now.replace(minute=0, second=0))
    if key in _FIRST_OEE:
        return _FIRST_OEE[key]
    with web.store.session() as s:
        machine = s.scalar(
            "SELECT machine FROM counts WHERE ts = ? AND machine IN (SELECT unnest(?)) "
            "ORDER BY machine LIMIT 1",
            [latest.replace(tzinfo=None), machines],
        )
    start = latest - dt.timedelta(days=2)
    end = min(latest + dt.timedelta(days=1), now + dt.timedelta(days=1))
    try:
        rows = Measure(web.store, plant).oee(
            start=start, end=end, by="machine,day", machines=[str(machine)], now=now
        )
    except PilotlineError as exc:  # data far outside the times Measure accepts
        log.info("no first OEE: %s", exc)
        return None
    found = [r for r in rows if r["oee"] is not None and r["planned_s"] > 0]
    if len(_FIRST_OEE) >= 256:
        _FIRST_OEE.clear()
    _FIRST_OEE[key] = found[-1] if found else None
    return _FIRST_OEE[key]


def _frozen(web: Web, pilot: Any) -> bool:
    return bool(registry.history(web.store, pilot)["registered"])


# -- the biggest loss of the week -----------------------------------------------------------------
def week(plant: Plant, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """Local midnight six days before today, to now: the last seven days in the plant's zone."""
    today = now.astimezone(plant.tz).date()
    first = today - dt.timedelta(days=WEEK_DAYS - 1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=plant.tz).astimezone(dt.UTC)
    return start, now


def week_losses(web: Web, plant: Plant, now: dt.datetime) -> list[dict[str, Any]]:
    """Every (machine, loss category) of the week with its seconds, from Measure by machine."""
    start, end = week(plant, now)
    line_of = {m.id: line.name for line, m in plant.machines}
    label = {m.id: m.label for _, m in plant.machines}
    out: list[dict[str, Any]] = []
    if not plant.machines:
        return out
    for row in Measure(web.store, plant).oee(start=start, end=end, by="machine", now=now):
        for key, (column, words) in LOSSES.items():
            seconds = float(row[column] or 0.0)
            if seconds > 0:
                out.append(
                    {
                        "machine": row["machine"],
                        "name": label[row["machine"]],
                        "line": line_of[row["machine"]],
                        "category": key,
                        "category_label": words,
                        "seconds": seconds,
                    }
                )
    return out


def biggest_loss(
    web: Web, plant: Plant, user: User, losses: list[dict[str, Any]], now: dt.datetime
) -> dict[str, Any] | None:
    """The largest loss on the user's lines, in hours and money, with its new-pilot link."""
    mine = [x for x in losses if user.sees_line(x["line"])]
    if not mine:
        return None
    top = max(mine, key=lambda x: (x["seconds"], x["machine"], x["category"]))
    value, currency = read_settings(web.home)
    assumed = value is None
    per_hour = ASSUMED_VALUE_PER_HOUR if value is None else value
    hours = top["seconds"] / 3600
    start, end = week(plant, now)
    first = start.astimezone(plant.tz).date()
    last = end.astimezone(plant.tz).date()
    # The new-pilot form aims a stop category at availability (as the machine page's Pareto
    # does); a speed or quality loss gets the machine and the form's OEE, not a wrong metric.
    aim = {"machine": top["machine"]}
    if top["category"] in STOP_LOSSES:
        aim["reason"] = top["category"]
    query = urlencode(aim)
    return {
        **top,
        "hours": round(hours, 1),
        "money": round(hours * per_hour, 2),
        "money_text": money(hours * per_hour, currency),
        "value_per_hour": per_hour,
        "value_per_hour_text": money(per_hour, currency),
        "value_assumed": assumed,
        "currency": currency,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "period_text": f"{first:%d %b} – {last:%d %b %Y} ({plant.site.timezone})",
        "text": f"{top['category_label'].lower()}, {top['name']}",
        "pilot_href": f"/pilots/new?{query}" if user.at_least("manager") else None,
    }


def next_step(steps: list[Step]) -> Step | None:
    """The first step not done that the user can do; else the first not done at all."""
    todo = [s for s in steps if not s.done]
    return next((s for s in todo if s.href), todo[0] if todo else None)


# -- routes ---------------------------------------------------------------------------------------
def routes(app: FastAPI, web: Web) -> None:
    anyone = web.need("operator")
    losses_cache = Cache(ttl_s=LOSSES_TTL_S, max_keys=8)
    on_pages = Cache(ttl_s=PAGE_TTL_S)

    def mtime(path: Path) -> int:
        try:
            return path.stat().st_mtime_ns
        except OSError:
            return 0

    def losses(plant: Plant, now: dt.datetime) -> list[dict[str, Any]]:
        """The week's losses, at most two minutes old; afresh when the plant model changes or
        a file is imported."""
        with web.store.session() as s:
            files = int(s.scalar("SELECT count(*) FROM imports"))
        # Refreshed in the background every LOSSES_TTL_S (the cache serves the last figures
        # meanwhile); a page waits only for the first figures after a plant change or an import.
        key = (mtime(web.plant_file), files)
        found: list[dict[str, Any]] = losses_cache.get(key, lambda: week_losses(web, plant, now))
        return found

    def card(user: User | None) -> dict[str, Any] | None:
        """The biggest-loss card for a page, at most :data:`PAGE_TTL_S` old (afresh when the
        value of an hour changes); nothing when it cannot be worked out, since the overview must
        open whatever happens."""
        if user is None:
            return None

        def compute() -> dict[str, Any] | None:
            now, plant = clock.now(), web.plant()
            return biggest_loss(web, plant, user, losses(plant, now), now)

        key = ("card", user.role, user.lines, mtime(web.home / "assess.toml"))
        try:
            found: dict[str, Any] | None = on_pages.get(key, compute)
        except PilotlineError as exc:
            log.info("no biggest-loss card: %s", exc)
            return None
        return found

    def progress(user: User | None) -> dict[str, Any] | None:
        """The checklist in short, for a page's "what next" line, at most :data:`PAGE_TTL_S`
        old (the overview refreshes often; /start and /api/start are always fresh)."""
        if user is None:
            return None

        def compute() -> dict[str, Any]:
            steps = checklist(web, user)
            step = next_step(steps)
            return {
                "done": sum(s.done for s in steps),
                "total": len(steps),
                "next": asdict(step) if step else None,
            }

        key = ("progress", user.role, user.lines, user.username, mtime(web.plant_file))
        try:
            found: dict[str, Any] = on_pages.get(key, compute)
        except PilotlineError as exc:
            log.info("no checklist: %s", exc)
            return None
        return found

    def steps_now(user: User | None) -> dict[str, Any] | None:
        """The whole checklist, as it is now (the empty overview shows it)."""
        if user is None:
            return None
        try:
            steps = checklist(web, user)
        except PilotlineError as exc:
            log.info("no checklist: %s", exc)
            return None
        step = next_step(steps)
        return {"steps": [asdict(s) for s in steps], "next": step.key if step else None}

    def machine_has_data(machine: str) -> bool:
        """Whether any state or part count of the machine is in the store (an empty state if not)."""
        with web.store.session() as s:
            return bool(
                s.scalar(
                    "SELECT EXISTS (SELECT 1 FROM states WHERE machine = ?) "
                    "OR EXISTS (SELECT 1 FROM counts WHERE machine = ?)",
                    [machine, machine],
                )
            )

    web.templates.env.globals["machine_has_data"] = machine_has_data
    web.templates.env.globals["biggest_loss"] = card
    web.templates.env.globals["first_run"] = progress
    web.templates.env.globals["first_run_steps"] = steps_now

    def full(user: User) -> dict[str, Any]:
        now = clock.now()
        plant = web.plant()
        biggest = biggest_loss(web, plant, user, losses(plant, now), now)
        steps = checklist(web, user, biggest=biggest)
        step = next_step(steps)
        return {
            "steps": [asdict(s) for s in steps],
            "done": sum(s.done for s in steps),
            "total": len(steps),
            "next": step.key if step else None,
            "biggest_loss": biggest,
        }

    @app.get("/start", response_class=HTMLResponse, include_in_schema=False)
    def start_page(request: Request, user: User = anyone) -> Response:
        """Getting started: the checklist, ticked from the plant and the store as they are now."""
        return web.page(request, "start.html", user, **full(user))

    @app.get("/api/start", tags=["plant"], response_model=StartOut)
    def api_start(user: User = anyone) -> dict[str, Any]:
        """The first-run checklist for the user (describe the plant, bring data, first OEE,
        readiness assessment, map a process, start a pilot): each step done or not from the
        plant and the store now, with the page that does it, who to ask, and the docs; and the
        biggest loss of the last seven days on the user's lines."""
        return full(user)
