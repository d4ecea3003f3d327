"""The questionnaire, as data (``questionnaire.toml``), and how each kind of answer scores 0–10.

Six dimensions in the structure of the EU Digital Maturity Assessment (DMA) for SMEs, and a
section on manufacturing basics that only the gates read. Every rule is in :data:`RULES`; the
reference (``docs/assess-reference.md``) is generated from the questionnaire and these rules.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files
from typing import Any, Literal

Kind = Literal["checklist", "scale", "invest", "choice"]

#: How each kind of question scores, in words (the reference prints these).
RULES: dict[str, str] = {
    "checklist": "tick what applies; score = 10 × ticked ÷ items",
    "scale": "each item 0–5 (0 not used, 1 considering it, 2 trying it, 3 used in part of the "
    "firm, 4 used across the firm, 5 fully operational and improved); score = 10 × Σ levels ÷ "
    "(5 × items)",
    "invest": "each item already invested (1), planned (½) or neither (0); score = 10 × Σ ÷ items",
    "choice": "no (0), partly (½) or yes (1), per item; score = 10 × Σ ÷ items",
}
SCALE_LABELS = (
    "not used",
    "considering it",
    "trying it",
    "used in part of the firm",
    "used across the firm",
    "fully operational and improved",
)
CHOICES = {"no": 0.0, "partly": 0.5, "yes": 1.0}

#: The six scored dimensions, in the DMA's order (the keys of ``assess score --format json``).
DIMENSIONS = (
    "digital_business_strategy",
    "digital_readiness",
    "human_centric_digitalisation",
    "data_management",
    "automation_ai",
    "green_digitalisation",
)
BANDS = ((25, "Basic"), (50, "Average"), (75, "Moderately advanced"), (100, "Advanced"))


def band(score: float) -> str:
    """Basic 0–25, Average 26–50, Moderately advanced 51–75, Advanced 76–100 (on the rounded
    score)."""
    value = round(score)
    return next(name for top, name in BANDS if value <= top)


@dataclass(frozen=True)
class Question:
    id: str
    label: str
    kind: Kind
    text: str
    items: tuple[tuple[str, str], ...]  # (id, text); empty for a single choice
    dimension: str

    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(i for i, _ in self.items)

    def item_text(self, item: str) -> str:
        return dict(self.items).get(item, item)


@dataclass(frozen=True)
class Dimension:
    id: str
    title: str
    scored: bool
    questions: tuple[Question, ...]


@cache
def questionnaire() -> tuple[Dimension, ...]:
    """Every dimension and question, in order (read once from the package)."""
    raw = tomllib.loads(
        (files("pilotline.assess") / "questionnaire.toml").read_text(encoding="utf-8")
    )
    dims = []
    for d in raw["dimension"]:
        qs = tuple(
            Question(
                id=q["id"],
                label=q["label"],
                kind=q["kind"],
                text=q["text"],
                items=tuple((i, t) for i, t in q.get("items", [])),
                dimension=d["id"],
            )
            for q in d["question"]
        )
        dims.append(Dimension(d["id"], d["title"], d.get("scored", True), qs))
    return tuple(dims)


def questions() -> dict[str, Question]:
    return {q.id: q for d in questionnaire() for q in d.questions}


def dimension(key: str) -> Dimension:
    return next(d for d in questionnaire() if d.id == key)


def item_values(q: Question, answer: Any) -> dict[str, float]:
    """Each item's value, 0–1, from a checked answer (see :mod:`pilotline.assess.answers`)."""
    if q.kind == "checklist":
        return {i: 1.0 if i in answer else 0.0 for i in q.item_ids}
    if q.kind == "scale":
        return {i: answer.get(i, 0) / 5 for i in q.item_ids}
    if q.kind == "invest":
        invested, planned = set(answer.get("invested", [])), set(answer.get("planned", []))
        return {i: 1.0 if i in invested else 0.5 if i in planned else 0.0 for i in q.item_ids}
    if not q.items:
        return {q.id: CHOICES[answer]}
    return {i: CHOICES[answer.get(i, "no")] for i in q.item_ids}


def score_question(q: Question, answer: Any) -> float:
    """The question's score, 0–10."""
    values = item_values(q, answer)
    return 10 * sum(values.values()) / len(values)
