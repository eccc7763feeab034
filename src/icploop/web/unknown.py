"""The unknown mark on web pages: the formatting module's ``-``, with its reason as the mark's
title (a tooltip) when one is known."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from icploop import formatting as fmt


def unknown_mark(reason: str | None = None) -> Markup:
    """``-`` for an unknown value; with ``reason``, a span titled with it."""
    if not reason:
        return Markup(fmt.UNKNOWN)
    return Markup('<span class="unknown" title="{}">{}</span>').format(reason, fmt.UNKNOWN)


def known(value: Any, reason: str | None = None) -> Any:
    """``value`` itself when it is known, else the unknown mark with ``reason``.

    Unknown is None, NaN, pandas' NA or blank text; a real 0, ``False`` or ``"0"`` is known and
    shown as it is (``value or unknown(...)`` would read a 0 as unknown)."""
    blank = isinstance(value, str) and not value.strip()
    return unknown_mark(reason) if blank or fmt.is_unknown(value) else value
