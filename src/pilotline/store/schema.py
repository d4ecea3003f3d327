"""The embedded store's schema, as an ordered list of migrations.

Times are UTC, stored as ``TIMESTAMP`` without zone. A migration is never edited once released;
a change is a new entry at the end.
"""

from __future__ import annotations

from dataclasses import dataclass

from pilotline.errors import SchemaMismatch


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    sql: str


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "machine states, part counts, counter readings, operator reasons, work orders, imports",
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE imports (
            id BIGINT PRIMARY KEY, file TEXT NOT NULL, sha256 TEXT NOT NULL, kind TEXT NOT NULL,
            rows BIGINT NOT NULL, new_rows BIGINT NOT NULL, imported_at TIMESTAMP NOT NULL
        );
        -- A state lasts until the machine's next state, or until end_ts when one is given.
        CREATE TABLE states (
            machine TEXT NOT NULL, start_ts TIMESTAMP NOT NULL, end_ts TIMESTAMP,
            state TEXT NOT NULL, reason TEXT, import_id BIGINT
        );
        -- Part counts as increments since the previous row of the same machine.
        CREATE TABLE counts (
            machine TEXT NOT NULL, ts TIMESTAMP NOT NULL,
            total BIGINT NOT NULL, reject BIGINT NOT NULL, rework BIGINT NOT NULL,
            product TEXT, work_order TEXT, reject_reason TEXT, import_id BIGINT
        );
        -- Raw cumulative PLC counter readings, kept so later files continue where earlier ended.
        CREATE TABLE counter_readings (
            machine TEXT NOT NULL, counter TEXT NOT NULL, ts TIMESTAMP NOT NULL,
            value BIGINT NOT NULL, import_id BIGINT
        );
        -- Operator-entered reasons; stored non-overlapping per machine (newer entries win).
        CREATE TABLE operator_reasons (
            machine TEXT NOT NULL, start_ts TIMESTAMP NOT NULL, end_ts TIMESTAMP NOT NULL,
            reason TEXT NOT NULL, entered_by TEXT, entered_at TIMESTAMP, import_id BIGINT
        );
        CREATE TABLE work_orders (
            work_order TEXT NOT NULL, machine TEXT NOT NULL, product TEXT,
            start_ts TIMESTAMP NOT NULL, end_ts TIMESTAMP, quantity BIGINT, import_id BIGINT
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        2,
        "pilot versions (what was frozen when) and the decision log",
        """
        CREATE TABLE pilot_versions (
            title TEXT NOT NULL, fingerprint TEXT NOT NULL, frozen TEXT NOT NULL,
            reason TEXT, recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE pilot_decisions (
            title TEXT NOT NULL, fingerprint TEXT NOT NULL, decision TEXT NOT NULL, reason TEXT NOT NULL,
            verdict TEXT, effect DOUBLE, low DOUBLE, high DOUBLE, decided_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        3,
        "process values from live connectors",
        """
        CREATE TABLE process_values (
            machine TEXT NOT NULL, tag TEXT NOT NULL, ts TIMESTAMP NOT NULL, value DOUBLE
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        4,
        "users of the web app (argon2 password hashes) and their lines",
        """
        CREATE TABLE users (
            username TEXT PRIMARY KEY, role TEXT NOT NULL, password_hash TEXT NOT NULL,
            lines TEXT NOT NULL DEFAULT '[]', created_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        5,
        "API tokens for scripts and machines (stored as SHA-256 hashes)",
        """
        CREATE TABLE api_tokens (
            token_hash TEXT PRIMARY KEY, username TEXT NOT NULL, name TEXT NOT NULL,
            created_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        6,
        "web sessions that can be ended (logout, password or role change, removal) and the "
        "audit trail of entries people make by hand",
        """
        CREATE TABLE web_sessions (
            session_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
            created_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL
        );
        CREATE TABLE audit_log (
            logged_at TIMESTAMP NOT NULL, username TEXT NOT NULL, action TEXT NOT NULL,
            machine TEXT, detail TEXT NOT NULL
        );
        -- A random id per account: a user created later under a removed user's name is
        -- someone else, whatever the clock says.
        ALTER TABLE users ADD COLUMN account_id TEXT;
        """,
    ),
)

MIGRATIONS += (
    Migration(
        7,
        "readiness answers per round and respondent, and the skills matrix (people x skills)",
        """
        CREATE TABLE assess_answers (
            round TEXT NOT NULL, respondent TEXT NOT NULL, answers TEXT NOT NULL,
            answered_on DATE, recorded_at TIMESTAMP NOT NULL
        );
        CREATE TABLE skills (
            person TEXT NOT NULL, skill TEXT NOT NULL, level INTEGER NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        8,
        "column mappings of uploaded files, remembered per source (header signature, file name)",
        """
        -- mapping: JSON {file header: Pilotline column, or "" to leave it out};
        -- options: JSON (timestamp format, ignore extra columns, decimal comma, encoding).
        CREATE TABLE import_mappings (
            signature TEXT NOT NULL, file_pattern TEXT NOT NULL, kind TEXT NOT NULL,
            mapping TEXT NOT NULL, options TEXT NOT NULL, saved_by TEXT NOT NULL,
            saved_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        9,
        "AI models as records (training window, data fingerprint, signals, parameters, threshold, "
        "back-test against baselines), their shadow runs and alarms",
        """
        -- state: JSON of what the detector learnt (numbers only, never pickled code);
        -- backtest: JSON scores of the model and of the null and Hotelling T² baselines.
        CREATE TABLE IF NOT EXISTS ai_models (
            name TEXT PRIMARY KEY, machine TEXT NOT NULL, detector TEXT NOT NULL,
            signals TEXT NOT NULL, train_start TIMESTAMP NOT NULL, train_end TIMESTAMP NOT NULL,
            train_rows BIGINT NOT NULL, fingerprint TEXT NOT NULL, parameters TEXT NOT NULL,
            threshold DOUBLE NOT NULL, state TEXT NOT NULL, backtest TEXT NOT NULL,
            schema_version INTEGER NOT NULL, trained_by TEXT NOT NULL, trained_at TIMESTAMP NOT NULL
        );
        -- One row per shadow run: the values scored since the previous run.
        CREATE TABLE IF NOT EXISTS ai_shadow_runs (
            model TEXT NOT NULL, scored_from TIMESTAMP NOT NULL, scored_until TIMESTAMP NOT NULL,
            rows BIGINT NOT NULL, alarms BIGINT NOT NULL, ran_at TIMESTAMP NOT NULL
        );
        -- Alarms recorded silently in shadow mode; answer: the operator's "real" or "false".
        CREATE TABLE IF NOT EXISTS ai_alarms (
            model TEXT NOT NULL, machine TEXT NOT NULL, start_ts TIMESTAMP NOT NULL,
            end_ts TIMESTAMP NOT NULL, peak DOUBLE NOT NULL, shown BOOLEAN NOT NULL,
            answer TEXT, answered_by TEXT, recorded_at TIMESTAMP NOT NULL
        );
        """,
    ),
)

MIGRATIONS += (
    Migration(
        10,
        "partners, their grants (IDTA-01004 access rules) and the hash-chained record of their reads",
        """
        -- A partner's API key is stored as its SHA-256 hash; removed partners are kept, marked.
        CREATE TABLE share_partners (
            name TEXT PRIMARY KEY, key_hash TEXT NOT NULL, claims TEXT NOT NULL,
            created_at TIMESTAMP NOT NULL, removed_at TIMESTAMP
        );
        -- rule: one access rule as IDTA-01004 JSON; revoked grants are kept, marked.
        CREATE TABLE share_grants (
            id TEXT PRIMARY KEY, partner TEXT NOT NULL, rule TEXT NOT NULL, purpose TEXT NOT NULL,
            expires DATE, onward BOOLEAN NOT NULL, created_by TEXT NOT NULL,
            created_at TIMESTAMP NOT NULL, revoked_at TIMESTAMP
        );
        -- Each record holds the previous record's hash: an edit, deletion, insertion or swap
        -- breaks the chain (pilotline share audit verify).
        CREATE TABLE share_reads (
            seq BIGINT PRIMARY KEY, read_at TIMESTAMP NOT NULL, partner TEXT NOT NULL,
            route TEXT NOT NULL, grants TEXT NOT NULL, returned TEXT NOT NULL,
            status INTEGER NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
        );
        """,
    ),
)

SCHEMA_VERSION = MIGRATIONS[-1].version


def refuse_newer(what: str, version: int) -> None:
    """Stop before touching data that a newer Pilotline wrote (``what``: "The store at …")."""
    if version > SCHEMA_VERSION:
        raise SchemaMismatch(
            f"{what} has schema version {version}, newer than this Pilotline understands "
            f"({SCHEMA_VERSION}). Upgrade Pilotline (pip install -U pilotline); the data was not "
            "changed."
        )


#: Natural keys: a row with the same key as a stored row is the same fact (idempotent imports).
KEYS: dict[str, tuple[str, ...]] = {
    "states": ("machine", "start_ts"),
    "counts": ("machine", "ts"),
    "counter_readings": ("machine", "counter", "ts"),
    "operator_reasons": ("machine", "start_ts"),
    "work_orders": ("work_order", "machine", "start_ts"),
    "process_values": ("machine", "tag", "ts"),
}
