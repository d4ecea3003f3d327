"""Differential-privacy noise: the stated Laplace scales, reproducible with the hub's secret only,
clipping that bounds one firm's month, and ratios kept to what they can be."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pilotline.errors import InputError
from pilotline.hub.privacy import Privacy, noisy, ratios

MEASURES = ("run_time_s", "good_count")
DIMS = ("sector", "size_band", "region")
PRIVACY = Privacy(epsilon=1.0, bounds={"run_time_s": 3600.0, "good_count": 100.0})
CELL = {
    "period": "2026-01",
    "sector": "metal",
    "size_band": "small",
    "region": "north",
    "firms": 14,
    "sums": {"run_time_s": 30_000.0, "good_count": 900.0},
}


def test_the_scales_follow_from_epsilon_the_bounds_and_the_cells_a_firm_enters() -> None:
    # ε = 1 split over 3 quantities; a firm's month is in 8 cells of each
    assert PRIVACY.scales(MEASURES) == pytest.approx(
        {"firms": 8 * 3, "run_time_s": 8 * 3600 * 3, "good_count": 8 * 100 * 3}
    )
    statement = PRIVACY.statement(MEASURES)
    assert statement["epsilon"] == 1.0 and statement["mechanism"] == "Laplace"


def test_noise_is_reproducible_with_the_secret_and_only_with_it() -> None:
    one = noisy(CELL, privacy=PRIVACY, measures=MEASURES, dims=DIMS, secret=b"s1", inputs="x")
    again = noisy(CELL, privacy=PRIVACY, measures=MEASURES, dims=DIMS, secret=b"s1", inputs="x")
    other = noisy(CELL, privacy=PRIVACY, measures=MEASURES, dims=DIMS, secret=b"s2", inputs="x")
    assert one == again
    assert one["sums"] != other["sums"]
    assert one["sums"] != CELL["sums"]  # noise was added at all
    assert isinstance(one["firms"], int) and one["firms"] >= 0


def test_the_noise_is_laplace_of_the_stated_scale() -> None:
    """Over many cells, value − truth follows Laplace(0, scale) (Kolmogorov–Smirnov)."""
    scale = PRIVACY.scales(MEASURES)["run_time_s"]
    big = {**CELL, "sums": {"run_time_s": 1e9, "good_count": 1e9}}  # never clamped at 0
    draws = np.array(
        [
            noisy({**big, "region": f"r{i}"}, privacy=PRIVACY, measures=MEASURES, dims=DIMS,
                  secret=b"k", inputs="x")["sums"]["run_time_s"] - 1e9
            for i in range(2000)
        ]
    )  # fmt: skip
    assert stats.kstest(draws, "laplace", args=(0, scale)).pvalue > 0.001
    # and a wrong scale is told apart by the same test
    assert stats.kstest(draws, "laplace", args=(0, scale / 2)).pvalue < 0.001


def test_clipping_bounds_what_one_firm_adds() -> None:
    assert PRIVACY.clip({"run_time_s": 10_000.0, "good_count": 5.0}) == {
        "run_time_s": 3600.0,
        "good_count": 5.0,
    }


def test_fractions_stay_fractions_after_noise() -> None:
    got = ratios({"availability": 1.3, "performance": 1.1, "quality": -0.2, "oee": 9.0,
                  "scrap_rate": 0.1, "energy_per_good_part_kwh": 2.0})  # fmt: skip
    assert got["availability"] == 1.0 and got["quality"] == 0.0
    assert got["performance"] == 1.1  # can exceed 1 when ideal times are stated too slow
    assert got["oee"] == 0.0
    assert (
        ratios({"availability": None, "performance": 1.0, "quality": 1.0, "oee": None})["oee"]
        is None
    )


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan"), float("inf"), 1000.0])
def test_an_epsilon_out_of_range_is_refused(epsilon: float) -> None:
    with pytest.raises(InputError, match="dp_epsilon"):
        Privacy(epsilon=epsilon, bounds={})


def test_a_bound_that_is_not_positive_is_refused() -> None:
    with pytest.raises(InputError, match="run_time_s"):
        Privacy(epsilon=1.0, bounds={"run_time_s": 0.0})
