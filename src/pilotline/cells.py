"""Cells for spreadsheets: CSV that Pilotline writes is opened in Excel or LibreOffice, which run
a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage return before one) as a
formula. Text that would be read so gets a leading apostrophe (OWASP's advice); numbers stay
numbers, negative ones included.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """``value`` as it may go into a CSV cell: text that a spreadsheet would run is quoted."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _is_number(value):
        return "'" + value
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return text.strip() == text
