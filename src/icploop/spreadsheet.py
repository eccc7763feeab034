"""Cells a spreadsheet would run as formulas: found in what is loaded, neutralised in what is
written.

A spreadsheet program treats a cell beginning with ``=``, ``+``, ``-`` or ``@`` as a formula
(``=HYPERLINK(...)`` opens a site, ``=cmd|...`` ran programs in older versions), and a leading
tab or carriage return can hide such a start. Every CSV icploop writes for people to open (the
scored leads, the CRM notes, the points table, a load's rejects file) goes through :func:`neutralise`, which puts a
``'`` before such a text so that it shows as text; plain numbers (``-12.5``, ``+3``) are left as
they are, since a number is not a formula. The loader counts such values in what it stores and
says so, because the data came from somewhere a person might open too.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

#: the first characters that make a spreadsheet read a cell as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
#: the same test for the engine: begins with a formula character and is not a plain number
FORMULA_SQL_PATTERN = r"^[=+\-@\t\r]"
NUMBER_SQL_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


def is_formula(value: Any) -> bool:
    """Whether a spreadsheet would read ``value`` as a formula (text only; numbers never)."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _NUMBER.match(value)


def neutralise(value: Any) -> Any:
    """``value`` as a cell that shows as text: a formula-like text gets a leading ``'``."""
    return "'" + value if is_formula(value) else value


def neutralise_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell (and column name) passed through
    :func:`neutralise`; numeric columns are untouched."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column].dtype):
            out[column] = out[column].map(neutralise)
    out.columns = [neutralise(str(c)) for c in out.columns]
    return out
