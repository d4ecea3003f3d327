"""What firms send to the hub: signed requests checked, items validated as a whole (nothing
partial is stored), listed back to the firm, and withdrawn (erased, with the consent marked).

An item is ``{"id", "kind", "content", "consent"}``; kinds: ``assessment`` (a round's six
dimension scores, 0–100), ``pilot`` (the catalogue step, design, effect with its interval, payback
interval and decision — never raw data) and ``benchmark`` (per plant and month, the figures of
:mod:`pilotline.hub.benchmark`). ``consent`` names the person, the consent text's version and
its SHA-256, and when it was given; it must be the hub's current text.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.hub.benchmark import FIELDS, Figures
from pilotline.hub.db import Connection
from pilotline.hub.signing import Refused, opened
from pilotline.hub.store import HubStore

KINDS = ("assessment", "pilot", "benchmark")
FIGURES_INSERT = (
    "INSERT INTO figures (firm_id, item_id, period, plant, "
    + ", ".join(FIELDS)
    + ") VALUES (?, ?, ?, ?"
    + ", ?" * len(FIELDS)
    + ")"
)
DECISIONS = ("adopt", "adapt", "abandon", "undecided")
#: How long a withdrawal's answer waits for the vacuum after it (which then goes on alone).
VACUUM_WAIT_S = 5.0


def consent_text(hub: HubStore) -> dict[str, str]:
    text = hub.setting("consent_text")
    return {
        "version": hub.setting("consent_version"),
        "text": text,
        "sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def verified(hub: HubStore, body: bytes, signature: str, action: str) -> dict[str, Any]:
    """The envelope of a request from a registered firm, or :class:`Refused`."""
    try:
        firm_id = str(json.loads(body).get("firm", ""))
    except (ValueError, AttributeError):
        raise Refused("the request is not a signed JSON envelope") from None
    try:
        firm = hub.firm(firm_id)
    except NotFound:
        raise Refused(f"firm {firm_id!r} is not registered at this hub") from None
    if not firm["public_key"]:
        raise Refused(f"firm {firm_id!r} has no key registered; ask the coordinator")
    env = opened(body, signature, firm["public_key"], action)
    with hub.connect() as con:  # the key decides: of two copies at once, one is new
        new = con.execute(
            "INSERT INTO nonces (firm_id, nonce, seen_at) VALUES (?, ?, ?) "
            "ON CONFLICT (firm_id, nonce) DO NOTHING RETURNING nonce",
            (firm_id, env["nonce"], clock.now().isoformat()),
        ).rows
    if not new:
        raise Refused("this request was already received (a replay)")
    return env


def _number(value: Any, where: str, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InputError(f"{where}: {value!r} — expected a number")
    if not lo <= value <= hi:
        raise InputError(f"{where}: {value} — expected {lo:g} to {hi:g}")
    return float(value)


def _text(value: Any, where: str, most: int = 200) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise InputError(f"{where}: expected text of 1 to {most} characters")
    return value.strip()


def check_item(raw: Any, n: int, consent: dict[str, str]) -> dict[str, Any]:
    """One item, cleaned; every error names the item and field."""
    where = f"item {n}"
    if not isinstance(raw, dict):
        raise InputError(f"{where}: expected an object with id, kind, content and consent")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise InputError(f"{where}, field 'kind': {kind!r} — expected one of {', '.join(KINDS)}")
    item_id = _text(raw.get("id"), f"{where}, field 'id'")
    where = f"item {n} ({item_id})"
    c = raw.get("content")
    if not isinstance(c, dict):
        raise InputError(f"{where}, field 'content': expected an object")
    if kind == "assessment":
        dims = c.get("dimensions")
        if not isinstance(dims, dict) or not dims:
            raise InputError(f"{where}, field 'dimensions': expected scores per dimension")
        content: dict[str, Any] = {
            "round": _text(c.get("round"), f"{where}, field 'round'", 40),
            "dimensions": {
                _text(d, f"{where}, dimension", 40): _number(v, f"{where}, dimension '{d}'", 0, 100)
                for d, v in dims.items()
            },
        }
    elif kind == "pilot":
        content = {
            "title": _text(c.get("title"), f"{where}, field 'title'"),
            "step": _text(c.get("step") or "unspecified", f"{where}, field 'step'", 80),
            "design": _text(c.get("design") or "unspecified", f"{where}, field 'design'", 80),
            "metric": _text(c.get("metric") or "unspecified", f"{where}, field 'metric'", 80),
        }
        for name in ("effect", "low", "high"):
            content[name] = _number(c.get(name), f"{where}, field '{name}'", -1e12, 1e12)
        if not content["low"] <= content["effect"] <= content["high"]:
            raise InputError(f"{where}, field 'effect': expected low ≤ effect ≤ high")
        decision = c.get("decision") or "undecided"
        if decision not in DECISIONS:
            raise InputError(f"{where}, field 'decision': {decision!r} — expected one of "
                             f"{', '.join(DECISIONS)}")  # fmt: skip
        content["decision"] = decision
        pay = c.get("payback_months")
        if pay is not None:
            if not isinstance(pay, list) or len(pay) != 2:
                raise InputError(f"{where}, field 'payback_months': expected [low, high]")
            lo, hi = (_number(p, f"{where}, field 'payback_months'", 0, 1200) for p in pay)
            if lo > hi:
                raise InputError(f"{where}, field 'payback_months': low above high")
            content["payback_months"] = [lo, hi]
    else:
        figs = c.get("figures")
        if not isinstance(figs, list) or not figs:
            raise InputError(f"{where}, field 'figures': expected a list of months")
        parsed = [Figures.parse(f, f"{where}, figures {i + 1}") for i, f in enumerate(figs)]
        seen: set[tuple[str, str]] = set()
        for fig in parsed:
            if (fig.period, fig.plant) in seen:
                raise InputError(f"{where}: {fig.plant} {fig.period} appears twice")
            seen.add((fig.period, fig.plant))
        content = {"figures": [{"period": g.period, "plant": g.plant,
                                **{k: getattr(g, k) for k in FIELDS}} for g in parsed]}  # fmt: skip
    given = raw.get("consent")
    if not isinstance(given, dict):
        raise InputError(f"{where}, field 'consent': every item needs the consent it was sent with")
    if (
        given.get("text_version") != consent["version"]
        or given.get("text_sha256") != consent["sha256"]
    ):
        raise InputError(
            f"{where}, field 'consent': given to another consent text than the hub's current "
            f"one ({consent['version']}); show the current text and ask again"
        )
    return {
        "id": item_id,
        "kind": kind,
        "content": content,
        "person": _text(given.get("person"), f"{where}, consent 'person'", 120),
        "given_at": _text(given.get("given_at"), f"{where}, consent 'given_at'", 40),
    }


def receive(hub: HubStore, env: dict[str, Any]) -> list[str]:
    """Store a submission whole (or nothing): items replace earlier ones with the same id."""
    firm = env["firm"]
    raw = (env.get("payload") or {}).get("items")
    if not isinstance(raw, list) or not raw:
        raise InputError("the submission has no items")
    consent = consent_text(hub)
    items = [check_item(r, n, consent) for n, r in enumerate(raw, start=1)]
    ids = [i["id"] for i in items]
    if len(set(ids)) != len(ids):
        raise InputError("the submission names one item twice")
    now = clock.now().isoformat()
    with hub.connect() as con:
        con.lock(f"firm:{firm}")  # one submission or withdrawal of a firm at a time
        for it in items:
            _erase_item(con, firm, it["id"], now)
            con.execute(
                "INSERT INTO items (firm_id, item_id, kind, content, received_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (firm, it["id"], it["kind"], json.dumps(it["content"]), now),
            )
            if it["kind"] == "benchmark":
                con.executemany(FIGURES_INSERT, [(firm, it["id"], f["period"], f["plant"],
                                                  *(f[k] for k in FIELDS))
                                                 for f in it["content"]["figures"]])  # fmt: skip
            con.execute(
                "INSERT INTO consents (firm_id, person, item_id, text_version, text_sha256, "
                "given_at) VALUES (?, ?, ?, ?, ?, ?)",
                (firm, it["person"], it["id"], consent["version"], consent["sha256"],
                 it["given_at"]),
            )  # fmt: skip
    return ids


def _erase_item(con: Connection, firm: str, item_id: str, now: str) -> int:
    n: int = con.execute(
        "DELETE FROM items WHERE firm_id = ? AND item_id = ?", (firm, item_id)
    ).rowcount
    con.execute("DELETE FROM figures WHERE firm_id = ? AND item_id = ?", (firm, item_id))
    con.execute(
        "UPDATE consents SET withdrawn_at = ? WHERE firm_id = ? AND item_id = ? "
        "AND withdrawn_at IS NULL",
        (now, firm, item_id),
    )
    return n


def held(hub: HubStore, firm: str) -> list[dict[str, Any]]:
    """Everything the hub holds from a firm, as it was received."""
    return [
        {**r, "content": json.loads(r["content"])}
        for r in hub.rows(
            "SELECT item_id AS id, kind, received_at, content FROM items WHERE firm_id = ? "
            "ORDER BY item_id",
            (firm,),
        )
    ]


def withdraw(hub: HubStore, firm: str, item_ids: list[str] | None) -> list[str]:
    """Erase the items named (all, for ``None``); their consents are marked withdrawn. The
    tables are vacuumed after the commit, only when something was erased, in the background
    (:meth:`~pilotline.hub.db.Database.vacuum`): the answer waits for it up to
    :data:`VACUUM_WAIT_S` (it is done by then unless older snapshots hold it up)."""
    now = clock.now().isoformat()
    with hub.connect() as con:
        con.lock(f"firm:{firm}")
        con.lock("release")  # no release is being kept meanwhile with these figures in it
        have = [r["item_id"] for r in con.execute(
            "SELECT item_id FROM items WHERE firm_id = ? ORDER BY item_id", (firm,))]  # fmt: skip
        wanted = have if item_ids is None else item_ids
        unknown = sorted(set(wanted) - set(have))
        if unknown:
            raise InputError(f"the hub holds no item(s) {unknown} from {firm}; it holds {have}")
        erased = sum(_erase_item(con, firm, item_id, now) for item_id in wanted)
    if erased:  # erased means gone from the files too: on PostgreSQL a rewrite, in the
        # background (the withdrawal has committed); the answer waits for it a few seconds only
        hub.db.vacuum(["items", "figures"], wait=False)
        hub.db.vacuumed(VACUUM_WAIT_S)
    return sorted(wanted)
