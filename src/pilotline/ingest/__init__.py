"""Getting data in: file schemas, readers, parsing with located problems, counters, imports."""

from pilotline.ingest.counters import CounterResult, counter_increments
from pilotline.ingest.importer import ImportOptions, ImportSummary, import_file, import_table
from pilotline.ingest.schemas import SCHEMAS, FileSchema

__all__ = [
    "SCHEMAS",
    "CounterResult",
    "FileSchema",
    "ImportOptions",
    "ImportSummary",
    "counter_increments",
    "import_file",
    "import_table",
]
