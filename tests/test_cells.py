"""CSV cells a spreadsheet would run as formulas are quoted; numbers stay numbers."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pilotline.cells import spreadsheet_safe


def test_formulas_are_quoted_and_numbers_are_not() -> None:
    assert spreadsheet_safe('=HYPERLINK("http://x","y")') == '\'=HYPERLINK("http://x","y")'
    assert spreadsheet_safe("+1+cmd|' /C calc'!A0") == "'+1+cmd|' /C calc'!A0"
    assert spreadsheet_safe("@SUM(A1)") == "'@SUM(A1)"
    assert spreadsheet_safe("\t=1") == "'\t=1"
    assert spreadsheet_safe("-2+3") == "'-2+3"
    assert spreadsheet_safe("-2.5") == "-2.5"
    assert spreadsheet_safe(-2.5) == -2.5
    assert spreadsheet_safe("press 1") == "press 1"
    assert spreadsheet_safe(None) is None


@given(st.text())
def test_no_text_leaves_as_a_formula(text: str) -> None:
    out = spreadsheet_safe(text)
    if out.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert out == text
        float(text)  # only a number may start so, and it stays as it was
    elif out != text:
        assert out == "'" + text
