"""Add what an import found missing to the plant model's text: a machine to a line, a reason
code with its loss category. The file stays the one people edit by hand: its comments, order
and layout are kept, the new entries are added where a person would write them, and the result
is read back to prove it says what was meant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from pilotline.errors import InputError, PlantModelError
from pilotline.plant import parse_plant
from pilotline.plant.losses import CATEGORY_BY_KEY

_HEADER = re.compile(r"^\s*\[\[?\s*([A-Za-z0-9_.\-]+)\s*\]\]?\s*(#.*)?$")
_NAME = re.compile(r"^\s*name\s*=\s*(\"(?:[^\"\\]|\\.)*\"|'[^']*')\s*(#.*)?$")
#: An id or reason code as an import may bring it: no line breaks, not too long.
_TEXT = re.compile(r"^[^\x00-\x1f\x7f]{1,100}$")


@dataclass(frozen=True)
class NewMachine:
    id: str
    line: str
    ideal_cycle_s: float
    name: str = ""


def _toml(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a TOML basic string is JSON's string


def _check(text: str, what: str) -> str:
    text = text.strip()
    if not _TEXT.match(text):
        raise InputError(f"{what} {text[:40]!r}: expected 1 to 100 characters on one line")
    return text


def add_reasons(text: str, reasons: dict[str, str]) -> str:
    """``text`` with each reason code → loss category added to its ``[reasons]`` table."""
    allowed = sorted(k for k in CATEGORY_BY_KEY if k != "no_data")
    lines = [
        f"{_toml(_check(code, 'reason code'))} = {_toml(category)}"
        for code, category in reasons.items()
        if category in allowed or _fail(category, allowed)
    ]
    if not lines:
        return text
    rows = text.splitlines()
    at = next((i for i, r in enumerate(rows) if re.match(r"^\s*\[reasons\]\s*(#.*)?$", r)), None)
    if at is None:
        return text.rstrip("\n") + "\n\n[reasons]\n" + "\n".join(lines) + "\n"
    return "\n".join([*rows[: at + 1], *lines, *rows[at + 1 :]]) + "\n"


def _fail(category: str, allowed: list[str]) -> bool:
    raise InputError(f"{category!r} is not a loss category; expected one of {allowed}")


def add_machines(text: str, machines: list[NewMachine]) -> str:
    """``text`` with each machine added at the end of its line's block."""
    for m in machines:
        mid, line = _check(m.id, "machine id"), _check(m.line, "line")
        if not 0 < m.ideal_cycle_s <= 86_400:
            raise InputError(
                f"machine {mid!r}: the ideal cycle time must be more than 0 and at most 86400 s"
            )
        rows = text.splitlines()
        start = end = None
        for i, row in enumerate(rows):
            header = _HEADER.match(row)
            if header is None:
                continue
            if start is not None and not header.group(1).startswith("lines."):
                end = i
                break
            if header.group(1) == "lines" and row.strip().startswith("[["):
                if start is not None:
                    end = i
                    break
                name = next(
                    (_NAME.match(r) for r in rows[i + 1 :] if _NAME.match(r) or _HEADER.match(r)),
                    None,
                )
                if name and json.loads(name.group(1).replace("'", '"')) == line:
                    start = i
        if start is None:
            raise InputError(f"the plant model has no line named {line!r}")
        end = len(rows) if end is None else end
        while end > start + 1 and not rows[end - 1].strip():
            end -= 1
        entry = ["", "  [[lines.machines]]", f"  id = {_toml(mid)}"]
        if m.name.strip():
            entry.append(f"  name = {_toml(_check(m.name, 'machine name'))}")
        entry.append(f"  ideal_cycle_s = {m.ideal_cycle_s:g}")
        text = "\n".join([*rows[:end], *entry, *rows[end:]]) + "\n"
    return text


def add_to_plant(text: str, *, machines: list[NewMachine], reasons: dict[str, str]) -> str:
    """The plant model's text with the machines and reason codes added, read back to check.

    A reason code the model already has with that category (added meanwhile by someone else,
    or asked twice) is left as it is; one the model gives another category is refused, named,
    rather than written twice (which made the file invalid TOML).
    """
    try:
        current = parse_plant(text)
    except PlantModelError:
        current = None
    if current is not None:
        own = {k.strip().lower(): v for k, v in current.reasons.items()}
        for code, category in reasons.items():
            if own.get(code.strip().lower(), category) != category:
                raise InputError(
                    f"reason code {code.strip()!r} is already in the plant model, as "
                    f"{own[code.strip().lower()]!r}; change it in the settings"
                )
        reasons = {k: v for k, v in reasons.items() if k.strip().lower() not in own}
    new = add_reasons(add_machines(text, machines), reasons)
    try:
        plant = parse_plant(new)
    except PlantModelError as exc:
        raise InputError(f"the plant model would not be valid: {exc}") from None
    where = {m.id: line.name for line, m in plant.machines}
    for m in machines:
        if where.get(m.id.strip()) != m.line.strip():
            raise InputError(
                f"machine {m.id!r} could not be added to line {m.line!r} automatically; "
                "add it in the settings"
            )
    return new
