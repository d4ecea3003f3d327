"""Pilotline's exceptions: one root, each class saying what happens next.

::

    PilotlineError                 every error Pilotline raises on purpose
    ├── SettingsError              an environment setting is invalid: fix the variable it names
    ├── PlantModelError            the plant file is wrong: fix the file (message names field and line)
    ├── InputError                 rejected input: nothing was stored; fix the data and retry
    │   └── ImportRejected         a file failed validation; carries every Problem found
    ├── StoreError                 the data directory cannot be used as it is
    │   ├── StoreBusy              another process holds the store: retry later or stop it
    │   ├── StoreUnavailable       the database server cannot be reached now: retry later
    │   └── SchemaMismatch         data written by a newer Pilotline: upgrade the code, do not retry
    ├── SourceError                a live data source (broker, OPC UA server, PLC) misbehaves
    │   ├── SourceUnavailable      it cannot be reached now: the collector retries with back-off
    │   └── BufferFull             the local buffer hit its quota or the disk is full: the collector
    │                              stops acknowledging (nothing is lost) and resumes when space frees
    ├── NotFound                   a machine, line or period asked for does not exist
    └── TimeLimitExceeded          an analysis hit its time limit: narrow it or raise the limit

Catch ``PilotlineError`` at the edge (CLI, web) and show ``str(error)``: every message is written
for the person who has to act on it.
"""

from __future__ import annotations

from dataclasses import dataclass


class PilotlineError(Exception):
    """Root of every error Pilotline raises on purpose."""


class SettingsError(PilotlineError):
    """A setting from the environment is invalid. Fix the variable; the message names it."""


class PlantModelError(PilotlineError):
    """The plant model file is invalid. Fix the file; the message says where."""


class InputError(PilotlineError):
    """Input was rejected as a whole; nothing was stored. Fix the input and try again."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as precisely as we can."""

    file: str
    row: int | None  # 1-based data row as a spreadsheet shows it (header is row 1)
    column: str | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column is not None:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class ImportRejected(InputError):
    """A file failed validation. ``problems`` lists each one (or the first ones, when there are
    very many); ``total`` is how many there are in all. Nothing from the file was stored."""

    def __init__(
        self, problems: list[Problem], *, limit: int = 20, total: int | None = None
    ) -> None:
        self.problems = problems
        self.total = max(total or 0, len(problems))
        shown = "\n".join(f"  - {p}" for p in problems[:limit])
        more = self.total - min(limit, len(problems))
        first = f"; the first {min(limit, len(problems))}" if more > 0 else ""
        tail = f"\n  … and {more:,} more problem(s)" if more > 0 else ""
        super().__init__(
            f"Nothing was imported: {self.total:,} problem(s) found{first}:\n{shown}{tail}"
        )


class StoreError(PilotlineError):
    """The data directory cannot be used as it is."""


class StoreBusy(StoreError):
    """Another process holds the store for longer than we waited. Retry, or stop that process."""


class StoreUnavailable(StoreError):
    """The database server (PostgreSQL) cannot be reached, or the connection was lost mid-work.
    Nothing of the interrupted work was kept; retry."""


class SchemaMismatch(StoreError):
    """The store was written by a newer Pilotline. Upgrade Pilotline; do not retry."""


class SourceError(PilotlineError):
    """A live data source misbehaves."""


class SourceUnavailable(SourceError):
    """A source cannot be reached now. The collector records a gap and retries with back-off."""


class BufferFull(SourceError):
    """The collector's local buffer is full. Stop acknowledging; retry when space frees."""


class NotFound(PilotlineError):
    """A machine, line, product or period that was asked for does not exist."""


class TimeLimitExceeded(PilotlineError):
    """An analysis was stopped at its time limit. Filter the input or raise the limit."""
