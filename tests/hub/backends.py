"""The hub's two backends in the tests: ``@BACKENDS`` runs a test on SQLite and on PostgreSQL
(a new database in the session's throwaway cluster); its fixtures ``backend`` and
``database_url`` (in conftest) say which. :func:`stored_bytes` reads what the database's files
hold, to show that erased means gone from them."""

from __future__ import annotations

import pytest

from pilotline.hub.store import HubStore
from tests.pg import Cluster

BACKENDS = pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)

#: Files of the hub's own tables on PostgreSQL: each table, its indexes, its TOAST table and
#: the TOAST table's index (not the system catalogues, not the WAL).
_FILES = """
SELECT pg_relation_filepath(c.oid) AS path FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i')
UNION SELECT pg_relation_filepath(c.reltoastrelid) FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.reltoastrelid <> 0
UNION SELECT pg_relation_filepath(i.indexrelid) FROM pg_index i
  JOIN pg_class c ON c.reltoastrelid = i.indrelid
 WHERE c.relnamespace = 'public'::regnamespace
"""


def stored_bytes(store: HubStore, cluster: Cluster | None = None) -> bytes:
    """Everything in the files of the hub's tables: ``hub.sqlite``; or on PostgreSQL, after a
    checkpoint has written every page out, the files of the hub's tables, indexes and TOAST
    tables in the ``cluster``'s data directory."""
    if store.path is not None:
        return store.path.read_bytes()
    import psycopg

    assert cluster is not None, "PostgreSQL: pass the pg_cluster fixture"
    with psycopg.connect(str(store.url), autocommit=True) as con:
        con.execute("CHECKPOINT")
        paths = [r[0] for r in con.execute(_FILES).fetchall() if r[0]]
    return b"".join((cluster.data / p).read_bytes() for p in sorted(paths))
