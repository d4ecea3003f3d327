"""The hub's own database (a hub is a different deployment from any firm, so none of this is in
a firm's store): one SQLite file, ``hub.sqlite``, in the hub's directory, or a PostgreSQL
database for a real hub, both through :mod:`pilotline.hub.db`.

Tables: ``firms`` (who takes part, their cell and public key), ``items`` (what firms sent, as
sent), ``figures`` (benchmark figures, one row per plant and month), ``consents`` (the ledger),
``nonces`` (requests already seen), ``services`` (support given, in the EDIH categories),
``releases`` (benchmark releases), ``erasures`` (what was erased on the hub's own
initiative, when and why: counts only, never what it was) and ``settings``. Tables are created
when missing each time a hub is opened, and columns added later (:data:`COLUMNS`) too, so a hub
made by an older version gains them.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pilotline import clock
from pilotline.errors import InputError, NotFound, StoreError
from pilotline.hub import plaintext
from pilotline.hub.db import FILE, Connection, Database, open_database
from pilotline.hub.privacy import MAX_EPSILON, MIN_EPSILON

__all__ = ["COLUMNS", "FILE", "SCHEMA", "SETTINGS", "HubStore", "Setting"]

#: The tables; ``{identity}`` is the backend's generated key column.
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
    planned_time_s DOUBLE PRECISION, run_time_s DOUBLE PRECISION,
    ideal_output_time_s DOUBLE PRECISION, total_count DOUBLE PRECISION,
    good_count DOUBLE PRECISION, scrap_count DOUBLE PRECISION, energy_kwh DOUBLE PRECISION,
    PRIMARY KEY (firm_id, period, plant));
CREATE TABLE IF NOT EXISTS consents (
    seq {identity}, firm_id TEXT NOT NULL, person TEXT NOT NULL,
    item_id TEXT NOT NULL, text_version TEXT NOT NULL, text_sha256 TEXT NOT NULL,
    given_at TEXT NOT NULL, withdrawn_at TEXT);
CREATE TABLE IF NOT EXISTS nonces (
    firm_id TEXT NOT NULL, nonce TEXT NOT NULL, seen_at TEXT NOT NULL,
    PRIMARY KEY (firm_id, nonce));
CREATE TABLE IF NOT EXISTS services (
    seq {identity}, firm_id TEXT NOT NULL REFERENCES firms(id),
    category TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', given_on TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    id {identity}, title TEXT NOT NULL, starts_at TEXT NOT NULL,
    ends_at TEXT NOT NULL, tz TEXT NOT NULL, location TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS registrations (
    event_id BIGINT NOT NULL REFERENCES events(id), email TEXT NOT NULL, name TEXT NOT NULL,
    status TEXT NOT NULL, registered_at TEXT NOT NULL, attended INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (event_id, email));
CREATE TABLE IF NOT EXISTS interest (
    id {identity}, organisation TEXT NOT NULL, contact TEXT NOT NULL,
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
    seq {identity}, at TEXT NOT NULL, what TEXT NOT NULL,
    count INTEGER NOT NULL, reason TEXT NOT NULL)
"""
#: Columns added after a table was first made: table → [(column, definition)].
COLUMNS = {
    "registrations": [("cancel_token", "TEXT"), ("cancelled_at", "TEXT"), ("reminded_at", "TEXT")],
}


# -- settings: each with its default, meaning and the values it takes -----------------------------
#: A plain number: ASCII digits, at most one decimal point (no sign, exponent, '_' or other
#: scripts' digits), kept normalised (``0012.50`` → ``12.5``).
DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)


def _decimal(v: str) -> str:
    """A plain number, normalised (``007`` → ``7``, ``12.50`` → ``12.5``, ``10.0`` → ``10``)."""
    return format(Decimal(v).normalize(), "f") if DECIMAL.fullmatch(v) else v


def _whole(lo: int, hi: int) -> Callable[[str], bool]:
    return lambda v: re.fullmatch(r"[0-9]{1,15}", v, re.ASCII) is not None and lo <= int(v) <= hi


def _number(lo: float, hi: float, *, above: bool = False) -> Callable[[str], bool]:
    def ok(v: str) -> bool:
        if not DECIMAL.fullmatch(v):
            return False
        x = float(v)
        return math.isfinite(x) and (lo < x if above else lo <= x) and x <= hi

    return ok


def _nk(v: str) -> bool:
    n, comma, k = v.partition(",")
    return bool(comma) and _whole(1, 100)(n) and _number(0, 100, above=True)(k)


def _nk_normal(v: str) -> str:
    n, _, k = v.partition(",")
    return f"{int(n)},{_decimal(k)}"


def _url(v: str) -> bool:
    if re.search(r"[\s\"'<>\\`{}|^]", v):  # nothing that could leave an attribute or a tag
        return False
    try:
        parts = urlsplit(v)
        parts.port  # noqa: B018 - reading it checks it
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _text(most: int, *, one_line: bool = True) -> Callable[[str], bool]:
    return lambda v: 0 < len(v.strip()) <= most and not (one_line and ("\n" in v or "\r" in v))


EMAIL = re.compile(r"^[^@\s\"'<>]{1,64}@[^@\s\"'<>]{1,255}\.[^@\s\"'<>]{2,}$")
LABEL = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?", re.ASCII)


def _host(v: str) -> bool:
    """A host name (labels of letters, digits and '-'), an IPv4 address or an IPv6 address (in
    brackets or not)."""
    if ":" in v:
        inner = v[1:-1] if v.startswith("[") and v.endswith("]") else v
        try:
            ipaddress.IPv6Address(inner)
        except ValueError:
            return False
        return True
    labels = v.split(".")
    if all(label.isascii() and label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(v)
        except ValueError:
            return False
        return True
    return len(v) <= 253 and all(LABEL.fullmatch(label) for label in labels)


def _host_normal(v: str) -> str:
    return v[1:-1] if v.startswith("[") and v.endswith("]") else v


@dataclass(frozen=True)
class Setting:
    """A coordinator setting: its default, what it means, and the values it takes (``expected``
    says so in words, ``ok`` checks a value, ``normal`` is how a good value is kept)."""

    default: str
    help: str
    expected: str
    ok: Callable[[str], bool]
    normal: Callable[[str], str] = str
    multi_line: bool = False


SETTINGS: dict[str, Setting] = {
    "min_firms": Setting("3", "fewest firms in a published cell (not shown to firms)",
                         "a whole number of firms, 2 to 1000", _whole(2, 1000), _decimal),
    "nk": Setting("2,85", "(n,k) dominance rule: unsafe when the n largest exceed k % of the cell",
                  "N,K: N a whole number 1 to 100, K a percentage above 0 up to 100 (e.g. 2,85)",
                  _nk, _nk_normal),
    "p": Setting("10", "p % rule: unsafe when X − x1 − x2 < p/100 · x1",
                 "a percentage from 1 to 100", _number(1, 100), _decimal),
    "protect_pct": Setting("10", "protection (% of value) for a cell failing only "
                           "frequency/dominance", "a percentage from 1 to 100", _number(1, 100),
                           _decimal),
    "campaign_name": Setting("Small steps, measured", "the campaign's name on its public pages",
                             "one line of 1 to 200 characters", _text(200)),
    "public_url": Setting("http://127.0.0.1:8100", "the hub's address as people reach it "
                          "(links in mail)", "an http:// or https:// address with a host, such "
                          "as https://hub.example.org (no spaces, quotes or angle brackets)", _url),
    "smtp_host": Setting("127.0.0.1", "SMTP server for confirmations",
                         "a host name or IP address", _host, _host_normal),
    "smtp_port": Setting("25", "its port", "a port number, 1 to 65535", _whole(1, 65535),
                         _decimal),
    "mail_from": Setting("hub@localhost", "the sender of the hub's mail",
                         "an e-mail address such as hub@campaign.example",
                         lambda v: v == "hub@localhost" or EMAIL.match(v) is not None),
    "interest_per_hour": Setting("3", "registrations of interest accepted per e-mail or IP per "
                                 "hour", "a whole number, 1 to 10000", _whole(1, 10_000),
                                 _decimal),
    "interest_expiry_days": Setting("7", "days an unconfirmed registration of interest is kept; "
                                    "then it is erased (1 to 90)",
                                    "a number of days, 1 to 90", _number(1, 90), _decimal),
    "reminder_hours": Setting("24", "hours before an event 'hub serve' e-mails each person with a "
                              "place a reminder (0: only 'hub event remind' sends them)",
                              "0 (off), or a whole number of hours, 1 to 336", _whole(0, 336),
                              _decimal),
    "dp_epsilon": Setting("0", "differential-privacy noise on published cells: ε per release for "
                          "one firm's month (0: no noise)", f"0 (off), or a number from {MIN_EPSILON} "
                          f"up to {MAX_EPSILON:g}",
                          lambda v: _number(0, 0)(v) or _number(MIN_EPSILON, MAX_EPSILON)(v),
                          _decimal),
    "dp_hours": Setting("15000", "with noise: the most production hours one firm's month may add "
                        "to a cell (more is clipped)", "a number of hours above 0, up to "
                        "10000000", _number(0, 10_000_000, above=True), _decimal),
    "dp_parts": Setting("1000000", "with noise: the most parts one firm's month may add to a "
                        "cell (more is clipped)", "a number of parts above 0, up to "
                        "1000000000000", _number(0, 1e12, above=True), _decimal),
    "dp_kwh": Setting("500000", "with noise: the most kWh one firm's month may add to a cell "
                      "(more is clipped)", "a number of kWh above 0, up to 1000000000000",
                      _number(0, 1e12, above=True), _decimal),
    "consent_version": Setting("2026-03", "version of the consent text firms agree to",
                               "one line of 1 to 40 characters", _text(40)),
    "consent_text": Setting(
        "Purpose: the campaign uses what you send to support your firm, to judge which small "
        "steps work, and to publish regional benchmarks in which no single firm can be "
        "recognised. Retention: kept while the campaign runs and for 5 years after, unless you "
        "withdraw it; withdrawal erases it at the hub and removes it from the next benchmark "
        "release.",
        "the consent text firms are shown before they send anything",
        "a text of 1 to 10000 characters", _text(10_000, one_line=False), multi_line=True,
    ),
}  # fmt: skip


def checked(name: str, value: str) -> str:
    """The value for a setting, normalised, or :class:`InputError` naming the setting, the value
    and what was expected."""
    if name not in SETTINGS:
        raise NotFound(f"no hub setting {name!r}; settings: {', '.join(SETTINGS)}")
    s = SETTINGS[name]
    v = value.strip()
    try:
        plaintext.check(v, name, multi_line=s.multi_line)
        control = ""
    except InputError:
        control = " (without control characters)"
    if control or not s.ok(v):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InputError(f"hub setting {name} = {shown!r}: expected {s.expected}{control}")
    return s.normal(v)


class HubStore:
    """A hub's tables, opened briefly for each piece of work; every write in one transaction.

    ``HubStore(home)`` is the SQLite hub in the directory ``home``; ``HubStore(home, url=URL)``
    (or ``url`` alone) the hub in the PostgreSQL database at ``URL``."""

    def __init__(self, home: Path | None = None, *, url: str | None = None) -> None:
        self.home = home
        self.url = url or None
        self.db: Database = open_database(home, self.url)
        self.path = home / FILE if home is not None and self.url is None else None
        if not self.db.exists():
            how = "' with the same --database" if self.url else f" --dir {home}'"
            raise StoreError(f"no hub in {self.where}: run 'pilotline hub init{how} first")
        _schema(self.db)

    @property
    def where(self) -> str:
        """Where the hub is, for messages (a database URL without its password)."""
        return self.db.where

    @classmethod
    def init(cls, home: Path | None = None, *, url: str | None = None) -> HubStore:
        """Make the hub's tables, with the settings at their defaults (kept where set)."""
        db = open_database(home, url or None)
        try:
            if not db.exists() and (other := db.tables()):
                shown = ", ".join(sorted(other)[:5]) + (", …" if len(other) > 5 else "")
                raise StoreError(
                    f"{db.where} holds tables of something else ({shown}): a hub needs a "
                    "database of its own (createdb, then hub init with its URL)"
                )
            _schema(db)
            with db.transaction() as con:
                con.executemany(
                    "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO NOTHING",
                    [(k, v.default) for k, v in SETTINGS.items()],
                )
        finally:
            db.close()
        return cls(home, url=url)

    def connect(self) -> AbstractContextManager[Connection]:
        """One write transaction: committed at the end of the block, rolled back on any error."""
        return self.db.transaction()

    def reading(self) -> AbstractContextManager[Connection]:
        """Several reads that see one committed state."""
        return self.db.snapshot()

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self.db.snapshot() as con:
            return con.execute(sql, params).rows

    def vacuum(self, tables: Sequence[str]) -> None:
        """After an erasure has committed: the deleted rows gone from the tables' files too."""
        self.db.vacuum(tables)

    def close(self) -> None:
        self.db.close()

    # -- settings ----------------------------------------------------------------------------
    def setting(self, name: str) -> str:
        if name not in SETTINGS:
            raise NotFound(f"no hub setting {name!r}; settings: {', '.join(SETTINGS)}")
        r = self.rows("SELECT value FROM settings WHERE name = ?", (name,))
        return str(r[0]["value"]) if r else SETTINGS[name].default

    def set_setting(self, name: str, value: str) -> None:
        value = checked(name, value)
        with self.connect() as con:
            con.execute(
                "INSERT INTO settings (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, value),
            )

    # -- firms -------------------------------------------------------------------------------
    def add_firm(self, *, id: str, name: str, sector: str, size_band: str, region: str,
                 public_key: str | None, status: str = "interested") -> None:  # fmt: skip
        with self.connect() as con:
            insert_firm(con, id=id, name=name, sector=sector, size_band=size_band, region=region,
                        public_key=public_key, status=status)  # fmt: skip

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


def _schema(db: Database) -> None:
    """Tables and columns made when missing (a hub made by an older version gains them)."""
    with db.transaction() as con:
        con.lock("schema")  # one process at a time; the others then find it done
        for statement in SCHEMA.format(identity=db.identity).split(";"):
            if statement.strip():
                con.execute(statement)
        for table, columns in COLUMNS.items():
            have = set(con.execute(f"SELECT * FROM {table} LIMIT 0").columns)
            for name, kind in columns:
                if name not in have:
                    con.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def insert_firm(con: Connection, *, id: str, name: str, sector: str, size_band: str,
                region: str, public_key: str | None, status: str = "interested") -> None:  # fmt: skip
    """A new firm, in the transaction ``con``; refused if its id is taken (by a unique key, so
    two processes adding one firm at once cannot both succeed)."""
    added = con.execute(
        "INSERT INTO firms (id, name, sector, size_band, region, public_key, status, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING RETURNING id",
        (id, name, sector, size_band, region, public_key, status, clock.now().isoformat()),
    ).rows
    if not added:
        raise InputError(f"firm {id!r} is already registered")
