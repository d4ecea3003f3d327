"""The audit trail: who entered or changed what by hand (stop reasons, scrap), and when.

Entries are only ever added; a correction is a new entry that names what it replaced.
"""

from __future__ import annotations

import json
from typing import Any

from pilotline import clock
from pilotline.store.session import Session, Store


def record(
    session: Session, username: str, action: str, machine: str | None, **detail: Any
) -> None:
    """Add an entry inside ``session`` (the same transaction as the change it records)."""
    session.execute(
        "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?)",
        [clock.utc_naive(), username, action, machine, json.dumps(detail, default=str)],
    )


def trail(
    store: Store, *, machine: str | None = None, limit: int = 200, offset: int = 0
) -> list[dict[str, Any]]:
    """The newest entries first (for one machine when named)."""
    sql, params = "SELECT logged_at, username, action, machine, detail FROM audit_log", []
    if machine is not None:
        sql += " WHERE machine = ?"
        params.append(machine)
    with store.session() as s:
        rows: list[dict[str, Any]] = s.arrow(
            sql + " ORDER BY logged_at DESC LIMIT ? OFFSET ?", [*params, limit, offset]
        ).to_pylist()
    for r in rows:
        r["logged_at"] = r["logged_at"].isoformat() + "Z"
        r["detail"] = json.loads(r["detail"])
    return rows
