"""What the assessment keeps in the store: answers per round and respondent, and the skills
matrix. Names in the matrix are personal data: :func:`export_person` gives one person everything
kept about them, :func:`erase_person` removes them from every table that could hold their name.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from pilotline.assess.answers import Answers, check_answers
from pilotline.assess.catalogue import skills
from pilotline.errors import InputError, NotFound
from pilotline.names import name_key
from pilotline.store import Store
from pilotline.store.session import utc_now

ERASED = "(erased respondent)"
LEVELS = ("none", "learning", "can do with help", "can do alone", "can teach")


def save_answers(store: Store, answers: Answers) -> None:
    """Keep a respondent's answers for a round (replacing what they gave for it before)."""
    with store.session(write=True) as s, s.transaction():
        s.execute(
            "DELETE FROM assess_answers WHERE round = ? AND respondent = ?",
            [answers.round, answers.respondent],
        )
        s.execute(
            "INSERT INTO assess_answers VALUES (?, ?, ?, ?, ?)",
            [
                answers.round,
                answers.respondent,
                json.dumps(answers.values, sort_keys=True),
                answers.answered_on,
                utc_now(),
            ],
        )


def forget_answers(store: Store, round_: str, respondent: str) -> None:
    """Remove a respondent's answers for a round (the web app, when they change their role)."""
    with store.session(write=True) as s, s.transaction():
        s.execute(
            "DELETE FROM assess_answers WHERE round = ? AND respondent = ?", [round_, respondent]
        )


def rounds(store: Store) -> list[str]:
    """The rounds kept, oldest first (by when their first answers were recorded)."""
    with store.session() as s:
        rows = s.arrow(
            "SELECT round, min(recorded_at) AS first FROM assess_answers GROUP BY round "
            "ORDER BY first, round"
        ).to_pylist()
    return [r["round"] for r in rows]


def load_round(store: Store, round_: str) -> list[Answers]:
    with store.session() as s:
        rows = s.arrow(
            "SELECT respondent, answers, answered_on FROM assess_answers WHERE round = ? "
            "ORDER BY recorded_at, respondent",
            [round_],
        ).to_pylist()
    if not rows:
        raise NotFound(f"no answers kept for round {round_!r}; kept rounds: {rounds(store)}")
    out = []
    for r in rows:
        a = check_answers(json.loads(r["answers"]), respondent=r["respondent"], round_=round_)
        out.append(Answers(a.respondent, a.values, round_, r["answered_on"]))
    return out


# -- skills matrix ----------------------------------------------------------------------------
def _spellings(s: Any, table: str, column: str, person: str) -> list[str]:
    """Every stored spelling of the person in ``table.column``."""
    names = s.arrow(f"SELECT DISTINCT {column} AS name FROM {table}").column("name").to_pylist()
    return [n for n in names if n is not None and name_key(n) == name_key(person)]


def set_level(store: Store, person: str, skill: str, level: int) -> None:
    person = " ".join(unicodedata.normalize("NFKC", person).split())
    if not person:
        raise InputError("a person needs a name (or initials)")
    if len(person) > 80 or any(
        not (c.isprintable()) or unicodedata.category(c) == "Cf" for c in person
    ):
        raise InputError("a person's name is at most 80 printable characters, on one line")
    if skill not in skills():
        raise InputError(f"unknown skill {skill!r}; skills: {sorted(skills())}")
    if not 0 <= level <= 4:
        raise InputError(f"level {level} is outside 0–4 ({', '.join(LEVELS)})")
    with store.session(write=True) as s, s.transaction():
        same = _spellings(s, "skills", "person", person)
        person = same[0] if same else person  # one person, one spelling: the first one kept
        s.execute("DELETE FROM skills WHERE person = ? AND skill = ?", [person, skill])
        s.execute("INSERT INTO skills VALUES (?, ?, ?, ?)", [person, skill, level, utc_now()])


def matrix(store: Store) -> dict[str, dict[str, int]]:
    """person → skill → level."""
    with store.session() as s:
        rows = s.arrow("SELECT person, skill, level FROM skills ORDER BY person, skill").to_pylist()
    out: dict[str, dict[str, int]] = {}
    for r in rows:
        out.setdefault(r["person"], {})[r["skill"]] = int(r["level"])
    return out


def export_person(store: Store, person: str) -> dict[str, Any]:
    """Everything kept about one person (their right of access)."""
    with store.session() as s:
        levels = s.arrow(
            "SELECT skill, level, updated_at FROM skills WHERE person = ? ORDER BY skill", [person]
        ).to_pylist()
        answered = s.arrow(
            "SELECT round, answers, recorded_at FROM assess_answers WHERE respondent = ?", [person]
        ).to_pylist()
    if not levels and not answered:
        raise NotFound(f"nothing is kept about {person!r}")
    return {
        "person": person,
        "skills": [
            {
                "skill": r["skill"],
                "level": r["level"],
                "meaning": LEVELS[r["level"]],
                "updated_at": r["updated_at"].isoformat(),
            }
            for r in levels
        ],
        "answers": [
            {
                "round": r["round"],
                "answers": json.loads(r["answers"]),
                "recorded_at": r["recorded_at"].isoformat(),
            }
            for r in answered
        ],
    }


def erase_person(store: Store, person: str) -> dict[str, int]:
    """Remove the person's skills and their name from any answers they gave (the answers stay,
    as an erased respondent's). Returns the rows changed per table."""
    with store.session(write=True) as s, s.transaction():
        n_skills = n_answers = 0
        for name in _spellings(s, "skills", "person", person):  # every spelling of them
            n_skills += int(s.scalar("SELECT count(*) FROM skills WHERE person = ?", [name]))
            s.execute("DELETE FROM skills WHERE person = ?", [name])
        for name in _spellings(s, "assess_answers", "respondent", person):
            n = int(s.scalar("SELECT count(*) FROM assess_answers WHERE respondent = ?", [name]))
            taken = int(
                s.scalar(
                    "SELECT count(DISTINCT respondent) FROM assess_answers WHERE respondent LIKE ?",
                    [ERASED + "%"],
                )
            )
            s.execute(
                "UPDATE assess_answers SET respondent = ? WHERE respondent = ?",
                [f"{ERASED} {taken + 1}", name],
            )
            n_answers += n
    if not n_skills and not n_answers:
        raise NotFound(f"nothing is kept about {person!r}")
    return {"skills": n_skills, "assess_answers": n_answers}
