"""Answers (one respondent's file), scores with the reason behind each, several respondents,
rounds (T0, T1, …) compared, and the DMA-shaped JSON a hub can take.

An answers file is TOML (see ``docs/assess.md`` and ``example-answers.toml`` in the package)::

    respondent = "production manager"   # a role, not a name
    round = "T0"

    [answers]
    dbs_readiness = ["needs_known", "leaders"]               # checklist: the items that apply
    dr_basic = { connectivity = 4, erp = 3 }                 # scale: 0–5 per item (missing = 0)
    dbs_areas = { invested = ["operations"], planned = [] }  # invest
    dbs_plan = "partly"                                      # choice: no, partly or yes

Every question of the six dimensions must be answered; the basics may be left out (a gate that
reads an unanswered basic is not met). Problems are all reported at once, each naming the
question; nothing is kept from a file with a problem.
"""

from __future__ import annotations

import datetime as dt
import re
import statistics
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pilotline.assess.questionnaire import (
    CHOICES,
    DIMENSIONS,
    Question,
    band,
    dimension,
    item_values,
    questionnaire,
    questions,
    score_question,
)
from pilotline.errors import InputError

#: Respondents whose scores for a dimension lie this many points apart or more disagree.
DISAGREEMENT_POINTS = 25.0
DMA_FORMAT = "pilotline-dma/1"


@dataclass(frozen=True)
class Answers:
    """One respondent's checked answers, by question id."""

    respondent: str
    values: dict[str, Any]
    round: str = "T0"
    answered_on: dt.date | None = None

    def score(self, question_id: str) -> float | None:
        q = questions()[question_id]
        return score_question(q, self.values[question_id]) if question_id in self.values else None

    def item(self, question_id: str, item: str) -> float | None:
        """An item's value 0–1 (a scale's level ÷ 5), or None when the question is unanswered."""
        q = questions()[question_id]
        if question_id not in self.values:
            return None
        return item_values(q, self.values[question_id]).get(item)


def _check_one(q: Question, value: Any) -> tuple[Any, list[str]]:
    """A clean copy of one answer and the problems with it, each naming the question."""
    where = f"question {q.id} ({q.label})"
    known = set(q.item_ids)

    def unknown_items(names: list[str]) -> list[str]:
        bad = [str(n) for n in names if n not in known]
        return [f"{where}: unknown item(s) {bad}; its items are {sorted(known)}"] if bad else []

    if q.kind == "checklist":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            return None, [f'{where}: expected a list of items, e.g. ["{q.item_ids[0]}"]']
        return sorted(set(value)), unknown_items(value)
    if q.kind == "scale":
        if not isinstance(value, dict):
            return None, [
                f"{where}: expected a table of levels 0–5, e.g. {{ {q.item_ids[0]} = 3 }}"
            ]
        problems = unknown_items(list(value))
        for item, level in value.items():
            if isinstance(level, bool) or not isinstance(level, int) or not 0 <= level <= 5:
                problems.append(f"{where}, item {item}: {level!r} is outside the scale 0–5")
        return {k: v for k, v in value.items() if k in known}, problems
    if q.kind == "invest":
        if not isinstance(value, dict) or set(value) - {"invested", "planned"}:
            return None, [f"{where}: expected {{ invested = [items], planned = [items] }}"]
        problems = []
        for key in ("invested", "planned"):
            part = value.get(key, [])
            if not isinstance(part, list) or not all(isinstance(v, str) for v in part):
                problems.append(f"{where}: {key} must be a list of items")
            else:
                problems += unknown_items(part)
        if problems:
            return None, problems
        return {k: sorted(set(value.get(k, []))) for k in ("invested", "planned")}, problems
    choices = sorted(CHOICES, key=CHOICES.__getitem__)
    if not q.items:
        if not isinstance(value, str) or value not in CHOICES:
            return None, [f"{where}: {value!r} is not one of {choices}"]
        return value, []
    if not isinstance(value, dict):
        return None, [f"{where}: expected a table of {choices} per item"]
    problems = unknown_items(list(value))
    for item, choice in value.items():
        if not isinstance(choice, str) or choice not in CHOICES:
            problems.append(f"{where}, item {item}: {choice!r} is not one of {choices}")
    return dict(value), problems


#: The roles a respondent answers as: a role, never a name, is what leaves the firm.
RESPONDENT_ROLES = (
    "owner",
    "production manager",
    "team leader",
    "operator",
    "maintenance",
    "quality",
    "office",
)
ROUND = re.compile(r"^T\d{1,2}$")
_ROLE_TAG = re.compile(r"^(?P<role>.+?)(?: #[0-9a-f]{8}| \d{1,3})?$")


def check_round(round_: object, source: str = "answers") -> str:
    """A round's name (T0, T1, … T99), or InputError."""
    if not isinstance(round_, str) or not ROUND.match(round_.strip()):
        raise InputError(f"{source}: a round is T0, T1, … T99, not {str(round_)[:20]!r}")
    return round_.strip()


def check_respondent(respondent: object, source: str = "answers") -> str:
    """A respondent is a role (``team leader``, or ``team leader 2`` for a second one): never a
    person's name, since answers go to the campaign hub."""
    text = respondent.strip().lower() if isinstance(respondent, str) else ""
    found = _ROLE_TAG.match(text)
    if not found or found.group("role") not in RESPONDENT_ROLES:
        raise InputError(
            f"{source}: the respondent is a role — one of {', '.join(RESPONDENT_ROLES)} "
            f"(add a number for a second one: 'team leader 2') — not {str(respondent)[:40]!r}"
        )
    return text


def check_answers(
    raw: dict[str, Any], *, respondent: str, round_: str = "T0", source: str = "answers"
) -> Answers:
    """Check answers by question id: every problem at once, each naming the question."""
    known = questions()
    problems = [
        f"{source}: unknown question id {qid!r}" + _closest(qid, known)
        for qid in raw
        if qid not in known
    ]
    clean: dict[str, Any] = {}
    for qid, value in raw.items():
        if qid in known:
            checked, found = _check_one(known[qid], value)
            problems += [f"{source}: {p}" for p in found]
            if not found:
                clean[qid] = checked
    for d in questionnaire():
        if not d.scored:
            continue
        missing = [q.id for q in d.questions if q.id not in raw]
        if len(missing) == len(d.questions):
            problems.append(
                f"{source}: dimension {d.id} ({d.title}) is not answered: questions {missing}"
            )
        else:
            problems += [
                f"{source}: question {m} ({known[m].label}, {d.title}) is not answered"
                for m in missing
            ]
    if problems:
        raise InputError("The answers were not kept:\n" + "\n".join(f"  - {p}" for p in problems))
    return Answers(respondent=respondent, values=clean, round=round_)


def check_answer(question_id: str, value: Any) -> Any:
    """One answer checked on its own (the web app saves answers one at a time): a clean copy,
    or an InputError naming the question."""
    known = questions()
    if question_id not in known:
        raise InputError(f"unknown question id {question_id!r}" + _closest(question_id, known))
    checked, problems = _check_one(known[question_id], value)
    if problems:
        raise InputError("; ".join(problems))
    return checked


def _closest(qid: str, known: dict[str, Question]) -> str:
    import difflib

    near = difflib.get_close_matches(qid, list(known), n=1)
    return f" (did you mean {near[0]!r}?)" if near else ""


def load_answers(path: Path) -> Answers:
    """Read and check an answers file; errors name the question that is wrong."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(
            f"{path}: no such answers file; 'pilotline assess new FILE' writes an example"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a valid TOML file: {exc}") from None
    except RecursionError:
        raise InputError(f"{path}: nested too deeply to be an answers file") from None
    extra = sorted(set(raw) - {"respondent", "round", "date", "answers"})
    if extra:
        raise InputError(
            f"{path}: unknown top-level key(s) {extra}; an answers file has respondent, round, "
            "date and [answers]"
        )
    answers = raw.get("answers")
    if not isinstance(answers, dict):
        raise InputError(f"{path}: no [answers] table; 'pilotline assess new FILE' shows one")
    respondent = check_respondent(raw.get("respondent", "production manager"), str(path))
    round_ = check_round(raw.get("round", "T0"), str(path))
    checked = check_answers(answers, respondent=respondent, round_=round_, source=str(path))
    date = raw.get("date")
    return Answers(
        checked.respondent,
        checked.values,
        checked.round,
        date if isinstance(date, dt.date) else None,
    )


# -- scores -----------------------------------------------------------------------------------
@dataclass
class Score:
    """One respondent's (or the median of several) scores with the reason behind each."""

    dimensions: dict[str, float]
    questions: dict[str, float]
    why: dict[str, str]
    respondents: list[str] = field(default_factory=list)

    @property
    def overall(self) -> float:
        return sum(self.dimensions[d] for d in DIMENSIONS) / len(DIMENSIONS)

    def as_json(self) -> dict[str, Any]:
        return {
            "dimensions": {d: round(self.dimensions[d], 1) for d in DIMENSIONS},
            "overall": round(self.overall, 1),
            "band": band(self.overall),
            "why": self.why,
        }


def _why(dim_id: str, scores: dict[str, float], answers: Answers) -> str:
    d = dimension(dim_id)
    parts = [f"{q.label} {scores[q.id]:.1f}/10" for q in d.questions]
    total = 10 * sum(scores[q.id] for q in d.questions) / len(d.questions)
    weakest = min(d.questions, key=lambda q: (scores[q.id], q.id))
    gaps = [
        weakest.item_text(i)
        for i, v in item_values(weakest, answers.values[weakest.id]).items()
        if v == 0 and weakest.items
    ][:2]
    lacking = f"; missing in {weakest.label}: {', '.join(gaps).lower()}" if gaps else ""
    return f"{d.title} scored {total:.0f} ({band(total)}): {', '.join(parts)}{lacking}."


def score(answers: Answers) -> Score:
    """Each question 0–10, each dimension 0–100 (the mean of its questions × 10)."""
    q_scores = {qid: score_question(questions()[qid], v) for qid, v in answers.values.items()}
    dims = {}
    why = {}
    for d in DIMENSIONS:
        qs = dimension(d).questions
        dims[d] = 10 * sum(q_scores[q.id] for q in qs) / len(qs)
        why[d] = _why(d, q_scores, answers)
    return Score(dims, q_scores, why, [answers.respondent])


def combine(scores: list[Score]) -> dict[str, Any]:
    """Several respondents: each dimension's median, spread (max − min) and who disagrees."""
    if not scores:
        raise InputError("no answers to combine")
    out: dict[str, Any] = {"dimensions": {}, "spread": {}, "disagreements": [], "respondents": []}
    for d in DIMENSIONS:
        values = [s.dimensions[d] for s in scores]
        median = statistics.median(values)
        spread = max(values) - min(values)
        out["dimensions"][d] = round(median, 1)
        out["spread"][d] = round(spread, 1)
        if spread >= DISAGREEMENT_POINTS:
            low = min(scores, key=lambda s: s.dimensions[d])
            high = max(scores, key=lambda s: s.dimensions[d])
            out["disagreements"].append(
                {
                    "dimension": d,
                    "spread": round(spread, 1),
                    "why": f"{dimension(d).title}: {high.respondents[0]} scored "
                    f"{high.dimensions[d]:.0f}, {low.respondents[0]} {low.dimensions[d]:.0f} "
                    f"({spread:.0f} points apart): talk it through before acting on it.",
                }
            )
    overall = sum(out["dimensions"][d] for d in DIMENSIONS) / len(DIMENSIONS)
    out["overall"] = round(overall, 1)
    out["band"] = band(overall)
    out["respondents"] = [
        {"respondent": s.respondents[0], "overall": round(s.overall, 1)} for s in scores
    ]
    return out


def compare(before: dict[str, float], after: dict[str, float]) -> dict[str, dict[str, float]]:
    """Per dimension (and overall): the earlier score, the later one and the change."""
    out = {
        d: {"before": before[d], "after": after[d], "change": round(after[d] - before[d], 1)}
        for d in [*DIMENSIONS, "overall"]
    }
    return out


# -- DMA-shaped JSON --------------------------------------------------------------------------
def to_dma(answers: list[Answers], *, round_: str) -> dict[str, Any]:
    """A hub-ready document: scores per dimension (0–100) and every answer per question, with
    respondents by role only (never a person's name)."""
    scores = [score(a) for a in answers]
    combined = combine(scores)
    return {
        "format": DMA_FORMAT,
        "round": round_,
        "dimensions": [
            {"id": d, "title": dimension(d).title, "score": combined["dimensions"][d]}
            for d in DIMENSIONS
        ],
        "overall": combined["overall"],
        "band": combined["band"],
        "responses": [
            {"role": a.respondent, "answers": a.values, "scores": score(a).as_json()["dimensions"]}
            for a in answers
        ],
    }


def from_dma(doc: Any, *, source: str = "DMA file") -> list[Answers]:
    """The answers in a DMA-shaped document, checked as an answers file is."""
    if not isinstance(doc, dict) or doc.get("format") != DMA_FORMAT:
        raise InputError(f"{source}: not a Pilotline DMA export (format {DMA_FORMAT!r} expected)")
    round_ = check_round(doc.get("round", "T0"), source)
    out = []
    responses = doc.get("responses") or []
    if not isinstance(responses, list):
        raise InputError(f"{source}: 'responses' is a list of responses")
    for n, r in enumerate(responses, start=1):
        if not isinstance(r, dict) or not isinstance(r.get("answers"), dict):
            raise InputError(f"{source}: response {n} has no answers")
        out.append(
            check_answers(
                r["answers"],
                respondent=check_respondent(r.get("role"), f"{source}, response {n}"),
                round_=round_,
                source=f"{source}, response {n}",
            )
        )
    if not out:
        raise InputError(f"{source}: no responses")
    return out
