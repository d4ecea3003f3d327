"""Apache Spark: the same Ibis analytics on many cores or a cluster. The only module that imports
pyspark.

Data reaches Spark as Parquet: ``pilotline export --parquet DIR`` writes the store as a lake
(:meth:`EmbeddedStore.export_parquet`), and :class:`SparkLake` is a read-only store over it, so
:class:`~pilotline.measure.Measure` runs on Spark unchanged. An event log is handed over as a
Parquet file of its ordered events (:func:`spark_table`). ``PILOTLINE_SPARK_MASTER`` names the
cluster (``spark://host:7077``), a Spark Connect server (``sc://host:15002``) or local mode
(``local[2]``, the default).
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot

from pilotline.errors import SchemaMismatch, StoreError
from pilotline.store.schema import SCHEMA_VERSION
from pilotline.store.session import Conflict, InsertResult, Session

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
_sessions: dict[str, Any] = {}
_scratch: list[Path] = []


def _cleanup() -> None:
    for spark in _sessions.values():
        with suppress(Exception):
            spark.stop()
    for folder in _scratch:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_cleanup)


def _scratch_dir() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="pilotline-spark-"))
    _scratch.append(folder)
    return folder


def _as_other_engines() -> None:
    """Two places where Ibis's Spark translation differs from DuckDB and PostgreSQL in a way
    that changes answers, put right for Pilotline's analytics:

    * ``epoch_seconds`` becomes ``unix_timestamp``, which drops the fraction of a second; the
      KPIs need microseconds, as the other engines keep them (``unix_micros``).
    * ``hash`` becomes Spark's 32-bit ``hash``; variant keys need 64 bits (``xxhash64``).
    """
    from ibis.backends.sql.compilers.pyspark import PySparkCompiler
    from ibis.expr import datatypes

    def epoch(self: Any, op: Any, *, arg: Any) -> Any:
        return self.f.unix_micros(self.cast(arg, datatypes.timestamp)) / 1_000_000

    def hash64(self: Any, op: Any, *, arg: Any) -> Any:
        return self.f.xxhash64(arg)

    PySparkCompiler.visit_ExtractEpochSeconds = epoch
    PySparkCompiler.visit_Hash = hash64


def spark_session(master: str | None = None) -> Any:
    """A Spark session for ``master`` (one per process), quiet and on loopback in local mode."""
    master = master or os.environ.get("PILOTLINE_SPARK_MASTER") or DEFAULT_MASTER
    if master in _sessions:
        return _sessions[master]
    _as_other_engines()
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise StoreError(
            "Spark is not installed here; install it with: pip install 'pilotline[spark]' "
            "(it needs Java 17: sudo apt-get install openjdk-17-jre-headless)"
        ) from None
    if master.startswith("sc://"):
        spark = SparkSession.builder.remote(master).getOrCreate()
    else:
        if master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        cores = re.fullmatch(r"local\[(\d+)\]", master)
        builder = (
            SparkSession.builder.master(master)
            .appName("pilotline")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.warehouse.dir", str(_scratch_dir() / "warehouse"))
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
            .config("spark.sql.ansi.enabled", "false")
            # Split files into pieces of 16 MB so that every core scans (Spark's 128 MB default
            # gives a 5-million-event log a single task).
            .config("spark.sql.files.maxPartitionBytes", str(16 * 1024 * 1024))
            .config("spark.sql.shuffle.partitions", str(2 * int(cores.group(1)) if cores else 200))
            .config("spark.driver.extraJavaOptions", "-Dderby.system.home=" + str(_scratch_dir()))
        )
        if master.startswith("local"):
            builder = builder.config("spark.driver.host", "127.0.0.1").config(
                "spark.driver.bindAddress", "127.0.0.1"
            )
        try:
            spark = builder.getOrCreate()
        except Exception as exc:
            raise StoreError(f"Spark did not start ({master}): {exc}") from None
        spark.sparkContext.setLogLevel("ERROR")
    _sessions[master] = spark
    return spark


def spark_backend(master: str | None = None) -> Any:
    """An Ibis backend on Spark, for analyses of data that is not stored (an event log)."""
    return ibis.pyspark.connect(spark_session(master))


def spark_table(backend: Any, table: pa.Table, name: str) -> Any:
    """Hand an Arrow table to Spark as Parquet and return it as an Ibis table on ``backend``.

    Dictionary-encoded columns are written as plain strings; the file lives until the process
    ends."""
    plain = table.cast(
        pa.schema(
            pa.field(f.name, f.type.value_type if pa.types.is_dictionary(f.type) else f.type)
            for f in table.schema
        )
    )
    path = _scratch_dir() / f"{name}.parquet"
    pq.write_table(plain, path)
    return backend.read_parquet(str(path), table_name=name)


class LakeSession(Session):
    """A read-only session over the lake's tables (Spark temporary views)."""

    writable = False

    def __init__(self, lake: SparkLake) -> None:
        self._lake = lake
        self._spark = lake.spark()

    def ibis(self) -> Any:
        return ibis.pyspark.connect(self._spark)

    def schema_version(self) -> int:
        return self._lake.schema_version()  # from the manifest: a lake has no meta table

    def arrow(self, sql: str, params: Sequence[Any] | None = None) -> pa.Table:
        query = sqlglot.transpile(sql, read="duckdb", write="spark")[0]
        try:
            df = self._spark.sql(query, args=list(params) if params else None)
            return df.toArrow()
        except Exception as exc:
            raise self._lake.explain(exc) from None

    def scalar(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        table = self.arrow(sql, params)
        return table.column(0)[0].as_py() if table.num_rows else None

    def _read_only(self, *_: Any, **__: Any) -> Any:
        raise StoreError(
            f"The lake {self._lake.path} is read-only for Spark; import into the store and export again"
        )

    def execute(self, sql: str, params: Sequence[Any] | None = None) -> None:
        self._read_only()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._read_only()
        yield

    def conflicts(self, table: str, data: pa.Table, *, limit: int = 5) -> list[Conflict]:
        return self._read_only()  # type: ignore[no-any-return]

    def insert_new(self, table: str, data: pa.Table) -> InsertResult:
        return self._read_only()  # type: ignore[no-any-return]

    def next_import_id(self) -> int:
        return self._read_only()  # type: ignore[no-any-return]

    # Recording imports, pilots and decisions goes through execute(): refused, read-only.


class SparkLake:
    """A Parquet lake written by ``pilotline export --parquet``, read by Spark (read-only)."""

    engine = "spark"

    def __init__(
        self, path: Path, home: Path, *, master: str | None = None, lock_timeout_s: float = 30.0
    ) -> None:
        self.path = path
        self.url: str | None = None  # read from files, not a database server
        self.home = home
        self.master = master or os.environ.get("PILOTLINE_SPARK_MASTER") or DEFAULT_MASTER
        self.lock_timeout_s = lock_timeout_s
        self._manifest: dict[str, Any] | None = None
        self._registered = False

    @property
    def where(self) -> str:
        return f"the lake {self.path} on Spark ({self.master})"

    def manifest(self) -> dict[str, Any]:
        """The lake's manifest, checked: a Pilotline lake, a schema this code knows, and every
        Parquet file readable (its footer), so a bad file is named before Spark starts."""
        if self._manifest is not None:
            return self._manifest
        file = self.path / "_pilotline.json"
        if not file.is_file():
            raise StoreError(
                f"{self.path} is not a Pilotline lake (no _pilotline.json); write one with "
                "'pilotline export --parquet DIR'"
            )
        try:
            manifest: dict[str, Any] = json.loads(file.read_text(encoding="utf-8"))
            version = int(manifest["schema_version"])
            tables = dict(manifest["tables"])
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreError(f"{file} is not a valid lake manifest: {exc}") from None
        if version > SCHEMA_VERSION:
            raise SchemaMismatch(
                f"The lake {self.path} was written by a newer Pilotline (schema {version}; this "
                f"one knows {SCHEMA_VERSION}). Upgrade Pilotline: pip install -U pilotline"
            )
        if version < SCHEMA_VERSION:
            raise SchemaMismatch(
                f"The lake {self.path} was written by an older Pilotline (schema {version}; this "
                f"one needs {SCHEMA_VERSION}). Export it again: pilotline export --parquet NEW_DIR"
            )
        for table in tables:
            folder = self.path / table
            if not folder.is_dir():
                raise StoreError(f"The lake {self.path} lists {table} but has no folder {folder}")
            for part in sorted(folder.rglob("*.parquet")):
                try:
                    pq.read_metadata(part)
                except (OSError, pa.ArrowException) as exc:
                    raise StoreError(
                        f"The lake file {part} is not readable Parquet ({exc}); export the lake again"
                    ) from None
        self._manifest = manifest
        return manifest

    def spark(self) -> Any:
        manifest = self.manifest()
        spark = spark_session(self.master)
        if not self._registered:
            for table in manifest["tables"]:
                df = spark.read.parquet(str(self.path / table))
                if "month" in df.columns:
                    df = df.drop("month")  # a partition of the lake, not a column of the store
                df.createOrReplaceTempView(table)
            self._registered = True
        return spark

    def explain(self, exc: Exception) -> StoreError:
        """Spark's error as one line, naming the file when Spark does."""
        text = str(exc)
        file = re.search(r"(file:[^\s,'\"]+\.parquet)", text)
        if file:
            return StoreError(
                f"Spark cannot read the lake file {file.group(1)}; export the lake again"
            )
        return StoreError(f"Spark failed on {self.where}: {text.strip().splitlines()[0]}")

    def schema_version(self) -> int:
        return int(self.manifest()["schema_version"])

    @contextmanager
    def session(self, *, write: bool = False) -> Iterator[LakeSession]:
        if write:
            raise StoreError(f"{self.where} is read-only; import into the store instead")
        session = LakeSession(self)
        try:
            yield session
        except StoreError:
            raise
        except Exception as exc:
            if type(exc).__module__.startswith(("pyspark", "py4j")):
                raise self.explain(exc) from None
            raise
