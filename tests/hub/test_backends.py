"""The hub's connection layer on SQLite and on PostgreSQL: the same statements give the same
answers (typed columns, generated keys, placeholders, foreign keys, all-or-nothing writes,
columns added later), the same release is built from the same figures on each, and withdrawal
and erasure leave nothing in the database's files."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import psycopg
import pytest
from pytest import MonkeyPatch

from pilotline.errors import InputError, StoreError
from pilotline.hub import consent, events, intake
from pilotline.hub.db import open_database
from pilotline.hub.demo import fill
from pilotline.hub.portfolio import give_service
from pilotline.hub.publish import publish
from pilotline.hub.store import HubStore
from tests.hub.backends import BACKENDS, stored_bytes
from tests.pg import Cluster


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
        con.execute("CREATE TABLE firms (id TEXT PRIMARY KEY, name TEXT NOT NULL, sector TEXT "
                    "NOT NULL, size_band TEXT NOT NULL, region TEXT NOT NULL, public_key TEXT, "
                    "status TEXT NOT NULL DEFAULT 'interested', notes TEXT NOT NULL DEFAULT '', "
                    "created_at TEXT NOT NULL)")  # fmt: skip
        con.execute("CREATE TABLE items (firm_id TEXT NOT NULL REFERENCES firms(id), item_id TEXT "
                    "NOT NULL, kind TEXT NOT NULL, content TEXT NOT NULL, received_at TEXT NOT "
                    "NULL, PRIMARY KEY (firm_id, item_id))")  # fmt: skip
        con.execute(f"CREATE TABLE consents (seq {db.identity}, firm_id TEXT NOT NULL, person "
                    "TEXT NOT NULL, item_id TEXT NOT NULL, text_version TEXT NOT NULL, "
                    "text_sha256 TEXT NOT NULL, given_at TEXT NOT NULL, withdrawn_at TEXT)")  # fmt: skip
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


def _holding(url: str, sql: str, isolation: str = "REPEATABLE READ") -> psycopg.Connection:
    """Another session (a coordinator's long report) with a transaction open after ``sql``."""
    con = psycopg.connect(url, autocommit=True, application_name="long report")
    con.execute(f"BEGIN ISOLATION LEVEL {isolation}")
    con.execute(sql)
    return con


def _due(url: str) -> list[str]:
    with psycopg.connect(url, autocommit=True) as con:
        return [r[0] for r in con.execute("SELECT name FROM vacuum_due ORDER BY name")]


def test_an_erasure_waits_for_older_snapshots_and_retries_when_they_stay(
    pg_url: str, pg_cluster: Cluster, caplog: pytest.LogCaptureFixture, monkeypatch: MonkeyPatch
) -> None:
    """A rewrite keeps what an older snapshot may see: the vacuum waits for it to end; if it
    does not end in time, a warning names the session and the next erasure vacuums again."""
    store = HubStore.init(url=pg_url)
    fill(store, firms=6, months=1, seed=2, first=(2026, 1), release=False)
    report = _holding(pg_url, "SELECT count(*) FROM firms")
    ends = threading.Timer(1.0, report.close)  # it ends a second later
    ends.start()
    assert consent.erase_firm(store, "firm-0004")["firms"] == 1
    ends.join()
    assert b"firm-0004" not in stored_bytes(store, pg_cluster)  # waited for it, then rewrote
    assert _due(pg_url) == []

    monkeypatch.setattr(store.db, "snapshot_wait_s", 0.3)
    report = _holding(pg_url, "SELECT count(*) FROM firms")  # held throughout
    with caplog.at_level(logging.WARNING, "pilotline.hub._postgres"):
        assert consent.erase_firm(store, "firm-0005")["firms"] == 1  # the erasure stands
    said = caplog.text
    assert (
        f"pid {report.info.backend_pid} (long report, user pilotline, idle in transaction)" in said
    )
    assert "stay due" in said and "firms" in said
    assert b"firm-0005" in stored_bytes(store, pg_cluster)  # still in the files, and due
    assert "firms" in _due(pg_url) and "figures" in _due(pg_url)
    report.execute("COMMIT")
    report.close()
    intake.withdraw(store, "firm-0001", None)  # the next erasure takes the due tables too
    store.db.vacuumed()
    assert b"firm-0005" not in stored_bytes(store, pg_cluster) and _due(pg_url) == []


def test_a_withdrawal_vacuums_only_what_it_erased_and_never_fails_after_its_commit(
    pg_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: MonkeyPatch
) -> None:
    store = HubStore.init(url=pg_url)
    fill(store, firms=4, months=1, seed=2, first=(2026, 1), release=False)

    def files() -> list[int]:
        return [r["f"] for r in store.rows(
            "SELECT pg_relation_filenode(t) AS f FROM unnest(ARRAY['items', 'figures']) t")]  # fmt: skip

    before = files()
    assert intake.withdraw(store, "firm-0001", []) == []  # nothing named: nothing rewritten
    intake.withdraw(store, "firm-0002", None)
    assert intake.withdraw(store, "firm-0002", None) == []  # nothing held any more
    store.db.vacuumed()
    after = files()
    assert all(a != b for a, b in zip(before, after, strict=True))  # rewritten once, by firm 2's
    intake.withdraw(store, "firm-0002", None)
    store.db.vacuumed()
    assert files() == after

    monkeypatch.setattr(store.db, "vacuum_lock_timeout", "100ms")
    reader = _holding(pg_url, "SELECT count(*) FROM items", "READ COMMITTED")  # a lock, no snapshot
    with caplog.at_level(logging.WARNING, "pilotline.hub._postgres"):
        assert intake.withdraw(store, "firm-0003", ["benchmark"]) == ["benchmark"]  # answered
        store.db.vacuumed()
    assert (
        "items could not be vacuumed (items: canceling statement due to lock timeout)"
        in caplog.text
    )
    assert _due(pg_url) == ["items"] and files()[1] != after[1]  # figures was rewritten
    reader.execute("COMMIT")
    reader.close()


def test_tables_of_another_owner_are_left_due_with_a_warning(
    pg_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The hub connecting as a user who may write the tables but does not own them: VACUUM
    skips them; the erasure stands, the warning says so, the tables stay due."""
    store = HubStore.init(url=pg_url)  # made by the owner
    fill(store, firms=3, months=1, seed=2, first=(2026, 1), release=False)
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("DROP ROLE IF EXISTS hub_writer")
        con.execute("CREATE ROLE hub_writer LOGIN")
        con.execute("GRANT ALL ON ALL TABLES IN SCHEMA public TO hub_writer")
        con.execute("GRANT CREATE ON SCHEMA public TO hub_writer")
    writer = HubStore(url=pg_url.replace("//pilotline@", "//hub_writer@"))
    with caplog.at_level(logging.WARNING, "pilotline.hub._postgres"):
        assert intake.withdraw(writer, "firm-0001", None) != []
        writer.db.vacuumed()
    assert "figures, items could not be vacuumed" in caplog.text and "skipping" in caplog.text
    assert _due(pg_url) == ["figures", "items"]
    writer.close()


def test_a_withdrawal_over_the_api_is_answered_when_its_vacuum_cannot_run(
    pg_url: str, monkeypatch: MonkeyPatch
) -> None:
    """A reader holding the items table: the withdrawal has committed, so it is answered with
    its items, not 503; the table is left due."""
    from fastapi.testclient import TestClient

    from pilotline.hub._postgres import PostgresHub
    from pilotline.hub.firm import with_consent
    from pilotline.hub.server import create_hub_app
    from pilotline.hub.signing import HEADER, envelope, new_key, public_of

    store = HubStore.init(url=pg_url)
    pem = new_key()
    store.add_firm(id="acme", name="Acme", sector="metal", size_band="small", region="north",
                   public_key=public_of(pem))  # fmt: skip
    item = {"id": "pilot:a", "kind": "pilot", "content": {"title": "Tablets", "effect": 1.0,
            "low": 0.5, "high": 2.0}}  # fmt: skip
    intake.receive(store, {"firm": "acme", "payload": {
        "items": [with_consent(item, intake.consent_text(store), "Dana")]}})  # fmt: skip
    monkeypatch.setattr(PostgresHub, "vacuum_lock_timeout", "100ms")
    reader = _holding(pg_url, "SELECT count(*) FROM items", "READ COMMITTED")
    with TestClient(create_hub_app(None, database_url=pg_url)) as client:
        body, sig = envelope("acme", "withdraw", {"items": None}, pem)
        r = client.post("/api/v1/withdraw", content=body, headers={HEADER: sig})
        assert (r.status_code, r.json()) == (200, {"withdrawn": ["pilot:a"]})
        body, sig = envelope("acme", "withdraw", {"items": None}, pem)  # nothing left: no vacuum
        r = client.post("/api/v1/withdraw", content=body, headers={HEADER: sig})
        assert (r.status_code, r.json()) == (200, {"withdrawn": []})
    for worker in threading.enumerate():  # the server's vacuum, however long it took
        if worker.name == "pilotline-hub-vacuum":
            worker.join()
    reader.close()
    assert _due(pg_url) == ["items"] and store.rows("SELECT * FROM items") == []
