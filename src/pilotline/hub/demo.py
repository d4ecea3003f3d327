"""A simulated region for the hub's demo and benchmark: firms of every sector, size band and
region, their plants' monthly figures, assessments at T0 and T1, and pilots with outcomes.
Deterministic for a seed; nothing here is real data."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from pilotline.hub.benchmark import SIZE_BANDS, Figures, Firm

SECTORS = ("food", "metal", "plastics", "wood", "electronics", "textiles")
REGIONS = ("north", "south", "east", "west", "central")
STEPS = ("digital-stop-reasons", "smed-setup", "scrap-logging", "energy-metering")
DEMO_EVENTS = (
    ("Quick wins in OEE: a morning on the shop floor", 2, 3, "Europe/London", 25),
    ("Map it before you automate it", 4, 2, "Europe/London", 40),
    ("Pilot clinic: is the effect real?", 6, 2, "Europe/Berlin", 12),
)
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


def fill(
    hub: Any,
    *,
    firms: int,
    months: int,
    seed: int,
    first: tuple[int, int] = (2025, 1),
    release: bool = True,
) -> dict[str, int]:
    """A demo hub: the region's firms registered, their items sent with consent, a release."""
    import json

    from pilotline import clock
    from pilotline.hub.benchmark import FIELDS
    from pilotline.hub.intake import FIGURES_INSERT, consent_text
    from pilotline.hub.portfolio import SUPPORT
    from pilotline.hub.publish import publish

    region_firms, figures = region(firms=firms, months=months, seed=seed, first=first)
    text = consent_text(hub)
    now = clock.now().isoformat()
    statuses = ("interested", "engaged", "piloting", "alumni")
    by_firm: dict[str, list[Figures]] = {}
    for fid, f in figures:
        by_firm.setdefault(fid, []).append(f)
    items = 0
    with hub.connect() as con:
        for i, firm in enumerate(region_firms.values()):
            con.execute(
                "INSERT INTO firms (id, name, sector, size_band, region, public_key, status, "
                "created_at) VALUES (?, ?, ?, ?, ?, NULL, ?, ?)",
                (firm.id, f"Demo firm {i + 1}", firm.sector, firm.size_band, firm.region,
                 statuses[i % 4], now),
            )  # fmt: skip
            sent: list[tuple[str, str, dict[str, Any]]] = [
                (f"assessment:{a['round']}", "assessment", a) for a in assessments(firm, seed)
            ]
            sent += [(f"pilot:{p['title']}", "pilot", p) for p in pilots(firm, seed)]
            figs = [{k: v for k, v in f.__dict__.items()} for f in by_firm.get(firm.id, [])]
            sent.append(("benchmark", "benchmark", {"figures": figs}))
            for item_id, kind, content in sent:
                con.execute("INSERT INTO items (firm_id, item_id, kind, content, received_at) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (firm.id, item_id, kind, json.dumps(content), now))  # fmt: skip
                con.execute(
                    "INSERT INTO consents (firm_id, person, item_id, text_version, text_sha256, "
                    "given_at) VALUES (?, ?, ?, ?, ?, ?)",
                    (firm.id, f"contact {i + 1}", item_id, text["version"], text["sha256"], now),
                )
                items += 1
            for k, category in enumerate(SUPPORT):
                if (i + k) % 3 == 0:
                    con.execute(
                        "INSERT INTO services (firm_id, category, note, given_on) "
                        "VALUES (?, ?, '', ?)",
                        (firm.id, category, now[:10]),
                    )
            con.executemany(FIGURES_INSERT, [
                (firm.id, "benchmark", f.period, f.plant, *(getattr(f, k) for k in FIELDS))
                for f in by_firm.get(firm.id, [])])  # fmt: skip
    from pilotline.hub.events import add_event

    day = clock.now().date()
    for n, (title, weeks, hours, tz, capacity) in enumerate(DEMO_EVENTS):
        starts = dt.datetime.combine(day + dt.timedelta(weeks=weeks), dt.time(9 + n, 30))
        add_event(hub, title=title, starts=starts.isoformat(timespec="minutes"),
                  ends=(starts + dt.timedelta(hours=hours)).isoformat(timespec="minutes"),
                  tz=tz, capacity=capacity, location="Demo venue")  # fmt: skip
    if not release:
        return {"firms": len(region_firms), "items": items, "figures": len(figures)}
    rel = publish(hub)
    hidden = sum(c["status"] != "published" for c in rel.cells)
    return {"firms": len(region_firms), "items": items, "figures": len(figures),
            "release": rel.version, "published": len(rel.cells) - hidden, "suppressed": hidden}  # fmt: skip
