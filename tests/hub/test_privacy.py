"""Differential-privacy noise: the stated Laplace scales, reproducible with the hub's secret only,
clipping that bounds one firm's month, and ratios kept to what they can be."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from pilotline.errors import InputError
from pilotline.hub.benchmark import MEASURES as BENCH
from pilotline.hub.benchmark import Figures, Firm, build_release
from pilotline.hub.demo import fill, region
from pilotline.hub.disclosure import TOTAL, Rules
from pilotline.hub.privacy import Privacy, noisy, ratios
from pilotline.hub.publish import public, publish
from pilotline.hub.store import HubStore

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
    assert got["performance"] == 1.0  # intake refuses more ideal output time than run time
    assert got["oee"] == 0.0
    assert (
        ratios({"availability": None, "performance": 1.0, "quality": 1.0, "oee": None})["oee"]
        is None
    )


@pytest.mark.parametrize("epsilon", [0.0, -1.0, float("nan"), float("inf"), 1000.0, 1e-300, 0.009])
def test_an_epsilon_out_of_range_is_refused(epsilon: float) -> None:
    with pytest.raises(InputError, match="dp_epsilon"):
        Privacy(epsilon=epsilon, bounds={})


def test_a_bound_that_is_not_positive_is_refused() -> None:
    with pytest.raises(InputError, match="run_time_s"):
        Privacy(epsilon=1.0, bounds={"run_time_s": 0.0})


# -- a release with noise ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def region50() -> tuple[dict[str, Firm], list[tuple[str, Figures]]]:
    return region(firms=50, months=1, seed=5)


def _release(firms, figures, privacy: Privacy | None = None, secret: bytes = b"k"):
    """Release 1 of ``figures`` under the default rules, with ``privacy`` when given."""
    return build_release(firms=firms, figures=figures, rules=Rules(), version=1, created_at="t",
                         privacy=privacy, secret=secret)  # fmt: skip


def _privacy(epsilon: float) -> Privacy:
    bound = {"s": 15_000 * 3600.0, "count": 1e6, "kwh": 5e5}
    return Privacy(epsilon=epsilon, bounds={m: bound[m.rsplit("_", 1)[1]] for m in BENCH})


def test_a_noisy_release_publishes_noisy_cells_only_and_says_how(region50) -> None:
    firms, figures = region50
    plain = _release(firms, figures)
    rel = _release(firms, figures, _privacy(1.0), b"hub secret")
    # the primary rules see the same values (the bounds here clip no firm of the region)
    assert [c["status"] == "primary" for c in rel.cells] == [
        c["status"] == "primary" for c in plain.cells
    ]
    public = rel.public()
    assert public["privacy"]["epsilon"] == 1.0 and public["privacy"]["mechanism"] == "Laplace"
    true = {(c["sector"], c["size_band"], c["region"]): c for c in rel.cells}
    assert public["cells"]
    for c in public["cells"]:
        t = true[(c["sector"], c["size_band"], c["region"])]
        assert t["status"] == "published"
        assert c["kpis"] != t["kpis"]  # every published figure carries noise
        assert all(0 <= c["kpis"][k] <= 1 for k in ("availability", "quality", "scrap_rate")
                   if c["kpis"][k] is not None)  # fmt: skip
    assert "sums" not in str(public) and "noisy" not in str(public)
    # reproducible from the inputs with the hub's secret; another secret gives other noise
    again = _release(firms, figures, _privacy(1.0), b"hub secret")
    other = _release(firms, figures, _privacy(1.0), b"another")
    assert again.public() == public and other.public()["cells"] != public["cells"]
    # without noise a release says nothing of privacy
    assert "privacy" not in plain.public()


def _key(c: dict) -> tuple[str, ...]:
    return (c["period"], c["sector"], c["size_band"], c["region"])


def _noise(rel, measure: str) -> dict[tuple[str, ...], float]:
    """Per noisy cell not clamped at 0: its noise in units of the stated scale."""
    scale = rel.privacy["scales"][measure]
    return {
        _key(c): (c["noisy"]["sums"][measure] - c["sums"][measure]) / scale
        for c in rel.cells
        if "noisy" in c and c["noisy"]["sums"][measure] > 0
    }  # fmt: skip


def test_a_cell_that_did_not_change_keeps_its_noise_in_the_next_release() -> None:
    """Otherwise a change elsewhere (one second of one firm) re-draws every cell's noise, and
    releasing again and again averages it away. Only the cells holding the changed firm's month
    are drawn afresh."""
    import dataclasses

    firms, figures = region(firms=24, months=2, seed=3)
    tight = Privacy(epsilon=50.0, bounds=dict.fromkeys(BENCH, 1e9))
    last = max(f.period for _fid, f in figures)
    nudged = list(figures)
    i = next(i for i, (_fid, f) in enumerate(nudged) if f.period == last)
    fid, f = nudged[i]
    nudged[i] = (fid, dataclasses.replace(f, planned_time_s=f.planned_time_s + 1))
    one, two = (_release(firms, f, tight) for f in (figures, nudged))
    a, b = _noise(one, "run_time_s"), _noise(two, "run_time_s")
    key = firms[fid].key()

    def held(k: tuple[str, ...]) -> bool:
        return k[0] == last and all(c in (TOTAL, x) for c, x in zip(k[1:], key, strict=True))

    noisy_a, noisy_b = ({_key(c): c["noisy"] for c in r.cells if "noisy" in c} for r in (one, two))
    same = [k for k in noisy_a if not held(k)]
    assert any(k[0] == last for k in same) and all(noisy_a[k] == noisy_b[k] for k in same)
    changed = [k for k in a if held(k) and k in b]
    assert changed and all(a[k] != b[k] for k in changed)  # the changed firm's cells: fresh


def test_a_change_of_epsilon_or_bound_draws_new_noise(region50) -> None:
    """The same draw at two scales gives the truth away: (n1·s2 − n2·s1) / (s2 − s1)."""
    firms, figures = region50
    base = Privacy(epsilon=50.0, bounds=dict.fromkeys(BENCH, 1e9))
    for other in (Privacy(epsilon=100.0, bounds=base.bounds),
                  Privacy(epsilon=50.0, bounds=dict.fromkeys(BENCH, 2e9))):  # fmt: skip
        one, two = (_release(firms, figures, p) for p in (base, other))
        a, b = _noise(one, "run_time_s"), _noise(two, "run_time_s")
        common = [k for k in a if k in b]
        assert common and not any(a[k] == pytest.approx(b[k]) for k in common)


def test_clipping_limits_one_huge_firm_in_a_noisy_release(region50) -> None:
    firms, figures = region50
    tight = Privacy(epsilon=1.0, bounds=dict.fromkeys(BENCH, 10.0))
    rel = _release(firms, figures, tight)
    grand = next(c for c in rel.cells if (c["sector"], c["size_band"], c["region"]) == (TOTAL,) * 3)
    assert grand["sums"]["planned_time_s"] <= 10.0 * rel.firms


def test_publish_on_a_hub_follows_its_dp_setting(tmp_path) -> None:
    hub = HubStore.init(tmp_path / "hub")
    fill(hub, firms=30, months=1, seed=2)
    off = public(hub)
    assert off is not None and "privacy" not in off
    with pytest.raises(InputError, match="dp_epsilon"):
        hub.set_setting("dp_epsilon", "-1")
    hub.set_setting("dp_epsilon", "2")
    publish(hub)
    on = public(hub)
    assert (
        on is not None and on["privacy"]["epsilon"] == 2.0 and on["version"] == off["version"] + 1
    )
