"""The record of partner reads: editing, deleting, inserting or swapping one record is found
and the first broken record named; concurrent appends stay one chain."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from pilotline.share.readlog import ChainBroken, Read, ReadLog, _digest, verify
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
