"""CSV for spreadsheets: every export writes its rows through `csv_text`, so no cell can be run as a formula (CSV
injection: a cell a spreadsheet reads as a formula can fetch URLs or run commands; OWASP's advice is a leading ')."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^-?[0-9]+(\.[0-9]+)?$")  # a negative number is data, not a formula: left as it is


def safe_cell(value: Any) -> Any:
    """Text that a spreadsheet would take for a formula, with a single quote in front; anything else unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _NUMBER.match(value):
        return "'" + value
    return value


def csv_text(rows: Iterable[Iterable[Any]]) -> str:
    """The rows as CSV text, every cell through `safe_cell`."""
    out = io.StringIO()
    csv.writer(out).writerows([safe_cell(cell) for cell in row] for row in rows)
    return out.getvalue()
