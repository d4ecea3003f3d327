"""Answering the readiness questionnaire in the browser: who answers, for which round, and the
answers saved one at a time.

Each logged-in person answers as themselves, with a role (owner, production manager, …). In the
store a respondent is that role and a short tag from their account — ``team leader #3f9c0a1b`` —
never their name, so the DMA export (``pilotline assess export``) carries roles only. Answers in
progress are kept as a draft, ``<home>/assess/answers/<round>/<tag>.json``; once every question of
the six dimensions is answered, the draft is also kept in the store as the respondent's answers
for the round (as ``pilotline assess answer`` keeps a file), and every later change replaces them.
Each answer is checked by the assess module before anything is written; a bad one is refused
naming the question, and nothing is stored.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import tempfile
import threading
from pathlib import Path
from typing import Any

from pilotline.assess import kept
from pilotline.assess.answers import (
    RESPONDENT_ROLES,
    ROUND,
    Answers,
    check_answer,
    check_answers,
    check_round,
)
from pilotline.assess.questionnaire import questionnaire
from pilotline.errors import InputError
from pilotline.web.context import Web
from pilotline.web.users import User

_TAG = re.compile(r" #([0-9a-f]{8})$")
_lock = threading.Lock()


def tag(web: Web, user: User) -> str:
    """Eight hex characters naming the account, not the person (a keyed hash of the name for
    accounts made before accounts had ids)."""
    if user.account:
        return user.account[:8]
    secret_file = web.home / "web-secret.key"
    secret = secret_file.read_bytes() if secret_file.exists() else b"pilotline"
    return hmac.new(secret, user.username.encode(), hashlib.sha256).hexdigest()[:8]


def respondent(role: str, user_tag: str) -> str:
    return f"{role} #{user_tag}"


def names(web: Web) -> dict[str, str]:
    """Account tag → user name, for pages managers see (the store never holds the names)."""
    return {tag(web, u): u.username for u in web.users.all_users()}


def shown(text: str, who: dict[str, str]) -> str:
    """A respondent's key (or a sentence naming some) with the tags replaced by user names."""
    return re.sub(r"#([0-9a-f]{8})\b", lambda m: f"({who.get(m.group(1), 'former user')})", text)


# -- the round being answered --------------------------------------------------------------------
def _folder(web: Web) -> Path:
    return web.home / "assess"


def current_round(web: Web) -> str:
    """The round people answer now: chosen by a manager; else the latest kept round, else T0."""
    path = _folder(web) / "round.txt"
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if ROUND.match(text):
            return text
    kept_rounds = kept.rounds(web.store)
    return kept_rounds[-1] if kept_rounds else "T0"


def set_round(web: Web, round_: str) -> str:
    round_ = check_round(round_, "the round")
    _write(_folder(web) / "round.txt", round_ + "\n")
    return round_


def rounds(web: Web) -> list[str]:
    """Kept rounds and the current one, oldest first."""
    out = kept.rounds(web.store)
    now = current_round(web)
    return out if now in out else [*out, now]


def next_round(web: Web) -> str:
    numbers = [int(r[1:]) for r in rounds(web) if ROUND.match(r)]  # ignore any odd name kept
    return f"T{max(numbers, default=-1) + 1}"


# -- drafts ----------------------------------------------------------------------------------------
def _draft_path(web: Web, round_: str, user_tag: str) -> Path:
    return _folder(web) / "answers" / round_ / f"{user_tag}.json"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, path)


def draft(web: Web, user: User, round_: str) -> dict[str, Any]:
    """What the user saved for the round: role, answers, what is missing, whether it counts."""
    path = _draft_path(web, round_, tag(web, user))
    saved: dict[str, Any] = {"role": None, "answers": {}}
    if path.exists():
        saved = json.loads(path.read_text(encoding="utf-8"))
    return _status(round_, saved)


def _status(round_: str, saved: dict[str, Any]) -> dict[str, Any]:
    answers = saved.get("answers") or {}
    missing = [
        q.id for d in questionnaire() if d.scored for q in d.questions if q.id not in answers
    ]
    return {
        "round": round_,
        "role": saved.get("role"),
        "answers": answers,
        "missing": missing,
        "complete": not missing,
    }


def save(
    web: Web, user: User, round_: str, *, role: str | None, answers: dict[str, Any]
) -> dict[str, Any]:
    """Check every given answer (all must be right, or nothing is written), merge them into the
    user's draft and, when the six dimensions are answered, keep them for the round."""
    if role is not None and role not in RESPONDENT_ROLES:
        raise InputError(f"role must be one of {', '.join(RESPONDENT_ROLES)}, not {role[:40]!r}")
    problems, clean = [], {}
    for qid, value in answers.items():
        try:
            clean[qid] = check_answer(qid, value)
        except InputError as exc:
            problems.append(str(exc))
    if problems:
        raise InputError("Nothing was saved:\n" + "\n".join(f"  - {p}" for p in problems))
    user_tag = tag(web, user)
    with _lock:
        current = draft(web, user, round_)
        old_role = current["role"]
        new_role = role or old_role
        if new_role is None:
            raise InputError(f"choose the role you answer as: {', '.join(RESPONDENT_ROLES)}")
        merged = {**current["answers"], **clean}
        status = _status(round_, {"role": new_role, "answers": merged})
        if status["complete"]:
            checked = check_answers(merged, respondent=respondent(new_role, user_tag))
            kept.save_answers(web.store, Answers(checked.respondent, checked.values, round_, None))
        if old_role and old_role != new_role:
            kept.forget_answers(web.store, round_, respondent(old_role, user_tag))
        _write(
            _draft_path(web, round_, user_tag),
            json.dumps({"role": new_role, "answers": merged}, sort_keys=True),
        )
    return status


def erase_user(web: Web, username: str) -> int:
    """Remove a user's drafts; their kept answers stay as an erased respondent's (as
    ``pilotline assess skills erase`` leaves them). Returns the answer sets touched."""
    user = web.users.get(username)
    if user is None:
        return 0
    user_tag = tag(web, user)
    removed = 0
    for path in sorted((_folder(web) / "answers").glob(f"*/{user_tag}.json")):
        path.unlink()
        removed += 1
    for round_ in kept.rounds(web.store):
        for a in kept.load_round(web.store, round_):
            found = _TAG.search(a.respondent)
            if found and found.group(1) == user_tag:
                kept.erase_person(web.store, a.respondent)
                removed += 1
    return removed
