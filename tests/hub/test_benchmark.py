"""The regional benchmark: figures checked field by field, releases suppressed and audited,
withdrawn firms gone from the next release, earlier suppressions kept, a firm's own comparison."""

from __future__ import annotations

import pytest

from pilotline.errors import InputError
from pilotline.hub.benchmark import (
    Figures,
    Firm,
    Release,
    build_release,
    compare,
    kpis,
    measures,
)
from pilotline.hub.demo import region
from pilotline.hub.disclosure import TOTAL, Rules

GOOD = {"period": "2026-01", "plant": "Leeds", "planned_time_s": 100_000, "run_time_s": 80_000,
        "ideal_output_time_s": 60_000, "total_count": 1000, "good_count": 950, "scrap_count": 30,
        "energy_kwh": 120.5}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field", "why"),
    [
        ({"good_count": 1001}, "good_count", "more good parts than parts made"),
        ({"run_time_s": 100_001}, "run_time_s", "more run time than planned time"),
        ({"ideal_output_time_s": 90_000}, "ideal_output_time_s", "performance over 100 %"),
        ({"scrap_count": 51}, "scrap_count", "more scrap than"),
        ({"planned_time_s": -5}, "planned_time_s", "expected 0 to"),
        ({"total_count": 10.5}, "total_count", "whole number"),
        ({"energy_kwh": "lots"}, "energy_kwh", "expected a number"),
        ({"period": "2026-13"}, "period", "YYYY-MM"),
    ],
)
def test_bad_figures_are_refused_naming_the_field(change, field, why) -> None:
    with pytest.raises(InputError, match=why) as e:
        Figures.parse({**GOOD, **change}, "benchmark item 1")
    assert f"field '{field}'" in str(e.value) and "benchmark item 1" in str(e.value)


def test_kpis_are_ratios_of_sums() -> None:
    f = Figures.parse(GOOD)
    k = kpis(measures(f))
    assert k["availability"] == pytest.approx(0.8)
    assert k["performance"] == pytest.approx(0.75)
    assert k["quality"] == pytest.approx(0.95)
    assert k["oee"] == pytest.approx(0.8 * 0.75 * 0.95)
    assert k["scrap_rate"] == pytest.approx(0.03)
    assert k["energy_per_good_part_kwh"] == pytest.approx(120.5 / 950)


@pytest.fixture(scope="module")
def small_region() -> tuple[dict[str, Firm], list[tuple[str, Figures]]]:
    return region(firms=50, months=1, seed=5)


@pytest.fixture(scope="module")
def first(small_region) -> Release:
    firms, figures = small_region
    return build_release(firms=firms, figures=figures, rules=Rules(), version=1, created_at="t")


def test_release_is_audited_reproducible_and_forgets_a_withdrawn_firm(small_region, first) -> None:
    firms, figures = small_region
    again = build_release(firms=firms, figures=figures, rules=Rules(), version=1, created_at="t")
    assert first.cells == again.cells and first.inputs_sha256 == again.inputs_sha256
    statuses = {c["status"] for c in first.cells}
    assert statuses == {"published", "primary", "secondary"}
    public = first.public()
    assert all(set(c) == {"period", "sector", "size_band", "region", "firms", "kpis"}
               for c in public["cells"])  # fmt: skip
    assert all(c["firms"] >= 3 for c in public["cells"])
    assert "rules" not in public

    gone = "firm-0003"
    rest = [(fid, f) for fid, f in figures if fid != gone]
    second = build_release(firms=firms, figures=rest, rules=Rules(), version=2, created_at="t",
                           previous=first)  # fmt: skip
    assert second.firms == first.firms - 1
    assert second.inputs_sha256 != first.inputs_sha256
    total = {c["period"]: c["firms"] for c in second.cells
             if (c["sector"], c["size_band"], c["region"]) == (TOTAL, TOTAL, TOTAL)}  # fmt: skip
    assert total == {p: 49 for p in total}
    hidden_before = {(c["period"], c["sector"], c["size_band"], c["region"])
                     for c in first.cells if c["status"] != "published"}  # fmt: skip
    hidden_after = {(c["period"], c["sector"], c["size_band"], c["region"])
                    for c in second.cells if c["status"] != "published"}  # fmt: skip
    assert hidden_before <= hidden_after
    # the difference between the releases must not give the firm away: every cell it was in that
    # was published before is now hidden (the release's LP audit protects it by p % of the gap)
    key = firms[gone].key()
    ancestors = {(c["period"], c["sector"], c["size_band"], c["region"]) for c in first.cells
                 if c["status"] == "published" and c["firms"] > 0
                 and all(x in (TOTAL, k) for x, k in zip((c["sector"], c["size_band"], c["region"]), key, strict=True))}  # fmt: skip
    assert (first.cells[0]["period"], TOTAL, TOTAL, TOTAL) in ancestors
    after = {(c["period"], c["sector"], c["size_band"], c["region"]): c for c in second.cells}
    for a in ancestors:
        assert after[a]["status"] == "primary" and "withdrawal" in after[a]["rules"], a
    assert "sums" not in str(second.public())


def test_a_firm_sees_itself_against_published_cells_only(small_region, first) -> None:
    firms, figures = small_region
    rel = first
    firm = firms["firm-0001"]
    own = [f for fid, f in figures if fid == firm.id]
    view = compare(rel.public(), firm=firm, own=own, period=own[0].period)
    assert view["peer_firms"] >= 3
    assert 0 < view["yours"]["oee"] < 1 and 0 < view["peers"]["oee"] < 1
    published = [c for c in rel.public()["cells"] if c["period"] == own[0].period]
    assert view["peers"] in [c["kpis"] for c in published]


def test_a_firm_changing_its_figures_cannot_be_read_off_either(small_region, first) -> None:
    firms, figures = small_region
    fid = "firm-0007"
    changed = [
        (g, Figures(**{**f.__dict__, "good_count": f.good_count - 10}) if g == fid else f)
        for g, f in figures
    ]
    second = build_release(firms=firms, figures=changed, rules=Rules(), version=2, created_at="t",
                           previous=first)  # fmt: skip
    period = first.cells[0]["period"]
    total = next(c for c in second.cells if c["period"] == period
                 and (c["sector"], c["size_band"], c["region"]) == (TOTAL,) * 3)  # fmt: skip
    assert total["status"] == "primary" and "withdrawal" in total["rules"]
    same = build_release(firms=firms, figures=figures, rules=Rules(), version=2, created_at="t",
                         previous=first)  # fmt: skip
    assert not any("withdrawal" in c["rules"] for c in same.cells)  # nothing changed: no new holes
