"""Public pages: register interest (consent text shown, confirmation e-mailed through a real SMTP
server on loopback, the link confirms), honeypot and rate limit; events with capacity and a
waiting list; every .ics file round-trips through the icalendar parser."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import icalendar
import pytest
from fastapi.testclient import TestClient

from pilotline.connect.net import free_port
from pilotline.hub import consent, events
from pilotline.hub.server import create_hub_app
from pilotline.hub.store import HubStore
from tests.hub.backends import BACKENDS, stored_bytes
from tests.hub.mail import Inbox, smtp_server


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def hub(tmp_path: Path, smtp, database_url: str | None) -> tuple[TestClient, HubStore, Inbox]:
    port, inbox = smtp
    inbox.messages.clear()
    store = HubStore.init(tmp_path, url=database_url)
    store.set_setting("smtp_port", str(port))
    store.set_setting("public_url", "http://hub.test")
    return TestClient(create_hub_app(tmp_path, database_url=database_url)), store, inbox


FORM = {"organisation": "Acme Tools Ltd", "contact": "Dana Ops", "email": "dana@acme.example",
        "size_band": "small", "sector": "metal", "region": "north",
        "topics": ["oee", "pilots"], "consent": "yes", "website": ""}  # fmt: skip


def test_register_interest_confirmed_by_the_emailed_link(hub) -> None:
    client, store, inbox = hub
    page = client.get("/")
    assert page.status_code == 200 and "Retention" in page.text and 'name="website"' in page.text
    r = client.post("/interest", data=FORM)
    assert r.status_code == 200 and "Check your e-mail" in r.text
    [mail] = inbox.messages
    assert mail["To"] == "dana@acme.example"
    link = re.search(r"http://hub\.test(/confirm/\S+)", mail.get_payload()).group(1)
    assert store.firms() == []  # nothing until confirmed
    done = client.get(link)
    assert done.status_code == 200 and "confirmed" in done.text
    [firm] = store.firms()
    assert (firm["id"], firm["status"], firm["sector"]) == ("acme-tools-ltd", "interested", "metal")
    [row] = consent.ledger(store, firm="acme-tools-ltd")
    assert (row["person"], row["item"], row["text_version"]) == (
        "Dana Ops",
        "contact-details",
        "2026-03",
    )
    assert client.get("/confirm/not-a-token").status_code == 404


def test_honeypot_rate_limit_and_bad_fields(hub) -> None:
    client, store, inbox = hub
    r = client.post("/interest", data={**FORM, "website": "http://spam.example"})
    assert r.status_code == 200 and inbox.messages == []
    assert store.rows("SELECT * FROM interest") == []
    r = client.post("/interest", data={**FORM, "email": "not-an-address"})
    assert r.status_code == 422 and "e-mail" in r.text and "Acme Tools Ltd" in r.text  # kept
    r = client.post("/interest", data={k: v for k, v in FORM.items() if k != "consent"})
    assert r.status_code == 422 and "consent" in r.text
    for n in range(3):
        assert (
            client.post("/interest", data={**FORM, "email": f"p{n}@acme.example"}).status_code
            == 200
        )
    r = client.post("/interest", data={**FORM, "email": "p9@acme.example"})
    assert r.status_code == 429 and "try again later" in r.text  # 3 an hour from one address
    assert len(inbox.messages) == 3


@BACKENDS
def test_capacity_waiting_list_and_calendar_files(hub) -> None:
    client, store, _inbox = hub
    eid = events.add_event(store, title="Quick wins in OEE", starts="2026-03-27T09:30",
                           ends="2026-03-27T12:00", tz="Europe/London", capacity=2,
                           location="AMRC, Sheffield")  # fmt: skip
    other = events.add_event(store, title="After the clocks change", starts="2026-03-30T14:00",
                             ends="2026-03-30T16:30", tz="Europe/Berlin", capacity=50)  # fmt: skip
    assert [events.register(store, eid, email=f"p{n}@x.example", name=f"P{n}") for n in range(3)] == [
        "registered", "registered", "waiting"]  # fmt: skip
    assert events.cancel(store, eid, "p0@x.example") == "p2@x.example"
    assert events.event(store, eid)["registered"] == 2
    for e_id in (eid, other):
        e = events.event(store, e_id)
        r = client.get(f"/events/{e_id}.ics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
        [v] = icalendar.Calendar.from_ical(r.content).walk("VEVENT")
        start, end = v.decoded("dtstart"), v.decoded("dtend")
        assert (start, end) == (e["start"], e["end"])
        assert str(start.tzinfo) == e["tz"] and str(v["summary"]) == e["title"]
        assert start.utcoffset() == e["start"].utcoffset()
    assert events.event(store, eid)["start"].utcoffset() == dt.timedelta(0)  # GMT until 29 March
    assert events.event(store, other)["start"].utcoffset() == dt.timedelta(hours=2)  # CEST
    feed = icalendar.Calendar.from_ical(client.get("/events.ics").content)
    assert sorted(str(v["summary"]) for v in feed.walk("VEVENT")) == sorted(
        ["Quick wins in OEE", "After the clocks change"])  # fmt: skip
    assert "Quick wins in OEE" in client.get("/").text
    with pytest.raises(Exception, match="time zone"):
        events.add_event(store, title="x", starts="2026-04-01T09:00", ends="2026-04-01T10:00",
                         tz="Mars/Olympus", capacity=5)  # fmt: skip
    assert zoneinfo.ZoneInfo("Europe/London")


def test_booking_from_the_page_and_reminders_by_mail(hub) -> None:
    client, store, inbox = hub
    eid = events.add_event(store, title="Energy metering clinic", starts="2026-03-20T10:00",
                           ends="2026-03-20T12:00", tz="Europe/London", capacity=1)  # fmt: skip
    first = client.post(f"/events/{eid}/register", data={"name": "Ann", "email": "ann@x.example"})
    assert first.status_code == 200 and "You have a place" in first.text
    second = client.post(f"/events/{eid}/register", data={"name": "Bo", "email": "bo@x.example"})
    assert "waiting list" in second.text
    spam = client.post(f"/events/{eid}/register",
                       data={"name": "S", "email": "s@x.example", "website": "x"})  # fmt: skip
    assert spam.status_code == 200
    bad = client.post(f"/events/{eid}/register", data={"name": "", "email": "nope"})
    assert bad.status_code == 422
    assert (
        client.post("/events/999/register", data={"name": "A", "email": "a@x.example"}).status_code
        == 404
    )
    e = events.event(store, eid)
    assert (e["registered"], e["waiting"]) == (1, 1)
    assert [m["To"] for m in inbox.messages] == ["ann@x.example", "bo@x.example"]  # bookings
    inbox.messages.clear()
    assert events.remind(store, eid) == 1
    [mail] = inbox.messages
    assert mail["To"] == "ann@x.example" and "Energy metering clinic" in mail["Subject"]
    [part] = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    [v] = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert v.decoded("dtstart") == e["start"]
    events.attended(store, eid, "ann@x.example")
    with pytest.raises(Exception, match="no place"):
        events.attended(store, eid, "bo@x.example")


@BACKENDS
def test_unconfirmed_interest_is_erased_after_the_setting_s_days(
    hub, tmp_path, database_url, cluster
) -> None:
    from pilotline import clock
    from pilotline.hub.interest import expire
    from tests.conftest import NOW

    client, store, inbox = hub
    page = client.get("/")
    assert "not confirmed by the e-mailed link within 7 days" in page.text  # in the consent text
    assert client.post("/interest", data=FORM).status_code == 200
    with clock.fixed(NOW + dt.timedelta(days=3)):
        later = {**FORM, "email": "lee@acme.example", "contact": "Lee"}
        assert client.post("/interest", data=later).status_code == 200
    first, second = (re.search(r"http://hub\.test(/confirm/\S+)", m.get_payload()).group(1)
                     for m in inbox.messages)  # fmt: skip
    assert "within 7 days" in inbox.messages[0].get_payload()
    with clock.fixed(NOW + dt.timedelta(days=7)):  # exactly 7 days: still kept
        client.get("/")
        assert len(store.rows("SELECT * FROM interest")) == 2
    with clock.fixed(NOW + dt.timedelta(days=7, seconds=1)):
        client.get("/")  # any visit to the public pages sweeps
        [kept] = store.rows("SELECT * FROM interest")
        assert kept["email"] == "lee@acme.example"
        assert b"dana@acme.example" not in stored_bytes(store, cluster)
        [note] = consent.erasures(store)
        assert (note["at"], note["count"], note["reason"]) == (
            (NOW + dt.timedelta(days=7, seconds=1)).isoformat(), 1, "not confirmed within 7 days")  # fmt: skip
        assert client.get(first).status_code == 404  # the erased link is not known
        assert client.get(second).status_code == 200  # the later one still confirms
        assert [f["id"] for f in store.firms()] == ["acme-tools-ltd"]
    store.set_setting("interest_expiry_days", "2")
    with pytest.raises(Exception, match="1 to 90"):
        store.set_setting("interest_expiry_days", "0")
    client.post("/interest", data={**FORM, "email": "kim@acme.example"})
    with clock.fixed(NOW + dt.timedelta(days=2, hours=1)):
        create_hub_app(tmp_path, database_url=database_url)  # the hub starting up sweeps too
        assert store.rows("SELECT email FROM interest WHERE confirmed_at IS NULL") == []
        assert expire(store) == 0
        assert [n["count"] for n in consent.erasures(store)] == [1, 1]


@BACKENDS
def test_cancelling_a_booking_by_the_e_mailed_link_moves_the_first_waiting_up(
    hub, tmp_path
) -> None:
    from pilotline.hub.coordinator import add_user

    client, store, inbox = hub
    eid = events.add_event(store, title="Energy metering clinic", starts="2026-03-20T10:00",
                           ends="2026-03-20T12:00", tz="Europe/London", capacity=1)  # fmt: skip
    for name, email in (("Ann", "ann@x.example"), ("Bo", "bo@x.example"), ("Cy", "cy@x.example")):
        r = client.post(f"/events/{eid}/register", data={"name": name, "email": email})
        assert r.status_code == 200 and "e-mailed you the booking" in r.text
    ann, bo, cy = inbox.messages
    assert ann["Subject"].startswith("Your place: Energy metering clinic")
    assert bo["Subject"].startswith("Waiting list") and cy["Subject"].startswith("Waiting list")
    assert [p.get_content_type() for p in ann.walk()].count("text/calendar") == 1
    assert "text/calendar" not in [p.get_content_type() for p in bo.walk()]  # no place yet

    def link(mail) -> str:
        body = next(p for p in mail.walk() if p.get_content_type() == "text/plain")
        return re.search(
            r"http://hub\.test(/events/cancel/\S+)", body.get_payload(decode=True).decode()
        ).group(1)

    asked = client.get(link(ann))  # opening the link (or a mail scanner) cancels nothing
    assert asked.status_code == 200 and "Cancel your booking?" in asked.text
    assert events.event(store, eid)["registered"] == 1 and len(inbox.messages) == 3
    done = client.post(link(ann))
    assert done.status_code == 200 and "is cancelled" in done.text
    e = events.event(store, eid)
    assert (e["registered"], e["waiting"], e["cancelled"]) == (1, 1, 1)
    [moved] = inbox.messages[3:]
    assert moved["To"] == "bo@x.example" and moved["Subject"].startswith("A place for you")
    [part] = [p for p in moved.walk() if p.get_content_type() == "text/calendar"]
    [v] = icalendar.Calendar.from_ical(part.get_payload(decode=True)).walk("VEVENT")
    assert v.decoded("dtstart") == e["start"]
    assert link(moved) == link(bo)  # the same link cancels the place Bo now has
    again = client.post(link(ann))
    assert again.status_code == 200 and len(inbox.messages) == 4  # nothing moves twice
    assert "Already cancelled" in client.get(link(ann)).text
    assert client.post("/events/cancel/not-a-token").status_code == 404
    assert client.get("/events/cancel/not-a-token").status_code == 404

    password = add_user(store, "cora", "coordinator")
    client.post("/coordinator/login", data={"user": "cora", "password": password})
    assert f'href="/coordinator/events/{eid}"' in client.get("/coordinator/events").text
    seen = client.get(f"/coordinator/events/{eid}").text
    rows = re.findall(r"<tr><td>(\w+)</td><td>[^<]+</td><td>(\w+)</td>", seen)
    assert rows == [("Bo", "registered"), ("Cy", "waiting"), ("Ann", "cancelled")]
    assert "1 cancelled" in seen and "2026-03-04 15:47" in seen
    store.set_setting("smtp_port", str(free_port()))  # the mail server is down: booked anyway
    store.set_setting("interest_per_hour", "10")
    r = client.post(f"/events/{eid}/register", data={"name": "Di", "email": "di@x.example"})
    assert r.status_code == 200 and "could not e-mail you the booking" in r.text
    assert events.event(store, eid)["waiting"] == 2
