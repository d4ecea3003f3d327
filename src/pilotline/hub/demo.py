"""A simulated region for the hub's demo and benchmark: firms of every sector, size band and
region, their plants' monthly figures, assessments at T0 and T1, and pilots with outcomes.
Deterministic for a seed; nothing here is real data."""

from __future__ import annotations

import random
from typing import Any

from pilotline.hub.benchmark import SIZE_BANDS, Figures, Firm

SECTORS = ("food", "metal", "plastics", "wood", "electronics", "textiles")
REGIONS = ("north", "south", "east", "west", "central")
STEPS = ("digital-stop-reasons", "smed-setup", "scrap-logging", "energy-metering")
DMA = ("strategy", "readiness", "human", "data", "automation", "green")


def region(
    *, firms: int = 60, months: int = 6, seed: int = 1, first: tuple[int, int] = (2025, 1)
) -> tuple[dict[str, Firm], list[tuple[str, Figures]]]:
    """``firms`` firms (one to three plants each) and ``months`` months of figures each."""
    rng = random.Random(seed)
    out: dict[str, Firm] = {}
    figures: list[tuple[str, Figures]] = []
    for i in range(firms):
        size = rng.choices(SIZE_BANDS, weights=(4, 5, 3, 1))[0]
        firm = Firm(
            id=f"firm-{i:04d}",
            sector=rng.choice(SECTORS),
            size_band=size,
            region=rng.choice(REGIONS),
        )
        out[firm.id] = firm
        machines = {"micro": 2, "small": 6, "medium": 20, "large": 80}[size]
        plants = 1 if size in ("micro", "small") else rng.randint(1, 3)
        skill = rng.uniform(0.45, 0.85)
        meters = rng.random() < 0.6
        for p in range(plants):
            for m in range(months):
                year, month = divmod(first[0] * 12 + first[1] - 1 + m, 12)
                planned = machines * rng.uniform(250, 400) * 3600 / plants
                run = planned * min(0.98, skill + rng.uniform(0.05, 0.15))
                ideal = run * rng.uniform(0.7, 0.97)
                total = round(ideal / rng.uniform(2, 40))
                good = round(total * rng.uniform(0.9, 0.995))
                scrap = round((total - good) * rng.uniform(0.3, 1.0))
                figures.append(
                    (
                        firm.id,
                        Figures(
                            period=f"{year:04d}-{month + 1:02d}",
                            plant=f"plant-{p + 1}",
                            planned_time_s=round(planned),
                            run_time_s=round(run),
                            ideal_output_time_s=round(ideal),
                            total_count=total,
                            good_count=good,
                            scrap_count=scrap,
                            energy_kwh=round(total * rng.uniform(0.05, 0.4), 1) if meters else None,
                        ),
                    )
                )
    return out, figures


def assessments(firm: Firm, seed: int) -> list[dict[str, Any]]:
    """T0 and, for most firms, T1 a year later: six DMA dimensions, 0–100."""
    rng = random.Random(f"{seed}-{firm.id}")
    t0 = {d: round(rng.uniform(15, 60), 1) for d in DMA}
    rounds = [{"round": "T0", "dimensions": t0}]
    if rng.random() < 0.7:
        rounds.append(
            {
                "round": "T1",
                "dimensions": {
                    d: min(100.0, v + round(rng.uniform(-3, 15), 1)) for d, v in t0.items()
                },
            }
        )
    return rounds


def pilots(firm: Firm, seed: int) -> list[dict[str, Any]]:
    """Zero to two pilots with an effect on OEE (percentage points) and its interval."""
    rng = random.Random(f"{seed}-pilot-{firm.id}")
    out = []
    for n in range(rng.choice([0, 0, 1, 1, 2])):
        step = rng.choice(STEPS)
        true = {"digital-stop-reasons": 2.0, "smed-setup": 3.5, "scrap-logging": 1.0,
                "energy-metering": 0.2}[step]  # fmt: skip
        value = round(rng.gauss(true, 1.2), 2)
        half = round(rng.uniform(0.8, 2.5), 2)
        out.append(
            {
                "title": f"{step} at {firm.id} #{n + 1}",
                "step": step,
                "metric": "oee_pp",
                "design": rng.choice(["before-after (ITS)", "control line (DiD)", "switchback"]),
                "effect": value,
                "low": round(value - half, 2),
                "high": round(value + half, 2),
                "decision": "adopt" if value - half > 0 else rng.choice(["adapt", "abandon"]),
                "payback_months": [round(rng.uniform(2, 8), 1), round(rng.uniform(8, 24), 1)],
            }
        )
    return out
