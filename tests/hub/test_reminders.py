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
from pilotline.errors import SourceUnavailable
from pilotline.hub import events
from pilotline.hub.server import create_hub_app
from pilotline.hub.store import HubStore
from tests.conftest import NOW
from tests.hub.backends import BACKENDS
from tests.hub.test_public import Inbox


@pytest.fixture
def mail() -> Iterator[tuple[int, Inbox]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, inbox
    finally:
        controller.stop()


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
