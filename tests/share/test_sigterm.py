"""`systemctl stop` and `docker stop` send SIGTERM: the server then ends as on Ctrl-C, with the
record of partner reads written to the store and its journal removed (SIGTERM used to end the
process before anything ran at exit, leaving every read since the last write to the journal)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from typer.testing import CliRunner

from pilotline.cli import app
from pilotline.store import EmbeddedStore
from tests.conftest import WORKED_EXAMPLE_PLANT
from tests.web.conftest import serving


def test_sigterm_writes_the_record_of_reads_and_removes_the_journal(tmp_path: Path) -> None:
    (tmp_path / "plant.toml").write_text(WORKED_EXAMPLE_PLANT)
    added = CliRunner().invoke(
        app, ["--home", str(tmp_path), "share", "partner", "add", "Initech", "--format", "json"]
    )
    assert added.exit_code == 0, added.output
    key = json.loads(added.stdout)["api_key"]
    with serving(tmp_path) as url:  # stopped with SIGTERM (Popen.terminate)
        for _ in range(3):
            r = httpx.get(f"{url}/aas/shells", headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200
        assert list((tmp_path / "share").glob("reads-*.journal"))  # the reads are journalled
    assert not list((tmp_path / "share").glob("reads-*.journal"))
    with EmbeddedStore(tmp_path).session() as s:  # in the store, not recovered from a journal
        assert s.scalar("SELECT count(*) FROM share_reads WHERE partner = 'Initech'") == 3
