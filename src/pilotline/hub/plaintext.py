"""Text from outside the hub (forms, links, signed JSON envelopes), checked before anything reads
or stores it: no control characters (PostgreSQL refuses NUL in text; SQLite would keep it) and
no lone surrogates (not text at all). Tab and newline are allowed only where a multi-line text
is; every refusal names the field."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from pilotline.errors import InputError

#: The deepest nesting a JSON document may have (the hub's envelopes need 6).
MAX_DEPTH = 32
#: Allowed in a multi-line text.
MULTI_LINE_OK = frozenset("\t\n\r")


def check(value: str, field: str, *, multi_line: bool = False) -> str:
    """``value`` unchanged, or :class:`InputError` naming ``field``."""
    for ch in value:
        cat = unicodedata.category(ch)
        if cat == "Cs":
            raise InputError(f"{field} must be valid text (it holds a lone surrogate)")
        if cat == "Cc" and not (multi_line and ch in MULTI_LINE_OK):
            raise InputError(f"{field} must not contain control characters")
    return value


def check_form(items: Iterable[tuple[str, Any]], *, multi_line: Iterable[str] = ()) -> None:
    """Every field of a submitted form (all one-line but those named in ``multi_line``)."""
    multi = set(multi_line)
    for key, value in items:
        check(key, "a form field's name")
        if isinstance(value, str):
            check(value, key.replace("_", " "), multi_line=key in multi)


def check_json(value: Any, where: str, *, one_line: Iterable[str] = ()) -> None:
    """Every key and text in a parsed JSON document; the texts under the keys named in
    ``one_line`` may hold no tab or newline either."""
    strict = frozenset(one_line)

    def walk(v: Any, path: str, multi: bool, depth: int = 0) -> None:
        if depth > MAX_DEPTH:
            raise InputError(f"{path}: nested more than {MAX_DEPTH} levels deep")
        if isinstance(v, str):
            check(v, path, multi_line=multi)
        elif isinstance(v, dict):
            for k, x in v.items():
                check(k, f"a key in {path}")
                walk(x, f"{path}.{k}", k not in strict, depth + 1)
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, f"{path}[{i}]", multi, depth + 1)

    walk(value, where, True)
