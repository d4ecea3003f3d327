"""Copy a whole store into another, empty one: how an embedded store moves to PostgreSQL.

Everything is copied — machine data, imports, pilots and decisions, users, API tokens and the
audit trail (not web sessions: people log in again) — in one transaction on the target, so a copy that fails leaves the target as empty as it was.
The source is read in parts, so a large store does not have to fit in memory.
"""

from __future__ import annotations

from collections.abc import Callable

from pilotline.errors import SchemaMismatch, StoreError
from pilotline.store.session import Store

#: Every table with data, in an order that reads naturally in a progress list.
TABLES = (
    "imports",
    "states",
    "counts",
    "counter_readings",
    "operator_reasons",
    "work_orders",
    "process_values",
    "pilot_versions",
    "pilot_decisions",
    "users",
    "api_tokens",
    "audit_log",
    "assess_answers",
    "skills",
    "import_mappings",
    "share_partners",
    "share_grants",
    "share_reads",
    "ai_models",
    "ai_shadow_runs",
    "ai_alarms",
)


def copy_store(
    source: Store, target: Store, *, progress: Callable[[str, int], None] | None = None
) -> dict[str, int]:
    """Copy every row of ``source`` into ``target``, which must hold no data yet; returns the
    rows copied per table."""
    version, theirs = source.schema_version(), target.schema_version()
    if version != theirs:
        raise SchemaMismatch(
            f"{source.where} has schema version {version} and {target.where} has {theirs}; "
            "open both with the same Pilotline first (it migrates them)"
        )
    with target.session() as t:
        held = {name: int(t.scalar(f"SELECT count(*) FROM {name}")) for name in TABLES}
    held = {name: n for name, n in held.items() if n}
    if held:
        listed = ", ".join(f"{name} ({n:,} rows)" for name, n in held.items())
        raise StoreError(
            f"{target.where} holds data already: {listed}. Copy into an empty database; "
            "nothing was changed."
        )
    copied: dict[str, int] = {}
    with source.session() as s, target.session(write=True) as t, t.transaction():
        for name in TABLES:
            n = 0
            for part in s.batches(f"SELECT * FROM {name}"):
                t.append(name, part)
                n += part.num_rows
            copied[name] = n
            if progress is not None:
                progress(name, n)
    return copied
