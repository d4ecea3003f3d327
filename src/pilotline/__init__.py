"""Pilotline: small, measured steps to digital manufacturing.

The public API is deliberately small; everything else is reachable through its module.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from pilotline.errors import ImportRejected, InputError, PilotlineError, Problem

if TYPE_CHECKING:
    from pilotline.ingest import ImportOptions, import_file, import_table
    from pilotline.measure import Measure
    from pilotline.plant import Plant, load_plant
    from pilotline.settings import Settings
    from pilotline.sim import simulate
    from pilotline.store import EmbeddedStore

#: Imported on first use, so that ``import pilotline.map`` does not load the OEE engine, the
#: simulator and the plant model (start-up time counts for a command-line tool).
_LAZY = {
    "ImportOptions": "pilotline.ingest",
    "import_file": "pilotline.ingest",
    "import_table": "pilotline.ingest",
    "Measure": "pilotline.measure",
    "Plant": "pilotline.plant",
    "load_plant": "pilotline.plant",
    "Settings": "pilotline.settings",
    "simulate": "pilotline.sim",
    "EmbeddedStore": "pilotline.store",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pilotline' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "EmbeddedStore",
    "ImportOptions",
    "ImportRejected",
    "InputError",
    "Measure",
    "PilotlineError",
    "Plant",
    "Problem",
    "Settings",
    "__version__",
    "import_file",
    "import_table",
    "load_plant",
    "simulate",
]
