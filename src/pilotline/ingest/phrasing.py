"""What an import message tells a person to do, phrased for where they are.

The importer says *what* is wrong once; how to fix it depends on the surface: on the command line
it is a flag (``--kind``, ``--map``), in the browser's upload form it is a field of the form. Every
such hint is one entry here with both phrasings, so the two never drift apart and no browser
message ever names a flag the form does not have.
"""

from __future__ import annotations

from typing import Literal

Surface = Literal["cli", "web"]

#: key → (command-line phrasing, upload-form phrasing); ``{name}`` fields are filled by :func:`say`.
HINTS: dict[str, tuple[str, str]] = {
    "kind": (
        "give --kind ({kinds})",
        "choose what the file holds under 'What it holds' ({kinds})",
    ),
    "kind_guess": (
        "its columns look like a {kind} file; if that is right: --kind {kind} {maps}",
        "its columns look like {title}: choose that under 'What it holds' and check what each "
        "column holds",
    ),
    "map_missing": (
        "name your column with --map '{header}={column}'",
        "choose '{column}' for the file's column that holds it{probably}",
    ),
    "map_extra": (
        "map it with --map '{header}=COLUMN' or pass --ignore-extra",
        "choose what it holds, or tick 'Ignore extra columns'",
    ),
    "map_twice": (
        "keep one or use --map",
        "choose it for one column only",
    ),
    "map_target": (
        "--map names the column {target!r}",
        "the column {header!r} is mapped to {target!r}",
    ),
    "ts_format_one": (
        "give that as the timestamp format (--timestamp-format)",
        "click 'Use this format' (or enter it as the timestamp format)",
    ),
    "ts_format_two": (
        "give the one your system writes as the timestamp format (--timestamp-format)",
        "choose the one your system writes as the timestamp format",
    ),
    "ts_format_name": (
        "the format given with --timestamp-format",
        "the timestamp format chosen in the form",
    ),
    "decimal_comma": (
        "the file uses decimal commas: save it with a ';' separator (as German or French Excel "
        "does), so that '12,0' reads as 12",
        "tick 'Decimal comma' so that '12,0' reads as 12",
    ),
    "unknown_machine": (
        "add it to plant.toml (pilotline's settings) or correct the file",
        "add it to the plant model (an admin can, from this page) or correct the file",
    ),
    "unknown_reason": (
        "add the code to [reasons] in plant.toml with its loss category",
        "add the code to the plant model with its loss category (an admin can, from this page)",
    ),
}


def say(key: str, surface: Surface = "cli", **fields: object) -> str:
    """The hint ``key`` for ``surface``, with its fields filled in."""
    cli, web = HINTS[key]
    return (web if surface == "web" else cli).format(**fields)
