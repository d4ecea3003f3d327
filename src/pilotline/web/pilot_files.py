"""A pilot as the web app keeps it: the file in ``<home>/pilots/<id>.toml`` (the CLI's pilot
file), who may see it, and how a form or a JSON body becomes a checked :class:`Pilot` — every
problem named with its field."""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pilotline.errors import InputError, NotFound, PilotlineError
from pilotline.measure import KPIS
from pilotline.pilot import Pilot, load_pilot
from pilotline.plant import Plant
from pilotline.web.context import Problem, Web
from pilotline.web.machine import EARLIEST, LATEST
from pilotline.web.users import User

PILOT_ID = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")
RESERVED = {"new", "plan", "decisions"}
KPI_NAMES = {k.key: k.name for k in KPIS}
#: KPIs where less is better: their guardrails watch for a rise.
LOWER_IS_BETTER = {"scrap_ratio", "rework_ratio", "setup_rate", "mttr_s"}
TEXT_LIMIT = 4000  # characters in any one text of a pilot
LONGEST_SPAN = dt.timedelta(days=1100)  # baseline start to pilot end: three years
#: The form's fields, named as the pilot file's (dotted for tables); lists take several values.
FORM_TEXT = (
    "title",
    "owner",
    "hypothesis",
    "background",
    "countermeasure",
    "metric.kpi",
    "metric.direction",
    "target_effect",
    "unit",
    "design",
    "seasonality",
    "its_model",
    "baseline.start",
    "baseline.end",
    "pilot.start",
    "pilot.end",
    "review_date",
    "money.currency",
    "money.one_off",
    "money.running_per_month",
    "money.value_per_unit",
    "money.periods_per_month",
    "money.horizon_months",
)
FORM_LISTS = ("metric.machines", "control.machines", "guardrails")


class BadPilot(Problem):
    """A pilot that does not validate: 422, each problem with the field it concerns."""

    def __init__(self, errors: list[dict[str, str]], status: int = 422) -> None:
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        title = "Not a valid pilot" if status == 422 else "Title taken"
        super().__init__(status, title, detail, {"errors": errors})
        self.errors = errors


# -- where pilots live ---------------------------------------------------------------------------
def pilots_dir(web: Web) -> Path:
    return web.home / "pilots"


def pilot_path(web: Web, pid: str) -> Path:
    path = pilots_dir(web) / f"{pid}.toml"
    if not PILOT_ID.match(pid) or pid in RESERVED or not path.is_file():
        raise NotFound(f"no pilot {pid[:60]!r}")
    return path


def all_pilots(web: Web) -> list[tuple[str, Pilot | None, str]]:
    """(id, pilot, problem) for every pilot file, by id; a file that does not load has a problem."""
    found: list[tuple[str, Pilot | None, str]] = []
    folder = pilots_dir(web)
    for path in sorted(folder.glob("*.toml")) if folder.is_dir() else []:
        if not PILOT_ID.match(path.stem) or path.stem in RESERVED:
            continue
        try:
            found.append((path.stem, load_pilot(path), ""))
        except PilotlineError as exc:
            found.append((path.stem, None, str(exc)))
    return found


def new_id(web: Web, title: str) -> str:
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    base = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:48].strip("-") or "pilot"
    if base in RESERVED:
        base = f"pilot-{base}"
    pid, n = base, 1
    while (pilots_dir(web) / f"{pid}.toml").exists():
        n += 1
        pid = f"{base}-{n}"
    return pid


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    text = str(v)
    out = ['"']
    for ch in text:  # a TOML basic string: quote, backslash and control characters escaped
        if ch in '"\\' or ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


def to_toml(pilot: Pilot) -> str:
    """The pilot file, as ``pilotline pilot new`` would have it filled in."""
    data = pilot.model_dump(mode="python", exclude_none=True)
    lines = ["# A pilot written by Pilotline's web app; `pilotline pilot …` reads it too."]
    tables: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables += ["", f"[{key}]", *(f"{k} = {_toml_value(v)}" for k, v in value.items())]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                tables += ["", f"[[{key}]]", *(f"{k} = {_toml_value(v)}" for k, v in item.items())]
        else:
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines + tables) + "\n"


def save(web: Web, pid: str, pilot: Pilot) -> Pilot:
    """Write the pilot file (atomically) and read it back as the CLI would."""
    folder = pilots_dir(web)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(to_toml(pilot))
    target = folder / f"{pid}.toml"
    os.replace(tmp, target)
    return load_pilot(target)


def web_editable(pilot: Pilot) -> None:
    """The form holds KPI metrics and the before/after and control designs; other pilots are
    edited as files (the form would drop what it cannot show)."""
    if (
        pilot.metric.file is not None
        or pilot.design in ("switchback", "stepped")
        or len(pilot.seasonality) > 1
    ):
        raise InputError(
            "this pilot measures a file, or has a switchback or stepped design or two rhythms, "
            "which the form cannot show: edit its pilot file on the server"
        )


# -- who sees what -------------------------------------------------------------------------------
def machines_of(pilot: Pilot) -> set[str]:
    metrics = [pilot.metric, *pilot.guardrails, *([pilot.control] if pilot.control else [])]
    return {m for metric in metrics for m in metric.machines} | {s.machine for s in pilot.stepped}


def sees(user: User, plant: Plant, pilot: Pilot) -> bool:
    if user.at_least("manager"):
        return True
    line_of = {m.id: line.name for line, m in plant.machines}
    machines = machines_of(pilot)
    return bool(machines) and all(m in line_of and user.sees_line(line_of[m]) for m in machines)


# -- from a form or JSON to a checked pilot ------------------------------------------------------
def draft_from_form(form: Mapping[str, list[str]]) -> dict[str, Any]:
    """The form's flat fields as the pilot file's nested structure (blank fields left out)."""
    d: dict[str, Any] = {}
    for name in FORM_TEXT + FORM_LISTS + ("people",):
        values = [v.strip() for v in form.get(name, []) if v.strip()]
        if not values:
            continue
        if name == "people":
            value: Any = [p.strip() for p in values[0].splitlines() if p.strip()]
        else:
            value = values if name in FORM_LISTS else values[0]
        head, _, tail = name.partition(".")
        if tail:
            d.setdefault(head, {})[tail] = value
        else:
            d[name] = value
    metric = d.get("metric", {})
    if d.get("design") == "control":
        d["control"] = {**d.get("control", {}), "kpi": metric.get("kpi")}
        d["control"]["direction"] = metric.get("direction", "increase")
    else:
        d.pop("control", None)
    d["guardrails"] = [
        {
            "kpi": kpi,
            "machines": metric.get("machines", []),
            "direction": "decrease" if kpi in LOWER_IS_BETTER else "increase",
        }
        for kpi in d.get("guardrails", [])
    ]
    if "value_per_unit" not in d.get("money", {}):
        d.pop("money", None)  # no value model
    if d.get("seasonality") == "none":
        d.pop("seasonality")
    return d


def _texts(value: Any, where: str, errors: list[dict[str, str]]) -> None:
    if isinstance(value, str):
        if len(value) > TEXT_LIMIT:
            errors.append({"field": where, "message": f"at most {TEXT_LIMIT} characters"})
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            errors.append({"field": where, "message": "not valid text (a broken character)"})
    elif isinstance(value, dict):
        for k, v in value.items():
            _texts(v, f"{where}.{k}" if where else str(k), errors)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _texts(v, f"{where}.{i}", errors)


def checked(draft: Any, plant: Plant, user: User) -> Pilot:
    """A pilot the web app may keep: valid as a pilot file, measuring KPIs of machines the user
    sees, with dates a plant's data can have. Raises :class:`BadPilot` naming each field."""
    if not isinstance(draft, dict):
        raise BadPilot([{"field": "(pilot)", "message": "a pilot is an object of fields"}])
    errors: list[dict[str, str]] = []
    _texts(draft, "", errors)
    for name, m in [("metric", draft.get("metric")), ("control", draft.get("control"))] + [
        (f"guardrails.{i}", g)
        for i, g in enumerate(
            draft["guardrails"] if isinstance(draft.get("guardrails"), list) else []
        )
    ]:
        if isinstance(m, dict) and m.get("file") is not None:
            errors.append(
                {
                    "field": f"{name}.file",
                    "message": "a metric from a file is for the command line; the web app "
                    "measures KPIs of the plant's machines",
                }
            )
    if errors:
        raise BadPilot(errors)
    try:
        pilot = Pilot.model_validate(draft)
    except ValidationError as exc:
        raise BadPilot(
            [
                {
                    "field": ".".join(map(str, e["loc"])) or "(pilot)",
                    "message": e["msg"].removeprefix("Value error, "),
                }
                for e in exc.errors()
            ]
        ) from None
    if not pilot.title.strip():
        errors.append({"field": "title", "message": "give the pilot a name"})
    known = {m.id: line.name for line, m in plant.machines}
    for name, metric in [("metric", pilot.metric), ("control", pilot.control)] + [
        (f"guardrails.{i}", g) for i, g in enumerate(pilot.guardrails)
    ]:
        if metric is None:
            continue
        if metric.kpi not in KPI_NAMES:
            errors.append(
                {"field": f"{name}.kpi", "message": f"choose one of {', '.join(KPI_NAMES)}"}
            )
        if not metric.machines:
            errors.append({"field": f"{name}.machines", "message": "choose at least one machine"})
        for m in metric.machines:
            if m not in known:
                errors.append({"field": f"{name}.machines", "message": f"no machine {m[:40]!r}"})
            elif not user.sees_line(known[m]):
                errors.append({"field": f"{name}.machines", "message": f"{m} is not yours"})
    dates = {
        "baseline.start": pilot.baseline.start,
        "pilot.end": pilot.pilot.end,
        "review_date": pilot.review_date,
    }
    for field, day in dates.items():
        if not EARLIEST.date() <= day < LATEST.date():
            errors.append(
                {"field": field, "message": f"dates lie between {EARLIEST:%Y} and {LATEST:%Y}"}
            )
    if pilot.pilot.end - pilot.baseline.start > LONGEST_SPAN:
        errors.append(
            {"field": "baseline.start", "message": "baseline and pilot span at most three years"}
        )
    if errors:
        raise BadPilot(errors)
    return pilot
