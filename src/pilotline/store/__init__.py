"""Storage: the embedded store (one DuckDB file in the data directory) and its schema."""

from pilotline.store._duckdb import (
    Conflict,
    EmbeddedStore,
    InsertResult,
    LoadedLog,
    StoreSession,
    load_parquet_log,
    scratch_backend,
    to_arrow_within,
)
from pilotline.store.schema import KEYS, SCHEMA_VERSION

__all__ = [
    "KEYS",
    "SCHEMA_VERSION",
    "Conflict",
    "EmbeddedStore",
    "InsertResult",
    "LoadedLog",
    "StoreSession",
    "load_parquet_log",
    "scratch_backend",
    "to_arrow_within",
]
