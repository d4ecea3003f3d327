"""The firm's side of a campaign: what could be sent (assessment rounds, pilot decisions,
monthly benchmark figures), its hub key, and a client for the hub's signed API.

Nothing leaves without the firm's say: :func:`candidates` only gathers and shows; the CLI asks
consent item by item and sends only what was agreed, each item with its consent record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, SourceUnavailable
from pilotline.hub.benchmark import Figures
from pilotline.hub.signing import HEADER, envelope, new_key, public_of
from pilotline.plant import Plant
from pilotline.store import Store

log = logging.getLogger(__name__)
KEY_FILE = Path("campaign") / "hub_key.pem"


def key(home: Path, *, create: bool = True) -> bytes:
    """The firm's hub key (made on first use, readable by the owner only)."""
    path = home / KEY_FILE
    if not path.exists():
        if not create:
            raise InputError(f"no hub key in {home}: run 'pilotline share campaign key'")
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(new_key())
    return path.read_bytes()


def public_key(home: Path) -> str:
    return public_of(key(home))


# -- what could be sent ------------------------------------------------------------------------


def assessment_items(store: Store) -> list[dict[str, Any]]:
    """Each assessment round: the six dimension scores (median of the respondents); no names."""
    from pilotline.assess.answers import combine, score
    from pilotline.assess.kept import load_round, rounds

    out = []
    for r in rounds(store):
        dims = combine([score(a) for a in load_round(store, r)])["dimensions"]
        out.append({"id": f"assessment:{r}", "kind": "assessment",
                    "content": {"round": r, "dimensions": dims}})  # fmt: skip
    return out


def pilot_items(store: Store) -> list[dict[str, Any]]:
    """Each pilot's latest decision with its effect and interval; never the pilot's data."""
    from pilotline.pilot.registry import decision_log

    latest: dict[str, dict[str, Any]] = {}
    for d in decision_log(store):
        latest[d["title"]] = d
    out = []
    for title, d in latest.items():
        if d["effect"] is None or d["low"] is None or d["high"] is None:
            continue
        out.append(
            {
                "id": f"pilot:{title}",
                "kind": "pilot",
                "content": {
                    "title": title,
                    "design": d.get("verdict") or "unspecified",
                    "effect": d["effect"],
                    "low": d["low"],
                    "high": d["high"],
                    "decision": d["decision"] if d["decision"] in ("adopt", "adapt", "abandon")
                    else "undecided",
                },
            }
        )  # fmt: skip
    return out


def benchmark_item(store: Store, plant: Plant, *, months: int = 12) -> dict[str, Any] | None:
    """The last ``months`` whole and current months' figures of the site, one line per month;
    months whose figures fail the hub's checks are left out (and logged)."""
    from pilotline.measure import Measure

    now = clock.now().astimezone(plant.tz)
    y, m = divmod(now.year * 12 + now.month - 1 - (months - 1), 12)
    start = dt.datetime(y, m + 1, 1, tzinfo=plant.tz)
    rows = Measure(store, plant).oee(start=start, end=clock.now(), by="site,month")
    figures = []
    for r in rows:
        period = r["period_start"].astimezone(plant.tz).strftime("%Y-%m")
        raw = {
            "period": period,
            "plant": plant.site.name[:100],
            "planned_time_s": round(float(r["planned_s"] or 0), 3),
            "run_time_s": round(float(r["run_s"] or 0), 3),
            "ideal_output_time_s": round(float(r["ideal_s"] or 0), 3),
            "total_count": int(r["total_count"]),
            "good_count": int(r["good_count"]),
            "scrap_count": int(r["reject_count"]) - int(r["rework_count"]),
            "energy_kwh": None,
        }
        if raw["planned_time_s"] <= 0:  # a month without machine data
            continue
        try:
            Figures.parse(raw, period)
        except InputError as exc:
            log.warning("left out of the benchmark figures: %s", exc)
            continue
        figures.append(raw)
    if not figures:
        return None
    return {"id": "benchmark", "kind": "benchmark", "content": {"figures": figures}}


def candidates(store: Store, plant: Plant) -> list[dict[str, Any]]:
    items = assessment_items(store) + pilot_items(store)
    bench = benchmark_item(store, plant)
    return items + ([bench] if bench else [])


# -- the hub's API -----------------------------------------------------------------------------


class HubClient:
    """Signed requests to a hub; errors come back as plain-language :class:`InputError`."""

    def __init__(self, url: str, firm: str, pem: bytes, *, timeout_s: float = 30.0) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(f"--hub {url!r}: expected an http:// or https:// address")
        self.url = url.rstrip("/")
        self.firm = firm
        self.pem = pem
        self.timeout_s = timeout_s

    def _call(self, path: str, body: bytes | None, headers: dict[str, str]) -> Any:
        req = urllib.request.Request(
            self.url + path,
            data=body,
            headers={"Content-Type": "application/json", **headers},
            method="POST" if body is not None else "GET",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read()).get("detail")
            except (ValueError, AttributeError):
                detail = exc.reason
            raise InputError(f"the hub refused ({exc.code}): {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SourceUnavailable(f"cannot reach the hub at {self.url}: {exc}") from None

    def signed(self, action: str, payload: Any) -> Any:
        body, sig = envelope(self.firm, action, payload, self.pem)
        return self._call(f"/api/v1/{action}", body, {HEADER: sig})

    def consent_text(self) -> dict[str, str]:
        out: dict[str, str] = self._call("/api/v1/consent-text", None, {})
        return out

    def submit(self, items: list[dict[str, Any]]) -> list[str]:
        return list(self.signed("submit", {"items": items})["received"])

    def held(self) -> list[dict[str, Any]]:
        return list(self.signed("held", {})["items"])

    def me(self) -> dict[str, Any]:
        return dict(self.signed("me", {}))

    def withdraw(self, ids: list[str] | None) -> list[str]:
        return list(self.signed("withdraw", {"items": ids})["withdrawn"])

    def benchmark(self) -> dict[str, Any]:
        out: dict[str, Any] = self._call("/api/v1/benchmark", None, {})
        return out


def with_consent(item: dict[str, Any], consent: dict[str, str], person: str) -> dict[str, Any]:
    return {
        **item,
        "consent": {
            "person": person,
            "text_version": consent["version"],
            "text_sha256": consent["sha256"],
            "given_at": clock.now().isoformat(),
        },
    }


# -- the firm beside the published figures --------------------------------------------------------

CACHE_FILE = Path("campaign") / "hub_cache.json"
#: Peer groups, most specific first: (label, which of the firm's own dimensions are kept).
GROUPS = (
    ("same sector, size band and region", (True, True, True)),
    ("same sector and region", (True, False, True)),
    ("same region", (False, False, True)),
    ("all firms in the campaign", (False, False, False)),
)
SHOWN_KPIS = ("oee", "availability", "performance", "quality", "scrap_rate",
              "energy_per_good_part_kwh")  # fmt: skip
NOT_PUBLISHED = "not published for this group (too few firms, or one firm would stand out)"


def fetched(client: HubClient, home: Path) -> dict[str, Any]:
    """The firm's record at the hub and the latest *published* release, fetched now; when the hub
    cannot be reached, the last copy fetched, with ``error`` saying why (``note`` says when the
    hub answered but has no release yet).

    Returns ``{"me", "release", "fetched_at", "error", "note", "reachable"}`` (``me``/``release`` None
    if never fetched; ``reachable`` False when no answer came, so a page asks no more). Only
    the public release is kept: it holds published cells and nothing else."""
    path = home / CACHE_FILE
    try:
        me = client.me()
        try:
            release: dict[str, Any] | None = client.benchmark()
            note = None
        except InputError as exc:
            if "(404)" not in str(exc):
                raise
            release, note = None, "the hub has not published a benchmark release yet"
        body = {"hub": client.url, "firm": client.firm, "me": me, "release": release,
                "fetched_at": clock.now().isoformat()}  # fmt: skip
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
        return {**body, "error": None, "note": note, "reachable": True}
    except (SourceUnavailable, InputError) as exc:
        cached: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            cached = json.loads(path.read_text(encoding="utf-8"))
        if cached.get("hub") != client.url or cached.get("firm") != client.firm:
            cached = {}
        return {"me": cached.get("me"), "release": cached.get("release"),
                "fetched_at": cached.get("fetched_at"), "error": str(exc), "note": None,
                "reachable": not isinstance(exc, SourceUnavailable)}  # fmt: skip


def beside(
    release: Mapping[str, Any], *, me: Mapping[str, Any], own: Sequence[Figures],
    period: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Per KPI, the firm's own figure beside each peer group's *published* figure for a month
    (the latest month of the firm's own that the release covers, unless ``period`` is given).
    A group whose cell is not in the public release says so (:data:`NOT_PUBLISHED`): the
    release never says why, and no value of it is guessed."""
    from pilotline.hub.benchmark import DIMS, MEASURES, kpis, measures
    from pilotline.hub.disclosure import TOTAL

    months = sorted({f.period for f in own})
    if not months:
        raise InputError("no monthly figures of yours yet: import machine data first")
    covered = {c["period"] for c in release.get("cells", [])}
    month = period or next((m for m in reversed(months) if m in covered), months[-1])
    mine = [f for f in own if f.period == month]
    sums = {m: sum(measures(f)[m] for f in mine) for m in MEASURES}
    yours = kpis(sums)
    cells = {tuple(c[d] for d in DIMS): c for c in release.get("cells", [])
             if c["period"] == month}  # fmt: skip
    groups: list[dict[str, Any]] = []
    for label, keep in GROUPS:
        key = tuple(str(me[d]) if k else TOTAL for d, k in zip(DIMS, keep, strict=True))
        cell = cells.get(key)
        groups.append({"label": label, "cell": dict(zip(DIMS, key, strict=True)),
                       "published": cell is not None,
                       "firms": cell["firms"] if cell else None,
                       "kpis": cell["kpis"] if cell else None})  # fmt: skip
    rows = [{"kpi": k, "yours": yours.get(k),
             "groups": [g["kpis"].get(k) if g["kpis"] else None for g in groups]}
            for k in SHOWN_KPIS]  # fmt: skip
    return {"period": month, "months": months, "in_release": month in covered,
            "groups": groups, "rows": rows, "yours": yours}  # fmt: skip
