"""What the coordinator reads from what firms sent: the pilot portfolio per catalogue step with
the effect pooled across firms (the pilot module's inverse-variance pooling and its Cochran's Q
check), assessments T0 → T1 per dimension, services given, and the export in the shape EDIHs
report (entities served by size band, sector, region and type of support; DMA change T0 → T1).
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from typing import Any

from pilotline import clock
from pilotline.cells import spreadsheet_safe
from pilotline.errors import InputError
from pilotline.hub.store import HubStore
from pilotline.pilot.stats import Estimate, pooled

SUPPORT = ("test-before-invest", "skills", "access-to-finance", "networking")
STATUSES = ("interested", "engaged", "piloting", "alumni")


def _items(hub: HubStore, kind: str) -> list[dict[str, Any]]:
    return [
        {**r, "content": json.loads(r["content"])}
        for r in hub.rows(
            "SELECT i.firm_id, i.content, f.sector, f.size_band, f.region FROM items i "
            "JOIN firms f ON f.id = i.firm_id WHERE i.kind = ? ORDER BY i.firm_id, i.item_id",
            (kind,),
        )
    ]


def pilot_portfolio(hub: HubStore) -> list[dict[str, Any]]:
    """Per catalogue step: pilots, firms, share adopted, and the pooled effect with its 95 %
    interval and heterogeneity p (below 0.05: the firms' results disagree; look at each)."""
    steps: dict[str, list[dict[str, Any]]] = {}
    for it in _items(hub, "pilot"):
        steps.setdefault(it["content"].get("step") or "unspecified", []).append(it)
    out = []
    for step, pilots in sorted(steps.items()):
        estimates = [
            Estimate("pilot", p["content"]["effect"], p["content"]["low"], p["content"]["high"])
            for p in pilots
            if p["content"]["high"] > p["content"]["low"]
        ]
        pool = pooled(estimates, method="pooled") if estimates else None
        out.append(
            {
                "step": step,
                "pilots": len(pilots),
                "firms": len({p["firm_id"] for p in pilots}),
                "adopted_share": sum(p["content"]["decision"] == "adopt" for p in pilots)
                / len(pilots),
                "pooled_effect": pool.value if pool else None,
                "pooled_low": pool.low if pool else None,
                "pooled_high": pool.high if pool else None,
                "heterogeneity_p": pool.details["heterogeneity_p"] if pool else None,
            }
        )
    return out


def assessment_change(hub: HubStore, *, t0: str = "T0", t1: str = "T1") -> list[dict[str, Any]]:
    """Per dimension, over firms that sent both rounds: mean at T0 and T1, mean change."""
    rounds: dict[str, dict[str, dict[str, float]]] = {}
    for it in _items(hub, "assessment"):
        c = it["content"]
        rounds.setdefault(it["firm_id"], {})[c["round"]] = c["dimensions"]
    both = [r for r in rounds.values() if t0 in r and t1 in r]
    dims = sorted({d for r in both for d in r[t0] if d in r[t1]})
    return [
        {
            "dimension": d,
            "firms": len(
                pairs := [(r[t0][d], r[t1][d]) for r in both if d in r[t0] and d in r[t1]]
            ),
            f"mean_{t0}": round(statistics.fmean(a for a, _b in pairs), 2),
            f"mean_{t1}": round(statistics.fmean(b for _a, b in pairs), 2),
            "mean_change": round(statistics.fmean(b - a for a, b in pairs), 2),
        }
        for d in dims
    ]


def give_service(hub: HubStore, firm: str, category: str, note: str = "") -> None:
    if category not in SUPPORT:
        raise InputError(f"support {category!r}: expected one of {', '.join(SUPPORT)}")
    hub.firm(firm)
    with hub.connect() as con:
        con.execute(
            "INSERT INTO services (firm_id, category, note, given_on) VALUES (?, ?, ?, ?)",
            (firm, category, note.strip()[:500], clock.now().date().isoformat()),
        )


def set_status(hub: HubStore, firm: str, status: str, notes: str | None = None) -> None:
    if status not in STATUSES:
        raise InputError(f"status {status!r}: expected one of {', '.join(STATUSES)}")
    hub.firm(firm)
    with hub.connect() as con:
        con.execute("UPDATE firms SET status = ? WHERE id = ?", (status, firm))
        if notes is not None:
            con.execute("UPDATE firms SET notes = ? WHERE id = ?", (notes[:2000], firm))


def edih_csv(hub: HubStore) -> str:
    """Two sections in one CSV: entities served (distinct firms) by size band, sector, region and
    type of support; then the DMA change T0 → T1 per dimension."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["section", "size_band", "sector", "region", "support", "entities"])
    for r in hub.rows(
        "SELECT f.size_band, f.sector, f.region, s.category, count(DISTINCT f.id) AS n "
        "FROM services s JOIN firms f ON f.id = s.firm_id "
        "GROUP BY f.size_band, f.sector, f.region, s.category "
        "ORDER BY f.size_band, f.sector, f.region, s.category"
    ):
        w.writerow(["entities_served", *(spreadsheet_safe(r[k]) for k in
                    ("size_band", "sector", "region", "category")), r["n"]])  # fmt: skip
    w.writerow([])
    w.writerow(["section", "dimension", "firms", "mean_T0", "mean_T1", "mean_change"])
    for r in assessment_change(hub):
        w.writerow(["dma_change", spreadsheet_safe(r["dimension"]), r["firms"], r["mean_T0"], r["mean_T1"],
                    r["mean_change"]])  # fmt: skip
    return buf.getvalue()
