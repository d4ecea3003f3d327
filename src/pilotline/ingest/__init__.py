"""Getting data in: file schemas, readers, parsing with located problems, counters, imports."""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

# Loaded on first use: the event-log reader needs only the parsers, not the importer and the
# store behind it.
_WHERE = {
    "CounterResult": "counters",
    "counter_increments": "counters",
    "ImportOptions": "importer",
    "ImportSummary": "importer",
    "import_file": "importer",
    "import_table": "importer",
    "SCHEMAS": "schemas",
    "FileSchema": "schemas",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f"pilotline.ingest.{_WHERE[name]}"), name)
    raise AttributeError(f"module 'pilotline.ingest' has no attribute {name!r}")
