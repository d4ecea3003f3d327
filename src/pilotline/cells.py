"""Cells for CSV files that people open in a spreadsheet: text that a spreadsheet would run as a
formula is neutralised (OWASP's advice on CSV injection).

An activity, reason or machine name comes from someone else's export; written raw, a name such
as ``=HYPERLINK("http://…")`` or ``@SUM(A1)`` becomes a live formula when the CSV is opened.
Every CSV Pilotline writes passes each cell through :func:`spreadsheet_safe`:

>>> [spreadsheet_safe(v) for v in ["=1+2", "@SUM(A1)", "-2+3", "\\tx", "pick", -2.5, "-2.5", None]]
["'=1+2", "'@SUM(A1)", "'-2+3", "'\\tx", 'pick', -2.5, '-2.5', None]

Numbers stay numbers, negative ones too, and so does text that is only a number (a spreadsheet
reads it as that number, which runs nothing).
"""

from __future__ import annotations

import re
from typing import Any

#: What a spreadsheet may take for the start of a formula (OWASP: =, +, -, @, tab, CR).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` with a single quote put before text a spreadsheet would read as a formula;
    anything else (numbers, dates, None, plain text) unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value
