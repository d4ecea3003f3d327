"""The consent ledger: who consented to what, when, under which text version, and when it was
withdrawn; everything kept about a firm or a person exported, and erased.

Erasing a firm removes every row that names it (items, figures, consents, request nonces and the
firm itself) and replaces its id in the releases' lists of contributors by a random stand-in (the
next release still sees that a firm left, and protects the difference). Erasing a person keeps
the firm's record that consent was given (what, when, which text) but replaces the person's
name, which is the only thing the ledger keeps about them (their event bookings and a confirmed
registration of interest are not reached by it).

Erased means gone from the database's files too: SQLite overwrites deleted rows as they go
(``secure_delete``); on PostgreSQL the tables touched are vacuumed (``VACUUM FULL``) once the
erasure has committed (:meth:`~pilotline.hub.store.HubStore.vacuum`).
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from pilotline.errors import NotFound
from pilotline.hub.intake import held
from pilotline.hub.store import HubStore

ERASED = "(erased person)"
FIRM_TABLES = ("items", "figures", "consents", "nonces", "services")


def ledger(
    hub: HubStore, *, firm: str | None = None, person: str | None = None
) -> list[dict[str, Any]]:
    """Consent records, oldest first."""
    sql = "SELECT seq, firm_id AS firm, person, item_id AS item, text_version, text_sha256, given_at, withdrawn_at FROM consents"
    where, params = [], []
    if firm is not None:
        where.append("firm_id = ?")
        params.append(firm)
    if person is not None:
        where.append("person = ?")
        params.append(person)
    if where:
        sql += " WHERE " + " AND ".join(where)
    return hub.rows(sql + " ORDER BY seq", tuple(params))


def erasures(hub: HubStore) -> list[dict[str, Any]]:
    """What the hub erased on its own (unconfirmed registrations past their days): when, how
    many, why; never whose."""
    return hub.rows("SELECT seq, at, what, count, reason FROM erasures ORDER BY seq")


def export_firm(hub: HubStore, firm: str) -> dict[str, Any]:
    """Everything the hub keeps about a firm."""
    return {
        "firm": hub.firm(firm),
        "items": held(hub, firm),
        "consents": ledger(hub, firm=firm),
    }


def export_person(hub: HubStore, person: str) -> dict[str, Any]:
    rows = ledger(hub, person=person)
    if not rows:
        raise NotFound(f"the hub keeps nothing about {person!r}")
    return {"person": person, "consents": rows}


def erase_firm(hub: HubStore, firm: str) -> dict[str, int]:
    """Remove the firm and everything it sent; counts per table."""
    hub.firm(firm)
    out = {}
    stand_in = f"erased-{secrets.token_hex(8)}"  # releases still see that a firm left
    with hub.connect() as con:
        con.lock(f"firm:{firm}")
        con.lock("release")  # no release is being kept meanwhile with this firm in it
        for table in FIRM_TABLES:
            out[table] = con.execute(f"DELETE FROM {table} WHERE firm_id = ?", (firm,)).rowcount
        out["firms"] = con.execute("DELETE FROM firms WHERE id = ?", (firm,)).rowcount
        if not out["firms"]:
            raise NotFound(f"no firm {firm!r} at this hub")
        out["releases"] = 0
        for r in con.execute("SELECT version, body FROM releases ORDER BY version").rows:
            version, rel = r["version"], json.loads(r["body"])
            named = [p for p in rel.get("contributors", {}).values() if firm in p]
            for period in named:
                period[stand_in] = period.pop(firm)
            if named:
                con.execute("UPDATE releases SET body = ? WHERE version = ?",
                            (json.dumps(rel), version))  # fmt: skip
                out["releases"] += 1
    hub.vacuum([*FIRM_TABLES, "firms", "releases"])
    return out


def erase_person(hub: HubStore, person: str) -> int:
    """Replace a person's name in the ledger; how many records named them."""
    with hub.connect() as con:
        n: int = con.execute(
            "UPDATE consents SET person = ? WHERE person = ?", (ERASED, person)
        ).rowcount
    if not n:
        raise NotFound(f"the hub keeps nothing about {person!r}")
    hub.vacuum(["consents"])  # the rows as they were, with the name, gone from the file too
    return n
