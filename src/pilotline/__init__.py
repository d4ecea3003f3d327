"""Pilotline: small, measured steps to digital manufacturing.

The public API is deliberately small; everything else is reachable through its module.
"""

from pilotline.errors import ImportRejected, InputError, PilotlineError, Problem
from pilotline.ingest import ImportOptions, import_file, import_table
from pilotline.measure import Measure
from pilotline.plant import Plant, load_plant
from pilotline.settings import Settings
from pilotline.sim import simulate
from pilotline.store import EmbeddedStore

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
