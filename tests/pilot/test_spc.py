"""SPC charts: limits by hand, and each Western Electric rule on a series made to trigger it."""

from __future__ import annotations

import pytest

from pilotline.errors import InputError
from pilotline.pilot.spc import individuals, p_chart, western_electric, xbar


def test_individuals_chart_limits_by_hand() -> None:
    # mean 11.6; moving ranges 2, 1, 2, 1 → MR̄ 1.5; σ = 1.5 / 1.128; limits 11.6 ± 3σ.
    chart = individuals([10, 12, 11, 13, 12])
    sigma = 1.5 / 1.128
    assert chart.center == pytest.approx(11.6)
    assert chart.sigma == pytest.approx(sigma)
    assert (chart.lcl, chart.ucl) == (
        pytest.approx(11.6 - 3 * sigma),
        pytest.approx(11.6 + 3 * sigma),
    )
    assert [p["key"] for p in chart.points] == [1, 2, 3, 4, 5]
    assert not chart.signals


@pytest.mark.parametrize(
    ("z", "rule", "at"),
    [
        ([0, 0.5, -0.5, 3.5, 0], 1, 3),
        ([0, 2.5, 0.2, 2.4, 0], 2, 3),
        ([0, 1.5, 1.2, 0.3, 1.4, 1.6], 3, 5),
        ([0.2, 0.5, 0.1, 0.9, 0.3, 0.2, 0.4, 0.6], 4, 7),
    ],
)
def test_each_western_electric_rule(z: list[float], rule: int, at: int) -> None:
    fired = western_electric(z, 0.0, [1.0] * len(z))
    assert rule in fired[at]
    assert all(rule not in f for i, f in enumerate(fired) if i != at)


def test_phase1_limits_judge_the_later_points() -> None:
    base = [10.0, 10.4, 9.8, 10.1, 9.9, 10.2, 10.0, 9.7, 10.3, 10.0]
    chart = individuals([*base, 12.5, 10.1], phase1=10)
    assert chart.center == pytest.approx(sum(base) / 10)
    assert chart.points[10]["rules"] == [1] and chart.points[10]["phase"] == 2
    assert chart.points[11]["rules"] == []


def test_xbar_and_p_charts() -> None:
    groups = [("a", [10, 11, 12]), ("b", [11, 12, 13]), ("c", [10, 12, 11]), ("d", [15, 16, 17])]
    chart = xbar(groups, phase1=3)
    # R̄ = 2 over the first three subgroups; σ = 2 / d₂(3) = 2 / 1.693
    assert chart.sigma == pytest.approx(2 / 1.693)
    assert chart.center == pytest.approx((11 + 12 + 11) / 3)
    assert chart.points[3]["key"] == "d" and 1 in chart.points[3]["rules"]
    p = p_chart([("w1", 5, 100), ("w2", 4, 100), ("w3", 6, 100), ("w4", 20, 100)], phase1=3)
    assert p.center == pytest.approx(0.05)
    assert 1 in p.points[3]["rules"]


def test_bad_input_is_refused_not_charted() -> None:
    with pytest.raises(InputError, match="at least 3 points"):
        individuals([1.0, 2.0])
    with pytest.raises(InputError, match=r"points \[2\] are missing or not numbers"):
        individuals([1.0, float("nan"), 2.0])
    with pytest.raises(InputError, match="--phase1 must be between 3 and"):
        individuals([1.0, 2.0, 3.0, 4.0], phase1=9)
    with pytest.raises(InputError, match="2 to 25 values each"):
        xbar([("a", [1.0]), ("b", [2.0, 3.0])])


def test_moving_range_chart_and_stages() -> None:
    chart = individuals([10, 12, 11, 13, 12, 20, 21, 19, 20], phase1=5)
    mr = chart.moving_range
    assert mr is not None
    assert mr["center"] == pytest.approx(1.5)  # from the first five points
    assert mr["ucl"] == pytest.approx(3.267 * 1.5)
    assert [p["beyond"] for p in mr["points"]][4] is True  # 12 → 20 jumps by 8
    before, after = chart.stages
    assert before["center"] == pytest.approx(11.6) and after["center"] == pytest.approx(20.0)
    assert after["sigma"] == pytest.approx(((1 + 2 + 1) / 3) / 1.128)
