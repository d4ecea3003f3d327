"""Storage: the embedded store (one DuckDB file in the data directory) or PostgreSQL, and the
schema they share. :func:`open_store` picks one from the settings."""

from pilotline.store._duckdb import (
    EmbeddedStore,
    LoadedLog,
    StoreSession,
    load_parquet_log,
    scratch_backend,
    to_arrow,
    to_arrow_within,
)
from pilotline.store._spark import SparkLake, spark_backend, spark_table
from pilotline.store.schema import KEYS, SCHEMA_VERSION
from pilotline.store.session import (
    Conflict,
    InsertResult,
    Session,
    Store,
    engine_backend,
    open_store,
)

__all__ = [
    "KEYS",
    "SCHEMA_VERSION",
    "Conflict",
    "EmbeddedStore",
    "InsertResult",
    "LoadedLog",
    "Session",
    "SparkLake",
    "Store",
    "StoreSession",
    "engine_backend",
    "load_parquet_log",
    "open_store",
    "scratch_backend",
    "spark_backend",
    "spark_table",
    "to_arrow",
    "to_arrow_within",
]
