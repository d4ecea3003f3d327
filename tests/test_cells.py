"""CSV cells a spreadsheet would run as formulas are neutralised (OWASP's CSV injection advice)."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pilotline import cells
from pilotline.cells import spreadsheet_safe as safe_cell


def test_the_docstring_example_runs() -> None:
    assert doctest.testmod(cells, raise_on_error=True).attempted > 0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x","click")', '\'=HYPERLINK("http://x","click")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.5", "-12.5"),  # text that is only a number runs nothing
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        (-7, -7),
        (-0.5, -0.5),
        ("pick – pack", "pick – pack"),
        ("a=b", "a=b"),
        ("", ""),
        (None, None),
    ],
)
def test_formula_starts_get_a_quote_and_numbers_stay(value: object, expected: object) -> None:
    assert safe_cell(value) == expected


@given(st.text())
def test_no_text_leaves_as_a_formula(text: str) -> None:
    out = safe_cell(text)
    if out.startswith(("=", "+", "-", "@", "\t", "\r")):
        assert out == text
        float(text)  # only a number may start so, and it stays as it was
    elif out != text:
        assert out == "'" + text
