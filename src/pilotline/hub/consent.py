"""The consent ledger: who consented to what, when, under which text version, and when it was
withdrawn; everything kept about a firm or a person exported, and erased.

Erasing a firm removes every row that names it (items, figures, consents, request nonces,
services, the registration of interest it was made from, and the firm itself) and replaces its
id in the releases' lists of contributors by a random stand-in (the next release still sees that
a firm left, and protects the difference).

A person is found by name, by e-mail address, or by both (a row found by either is theirs); names
and addresses are compared without regard to case or surrounding spaces. What the hub keeps about
them, and what erasing them does:

- the ledger (``consents.person``, by name, and the ``contact-details`` record made when their
  registration of interest was confirmed): the name is replaced by :data:`ERASED`; the firm's
  record that consent was given (what, when, which text) stays;
- event bookings (``registrations``: name, e-mail, cancel link): deleted; a place they held at an
  event not yet over goes to the first on the waiting list, who is e-mailed, as when they cancel;
- registrations of interest (``interest``: contact, e-mail, organisation, …, confirmed or not):
  deleted (a firm made from one stays: the firm is not the person);
- rate-limit attempts (``attempts``) of their address (given, or on a registration of interest
  or an event booking erased), and the IP address recorded with it when no other e-mail was recorded at that instant:
  deleted;
- coordinator sign-in accounts (``users``) with that name or address: listed, never erased here
  (staff, not people the campaign serves; and a participant may share a coordinator's name);
- free text (:data:`FREE_TEXT`: firms' names and notes, service notes, what firms sent, events'
  titles, places and descriptions) mentioning the name or address: listed (where, not the text),
  never changed: whether "Dana" in a note is this Dana is for the coordinator to judge.

A person's erasure is one transaction, noted in ``erasures`` (how many of each, when; never
whose).

Erased means gone from the database's files too: SQLite overwrites deleted rows as they go
(``secure_delete``); on PostgreSQL the tables touched are vacuumed (``VACUUM FULL``) once the
erasure has committed and older snapshots have ended (:meth:`~pilotline.hub.store.HubStore.vacuum`;
when they do not end, the erasure stands, a warning is logged and the tables stay due).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import zoneinfo
from dataclasses import dataclass, field
from typing import Any

from pilotline import clock
from pilotline.errors import InputError, NotFound
from pilotline.hub import events
from pilotline.hub.db import Connection
from pilotline.hub.intake import held
from pilotline.hub.store import EMAIL, HubStore

ERASED = "(erased person)"
FIRM_TABLES = ("items", "figures", "consents", "nonces", "services")
#: Free text that may mention a person: (table, column, the column that says which row).
FREE_TEXT = (("firms", "name", "id"), ("firms", "notes", "id"), ("services", "note", "firm_id"),
             ("items", "content", "firm_id"), ("events", "title", "id"),
             ("events", "location", "id"), ("events", "description", "id"))  # fmt: skip
#: What a person's erasure notes in ``erasures``, per place.
NOTED = {"consents": "name in a consent record", "event_bookings": "event booking",
         "interest": "registration of interest", "attempts": "rate-limit attempt"}  # fmt: skip
#: The places, in words (plural), for messages.
PLACES = {"consents": "consent records (name replaced)", "event_bookings": "event bookings",
          "interest": "registrations of interest", "attempts": "rate-limit attempts"}  # fmt: skip
_LEDGER = ("SELECT seq, firm_id AS firm, person, item_id AS item, text_version, text_sha256, "
           "given_at, withdrawn_at FROM consents")  # fmt: skip
#: The registration of interest a firm was made from: the ledger's ``contact-details`` record
#: that :func:`pilotline.hub.interest.confirm` wrote from it (same person, time, text, name).
_MADE_FROM = (
    "SELECT i.id FROM interest i JOIN consents c ON c.person = i.contact AND c.given_at = "
    "i.created_at AND c.text_version = i.consent_version JOIN firms f ON f.id = c.firm_id AND "
    "f.name = i.organisation WHERE c.firm_id = ? AND c.item_id = 'contact-details' AND "
    "i.confirmed_at IS NOT NULL"
)
_CONTACT_RECORD = (
    "SELECT c.seq FROM consents c JOIN firms f ON f.id = c.firm_id WHERE c.item_id = "
    "'contact-details' AND c.person = ? AND c.given_at = ? AND c.text_version = ? AND f.name = ?"
)


def ledger(
    hub: HubStore, *, firm: str | None = None, person: str | None = None
) -> list[dict[str, Any]]:
    """Consent records, oldest first."""
    sql = _LEDGER
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
    """What the hub erased: unconfirmed registrations past their days (on its own), and people
    at their request; when, how many, why; never whose."""
    return hub.rows("SELECT seq, at, what, count, reason FROM erasures ORDER BY seq")


def export_firm(hub: HubStore, firm: str) -> dict[str, Any]:
    """Everything the hub keeps about a firm."""
    record = hub.firm(firm)
    with hub.reading() as con:
        ids = [r["id"] for r in con.execute(_MADE_FROM, (firm,))]
        made_from = [_interest(con, i) for i in ids]
    return {
        "firm": record,
        "items": held(hub, firm),
        "consents": ledger(hub, firm=firm),
        "interest": made_from,
    }


def erase_firm(hub: HubStore, firm: str) -> dict[str, int]:
    """Remove the firm and everything it sent; counts per table."""
    hub.firm(firm)
    out = {}
    stand_in = f"erased-{secrets.token_hex(8)}"  # releases still see that a firm left
    with hub.connect() as con:
        con.lock(f"firm:{firm}")
        con.lock("release")  # no release is being kept meanwhile with this firm in it
        made_from = [r["id"] for r in con.execute(_MADE_FROM, (firm,))]  # before its consents go
        for table in FIRM_TABLES:
            out[table] = con.execute(f"DELETE FROM {table} WHERE firm_id = ?", (firm,)).rowcount
        con.executemany("DELETE FROM interest WHERE id = ?", [(i,) for i in made_from])
        out["interest"] = len(made_from)
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
    hub.vacuum([*FIRM_TABLES, "interest", "firms", "releases"])
    return out


# -- a person ---------------------------------------------------------------------------------


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def _who(person: str | None, email: str | None) -> tuple[str | None, str | None]:
    """The name and address to look for, checked (at least one)."""
    name = " ".join(person.split()) if person is not None else None
    address = email.strip().lower() if email is not None else None
    if person is not None and not 0 < len(name or "") <= 200:
        raise InputError("person: expected a name of 1 to 200 characters")
    if name is not None and _fold(name) == _fold(ERASED):
        raise InputError(
            f"person {name!r}: that is what erased names are replaced by; name a person"
        )
    if address is not None and not EMAIL.match(address):
        raise InputError(f"e-mail {email!r}: expected an address such as name@firm.example")
    if not name and not address:
        raise InputError("name the person: --person NAME, --email ADDRESS, or both")
    return name, address


def _shown(name: str | None, address: str | None) -> str:
    return " or ".join(repr(x) for x in (name, address) if x)


def _interest(con: Connection, id: int) -> dict[str, Any]:
    """A registration of interest, without its confirmation link."""
    row = con.execute("SELECT * FROM interest WHERE id = ?", (id,)).rows[0]
    row.pop("token", None)
    return row


def _find(
    con: Connection, name: str | None, address: str | None
) -> dict[str, list[dict[str, Any]]]:
    """Every row of the person's, by place (compared in Python, so that case is folded the same
    way on both databases, beyond ASCII too)."""
    n = _fold(name) if name else None

    def theirs(who: str | None, mail: str | None = None) -> bool:
        return (n is not None and who is not None and _fold(who) == n) or (
            address is not None and mail is not None and mail.strip().lower() == address
        )

    interest = [_interest(con, r["id"]) for r in con.execute(
        "SELECT id, contact, email FROM interest ORDER BY id") if theirs(r["contact"], r["email"])]  # fmt: skip
    bookings = [r for r in con.execute(
        "SELECT r.event_id, e.title AS event, e.starts_at, e.ends_at, e.tz, r.email, r.name, "
        "r.status, r.registered_at, r.cancelled_at, r.attended FROM registrations r JOIN events e "
        "ON e.id = r.event_id ORDER BY r.event_id, r.email") if theirs(r["name"], r["email"])]  # fmt: skip
    contact = {s for i in interest if i["confirmed_at"] is not None for s in (r["seq"] for r in
               con.execute(_CONTACT_RECORD, (i["contact"], i["created_at"], i["consent_version"],
                                             i["organisation"])))}  # fmt: skip
    consents = [r for r in con.execute(_LEDGER + " ORDER BY seq")
                if r["seq"] in contact or theirs(r["person"])]  # fmt: skip
    mails = ({address} | {i["email"] for i in interest} | {b["email"] for b in bookings}) - {None}
    tried = con.execute("SELECT address, at FROM attempts ORDER BY at, address").rows
    own_at = {r["at"] for r in tried if r["address"] in mails}
    others_at = {r["at"] for r in tried if not r["address"].startswith("ip:")
                 and r["address"] not in mails}  # fmt: skip
    attempts = [r for r in tried if r["address"] in mails or (
        r["address"].startswith("ip:") and r["at"] in own_at - others_at)]  # fmt: skip
    accounts = [r for r in con.execute("SELECT name, role, created_at FROM users ORDER BY name")
                if theirs(r["name"], r["name"])]  # fmt: skip
    return {"consents": consents, "event_bookings": bookings, "interest": interest,
            "attempts": attempts, "accounts": accounts}  # fmt: skip


def _mentions(con: Connection, name: str | None, address: str | None) -> list[dict[str, str]]:
    """Where free text mentions the name or address (the row, never the text)."""
    needles = [_fold(x) for x in (name, address) if x]
    out = []
    for table, column, key in FREE_TEXT:
        for r in con.execute(f"SELECT {key} AS row, {column} AS text FROM {table} ORDER BY {key}"):
            if r["text"] and any(x in _fold(str(r["text"])) for x in needles):
                found = {"table": table, "column": column, "row": str(r["row"])}
                if found not in out:
                    out.append(found)
    return out


def export_person(
    hub: HubStore, person: str | None = None, *, email: str | None = None
) -> dict[str, Any]:
    """Everything the hub keeps about a person, by place (see the module's docstring), with the
    other names and addresses on their rows (``also_known_as``: look for those too) and where
    free text mentions them."""
    name, address = _who(person, email)
    with hub.reading() as con:
        found = _find(con, name, address)
        mentions = _mentions(con, name, address)
    if not any(found.values()) and not mentions:
        raise NotFound(f"the hub keeps nothing about {_shown(name, address)}")
    rows = found["event_bookings"] + found["interest"]
    names = {r.get("name") or r.get("contact") for r in rows} - {None}
    return {
        "person": name,
        "email": address,
        **found,
        "mentions": mentions,
        "also_known_as": {
            "names": sorted(x for x in names if not name or _fold(str(x)) != _fold(name)),
            "emails": sorted({r["email"] for r in rows} - {address}),
        },
    }


@dataclass
class PersonErased:
    """What a person's erasure did: ``counts`` per place (``consents`` whose name was replaced;
    ``event_bookings``, ``interest`` and ``attempts`` deleted); who moved up from a waiting list
    into a place they held (``{"event", "email", "mail_error"}``); and what it left for the
    coordinator: sign-in ``accounts`` with that name or address, free-text ``mentions``."""

    counts: dict[str, int]
    moved_up: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[str] = field(default_factory=list)
    mentions: list[dict[str, str]] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _over(booking: dict[str, Any]) -> bool:
    ends = dt.datetime.fromisoformat(booking["ends_at"]).replace(
        tzinfo=zoneinfo.ZoneInfo(booking["tz"])
    )
    return ends <= clock.now()


def forget(hub: HubStore, person: str | None = None, *, email: str | None = None) -> PersonErased:
    """Erase a person (see the module's docstring), in one transaction; :class:`NotFound` when
    the hub keeps nothing about them."""
    name, address = _who(person, email)
    now = clock.now().isoformat()
    with hub.connect() as con:
        for event_id in sorted(
            {b["event_id"] for b in _find(con, name, address)["event_bookings"]}
        ):
            con.lock(f"event:{event_id}")  # in order: two erasures at once cannot deadlock
        found = _find(con, name, address)  # as it is now that no booking there can change
        mentions = _mentions(con, name, address)
        accounts = [a["name"] for a in found.pop("accounts")]
        if not any(found.values()) and not accounts and not mentions:
            raise NotFound(f"the hub keeps nothing about {_shown(name, address)}")
        moved = []
        # Waiting and cancelled first, so that a place they held never goes to themselves.
        for b in sorted(found["event_bookings"], key=lambda b: b["status"] == "registered"):
            free = b["status"] == "registered" and not _over(b)
            if free and (who := events.cancel_in(con, b["event_id"], b["email"])):
                moved.append({"event": b["event_id"], "email": who, "mail_error": None})
            con.execute("DELETE FROM registrations WHERE event_id = ? AND email = ?",
                        (b["event_id"], b["email"]))  # fmt: skip
        con.executemany("UPDATE consents SET person = ? WHERE seq = ?",
                        [(ERASED, r["seq"]) for r in found["consents"]])  # fmt: skip
        con.executemany(
            "DELETE FROM interest WHERE id = ?", [(r["id"],) for r in found["interest"]]
        )
        con.executemany("DELETE FROM attempts WHERE address = ? AND at = ?",
                        [(r["address"], r["at"]) for r in found["attempts"]])  # fmt: skip
        counts = {place: len(rows) for place, rows in found.items()}
        con.executemany("INSERT INTO erasures (at, what, count, reason) VALUES (?, ?, ?, ?)",
                        [(now, NOTED[p], n, "at a person's request")
                         for p, n in counts.items() if n])  # fmt: skip
    erased = PersonErased(counts, moved, accounts, mentions)
    try:  # the rows as they were, with the name, gone from the files too
        hub.vacuum([t for t, p in (("consents", "consents"), ("registrations", "event_bookings"),
                                   ("interest", "interest"), ("attempts", "attempts")) if counts[p]])  # fmt: skip
    finally:
        for m in moved:  # after the commit, as when they cancel
            m["mail_error"] = events.tell_moved_up(hub, m["event"], m["email"])
    return erased


def erase_person(hub: HubStore, person: str | None = None, *, email: str | None = None) -> int:
    """:func:`forget`; how many records it erased or made anonymous."""
    return forget(hub, person, email=email).total
