"""The hub's own database: one SQLite file in the hub's directory (a hub is a different
deployment from any firm, so none of this is in a firm's store). ``sqlite3`` is used only here.

Tables: ``firms`` (who takes part, their cell and public key), ``items`` (what firms sent, as
sent), ``figures`` (benchmark figures, one row per plant and month), ``consents`` (the ledger),
``nonces`` (requests already seen), ``services`` (support given, in the EDIH categories),
``releases`` (benchmark releases), ``erasures`` (what was erased on the hub's own
initiative, when and why: counts only, never what it was) and ``settings``. Tables are created when missing each time a
hub is opened, so a hub made by an older version gains new ones.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, NotFound, StoreError

FILE = "hub.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS firms (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, sector TEXT NOT NULL, size_band TEXT NOT NULL,
    region TEXT NOT NULL, public_key TEXT, status TEXT NOT NULL DEFAULT 'interested',
    notes TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    firm_id TEXT NOT NULL REFERENCES firms(id), item_id TEXT NOT NULL, kind TEXT NOT NULL,
    content TEXT NOT NULL, received_at TEXT NOT NULL, PRIMARY KEY (firm_id, item_id));
CREATE TABLE IF NOT EXISTS figures (
    firm_id TEXT NOT NULL, item_id TEXT NOT NULL, period TEXT NOT NULL, plant TEXT NOT NULL,
    planned_time_s REAL, run_time_s REAL, ideal_output_time_s REAL, total_count REAL,
    good_count REAL, scrap_count REAL, energy_kwh REAL, PRIMARY KEY (firm_id, period, plant));
CREATE TABLE IF NOT EXISTS consents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, firm_id TEXT NOT NULL, person TEXT NOT NULL,
    item_id TEXT NOT NULL, text_version TEXT NOT NULL, text_sha256 TEXT NOT NULL,
    given_at TEXT NOT NULL, withdrawn_at TEXT);
CREATE TABLE IF NOT EXISTS nonces (
    firm_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_at TEXT NOT NULL,
    PRIMARY KEY (firm_id, nonce));
CREATE TABLE IF NOT EXISTS services (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, firm_id TEXT NOT NULL REFERENCES firms(id),
    category TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', given_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL, tz TEXT NOT NULL, location TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS registrations (
    event_id INTEGER NOT NULL REFERENCES events(id), email TEXT NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, registered_at TEXT NOT NULL, attended INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, email));
CREATE TABLE IF NOT EXISTS interest (
    id INTEGER PRIMARY KEY AUTOINCREMENT, organisation TEXT NOT NULL, contact TEXT NOT NULL,
    email TEXT NOT NULL, size_band TEXT NOT NULL, sector TEXT NOT NULL, region TEXT NOT NULL,
    topics TEXT NOT NULL, consent_version TEXT NOT NULL, token TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL, confirmed_at TEXT);
CREATE TABLE IF NOT EXISTS attempts (address TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, hash TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS releases (
    version INTEGER PRIMARY KEY, created_at TEXT NOT NULL, inputs_sha256 TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS erasures (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, what TEXT NOT NULL,
    count INTEGER NOT NULL, reason TEXT NOT NULL);
"""
#: Columns added after a table was first made: table → [(column, definition)].
COLUMNS = {
    "registrations": [("cancel_token", "TEXT"), ("cancelled_at", "TEXT")],
}
#: Coordinator settings: name → (default, help).
SETTINGS: dict[str, tuple[str, str]] = {
    "min_firms": ("3", "fewest firms in a published cell (not shown to firms)"),
    "nk": ("2,85", "(n,k) dominance rule: unsafe when the n largest exceed k % of the cell"),
    "p": ("10", "p % rule: unsafe when X − x1 − x2 < p/100 · x1"),
    "protect_pct": ("10", "protection (% of value) for a cell failing only frequency/dominance"),
    "campaign_name": ("Small steps, measured", "the campaign's name on its public pages"),
    "public_url": ("http://127.0.0.1:8100", "the hub's address as people reach it (links in mail)"),
    "smtp_host": ("127.0.0.1", "SMTP server for confirmations"),
    "smtp_port": ("25", "its port"),
    "mail_from": ("hub@localhost", "the sender of the hub's mail"),
    "interest_per_hour": ("3", "registrations of interest accepted per e-mail or IP per hour"),
    "interest_expiry_days": (
        "7",
        "days an unconfirmed registration of interest is kept; then it is erased (1 to 90)",
    ),
    "consent_version": ("2026-03", "version of the consent text firms agree to"),
    "consent_text": (
        "Purpose: the campaign uses what you send to support your firm, to judge which small "
        "steps work, and to publish regional benchmarks in which no single firm can be "
        "recognised. Retention: kept while the campaign runs and for 5 years after, unless you "
        "withdraw it; withdrawal erases it at the hub and removes it from the next benchmark "
        "release.",
        "the consent text firms are shown before they send anything",
    ),
}


#: Settings that are a number of days: name → (least, most).
DAYS = {"interest_expiry_days": (1, 90)}


def _days_ok(value: str, lo: int, hi: int) -> bool:
    try:
        return lo <= float(value) <= hi
    except ValueError:
        return False


class HubStore:
    """Opened briefly for each piece of work; every write in one transaction."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / FILE
        if not self.path.exists():
            raise StoreError(f"no hub in {home}: run 'pilotline hub init --dir {home}' first")
        self._schema(self.path)

    @staticmethod
    def _schema(path: Path) -> None:
        """Tables and columns made when missing (a hub made by an older version gains them)."""
        con = sqlite3.connect(path, timeout=30)
        try:
            con.executescript(SCHEMA)
            for table, columns in COLUMNS.items():
                have = {r[1] for r in con.execute(f"PRAGMA table_info({table})")}
                for name, kind in columns:
                    if name not in have:
                        con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
            con.commit()
        finally:
            con.close()

    @classmethod
    def init(cls, home: Path) -> HubStore:
        home.mkdir(parents=True, exist_ok=True)
        cls._schema(home / FILE)
        con = sqlite3.connect(home / FILE)
        try:
            con.executemany(
                "INSERT OR IGNORE INTO settings VALUES (?, ?)",
                [(k, v[0]) for k, v in SETTINGS.items()],
            )
            con.commit()
        finally:
            con.close()
        return cls(home)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30)
        con.row_factory = sqlite3.Row
        con.execute("PRAGMA foreign_keys = ON")
        con.execute("PRAGMA secure_delete = ON")  # erased means gone from the file too
        try:
            with con:  # commit on success, roll back on any error
                yield con
        finally:
            con.close()

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        with self.connect() as con:
            return [dict(r) for r in con.execute(sql, params)]

    # -- settings ----------------------------------------------------------------------------
    def setting(self, name: str) -> str:
        if name not in SETTINGS:
            raise NotFound(f"no hub setting {name!r}; settings: {', '.join(SETTINGS)}")
        r = self.rows("SELECT value FROM settings WHERE name = ?", (name,))
        return str(r[0]["value"]) if r else SETTINGS[name][0]

    def set_setting(self, name: str, value: str) -> None:
        self.setting(name)
        if name in DAYS and not _days_ok(value, *DAYS[name]):
            lo, hi = DAYS[name]
            raise InputError(
                f"hub setting {name} = {value!r}: expected a number of days, {lo} to {hi}"
            )
        with self.connect() as con:
            con.execute("INSERT OR REPLACE INTO settings VALUES (?, ?)", (name, value))

    # -- firms -------------------------------------------------------------------------------
    def add_firm(self, *, id: str, name: str, sector: str, size_band: str, region: str,
                 public_key: str | None, status: str = "interested") -> None:  # fmt: skip
        now = clock.now().isoformat()
        with self.connect() as con:
            if con.execute("SELECT 1 FROM firms WHERE id = ?", (id,)).fetchone():
                raise InputError(f"firm {id!r} is already registered")
            con.execute(
                "INSERT INTO firms (id, name, sector, size_band, region, public_key, status, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (id, name, sector, size_band, region, public_key, status, now),
            )

    def firm(self, id: str) -> dict[str, Any]:
        r = self.rows("SELECT * FROM firms WHERE id = ?", (id,))
        if not r:
            raise NotFound(f"no firm {id!r} at this hub")
        return r[0]

    def firms(self) -> list[dict[str, Any]]:
        return self.rows("SELECT * FROM firms ORDER BY id")

    # -- releases ----------------------------------------------------------------------------
    def releases(self) -> list[dict[str, Any]]:
        return self.rows("SELECT version, created_at, inputs_sha256 FROM releases ORDER BY version")

    def release(self, version: int | None = None) -> dict[str, Any] | None:
        sql = "SELECT body FROM releases " + (
            "WHERE version = ?" if version is not None else "ORDER BY version DESC LIMIT 1"
        )
        r = self.rows(sql, (version,) if version is not None else ())
        return json.loads(r[0]["body"]) if r else None

    def add_release(self, body: dict[str, Any]) -> None:
        with self.connect() as con:
            con.execute(
                "INSERT INTO releases VALUES (?, ?, ?, ?)",
                (body["version"], body["created_at"], body["inputs_sha256"], json.dumps(body)),
            )
