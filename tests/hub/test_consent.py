"""A person's export and erasure cover everything the hub keeps about them — the ledger, event
bookings, registrations of interest, rate-limit attempts — found by name and by e-mail, on both
backends; after the erasure neither appears anywhere in the database nor in its files, a place
they held goes to the first waiting (who is e-mailed), and only counts are noted. A firm's
erasure takes the registration of interest it was made from."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pilotline import clock
from pilotline.cli import app
from pilotline.errors import InputError, NotFound
from pilotline.hub import consent, events, interest
from pilotline.hub.coordinator import add_user
from pilotline.hub.portfolio import give_service, set_status
from pilotline.hub.store import HubStore
from tests.conftest import NOW
from tests.hub.backends import BACKENDS, stored_bytes
from tests.hub.mail import Inbox, smtp_server

ZOE, ZOE_MAIL, ZOE_HOME = "Zoë Marsh", "zoe.marsh@acme.example", "zoe@home.example"


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def store(tmp_path: Path, smtp, database_url: str | None) -> HubStore:
    port, inbox = smtp
    inbox.messages.clear()
    hub = HubStore.init(tmp_path, url=database_url)
    hub.set_setting("smtp_port", str(port))
    hub.set_setting("interest_per_hour", "20")
    return hub


def form(contact: str, email: str, organisation: str = "Acme Tools") -> dict[str, object]:
    return {"organisation": organisation, "contact": contact, "email": email,
            "size_band": "small", "sector": "metal", "region": "north", "topics": ["oee"],
            "consent": "yes"}  # fmt: skip


def everywhere(store: HubStore, *needles: str) -> list[str]:
    """Every table, every column, every row: where any of the needles appears (any case)."""
    hits = []
    for table in sorted(store.db.tables()):
        for row in store.rows(f"SELECT * FROM {table}"):
            for column, value in row.items():
                if value is not None and any(
                    n.casefold() in str(value).casefold() for n in needles
                ):
                    hits.append(f"{table}.{column}")
    return hits


def event(store: HubStore, title: str, day: str, capacity: int) -> int:
    return events.add_event(store, title=title, starts=f"{day}T09:00", ends=f"{day}T12:00",
                            tz="Europe/London", capacity=capacity)  # fmt: skip


@BACKENDS
def test_erasing_a_person_leaves_nothing_of_them_at_the_hub(store: HubStore, smtp, cluster) -> None:
    _, inbox = smtp
    # Zoë registers interest (mixed-case address) and confirms: the firm and its ledger record.
    token = interest.register(store, form(ZOE, "Zoe.Marsh@ACME.example"), ip="203.0.113.7")
    firm = interest.confirm(store, token)["firm"]
    with clock.fixed(NOW + dt.timedelta(seconds=5)):  # someone else, at another instant
        interest.register(store, form("Ravi Patel", "ravi@other.example", "Other Ltd"),
                          ip="198.51.100.2")  # fmt: skip
    with store.connect() as con:  # as intake records an item sent with Zoë's consent
        con.execute("INSERT INTO consents (firm_id, person, item_id, text_version, text_sha256, "
                    "given_at) VALUES (?, ?, 'benchmark', '2026-03', ?, ?)",
                    (firm, ZOE, "0" * 64, NOW.isoformat()))  # fmt: skip
    full = event(store, "Energy clinic", "2026-03-20", capacity=1)
    other = event(store, "OEE basics", "2026-03-25", capacity=5)
    past = event(store, "Kick-off", "2026-02-10", capacity=1)
    assert events.register(store, full, email=ZOE_MAIL, name=ZOE) == "registered"
    assert events.register(store, full, email="ravi@other.example", name="Ravi") == "waiting"
    assert events.register(store, other, email=ZOE_HOME, name="ZOË MARSH") == "registered"
    assert events.register(store, other, email="kim@x.example", name="Kim") == "registered"
    assert events.register(store, past, email=ZOE_MAIL, name=ZOE) == "registered"
    assert events.register(store, past, email="lee@x.example", name="Lee") == "waiting"
    inbox.messages.clear()

    by_mail = consent.export_person(store, email=ZOE_MAIL)  # the address alone
    assert [c["item"] for c in by_mail["consents"]] == ["contact-details"]  # linked by the form
    assert sorted(b["event_id"] for b in by_mail["event_bookings"]) == [full, past]
    assert by_mail["also_known_as"] == {"names": [ZOE], "emails": []}  # look for her by name too

    exported = consent.export_person(store, ZOE, email=ZOE_MAIL)
    assert [(c["firm"], c["item"]) for c in exported["consents"]] == [
        (firm, "contact-details"), (firm, "benchmark")]  # fmt: skip
    assert [(b["event_id"], b["email"], b["status"]) for b in exported["event_bookings"]] == [
        (full, ZOE_MAIL, "registered"), (other, ZOE_HOME, "registered"),
        (past, ZOE_MAIL, "registered")]  # fmt: skip
    [mine] = exported["interest"]
    assert (mine["contact"], mine["email"], mine["organisation"]) == (ZOE, ZOE_MAIL, "Acme Tools")
    assert mine["confirmed_at"] is not None and "token" not in mine
    assert sorted(a["address"] for a in exported["attempts"]) == ["ip:203.0.113.7", ZOE_MAIL]
    assert exported["accounts"] == [] and exported["mentions"] == []
    assert exported["also_known_as"] == {"names": [], "emails": [ZOE_HOME]}
    kept = stored_bytes(store, cluster)
    for text in (ZOE, ZOE_MAIL, ZOE_HOME, "203.0.113.7"):
        assert text.encode() in kept

    done = consent.forget(store, ZOE, email=ZOE_MAIL)
    assert done.counts == {"consents": 2, "event_bookings": 3, "interest": 1, "attempts": 2}
    assert done.moved_up == [{"event": full, "email": "ravi@other.example", "mail_error": None}]
    assert (done.accounts, done.mentions) == ([], [])
    [mail] = inbox.messages  # Ravi is told, as when someone cancels
    assert mail["To"] == "ravi@other.example" and mail["Subject"].startswith("A place for you")
    assert (events.event(store, full)["registered"], events.event(store, full)["waiting"]) == (1, 0)
    assert events.event(store, past)["waiting"] == 1  # over: nobody moves up into the past

    assert everywhere(store, ZOE, ZOE_MAIL, ZOE_HOME, "Zoe", "203.0.113.7") == []
    gone = stored_bytes(store, cluster)  # tables, indexes, TOAST; on PostgreSQL after VACUUM FULL
    for text in (ZOE, ZOE.upper(), ZOE_MAIL, ZOE_HOME, "203.0.113.7"):
        assert text.encode() not in gone, text
    assert [c["person"] for c in consent.ledger(store, firm=firm)] == [consent.ERASED] * 2
    assert {(e["what"], e["count"]) for e in consent.erasures(store)} == {
        ("name in a consent record", 2), ("event booking", 3), ("registration of interest", 1),
        ("rate-limit attempt", 2)}  # fmt: skip
    assert everywhere(store, "Ravi Patel", "ravi@other.example", "198.51.100.2") != []  # kept
    assert store.firm(firm)["name"] == "Acme Tools"  # the firm is not the person
    with pytest.raises(NotFound, match="keeps nothing"):
        consent.forget(store, email=ZOE_MAIL)


def test_accounts_and_free_text_are_listed_not_changed(store: HubStore) -> None:
    firm = interest.confirm(store, interest.register(store, form("Dana Ops", "dana@acme.example"),
                                                     ip="192.0.2.1"))["firm"]  # fmt: skip
    set_status(store, firm, "engaged", notes="Dana Ops prefers mornings")
    give_service(store, firm, "skills", "workshop with dana@acme.example")
    add_user(store, "dana@acme.example", "viewer")
    exported = consent.export_person(store, "dana ops", email="DANA@acme.example")
    assert exported["accounts"] == [
        {"name": "dana@acme.example", "role": "viewer", "created_at": NOW.isoformat()}]  # fmt: skip
    assert exported["mentions"] == [
        {"table": "firms", "column": "notes", "row": firm},
        {"table": "services", "column": "note", "row": firm}]  # fmt: skip
    done = consent.forget(store, "dana ops", email="DANA@acme.example")
    assert done.counts == {"consents": 1, "event_bookings": 0, "interest": 1, "attempts": 2}
    assert (done.accounts, len(done.mentions)) == (["dana@acme.example"], 2)
    assert sorted(everywhere(store, "Dana Ops", "dana@acme.example")) == [
        "firms.notes",
        "services.note",
        "users.name",
    ]  # what the coordinator was told to check
    for bad, why in (({}, "name the person"), ({"email": "dana"}, "expected an address"),
                     ({"person": " "}, "1 to 200"), ({"person": consent.ERASED}, "replaced by")):  # fmt: skip
        with pytest.raises(InputError, match=why):
            consent.export_person(store, **bad)  # type: ignore[arg-type]


def test_erasing_a_firm_takes_the_registration_of_interest_it_was_made_from(
    store: HubStore,
) -> None:
    a = interest.confirm(store, interest.register(store, form("Ann", "ann@acme.example"),
                                                  ip="192.0.2.1"))["firm"]  # fmt: skip
    b = interest.confirm(
        store, interest.register(store, form("Bo", "bo@acme.example"), ip="192.0.2.2")
    )["firm"]  # same name, 2nd firm
    assert (a, b) == ("acme-tools", "acme-tools-2")
    [made_from] = consent.export_firm(store, b)["interest"]
    assert (made_from["contact"], made_from["email"]) == ("Bo", "bo@acme.example")
    counts = consent.erase_firm(store, b)
    assert counts["interest"] == 1 and counts["consents"] == 1
    assert [r["contact"] for r in store.rows("SELECT contact FROM interest")] == ["Ann"]
    assert everywhere(store, "bo@acme.example") == [
        "attempts.address"
    ]  # the person's, not the firm's


def test_consent_commands_for_a_person(tmp_path: Path, store: HubStore) -> None:
    interest.register(store, form("Ann Lee", "ann@acme.example"), ip="192.0.2.1")

    def hub(*args: str):
        return CliRunner().invoke(app, ["hub", "consent", *args, "--dir", str(tmp_path)])

    r = hub("export", "--email", "ann@acme.example")
    assert r.exit_code == 0, r.output
    assert [i["contact"] for i in json.loads(r.output)["interest"]] == ["Ann Lee"]
    assert isinstance(hub("export").exception, InputError)
    assert "--email ADDRESS" in str(hub("erase", "--firm", "x", "--person", "y").exception)
    r = hub("erase", "--person", "ann lee", "--email", "ann@acme.example")
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())
    assert "event bookings 0, registrations of interest 1, rate-limit attempts 2" in said
    assert isinstance(hub("erase", "--person", "Ann Lee").exception, NotFound)


@BACKENDS
def test_erasing_by_name_takes_the_rate_limit_attempts_of_their_booking(
    store: HubStore, cluster
) -> None:
    """A booking on the public page counts an attempt for its address (and the IP); erased by the
    name alone, the booking went and the attempts naming its address stayed."""
    booked = event(store, "OEE basics", "2026-03-25", capacity=5)
    interest.limit(store, [ZOE_HOME, "ip:192.0.2.9"])  # as the booking form does
    events.register(store, booked, email=ZOE_HOME, name=ZOE)
    exported = consent.export_person(store, ZOE)
    assert sorted(a["address"] for a in exported["attempts"]) == ["ip:192.0.2.9", ZOE_HOME]
    assert consent.forget(store, ZOE).counts["attempts"] == 2
    assert everywhere(store, ZOE, ZOE_HOME, "192.0.2.9") == []
    gone = stored_bytes(store, cluster)
    assert ZOE_HOME.encode() not in gone and b"192.0.2.9" not in gone
