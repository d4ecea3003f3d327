"""The readable default map: how many activities and which slider settings give them."""

from __future__ import annotations

import pytest

from pilotline.map import simplify


@pytest.mark.parametrize("of", [1, 5, 12, 27, 99, 150])
def test_the_activity_setting_keeps_exactly_the_activities_asked(of: int) -> None:
    for n in range(1, min(of, 20) + 1):
        p = simplify.percent_for(n, of)
        kept = max(1, round(of * p / 100))
        assert kept >= n and (of > 100 or kept == n)
        assert p == 1 or max(1, round(of * (p - 1) / 100)) < n  # the smallest such setting


def test_the_default_covers_most_events_with_at_most_twelve_activities() -> None:
    few = {f"a{i}": 10 for i in range(12)}
    assert simplify.default_activities(few) == 100  # twelve or fewer: all of them
    skewed = {"a": 500, "b": 300, **{f"rare{i}": 1 for i in range(20)}}
    p = simplify.default_activities(skewed)  # a and b cover 97 % of the events
    assert max(1, round(22 * p / 100)) == 2
    flat = {f"a{i:02}": 10 for i in range(40)}
    p = simplify.default_activities(flat)  # 80 % would need 32: twelve at most
    assert max(1, round(40 * p / 100)) == simplify.MAX_ACTIVITIES


def test_the_default_paths_stay_within_two_per_activity() -> None:
    acts = [f"a{i}" for i in range(6)]
    dfg = [
        {"source": a, "target": b, "count": 10 + i * 7 + j}
        for i, a in enumerate(acts)
        for j, b in enumerate(acts)
        if a != b
    ]
    paths = simplify.steps(dfg, {"a0": 50}, {"a5": 50})
    p = simplify.default_paths(paths, acts)
    kept, notes = simplify.keep_paths(paths, p / 100, acts)
    assert len(kept) <= 2 * len(acts) and notes == []
    steps = simplify.PATH_STEPS
    assert p != steps[0]  # all 32 paths would be too many
    more_detailed = steps[steps.index(p) - 1] / 100  # the next setting up has too many
    assert len(simplify.keep_paths(paths, more_detailed, acts)[0]) > 2 * len(acts)
