"""A hub on PostgreSQL: ``pilotline hub init|demo|serve`` with ``--database`` or
``PILOTLINE_HUB_DATABASE_URL`` (the password in the URL never shown), a firm's signed
submission received over HTTP by ``pilotline hub serve``, a bad or unreachable URL as a one-line
error, and two writers at once deciding the same thing (the last place, the first waiting, a
request's nonce, a release's number): the database's own locks and keys decide it once."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.connect.net import free_port, wait_port
from pilotline.errors import InputError, PilotlineError, StoreError, StoreUnavailable
from pilotline.hub import events, intake
from pilotline.hub.demo import fill
from pilotline.hub.firm import HubClient, with_consent
from pilotline.hub.publish import publish
from pilotline.hub.signing import Refused, envelope, new_key, public_of
from pilotline.hub.store import HubStore
from tests.conftest import clock_env
from tests.hub.conftest import PILOTLINE

SECRET = "s3cret-Pw"


def with_password(url: str) -> str:
    """The test cluster trusts loopback: a password in the URL is accepted and not needed."""
    p = urlsplit(url)
    return urlunsplit(p._replace(netloc=f"{p.username}:{SECRET}@{p.hostname}:{p.port}"))


def hub_cli(*args: str, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, ["hub", *args], env=env)


def test_hub_serve_on_postgres_receives_a_firm_s_submission(pg_url: str, tmp_path: Path) -> None:
    url = with_password(pg_url)
    env = {"PILOTLINE_HUB_DATABASE_URL": url}
    made = hub_cli("init", env=env)
    assert made.exit_code == 0, made.output
    assert "Hub ready in the PostgreSQL database postgresql://pilotline:***@" in made.output
    pem = new_key()
    r = hub_cli("firm", "add", "acme", "--name", "Acme", "--sector", "metal", "--size-band",
                "small", "--region", "north", "--key", public_of(pem), env=env)  # fmt: skip
    assert r.exit_code == 0, r.output
    assert hub_cli("setting", "min_firms", "4", env=env).exit_code == 0
    port = free_port()
    proc = subprocess.Popen(
        [PILOTLINE, "hub", "serve", "--port", str(port), "--dir", str(tmp_path / "unused")],
        env={**os.environ, **clock_env(), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_port(port, timeout=30)
        client = HubClient(f"http://127.0.0.1:{port}", "acme", pem)
        text = client.consent_text()
        month = {"period": "2026-02", "plant": "Leeds", "planned_time_s": 100_000.5,
                 "run_time_s": 80_000, "ideal_output_time_s": 60_000, "total_count": 1000,
                 "good_count": 950, "scrap_count": 30, "energy_kwh": 812.25}  # fmt: skip
        item = {"id": "benchmark", "kind": "benchmark", "content": {"figures": [month]}}
        assert client.submit([with_consent(item, text, "Dana")]) == ["benchmark"]
        with pytest.raises(InputError, match="registered key"):
            HubClient(f"http://127.0.0.1:{port}", "acme", new_key()).held()  # wrong key
        assert [i["id"] for i in client.held()] == ["benchmark"]
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    assert SECRET.encode() not in out + err and b"Traceback" not in err
    assert not (tmp_path / "unused").exists()  # the data is in the database, not a directory
    store = HubStore(url=pg_url)
    [fig] = store.rows("SELECT * FROM figures WHERE firm_id = 'acme'")
    assert (fig["planned_time_s"], fig["energy_kwh"]) == (100_000.5, 812.25)
    [row] = store.rows("SELECT person, item_id FROM consents")
    assert row == {"person": "Dana", "item_id": "benchmark"}
    assert store.setting("min_firms") == "4"


def test_demo_on_postgres(pg_url: str) -> None:
    r = hub_cli("demo", "--database", pg_url, "--firms", "8", "--months", "1", "--seed", "3")
    assert r.exit_code == 0, r.output
    assert "8 firms" in r.output and "release 1" in r.output
    again = hub_cli("demo", "--database", pg_url, "--firms", "8")
    assert isinstance(again.exception, InputError) and "has firms already" in str(again.exception)
    listed = hub_cli("event", "list", "--database", pg_url, "--format", "json")
    assert listed.exit_code == 0 and listed.output.count('"capacity"') == 3


@pytest.mark.parametrize(
    ("table", "ddl"),
    [
        ("users", "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT)"),  # a plant's store
        ("settings", "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT NOT NULL)"),
    ],
)
def test_init_refuses_a_database_holding_something_else(pg_url: str, table: str, ddl: str) -> None:
    """Another program's tables, even a ``settings`` table shaped like the hub's, are not a
    hub: init refuses and creates or writes nothing."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(ddl)
    for args in (["init"], ["firm", "list"]):
        r = hub_cli(*args, "--database", pg_url)
        assert isinstance(r.exception, StoreError), r.output
    assert f"holds tables of something else ({table})" in str(
        hub_cli("init", "--database", pg_url).exception
    )
    with psycopg.connect(pg_url, autocommit=True) as con:
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
        tables = con.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert [t for (t,) in tables] == [table]


def test_the_url_s_options_are_kept_two_campaigns_in_two_schemas(pg_url: str) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute("CREATE SCHEMA camp_a; CREATE SCHEMA camp_b")
    a = HubStore.init(url=pg_url + "?options=-csearch_path%3Dcamp_a")
    b = HubStore.init(url=pg_url + "?options=-csearch_path%3Dcamp_b")
    a.add_firm(id="acme", name="Acme", sector="metal", size_band="small", region="north",
               public_key=None)  # fmt: skip
    assert [f["id"] for f in a.firms()] == ["acme"] and b.firms() == []
    assert a.rows("SELECT current_setting('TimeZone') AS tz") == [{"tz": "UTC"}]  # the hub's too
    with psycopg.connect(pg_url, autocommit=True) as con:
        where = con.execute("SELECT table_schema, count(*) FROM information_schema.tables "
                            "WHERE table_name = 'firms' GROUP BY 1 ORDER BY 1").fetchall()  # fmt: skip
    assert where == [("camp_a", 1), ("camp_b", 1)]  # nothing in public


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"postgresql://hub@127.0.0.1:{{closed}}/hub?password={SECRET}", "cannot reach"),
        (f"host=127.0.0.1 password={SECRET} dbname=hub", "key=value connection string"),
        (f"host=127.0.0.1 password='{SECRET} x' dbname=hub", "key=value connection string"),
        (f"postgresql://hub:{SECRET}/x#y?z@127.0.0.1/hub", "percent-encoded"),
        (f"postgresql://hub:{SECRET}/hub", "percent-encoded"),  # no host
        (f"postgresql://hub:{SECRET}@127.0.0.1:99999/hub", "percent-encoded"),
    ],
)
def test_the_password_is_never_shown(url: str, says: str) -> None:
    url = url.format(closed=free_port())
    r = hub_cli("firm", "list", "--database", url)
    assert isinstance(r.exception, PilotlineError), r.output
    assert says in str(r.exception) and SECRET not in str(r.exception) + r.output
    for args in (["firm", "list", "--", "--database", url], [url]):  # the parser's own errors
        r = hub_cli(*args)
        assert r.exit_code == 2 and SECRET not in r.output, r.output
        assert "***" in r.output


def test_an_empty_url_is_an_error_and_an_unused_dir_is_noted(pg_url: str, tmp_path: Path) -> None:
    for r in (hub_cli("firm", "list", "--database", "", "--dir", str(tmp_path)),
              hub_cli("firm", "list", env={"PILOTLINE_HUB_DATABASE_URL": ""})):  # fmt: skip
        assert isinstance(r.exception, InputError) and "is empty" in str(r.exception)
    assert not list(tmp_path.iterdir())  # no SQLite hub made instead
    assert hub_cli("init", "--database", pg_url).exit_code == 0
    r = hub_cli("firm", "list", "--database", pg_url, "--dir", str(tmp_path / "h"))
    assert r.exit_code == 0 and f"--dir {tmp_path / 'h'} is not used" in r.output


@pytest.mark.parametrize(
    ("url", "error", "says"),
    [
        ("mysql://hub:s3cret-Pw@db/hub", InputError, "expected postgresql://"),
        ("postgresql://hub:s3cret-Pw@127.0.0.1:notaport/hub", InputError, "port"),
        ("postgresql://hub:s3cret-Pw@127.0.0.1:{closed}/hub", StoreUnavailable, "cannot reach"),
        ("postgresql://pilotline:s3cret-Pw@127.0.0.1:{port}/nothere", StoreUnavailable,
         'database "nothere" does not exist'),
        ("{empty}", StoreError, "no hub in the PostgreSQL database"),
    ],
)  # fmt: skip
def test_a_bad_or_unreachable_url_is_one_line_without_the_password(
    url: str, error: type[PilotlineError], says: str, pg_cluster: Any, pg_url: str
) -> None:
    url = url.format(closed=free_port(), port=pg_cluster.port, empty=with_password(pg_url))
    r = hub_cli("firm", "list", "--database", url)
    assert isinstance(r.exception, error), r.exception
    message = str(r.exception)
    assert says in message and SECRET not in message and "\n" not in message


def test_the_cli_shows_a_bad_url_as_one_line(tmp_path: Path) -> None:
    r = subprocess.run(
        [PILOTLINE, "hub", "setting", "--database", f"postgresql://u:{SECRET}@127.0.0.1:{free_port()}/h"],
        capture_output=True, text=True, timeout=60, env={**os.environ, **clock_env()},
    )  # fmt: skip
    assert r.returncode == 1 and "Traceback" not in r.stderr and SECRET not in r.stderr
    assert r.stderr.strip().startswith(
        "Error: cannot reach the hub's database at postgresql://u:***@"
    )
    assert "--help" not in r.stderr and SECRET not in r.stdout


def _at_once(*work: Callable[[], Any]) -> list[Any]:
    """Run the pieces of work in threads released together; their results (or errors)."""
    gate = threading.Barrier(len(work))
    out: list[Any] = [None] * len(work)

    def run(i: int) -> None:
        gate.wait()
        try:
            out[i] = work[i]()
        except PilotlineError as exc:
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(work))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def test_two_writers_at_once(pg_url: str) -> None:
    """Two hub stores (as two hub processes: each its own connections) on one database."""
    a, b = HubStore.init(url=pg_url), HubStore(url=pg_url)
    for n in range(8):  # two bookings for the last place: exactly one gets it
        eid = events.add_event(a, title=f"E{n}", starts="2026-04-01T09:00",
                               ends="2026-04-01T10:00", tz="UTC", capacity=2)  # fmt: skip
        events.register(a, eid, email="first@x.example", name="First")
        got = _at_once(lambda e=eid: events.register(a, e, email="a@x.example", name="A"),
                       lambda e=eid: events.register(b, e, email="b@x.example", name="B"))  # fmt: skip
        assert sorted(got) == ["registered", "waiting"], got
    eid = events.add_event(a, title="Full", starts="2026-04-01T09:00", ends="2026-04-01T10:00",
                           tz="UTC", capacity=2)  # fmt: skip
    for who in ("p1", "p2", "w1", "w2"):
        events.register(a, eid, email=f"{who}@x.example", name=who)
    moved = _at_once(lambda: events.cancel(a, eid, "p1@x.example"),
                     lambda: events.cancel(b, eid, "p2@x.example"))  # fmt: skip
    assert sorted(moved) == ["w1@x.example", "w2@x.example"]  # each waiting person once
    e = events.event(a, eid)
    assert (e["registered"], e["waiting"], e["cancelled"]) == (2, 0, 2)

    pem = new_key()
    a.add_firm(id="acme", name="Acme", sector="metal", size_band="small", region="north",
               public_key=public_of(pem))  # fmt: skip
    body, sig = envelope("acme", "held", {}, pem)
    seen = _at_once(lambda: intake.verified(a, body, sig, "held"),
                    lambda: intake.verified(b, body, sig, "held"))  # fmt: skip
    assert sorted(type(s).__name__ for s in seen) == ["Refused", "dict"]  # one replay refused
    assert any(isinstance(s, Refused) and "replay" in str(s) for s in seen)

    fill(a, firms=8, months=1, seed=3, first=(2026, 2), release=False)
    releases = _at_once(lambda: publish(a), lambda: publish(b))
    assert sorted(r.version for r in releases) == [1, 2]  # the later built on the earlier
    assert [r["version"] for r in a.releases()] == [1, 2]


def test_the_hub_serves_again_after_the_database_restarts(pg_url: str, pg_cluster: Any) -> None:
    store = HubStore.init(url=pg_url)
    _at_once(*[lambda: store.setting("p")] * 3)  # connections kept open in its pool
    pg_cluster.stop("immediate")
    try:
        with pytest.raises(StoreUnavailable, match="cannot reach the hub's database"):
            store.setting("p")
    finally:
        pg_cluster.start()
    assert store.setting("p") == "10"  # the dropped connections are replaced as they are used
    store.set_setting("p", "12")
    assert [store.setting("p") for _ in range(4)] == ["12"] * 4
