"""Event reminders go out by themselves while ``hub serve`` runs: once per person with a place,
within ``reminder_hours`` of the start, never twice (two hub processes, a restart), and whoever's
mail could not be sent is tried again at the next round."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from pilotline.connect.net import free_port
from pilotline.errors import InputError, SourceUnavailable
from pilotline.hub import events
from pilotline.hub.server import create_hub_app
from pilotline.hub.store import HubStore
from tests.conftest import NOW
from tests.hub.backends import BACKENDS
from tests.hub.mail import Inbox, smtp_server


@pytest.fixture
def mail() -> Iterator[tuple[int, Inbox]]:
    with smtp_server() as server:
        yield server


def _event(store: HubStore, hours_ahead: int, title: str) -> int:
    start = NOW.replace(tzinfo=None) + dt.timedelta(hours=hours_ahead)  # the event's zone: UTC
    end = start + dt.timedelta(hours=2)
    return events.add_event(store, title=title, starts=start.isoformat(timespec="minutes"),
                            ends=end.isoformat(timespec="minutes"), tz="UTC", capacity=1)  # fmt: skip


@BACKENDS
def test_reminders_go_once_to_people_with_a_place_when_due(
    tmp_path: Path, mail: tuple[int, Inbox], database_url: str | None
) -> None:
    port, inbox = mail
    store = HubStore.init(tmp_path, url=database_url)
    store.set_setting("smtp_port", str(free_port()))  # the mail server is away at first
    soon = _event(store, 5, "Soon: OEE clinic")
    later = _event(store, 30, "Later: energy clinic")  # beyond the 24 hours
    for eid in (soon, later):
        events.register(store, eid, email="ann@x.example", name="Ann")
        events.register(store, eid, email="bo@x.example", name="Bo")  # waiting: no reminder
    with pytest.raises(SourceUnavailable):
        events.remind_due(store)
    # the mail that failed is released for the next round
    assert store.rows("SELECT count(*) AS n FROM registrations WHERE reminded_at IS NOT NULL") == [
        {"n": 0}
    ]
    store.set_setting("smtp_port", str(port))
    app = create_hub_app(tmp_path, database_url=database_url, reminders=True, remind_every_s=0.2)
    with TestClient(app):  # the served app sends them by itself
        deadline = time.monotonic() + 20
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # more rounds: nothing more is sent
    [sent] = inbox.messages
    assert sent["To"] == "ann@x.example" and sent["Subject"].startswith("Reminder: Soon")
    # a restart, or a second hub process, sends nothing again; the manual command still can
    assert events.remind_due(store) == 0
    # Bo moves up when Ann cancels: Bo is reminded at the next round
    events.cancel(store, soon, "ann@x.example")
    inbox.messages.clear()
    assert events.remind_due(store) == 1 and [m["To"] for m in inbox.messages] == ["bo@x.example"]
    store.set_setting("reminder_hours", "0")
    events.register(store, soon, email="cy@x.example", name="Cy")
    assert events.remind_due(store) == 0  # off


def test_reminder_hours_is_checked(tmp_path: Path) -> None:
    store = HubStore.init(tmp_path)
    for bad in ("-1", "337", "1.5"):
        with pytest.raises(Exception, match="reminder_hours"):
            store.set_setting("reminder_hours", bad)
    store.set_setting("reminder_hours", "48")
    assert store.setting("reminder_hours") == "48"


class _Refusing(Inbox):
    """A mail server that refuses two recipients (no such mailbox; greylisted) and takes the rest."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("aa-gone@"):
            return "550 no such mailbox"
        if address.startswith("ab-grey@"):
            return "450 greylisted, try later"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_one_refused_address_does_not_hold_back_the_others(tmp_path: Path) -> None:
    """Reminders go in address order: a refused address once stopped everyone after it, at every
    round, until the event began."""
    inbox = _Refusing()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        store = HubStore.init(tmp_path)
        store.set_setting("smtp_port", str(port))
        eid = _event(store, 5, "OEE clinic")
        with store.connect() as con:
            con.execute("UPDATE events SET capacity = 5 WHERE id = ?", (eid,))
        for who in ("aa-gone", "ab-grey", "bo", "cy"):
            events.register(store, eid, email=f"{who}@x.example", name=who)
        assert events.remind_due(store) == 2
        assert sorted(m["To"] for m in inbox.messages) == ["bo@x.example", "cy@x.example"]
        # refused for good (550) stays marked; refused for now (450) is tried at the next round
        unmarked = store.rows("SELECT email FROM registrations WHERE reminded_at IS NULL")
        assert unmarked == [{"email": "ab-grey@x.example"}]
        inbox.messages.clear()
        assert events.remind_due(store) == 0 and inbox.messages == []  # none sent twice
    finally:
        controller.stop()


def test_reminders_follow_the_events_own_zone_across_a_clock_change(
    tmp_path: Path, mail: tuple[int, Inbox]
) -> None:
    """New York springs forward on 8 March 2026: 09:00 there on the 9th is 13:00 UTC (14:00 by
    the old offset), so it is due at 13:30Z on the 8th and not at 12:30Z; an event that began
    (08:00 there, 12:00Z) gets none."""
    from pilotline import clock

    port, inbox = mail
    store = HubStore.init(tmp_path)
    store.set_setting("smtp_port", str(port))
    ny = events.add_event(store, title="NY", starts="2026-03-09T09:00", ends="2026-03-09T11:00",
                          tz="America/New_York", capacity=5)  # fmt: skip
    begun = events.add_event(store, title="Begun", starts="2026-03-08T08:00",
                             ends="2026-03-08T18:00", tz="America/New_York", capacity=5)  # fmt: skip
    for eid in (ny, begun):
        events.register(store, eid, email="ann@x.example", name="Ann")
    with clock.fixed(dt.datetime(2026, 3, 8, 12, 30, tzinfo=dt.UTC)):  # 24 h 30 min before
        assert events.remind_due(store) == 0
    with clock.fixed(dt.datetime(2026, 3, 8, 13, 30, tzinfo=dt.UTC)):  # 23 h 30 min before
        assert events.remind_due(store) == 1
    [sent] = inbox.messages
    assert "NY" in sent["Subject"] and "09:00" in sent["Subject"]


def test_a_cancellation_after_the_event_moves_nobody_up(
    tmp_path: Path, mail: tuple[int, Inbox]
) -> None:
    """The cancel link still works once the event is over; the first waiting was then e-mailed
    'A place for you' at an event that had ended."""
    port, inbox = mail
    store = HubStore.init(tmp_path)
    store.set_setting("smtp_port", str(port))
    eid = _event(store, -5, "Kick-off")  # began 5 hours ago, ended 3 hours ago
    events.register(store, eid, email="ann@x.example", name="Ann")
    events.register(store, eid, email="bo@x.example", name="Bo")  # waiting
    [token] = [r["cancel_token"] for r in store.rows(
        "SELECT cancel_token FROM registrations WHERE email = 'ann@x.example'")]  # fmt: skip
    done = events.cancel_booking(store, token)
    assert done["moved"] is None and inbox.messages == []
    assert events.event(store, eid)["waiting"] == 1


def test_an_event_text_is_checked_and_a_title_on_two_lines_stops_no_reminders(
    tmp_path: Path, mail: tuple[int, Inbox]
) -> None:
    """A title with a newline (from before the check) made every reminder round fail at its
    mail's Subject, and so the events after it in the round got none."""
    port, inbox = mail
    store = HubStore.init(tmp_path)
    store.set_setting("smtp_port", str(port))
    with pytest.raises(InputError, match="skip that time"):  # 01:30 does not exist that night
        events.add_event(store, title="T", starts="2026-03-29T01:30", ends="2026-03-29T03:00",
                         tz="Europe/London", capacity=5)  # fmt: skip
    for bad in ({"title": "Two\nlines"}, {"title": "Bad\x1b[31m"}, {"location": "x\ny"}):
        with pytest.raises(InputError, match=next(iter(bad))):
            events.add_event(store, **{"title": "T", **bad}, starts="2026-03-05T09:00",
                             ends="2026-03-05T10:00", tz="UTC", capacity=5)  # fmt: skip
    events.add_event(store, title="T", description="line one\nline two", starts="2026-03-05T09:00",
                     ends="2026-03-05T10:00", tz="UTC", capacity=5)  # fmt: skip
    first = _event(store, 4, "Two")
    then = _event(store, 5, "Then")
    with store.connect() as con:  # as a hub from before the check may hold it
        con.execute("UPDATE events SET title = 'Two\nlines' WHERE id = ?", (first,))
    for eid in (first, then):
        events.register(store, eid, email="ann@x.example", name="Ann")
    assert events.remind_due(store) == 2
    assert sorted(m["Subject"].split(",")[0] for m in inbox.messages) == [
        "Reminder: Then", "Reminder: Two lines"]  # fmt: skip
