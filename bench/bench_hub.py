"""Benchmark: a regional release for 500 firms × 12 months × the full table set (sector × size
band × region with all margins, every measure), with primary and secondary suppression and the
linear-programming audit. Target (issue 19): under 30 s on the 2-core reference machine.

Run: ``.venv/bin/python bench/bench_hub.py [FIRMS] [MONTHS]``.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

from pilotline.hub.benchmark import build_release
from pilotline.hub.demo import region
from pilotline.hub.disclosure import Rules


def main() -> None:
    n_firms = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    months = int(sys.argv[2]) if len(sys.argv) > 2 else 12
    firms, figures = region(firms=n_firms, months=months, seed=1)
    t0 = time.perf_counter()
    rel = build_release(firms=firms, figures=figures, rules=Rules(), version=1, workers=os.cpu_count() or 1,
                        created_at="2026-03-04T15:47:23Z")  # fmt: skip
    took = time.perf_counter() - t0
    status = Counter(c["status"] for c in rel.cells if c["firms"] > 0)
    print(f"{n_firms} firms, {len(figures):,} plant-months, {months} periods: {len(rel.cells):,} cells "
          f"({dict(status)}), release with audit in {took:.1f} s")  # fmt: skip


if __name__ == "__main__":
    main()
