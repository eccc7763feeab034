"""Numbers and dates as people read them, and values as JSON holds them: the one place every
surface (the CLI, the web app, the review pack in every format) formats through.

Unknown is unknown: an absent value (None, NaN, an infinity) is shown as ``-``, never as
``nan`` or ``0%``; :func:`unknown` adds the reason when there is room for it. Every function
here is pure (no I/O) and accepts numpy and pandas scalars as well as Python ones.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable
from typing import Any

#: What an unknown value is shown as.
UNKNOWN = "-"


def finite(value: Any) -> float | None:
    """``value`` as a finite float, or None when it is absent, NaN, infinite or not a number
    (JSON has no NaN)."""
    if value is None or isinstance(value, str):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(v) or math.isinf(v) else v


def json_value(value: Any) -> Any:
    """A JSON-ready scalar: numpy scalars become Python ones, NaN and infinities None, dates
    and timestamps ISO text (a date at midnight without its time). Anything else is returned
    as it is."""
    if getattr(getattr(value, "dtype", None), "kind", "") == "M":  # numpy datetime64
        value = value.astype("datetime64[us]")
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        try:
            value = value.item()
        except (TypeError, ValueError):
            return value
    if isinstance(value, bool | int | str) or value is None:
        return value
    if is_unknown(value):  # NaN, infinities, pandas' NA and NaT
        return None
    if isinstance(value, float):
        return finite(value)
    if isinstance(value, dt.date):
        return day(value)
    return value


def json_tree(value: Any) -> Any:
    """``value`` with every scalar, in dicts and lists at any depth, through :func:`json_value`
    (what an API route answers: no NaN, no numpy scalar)."""
    if isinstance(value, dict):
        return {k: json_tree(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_tree(v) for v in value]
    return json_value(value)


def is_unknown(value: Any) -> bool:
    """True for None, NaN and infinities (pandas' NA and NaT included)."""
    if value is None:
        return True
    if isinstance(value, str):
        return False
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value) in {"NaT", "<NA>", "nan"}
    return math.isnan(v) or math.isinf(v)


def unknown(reason: str | None = None) -> str:
    """The mark for an unknown value, with the reason when one is given (``- (no churn yet)``)."""
    return f"{UNKNOWN} ({reason})" if reason else UNKNOWN


def pct(value: Any, digits: int = 0) -> str:
    """A fraction as a percentage (0.123 -> ``12%``); ``-`` when unknown."""
    v = finite(value)
    v = None if v is None else finite(100 * v)
    return UNKNOWN if v is None else f"{v:.{digits}f}%"


def points(value: Any, digits: int = 1) -> str:
    """A change in percentage points with its sign (``+1.5``); ``-`` when unknown."""
    v = finite(value)
    if v is None:
        return UNKNOWN
    return f"{round(v, digits) or 0.0:+.{digits}f}"  # -0.04 reads +0.0, not -0.0


def ratio(value: Any) -> str:
    """A multiple (``2.10x``); ``-`` when unknown."""
    v = finite(value)
    return UNKNOWN if v is None else f"{v:.2f}x"


def q(value: Any) -> str:
    """A p- or q-value to two significant digits, ``<0.001`` below a thousandth; ``-`` when
    unknown."""
    v = finite(value)
    if v is None:
        return UNKNOWN
    return "<0.001" if v < 0.001 else f"{v:.2g}"


def money(value: Any, currency: str = "") -> str:
    """An amount in whole currency units with thousands separators, followed by the currency
    code when given (``1,234 EUR``); ``-`` when unknown."""
    v = finite(value)
    if v is None:
        return UNKNOWN
    return f"{v:,.0f} {currency}" if currency else f"{v:,.0f}"


def thousands(value: Any) -> str:
    """An amount in thousands (1,234,567 -> ``1,235k``); ``-`` when unknown."""
    v = finite(value)
    return UNKNOWN if v is None else f"{v / 1000:,.0f}k"


def estimate(value: Any, low: Any, high: Any, shown: Callable[[Any], str] = thousands) -> str:
    """An estimate with its interval, each through ``shown`` (``12k (10k-14k)``); ``-`` alone
    when the estimate is unknown, the estimate alone when its interval is."""
    if finite(value) is None:
        return UNKNOWN
    if finite(low) is None or finite(high) is None:
        return shown(value)
    return f"{shown(value)} ({shown(low)}-{shown(high)})"


def count(value: Any) -> str:
    """A whole number with thousands separators (``12,345``); ``-`` when unknown."""
    v = finite(value)
    return UNKNOWN if v is None else f"{round(v):,d}"


def number(value: Any, digits: int = 2) -> str:
    """A number with thousands separators and ``digits`` decimals; ``-`` when unknown."""
    v = finite(value)
    return UNKNOWN if v is None else f"{v:,.{digits}f}"


_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}")
_MIDNIGHT = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T]00:00:00(?:\.0+)?(?:[+-]00:?00|Z)?$")


def day(value: Any) -> str:
    """A date as ``YYYY-MM-DD``; a timestamp at midnight as its date, another timestamp to the
    minute (``2026-09-30 14:05``); ``-`` when unknown. Text holding an ISO timestamp is read as
    one; other text is returned as it is."""
    if not isinstance(value, str) and is_unknown(value):
        return UNKNOWN
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0, 0):
            return value.date().isoformat()
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value)
    match = _MIDNIGHT.match(text)
    if match:
        return match.group(1)
    if _TIMESTAMP.match(text):
        try:
            return day(dt.datetime.fromisoformat(text))
        except ValueError:
            return text
    return text


def shown(value: Any, digits: int = 2) -> str:
    """Any value as a table cell: unknown as ``-``, dates through :func:`day`, whole numbers
    with thousands separators, other numbers to ``digits`` decimals, text as it is."""
    if isinstance(value, str):
        return day(value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.date) or hasattr(value, "to_pydatetime"):
        return day(value)
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, int) or (hasattr(value, "is_integer") and float(value).is_integer()):
        return count(value)
    v = finite(value)
    return str(value) if v is None else number(v, digits)
