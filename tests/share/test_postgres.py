"""Partners, grants and the record of reads on the PostgreSQL store (migration 10 translated)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pilotline.plant import parse_plant
from pilotline.share.partners import Partners
from pilotline.share.readlog import ChainBroken, Read, ReadLog, verify
from pilotline.sim import demo_plant_text
from pilotline.store import open_store
from tests.conftest import NOW


def test_partners_grants_and_the_chain_on_postgres(pg_url: str, tmp_path: Path) -> None:
    store = open_store(tmp_path, database_url=pg_url)
    plant = parse_plant(demo_plant_text())
    partners = Partners(store, tmp_path)
    key = partners.add("acme")
    g = partners.grant("acme", plant=plant, submodel="kpi", machine="press-1", by="t",
                       expires=NOW.date(), purpose="planning", onward=True)  # fmt: skip
    assert partners.by_key(key) == "acme"
    (stored,) = partners.grants("acme")
    assert (stored.id, stored.expires, stored.onward) == (g.id, NOW.date(), True)
    rules, ids = partners.rules()
    assert ids == [g.id] and rules[0].rights == {"READ"}
    log = ReadLog(store, tmp_path)
    for i in range(5):
        log.append(Read(NOW, "acme", f"/aas/submodels/{i}", [g.id], [f"urn:{i}"], 200))
    log.flush()
    assert verify(store, tmp_path) == 5
    with store.session(write=True) as s:
        s.execute("UPDATE share_reads SET route = '/aas/shells' WHERE seq = 2")
    with pytest.raises(ChainBroken) as broken:
        verify(store, tmp_path)
    assert broken.value.seq == 2
    assert partners.revoke("acme") == 1 and partners.rules() == ([], [])
