"""The record of partner reads: editing, deleting, inserting or swapping one record is found
and the first broken record named; concurrent appends stay one chain."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilotline.errors import SettingsError
from pilotline.share import anchor
from pilotline.share.readlog import ChainBroken, Read, ReadLog, _digest, records, verify
from pilotline.store import EmbeddedStore, Session
from tests.conftest import NOW


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("reads")
    store = EmbeddedStore(home)
    log = ReadLog(store, home)
    threads = [
        threading.Thread(target=log.append, args=(
            Read(NOW, f"partner-{i % 3}", f"/aas/submodels/{i}", ["g-1"], [f"urn:sm:{i}"], 200),
        )) for i in range(8)
    ]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    log.flush()
    return home


def _copy(src: Path, dst: Path) -> EmbeddedStore:
    shutil.copytree(src, dst)
    return EmbeddedStore(dst)


def test_the_chain_of_concurrent_appends_is_intact(written: Path, tmp_path: Path) -> None:
    store = _copy(written, tmp_path / "h")
    assert verify(store, tmp_path / "h") == 8
    with store.session() as s:
        assert s.scalar("SELECT count(DISTINCT partner) FROM share_reads") == 3


def _swap(s: Session) -> None:
    cols = "read_at, partner, route, grants, returned, status, prev_hash, hash"
    rows = s.arrow(
        f"SELECT seq, {cols} FROM share_reads WHERE seq IN (3, 4) ORDER BY seq"
    ).to_pylist()
    for mine, theirs in ((rows[0], rows[1]), (rows[1], rows[0])):
        s.execute(
            "UPDATE share_reads SET read_at = ?, partner = ?, route = ?, grants = ?, returned = ?, "
            "status = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            [theirs[c] for c in cols.split(", ")] + [mine["seq"]],
        )


def _insert(s: Session) -> None:
    """A forged record made to fit after record 2, the later ones renumbered."""
    prev = s.scalar("SELECT hash FROM share_reads WHERE seq = 2")
    for seq in range(8, 2, -1):
        s.execute("UPDATE share_reads SET seq = ? WHERE seq = ?", [seq + 1, seq])
    at = "2026-03-04T15:47:23.000000"
    h = _digest(3, at, "mallory", "/aas/shells", "[]", "[]", 200, prev)
    s.execute("INSERT INTO share_reads VALUES (3, ?, 'mallory', '/aas/shells', '[]', '[]', 200, ?, ?)",
              [NOW.replace(tzinfo=None), prev, h])  # fmt: skip


@pytest.mark.parametrize(
    ("tamper", "seq", "words"),
    [
        (lambda s: s.execute("UPDATE share_reads SET returned = '[]' WHERE seq = 5"), 5, "changed"),
        (lambda s: s.execute("UPDATE share_reads SET status = 404 WHERE seq = 1"), 1, "changed"),
        (lambda s: s.execute("DELETE FROM share_reads WHERE seq = 4"), 4, "missing"),
        (lambda s: s.execute("DELETE FROM share_reads WHERE seq = 8"), 8, "missing"),
        (_swap, 3, "does not follow"),
        (_insert, 4, "does not follow record 3"),
    ],
    ids=["edited", "edited-first", "deleted", "deleted-last", "swapped", "inserted"],
)
def test_tampering_is_found_and_named(written: Path, tmp_path: Path,
                                      tamper: Callable[[Session], None], seq: int,
                                      words: str) -> None:  # fmt: skip
    store = _copy(written, tmp_path / "h")
    with store.session(write=True) as s:
        tamper(s)
    with pytest.raises(ChainBroken, match=words) as broken:
        verify(store, tmp_path / "h")
    assert broken.value.seq == seq


def test_the_cli_exits_1_naming_the_first_broken_record(written: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from pilotline.cli import app

    home = tmp_path / "h"
    store = _copy(written, home)
    ok = CliRunner().invoke(app, ["--home", str(home), "share", "audit", "verify"])
    assert ok.exit_code == 0 and "intact: 8 record(s)" in ok.output
    with store.session(write=True) as s:
        s.execute("UPDATE share_reads SET partner = 'nobody' WHERE seq = 6")
    broken = CliRunner().invoke(app, ["--home", str(home), "share", "audit", "verify"])
    assert broken.exit_code == 1
    assert "broken at record 6: its contents were changed" in broken.output


def _killed(log: ReadLog) -> None:
    """What ``kill -9`` leaves of a process's record: its journal file, unlocked; nothing in
    memory."""
    assert log._journal is not None
    log._journal.close()
    log._journal, log._queue = None, []


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=4))
def test_reads_answered_before_a_kill_are_on_the_record(tmp_path_factory: pytest.TempPathFactory,
                                                        groups: list[int]) -> None:  # fmt: skip
    """Groups of reads, the store written after each but the last: a kill loses none of them
    and records none twice."""
    home = tmp_path_factory.mktemp("killed")
    store = EmbeddedStore(home)
    log = ReadLog(store, home, interval_s=3600)
    n = 0
    for i, size in enumerate(groups):
        for _ in range(size):
            n += 1
            log.append(Read(NOW, "acme", f"/aas/submodels/{n}", ["g-1"], [f"urn:sm:{n}"], 200))
        if i < len(groups) - 1:
            log.flush()
    if n == 0:
        log.append(Read(NOW, "acme", "/aas/shells", [], [], 404))
        n = 1
    _killed(log)
    assert verify(store, home) == n
    assert [r["route"] for r in records(store)][-1].endswith(("/aas/shells", f"/{n}"))
    assert not list((home / "share").glob("reads-*.journal"))
    assert verify(store, home) == n  # recovered once


def test_a_live_servers_journal_is_left_alone(tmp_path: Path) -> None:
    store = EmbeddedStore(tmp_path)
    log = ReadLog(store, tmp_path, interval_s=3600)
    log.append(Read(NOW, "acme", "/aas/shells", [], [], 200))
    assert verify(store, tmp_path) == 0  # still queued in the live process: not written twice
    log.flush()
    assert verify(store, tmp_path) == 1


def test_a_server_killed_right_after_answering_loses_no_record(tmp_path: Path) -> None:
    child = f"""
import os, signal
from pathlib import Path
from pilotline.share.readlog import Read, ReadLog
from pilotline.store import EmbeddedStore
from tests.conftest import NOW
home = Path({str(tmp_path)!r})
log = ReadLog(EmbeddedStore(home), home, interval_s=3600)
for i in range(3):
    log.append(Read(NOW, "acme", f"/aas/submodels/{{i}}", ["g-1"], ["urn:sm"], 200))
os.kill(os.getpid(), signal.SIGKILL)
"""
    done = subprocess.run([sys.executable, "-c", child], cwd=Path(__file__).parents[2],
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == -signal.SIGKILL
    store = EmbeddedStore(tmp_path)
    assert verify(store, tmp_path) == 3
    assert [r["route"] for r in records(store, tmp_path)] == [
        "/aas/submodels/0", "/aas/submodels/1", "/aas/submodels/2"
    ]  # fmt: skip


def _rewrite(store: EmbeddedStore, home: Path) -> str:
    """Record 3 made a 404 with every later hash recomputed and the head file rewritten: what
    someone who can write the data directory can do. Returns the new newest hash."""
    with store.session(write=True) as s:
        s.execute("UPDATE share_reads SET status = 404 WHERE seq = 3")
        rows = s.arrow("SELECT * FROM share_reads WHERE seq >= 3 ORDER BY seq").to_pylist()
        prev = s.scalar("SELECT hash FROM share_reads WHERE seq = 2")
        for r in rows:
            h = _digest(r["seq"], r["read_at"].isoformat(timespec="microseconds"), r["partner"],
                        r["route"], r["grants"], r["returned"], r["status"], prev)  # fmt: skip
            s.execute("UPDATE share_reads SET prev_hash = ?, hash = ? WHERE seq = ?",
                      [prev, h, r["seq"]])  # fmt: skip
            prev = h
    (home / "share" / "reads.head").write_text(f"8 {prev}\n")
    return str(prev)


def test_a_rewrite_with_every_hash_recomputed_shows_only_in_the_head(written: Path,
                                                                     tmp_path: Path) -> None:  # fmt: skip
    """Without a signing key the chain is not anchored: a record changed with every later hash
    recomputed passes; only the newest hash, kept elsewhere, differs."""
    home = tmp_path / "h"
    store = _copy(written, home)
    before = (home / "share" / "reads.head").read_text()
    _rewrite(store, home)
    assert verify(store, home) == 8
    assert (home / "share" / "reads.head").read_text() != before


def _cli(home: Path, *args: str) -> Any:
    from typer.testing import CliRunner

    from pilotline.cli import app

    return CliRunner().invoke(app, ["--home", str(home), "share", "audit", *args])


def test_a_signed_head_shows_a_full_rewrite(written: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    home, key = tmp_path / "h", tmp_path / "keys" / "audit.key"
    store = _copy(written, home)
    made = _cli(home, "keygen", str(key))
    assert made.exit_code == 0 and oct(key.stat().st_mode & 0o777) == "0o600"
    public = made.output.strip().splitlines()[-1]
    monkeypatch.setenv(anchor.ENV, str(key))
    signed = _cli(home, "anchor")
    assert signed.exit_code == 0 and "Record 8:" in signed.output and "Signed" in signed.output, (
        signed.output
    )
    ok = _cli(home, "verify")
    assert ok.exit_code == 0 and "Newest signed head: record 8" in ok.output
    assert "signature checked" in ok.output
    new_head = _rewrite(store, home)
    broken = _cli(home, "verify")
    assert broken.exit_code == 1
    assert "broken at record 8: differs from the head signed" in broken.output
    # the signed head edited to fit the rewrite: its signature no longer holds
    path = anchor.anchors_file(home)
    (line,) = path.read_text().splitlines()
    o = json.loads(line)
    path.write_text(json.dumps({**o, "hash": new_head}) + "\n")
    with pytest.raises(ChainBroken, match="does not carry a valid signature") as exc:
        verify(store, home)
    assert exc.value.seq == 8
    # elsewhere, without the key but with its public half: the same finding
    monkeypatch.delenv(anchor.ENV)
    elsewhere = _cli(home, "verify", "--public-key", public)
    assert elsewhere.exit_code == 1 and "valid signature" in elsewhere.output
    other = anchor.public_text(Ed25519PrivateKey.generate().public_key())
    assert "names key" in _cli(home, "verify", "--public-key", other).output
    # the signed heads deleted: with a key given, that is broken too
    path.unlink()
    gone = _cli(home, "verify", "--public-key", public)
    assert gone.exit_code == 1 and "no signed head" in gone.output


def test_the_server_signs_its_head_and_the_key_stays_outside(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    home = tmp_path / "h"
    store = EmbeddedStore(home)
    inside = home / "audit.key"
    with pytest.raises(SettingsError, match="inside the data directory"):
        anchor.keygen(inside, home)
    monkeypatch.setenv(anchor.ENV, str(inside))
    with pytest.raises(SettingsError, match="inside the data directory"):
        anchor.signing_key(home)
    key = tmp_path / "audit.key"
    anchor.keygen(key, home)
    monkeypatch.setenv(anchor.ENV, str(key))
    log = ReadLog(store, home)
    log.append(Read(NOW, "acme", "/aas/shells", [], [], 200))
    log.flush()  # the first write signs at once; later ones at most once a minute
    log.append(Read(NOW, "acme", "/aas/submodels", [], [], 200))
    log.flush()
    assert [a.seq for a in anchor.read_anchors(home)] == [1]
    log.close()  # at exit: the newest head signed
    assert [a.seq for a in anchor.read_anchors(home)] == [1, 2]
    assert verify(store, home) == 2
    with store.session(write=True) as s:  # cutting the end off: the signed head names it
        s.execute("DELETE FROM share_reads WHERE seq = 2")
        first = s.scalar("SELECT hash FROM share_reads WHERE seq = 1")
    (home / "share" / "reads.head").write_text(f"1 {first}\n")
    with pytest.raises(ChainBroken, match="a head was signed at record 2") as exc:
        verify(store, home)
    assert exc.value.seq == 2


@settings(max_examples=200, deadline=None)
@given(partner=st.text(max_size=20), route=st.text(max_size=40),
       grants=st.lists(st.text(max_size=12), max_size=3),
       returned=st.lists(st.text(max_size=30), max_size=3),
       status=st.integers(100, 599), seq=st.integers(1, 2**62),
       prev=st.text("0123456789abcdef", min_size=64, max_size=64))  # fmt: skip
def test_the_writer_hashes_a_record_as_verify_does(partner: str, route: str, grants: list[str],
                                                   returned: list[str], status: int, seq: int,
                                                   prev: str) -> None:  # fmt: skip
    """The writer thread hashes records from parts made when each read was queued (so it holds
    the requests up less); verify recomputes them field by field: the same hash, whatever the
    text (quotes, backslashes, control characters, any Unicode)."""
    from pilotline.share.readlog import _Row, _stamp

    read = Read(NOW, partner, route, grants, returned, status)
    row = _Row.of(read)
    assert row.digest(seq, prev) == _digest(
        seq, _stamp(NOW), partner, route, json.dumps(grants),
        json.dumps(returned, ensure_ascii=False), status, prev,
    )  # fmt: skip


def test_a_journal_under_steady_reads_is_replaced_not_grown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under steady reads the queue is never empty after a store write, so the journal was
    never emptied and grew by every read. Past its limit it is replaced by one holding only
    what still waits; a server killed after that loses nothing and records nothing twice."""
    import pilotline.share.readlog as readlog

    monkeypatch.setattr(readlog, "JOURNAL_MAX", 0)
    store = EmbeddedStore(tmp_path)
    log = ReadLog(store, tmp_path, interval_s=3600)
    write = readlog._write

    def meanwhile(*args: Any) -> tuple[int, str]:  # a partner reads while the store is written
        log.append(Read(NOW, "acme", "/aas/during", [], [], 200))
        return write(*args)

    for i in range(3):
        log.append(Read(NOW, "acme", f"/aas/{i}", [], [], 200))
    assert log._journal is not None
    before = log._journal.path
    monkeypatch.setattr(readlog, "_write", meanwhile)
    log.flush()
    monkeypatch.setattr(readlog, "_write", write)
    assert not before.exists()
    (journal,) = (tmp_path / "share").glob("reads-*.journal")
    lines = journal.read_text().splitlines()
    assert [json.loads(x)["route"] for x in lines] == ["/aas/during"]
    assert verify(store, tmp_path) == 3  # the one during the write is only in the journal
    assert log._journal is not None
    log._journal.close()  # as if killed: the lock goes with the process, and the queue
    log._journal = None
    log._queue.clear()
    assert verify(store, tmp_path) == 4  # recovered from the new journal, once
    routes = [r["route"] for r in records(store)]
    assert routes == ["/aas/0", "/aas/1", "/aas/2", "/aas/during"]
