"""Map: process mining on event logs — see the real process before anyone automates it."""

import gc

from pilotline.map.log import EventLog, LogColumns, read_log
from pilotline.map.summary import Miner

# The modules loaded above (Ibis, sqlglot, PyArrow, DuckDB) leave a few hundred thousand objects
# that live as long as the process. Frozen, Python's full garbage collections (and its last one
# at exit) stop walking them again and again: 0.2 s of a 2.3 s map run (docs/benchmarks.md).
gc.freeze()

__all__ = ["EventLog", "LogColumns", "Miner", "read_log"]
