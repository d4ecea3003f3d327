"""Basics-first gates, as data (``gates.toml``), and a tiny evaluator for their expressions.

An expression is parsed with :mod:`ast` and walked by :func:`_value`, which knows a handful of
node kinds (``and``/``or``/``not``, comparisons, dotted names, constants) and refuses every
other: nothing is ever executed. Names are checked when the gates are loaded, so a typing error
in a campaign's own gate fails at once with the gate named.
"""

from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import Any

from pilotline.assess.answers import Answers
from pilotline.assess.evidence import Evidence, MachineEvidence
from pilotline.assess.questionnaire import questions
from pilotline.errors import InputError

MACHINE_FACTS = frozenset(MachineEvidence("", "", "").facts())
PROCESS_FACTS = frozenset({"candidate", "score", "events"})
ROOTS = ("machine", "process", "evidence", "score", "answer")
_COMPARE: dict[type, Any] = {
    ast.Eq: lambda a, b: a == b,
    ast.NotEq: lambda a, b: a != b,
    ast.Lt: lambda a, b: a < b,
    ast.LtE: lambda a, b: a <= b,
    ast.Gt: lambda a, b: a > b,
    ast.GtE: lambda a, b: a >= b,
}


def _dotted(node: ast.expr) -> list[str] | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _names(tree: ast.AST, where: str) -> set[str]:
    """Every dotted name in ``tree`` (checked against what gates may read); refuses other nodes."""
    allowed: tuple[type, ...] = (
        ast.Expression,
        ast.BoolOp,
        ast.And,
        ast.Or,
        ast.UnaryOp,
        ast.Not,
        ast.Compare,
        *_COMPARE,
    )
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.Attribute | ast.Name):
            name = _dotted(node)
            if name is None:
                raise InputError(f"{where}: only dotted names such as machine.oee may be read")
            _check_name(name, where)
            found.add(".".join(name))
            return
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, int | float | str | bool):
                raise InputError(f"{where}: {node.value!r} is not a number, text or true/false")
            return
        if not isinstance(node, allowed):
            raise InputError(
                f"{where}: {type(node).__name__} is not allowed; use and, or, not, comparisons, "
                "names and constants"
            )
        for child in ast.iter_child_nodes(node):
            walk(child)

    walk(tree)
    return found


def _check_name(name: list[str], where: str) -> None:
    root, rest = name[0], name[1:]
    if root in ("true", "false"):
        return
    ok = {
        "machine": len(rest) == 1 and rest[0] in MACHINE_FACTS,
        "process": len(rest) == 1 and rest[0] in PROCESS_FACTS,
        "evidence": len(rest) == 1,
        "score": len(rest) == 1 and rest[0] in questions(),
        "answer": len(rest) == 2
        and rest[0] in questions()
        and rest[1] in (questions()[rest[0]].item_ids or (rest[0],)),
    }.get(root, False)
    if not ok:
        raise InputError(
            f"{where}: cannot read {'.'.join(name)!r}; names start with one of {list(ROOTS)} "
            "(see gates.toml for the facts each offers)"
        )


def _value(node: ast.AST, names: dict[str, Any]) -> Any:
    if isinstance(node, ast.Expression):
        return _value(node.body, names)
    if isinstance(node, ast.BoolOp):
        values = (_value(v, names) for v in node.values)
        return (
            all(bool(v) for v in values)
            if isinstance(node.op, ast.And)
            else any(bool(v) for v in values)
        )
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _value(node.operand, names)
    if isinstance(node, ast.Compare):
        left = _value(node.left, names)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _value(right_node, names)
            if left is None or right is None:  # unknown: never met
                return False
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Constant):
        return node.value
    name = _dotted(node)  # type: ignore[arg-type]
    assert name is not None
    if name[0] in ("true", "false"):
        return name[0] == "true"
    return names.get(".".join(name))


@dataclass(frozen=True)
class Gate:
    id: str
    when: str
    reason: str
    opened_by: str
    tree: ast.Expression = field(compare=False, repr=False)
    reads: frozenset[str] = field(compare=False, repr=False)

    @property
    def scope(self) -> str:
        roots = {n.split(".")[0] for n in self.reads}
        return "machine" if "machine" in roots else "process" if "process" in roots else "plant"

    def holds(self, names: dict[str, Any]) -> bool:
        return bool(_value(self.tree, names))


def parse_gates(text: str, *, source: str = "gates.toml") -> dict[str, Gate]:
    raw = tomllib.loads(text)
    out: dict[str, Gate] = {}
    for g in raw.get("gate", []):
        where = f"{source}, gate {g.get('id')!r}"
        try:
            tree = ast.parse(g["when"], mode="eval")
        except SyntaxError as exc:
            raise InputError(f"{where}: cannot read {g['when']!r} ({exc.msg})") from None
        reads = _names(tree, where)
        gate = Gate(g["id"], g["when"], g["reason"], g["opened_by"], tree, frozenset(reads))
        if {"machine", "process"} <= {n.split(".")[0] for n in reads}:
            raise InputError(f"{where}: reads both machine and process facts; split it in two")
        out[gate.id] = gate
    return out


@cache
def gates() -> dict[str, Gate]:
    return parse_gates((files("pilotline.assess") / "gates.toml").read_text(encoding="utf-8"))


def plant_names(evidence: Evidence, answers: Answers | None) -> dict[str, Any]:
    names: dict[str, Any] = {f"evidence.{k}": v for k, v in evidence.facts().items()}
    if answers is not None:
        for q in questions().values():
            if q.id in answers.values:
                names[f"score.{q.id}"] = answers.score(q.id)
                for item in q.item_ids or (q.id,):
                    names[f"answer.{q.id}.{item}"] = answers.item(q.id, item)
    return names


@dataclass
class Opening:
    """Whether a step's gates let it through; where they do, the machines and activities they
    hold for."""

    open: bool
    failed: list[str]
    machines: list[str]
    activities: list[str]


def check(gate_ids: list[str], evidence: Evidence, answers: Answers | None) -> Opening:
    """Whether every gate holds: plant gates once, machine gates on one machine together,
    process gates on one activity."""
    known = gates()
    base = plant_names(evidence, answers)
    failed = [g for g in gate_ids if known[g].scope == "plant" and not known[g].holds(base)]

    def scoped(scope: str, rows: list[tuple[str, dict[str, Any]]]) -> list[str]:
        mine = [known[g] for g in gate_ids if known[g].scope == scope]
        if not mine:
            return [name for name, _ in rows]
        best: list[str] | None = None
        passing = []
        for name, facts in rows:
            names = {**base, **{f"{scope}.{k}": v for k, v in facts.items()}}
            missed = [g.id for g in mine if not g.holds(names)]
            if not missed:
                passing.append(name)
            elif best is None or len(missed) < len(best):
                best = missed
        if not passing:
            failed.extend(best if best is not None else [g.id for g in mine])
        return passing

    machines = scoped("machine", [(m.id, m.facts()) for m in evidence.machines])
    activities = scoped(
        "process",
        [(f"{p['log']}: {p['activity']}", p) for p in evidence.processes],
    )
    return Opening(not failed, failed, machines, activities)
