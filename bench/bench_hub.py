"""Benchmark: a regional release for 500 firms × 12 months × the full table set (sector × size
band × region with all margins, every measure), with primary and secondary suppression and the
linear-programming audit. Target (issue 19): under 30 s on the 2-core reference machine.

Three figures: the release built from figures in memory (the computation alone); then the same
region in a hub on each backend — the SQLite file and PostgreSQL (``PILOTLINE_HUB_DATABASE_URL``
when set, else a throwaway cluster on loopback from tests/pg.py) — with ``publish`` timed as
``pilotline hub release`` runs it (read the figures, build, check the inputs again under the
release lock, keep the release), and one firm's erasure (on PostgreSQL with the
``VACUUM (FULL, ANALYZE)`` of the tables it touched).

Run: ``.venv/bin/python bench/bench_hub.py [FIRMS] [MONTHS]``.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pilotline.hub.publish as publishing
from pilotline.hub.benchmark import build_release
from pilotline.hub.consent import erase_firm
from pilotline.hub.demo import fill, region
from pilotline.hub.disclosure import Rules
from pilotline.hub.publish import _inputs, publish
from pilotline.hub.store import HubStore


def in_memory(n_firms: int, months: int) -> None:
    firms, figures = region(firms=n_firms, months=months, seed=1)
    t0 = time.perf_counter()
    rel = build_release(firms=firms, figures=figures, rules=Rules(), version=1, workers=os.cpu_count() or 1,
                        created_at="2026-03-04T15:47:23Z")  # fmt: skip
    took = time.perf_counter() - t0
    status = Counter(c["status"] for c in rel.cells if c["firms"] > 0)
    print(f"{n_firms} firms, {len(figures):,} plant-months, {months} periods: {len(rel.cells):,} cells "
          f"({dict(status)})")  # fmt: skip
    print(f"  in memory:  release with audit in {took:.1f} s")


def in_hub(label: str, store: HubStore, n_firms: int, months: int) -> None:
    t0 = time.perf_counter()
    fill(store, firms=n_firms, months=months, seed=1, release=False)
    filled = time.perf_counter() - t0
    t0 = time.perf_counter()
    with store.reading() as con:  # what publish reads, once before building and once to check
        _inputs(con)
    read = time.perf_counter() - t0
    built: list[float] = []

    def timed_build(**kw: Any) -> Any:  # the build alone, to tell the database's share
        t = time.perf_counter()
        try:
            return build_release(**kw)
        finally:
            built.append(time.perf_counter() - t)

    publishing.build_release = timed_build
    t0 = time.perf_counter()
    rel = publish(store, workers=os.cpu_count() or 1)
    took = time.perf_counter() - t0
    publishing.build_release = build_release
    t0 = time.perf_counter()
    erase_firm(store, "firm-0007")
    erased = time.perf_counter() - t0
    hidden = sum(c["status"] != "published" for c in rel.cells)
    print(
        f"  {label:<11} publish (read, build, check, keep) {took:.1f} s: the build "
        f"{sum(built):.1f} s, the database's share {took - sum(built):.2f} s (reading the firms "
        f"and figures {read:.2f} s, twice); {hidden} cells suppressed; filling the hub "
        f"{filled:.1f} s; erasing one firm {erased:.2f} s"
    )


def main() -> None:
    n_firms = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    months = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    in_memory(n_firms, months)
    with tempfile.TemporaryDirectory() as d:
        in_hub("SQLite:", HubStore.init(Path(d)), n_firms, months)
    url = os.environ.get("PILOTLINE_HUB_DATABASE_URL")
    if url:
        in_hub("PostgreSQL:", HubStore.init(url=url), n_firms, months)
        return
    sys.path.insert(0, str(Path(__file__).parents[1]))
    from tests.pg import Cluster

    cluster = Cluster()
    try:
        in_hub("PostgreSQL:", HubStore.init(url=cluster.create_db("bench_hub")), n_firms, months)
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
