"""Column mappings remembered per source: the next file from the same export is mapped the same
way without asking again (the upload form still shows the mapping, to be changed if need be).

A source is known by its header signature (the same columns in any order), else by its file
name with the dates and numbers taken out. The latest mapping saved for a source wins.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pilotline import clock
from pilotline.ingest.mapping import file_pattern, signature
from pilotline.store import Store

#: How much of a mapping is kept: no export has this many columns.
MAX_COLUMNS = 500
_OPTIONS = ("timestamp_format", "ignore_extra", "decimal_comma", "encoding", "counter_bits")


@dataclass(frozen=True)
class Remembered:
    kind: str
    mapping: dict[str, str]  # file header → column, or "" to leave it out
    options: dict[str, Any] = field(default_factory=dict)
    by: str = ""  # "headers" or "file name": how this source was recognised
    saved_by: str = ""
    saved_at: str = ""


def remember(
    store: Store,
    *,
    headers: list[str],
    name: str,
    kind: str,
    mapping: dict[str, str],
    options: dict[str, Any],
    who: str,
) -> None:
    """Keep the mapping that imported ``name`` for the next file from the same source."""
    sig = signature(headers)
    kept = {str(k)[:200]: str(v)[:40] for k, v in list(mapping.items())[:MAX_COLUMNS]}
    chosen = {k: options[k] for k in _OPTIONS if options.get(k) not in (None, "")}
    with store.session(write=True) as s, s.transaction():
        s.execute("DELETE FROM import_mappings WHERE signature = ?", [sig])
        s.execute(
            "INSERT INTO import_mappings VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                sig,
                file_pattern(name),
                kind,
                json.dumps(kept, ensure_ascii=False),
                json.dumps(chosen, ensure_ascii=False),
                who,
                clock.utc_naive(),
            ],
        )


def recall(store: Store, *, headers: list[str], name: str) -> Remembered | None:
    """The mapping saved for this source: by its headers, else by its file name."""
    with store.session() as s:
        for by, column, key in (
            ("headers", "signature", signature(headers)),
            ("file name", "file_pattern", file_pattern(name)),
        ):
            rows = s.arrow(
                "SELECT kind, mapping, options, saved_by, saved_at FROM import_mappings "
                f"WHERE {column} = ? ORDER BY saved_at DESC LIMIT 1",
                [key],
            ).to_pylist()
            if not rows:
                continue
            row = rows[0]
            mapping = json.loads(row["mapping"])
            if by == "file name":  # another export of the source: keep what still fits
                mapping = {h: c for h, c in mapping.items() if h in headers}
                if not mapping:
                    continue
            return Remembered(
                row["kind"],
                mapping,
                json.loads(row["options"]),
                by,
                row["saved_by"],
                row["saved_at"].isoformat(timespec="minutes") + "Z",
            )
    return None
