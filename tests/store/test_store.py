from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pilotline.errors import SchemaMismatch, StoreBusy, StoreError
from pilotline.store import SCHEMA_VERSION, EmbeddedStore


def test_a_new_store_is_migrated_to_the_current_schema(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    assert store.schema_version() == SCHEMA_VERSION
    assert EmbeddedStore(tmp_path).schema_version() == SCHEMA_VERSION  # reopening is a no-op


def test_a_store_from_a_newer_pilotline_is_refused_unchanged(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    with store.session(write=True) as s:
        s.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    with pytest.raises(SchemaMismatch, match="schema version 999, newer than this Pilotline"):
        EmbeddedStore(tmp_path).schema_version()


def _hold_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    code = textwrap.dedent(f"""
        import time, duckdb
        con = duckdb.connect({str(path)!r})
        print("locked", flush=True)
        time.sleep({seconds})
        con.close()
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_waits_for_the_store_and_then_proceeds(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, lock_timeout_s=20)
    store.schema_version()
    holder = _hold_lock(store.path, 1.5)
    try:
        with store.session(write=True) as s:  # blocks until the other process lets go
            s.execute("INSERT INTO meta VALUES ('note', 'written while another process waited')")
    finally:
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()
    with store.session() as s:
        assert (
            s.scalar("SELECT value FROM meta WHERE key = 'note'")
            == "written while another process waited"
        )


def test_a_store_held_too_long_gives_a_clear_message(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path, lock_timeout_s=0.5)
    store.schema_version()
    holder = _hold_lock(store.path, 5)
    try:
        with (
            pytest.raises(StoreBusy, match=r"is in use by process \d+ .*PILOTLINE_LOCK_TIMEOUT"),
            store.session(write=True),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_concurrent_imports_from_two_processes_both_land(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = textwrap.dedent("""
        import sys, pathlib, datetime as dt, pyarrow as pa
        sys.path.insert(0, {root!r})
        from tests.conftest import WORKED_EXAMPLE_PLANT
        from pilotline.plant import parse_plant
        from pilotline.store import EmbeddedStore
        from pilotline.ingest import import_table
        machine = sys.argv[1]
        plant = parse_plant(WORKED_EXAMPLE_PLANT)
        store = EmbeddedStore(pathlib.Path({home!r}), lock_timeout_s=60)
        for i in range(15):
            t = dt.datetime(2026, 3, 2, 6, tzinfo=dt.UTC) + dt.timedelta(minutes=i)
            import_table(store, plant, pa.table({{"machine": [machine], "ts": pa.array([t], pa.timestamp("us", "UTC")),
                                                 "total": [1]}}), kind="counts")
    """).format(root=str(Path(__file__).parents[2]), home=str(home))
    EmbeddedStore(home).schema_version()
    procs = [subprocess.Popen([sys.executable, "-c", code, m]) for m in ("m1", "m2")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    with EmbeddedStore(home).session() as s:
        assert s.scalar("SELECT count(*) FROM counts") == 30
        assert s.scalar("SELECT count(*) FROM imports") == 30


def test_threads_read_and_write_at_once_and_every_write_is_kept(tmp_path: Path) -> None:
    """One process, many threads (a web server): reads never make a write fail."""
    import datetime as dt
    import threading

    store = EmbeddedStore(tmp_path)
    errors: list[BaseException] = []
    t0 = dt.datetime(2026, 1, 1)

    def read() -> None:
        for _ in range(60):
            try:
                with store.session() as s:
                    s.scalar("SELECT count(*) FROM counts")
            except BaseException as exc:
                errors.append(exc)

    def write(machine: str) -> None:
        for i in range(30):
            try:
                with EmbeddedStore(tmp_path).session(write=True) as s:  # another store object
                    s.execute(
                        "INSERT INTO counts (machine, ts, total, reject, rework) "
                        "VALUES (?, ?, 1, 0, 0)",
                        [machine, t0 + dt.timedelta(seconds=i)],
                    )
            except BaseException as exc:
                errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    threads += [threading.Thread(target=write, args=(m,)) for m in ("m1", "m2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.session() as s:
        assert s.scalar("SELECT count(*) FROM counts") == 60
        with s.transaction():  # a read inside a read joins it
            assert store.schema_version() == SCHEMA_VERSION


def test_a_write_started_inside_a_read_of_the_same_thread_is_refused(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    with store.session(write=True) as w, store.session() as r:  # a read inside a write joins
        w.execute("INSERT INTO meta VALUES ('k', 'v')")
        assert r.scalar("SELECT count(*) FROM meta") >= 1
    with (
        store.session(),
        pytest.raises(StoreError, match="inside a read"),
        store.session(write=True),
    ):
        pass
