"""The skills plan: gaps for the recommended steps, who learns what from whom, and skills that
only one person holds. Levels 0–4: none, learning, can do with help, can do alone, can teach."""

from __future__ import annotations

from typing import Any

from pilotline.assess.catalogue import skills
from pilotline.assess.recommend import Recommendation

CAN_DO_ALONE, CAN_TEACH = 3, 4


def single_holders(matrix: dict[str, dict[str, int]]) -> list[str]:
    """A warning for each skill that only one person holds at level 3 or more."""
    out = []
    for sk, info in skills().items():
        holders = sorted(p for p, levels in matrix.items() if levels.get(sk, 0) >= CAN_DO_ALONE)
        if len(holders) == 1:
            out.append(
                f"Only {holders[0]} can do {info.title.lower()} alone: when they are away it "
                "stops; train a second person."
            )
    return out


def plan(
    matrix: dict[str, dict[str, int]], recs: list[Recommendation], *, top: int = 5
) -> list[dict[str, Any]]:
    """For the first ``top`` ranked steps, each skill fewer than two people hold at the level
    needed: the person closest to it learns, from a colleague who holds it (one who can teach
    first), or outside when nobody does."""
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for r in [r for r in recs if r.rank is not None][:top]:
        for sk, need in r.step.skills.items():
            if sk in seen:
                continue
            seen.add(sk)
            holders = sorted(
                (p for p, lv in matrix.items() if lv.get(sk, 0) >= need),
                key=lambda p: (-matrix[p].get(sk, 0), p),
            )
            if len(holders) >= 2:
                continue
            others = [p for p in matrix if p not in holders]
            learner = min(others, key=lambda p: (-matrix[p].get(sk, 0), p), default=None)
            rows.append(
                {
                    "skill": sk,
                    "title": skills()[sk].title,
                    "needed_level": need,
                    "holders": len(holders),
                    "for_step": r.step.id,
                    "learner": learner or "someone new",
                    "from": holders[0] if holders else "outside: a college, hub or supplier course",
                }
            )
    return rows
