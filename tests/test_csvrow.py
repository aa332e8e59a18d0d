"""CSV cells safe for spreadsheets (issue 12 §8): a formula start gets a leading apostrophe."""

from __future__ import annotations

import pytest

from gaze.csvrow import spreadsheet_safe


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=1", "'\r=1"),
        ("anna@example.com", "anna@example.com"),
        ("cdn_math", "cdn_math"),
        (42, 42),
        (-5, -5),  # a number is not a formula
    ],
)
def test_spreadsheet_safe(cell: object, safe: object) -> None:
    assert spreadsheet_safe(cell) == safe
