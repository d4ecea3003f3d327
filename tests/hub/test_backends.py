"""The hub's connection layer on SQLite and on PostgreSQL: the same statements give the same
answers (typed columns, generated keys, placeholders, foreign keys, all-or-nothing writes,
columns added later), the same release is built from the same figures on each, and withdrawal
and erasure leave nothing in the database's files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pilotline.errors import InputError, StoreError
from pilotline.hub import consent, events, intake
from pilotline.hub.db import open_database
from pilotline.hub.demo import fill
from pilotline.hub.portfolio import give_service
from pilotline.hub.publish import publish
from pilotline.hub.store import HubStore
from tests.hub.backends import BACKENDS, stored_bytes


@BACKENDS
def test_statements_mean_the_same_on_both(tmp_path: Path, database_url: str | None) -> None:
    store = HubStore.init(tmp_path, url=database_url)
    store.set_setting("campaign_name", "North 100 %? it's 'ours'")
    store = HubStore.init(tmp_path, url=database_url)  # init again: the hub keeps its settings
    assert store.setting("campaign_name") == "North 100 %? it's 'ours'"  # % ? ' are data
    store.add_firm(id="acme", name="Acme", sector="metal", size_band="small", region="north",
                   public_key=None)  # fmt: skip
    with pytest.raises(InputError, match="already registered"):
        store.add_firm(id="acme", name="A", sector="s", size_band="small", region="r",
                       public_key=None)  # fmt: skip
    give_service(store, "acme", "skills", "50 % done? 'yes'")
    [svc] = store.rows("SELECT category, note FROM services WHERE firm_id = ?", ("acme",))
    assert svc == {"category": "skills", "note": "50 % done? 'yes'"}  # rows by column name
    first = events.add_event(store, title="A", starts="2026-04-01T09:00", ends="2026-04-01T10:00",
                             tz="UTC", capacity=3)  # fmt: skip
    second = events.add_event(store, title="B", starts="2026-04-02T09:00",
                              ends="2026-04-02T10:00", tz="UTC", capacity=3)  # fmt: skip
    assert (first, second) == (1, 2)  # generated keys, returned by the insert
    with store.connect() as con:  # measured values keep every digit (not PostgreSQL's REAL)
        con.execute(intake.FIGURES_INSERT, ("acme", "benchmark", "2026-02", "Leeds",
                    123456789.125, 0.1, 1e-9, 3, 2, 1, None))  # fmt: skip
    [fig] = store.rows("SELECT * FROM figures")
    assert (fig["planned_time_s"], fig["run_time_s"], fig["ideal_output_time_s"]) == (
        123456789.125, 0.1, 1e-9)  # fmt: skip
    assert fig["total_count"] == 3 and fig["energy_kwh"] is None
    [ev] = store.rows("SELECT id, capacity FROM events WHERE id = ?", (first,))
    assert ev == {"id": 1, "capacity": 3} and all(type(v) is int for v in ev.values())

    with pytest.raises(StoreError, match="refused the work"), store.connect() as con:  # a FK
        con.execute("INSERT INTO items (firm_id, item_id, kind, content, received_at) "
                    "VALUES ('nobody', 'x', 'pilot', '{}', 'now')")  # fmt: skip
    with pytest.raises(InputError, match="stop"), store.connect() as con:  # all or nothing
        con.execute("UPDATE firms SET notes = 'half' WHERE id = 'acme'")
        raise InputError("stop")
    assert store.firm("acme")["notes"] == "" and store.rows("SELECT * FROM items") == []


@BACKENDS
def test_an_older_hub_gains_the_columns_added_later(
    tmp_path: Path, database_url: str | None
) -> None:
    db = open_database(tmp_path, database_url)
    with db.transaction() as con:  # a hub from before booking by e-mail
        con.execute("CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        con.execute(f"CREATE TABLE events (id {db.identity}, title TEXT NOT NULL, starts_at TEXT "
                    "NOT NULL, ends_at TEXT NOT NULL, tz TEXT NOT NULL, location TEXT NOT NULL "
                    "DEFAULT '', description TEXT NOT NULL DEFAULT '', capacity INTEGER NOT NULL)")  # fmt: skip
        con.execute("CREATE TABLE registrations (event_id BIGINT NOT NULL REFERENCES events(id), "
                    "email TEXT NOT NULL, name TEXT NOT NULL, status TEXT NOT NULL, "
                    "registered_at TEXT NOT NULL, attended INTEGER NOT NULL DEFAULT 0, "
                    "PRIMARY KEY (event_id, email))")  # fmt: skip
    db.close()
    store = HubStore(tmp_path, url=database_url)
    eid = events.add_event(store, title="A", starts="2026-04-01T09:00", ends="2026-04-01T10:00",
                           tz="UTC", capacity=1)  # fmt: skip
    assert events.register(store, eid, email="a@x.example", name="A") == "registered"
    [r] = store.rows("SELECT cancel_token, cancelled_at FROM registrations")
    assert len(r["cancel_token"]) > 20 and r["cancelled_at"] is None


def test_the_same_release_on_both(tmp_path: Path, pg_url: str) -> None:
    """One region on each backend: the same inputs, cells, suppressions, and after a firm's
    withdrawal the same second release."""
    made = {}
    for name, store in (
        ("sqlite", HubStore.init(tmp_path)),
        ("postgres", HubStore.init(url=pg_url)),
    ):
        counts = fill(store, firms=8, months=1, seed=5, first=(2026, 2))
        assert counts["suppressed"] > 0 and counts["published"] > 0
        intake.withdraw(store, "firm-0003", ["benchmark"])
        made[name] = (store.release(1), publish(store))
    (lite1, lite2), (pg1, pg2) = made["sqlite"], made["postgres"]
    assert lite1 == pg1
    assert (lite2.inputs_sha256, lite2.cells) == (pg2.inputs_sha256, pg2.cells)
    assert "firm-0003" not in pg2.contributors["2026-02"]
    assert any("withdrawal" in c["rules"] for c in pg2.cells)


@BACKENDS
def test_erasing_a_firm_leaves_nothing_in_the_files(
    tmp_path: Path, database_url: str | None, cluster
) -> None:
    store = HubStore.init(tmp_path, url=database_url)
    fill(store, firms=6, months=1, seed=2, first=(2026, 1))
    assert b"firm-0004" in stored_bytes(store, cluster)
    counts = consent.erase_firm(store, "firm-0004")
    assert counts["firms"] == 1 and counts["figures"] > 0 and counts["releases"] == 1
    assert b"firm-0004" not in stored_bytes(store, cluster)  # tables, indexes, TOAST
    body = store.release(1)
    assert body is not None and all("firm-0004" not in p for p in body["contributors"].values())
    assert "firm-0004" not in json.dumps(publish(store).contributors)
    with pytest.raises(Exception, match="no firm 'firm-0004'"):
        consent.erase_firm(store, "firm-0004")
