"""The unknown mark on web pages: the formatting module's ``-``, with its reason as the mark's
title (a tooltip) when one is known."""

from __future__ import annotations

from markupsafe import Markup

from icploop import formatting as fmt


def unknown_mark(reason: str | None = None) -> Markup:
    """``-`` for an unknown value; with ``reason``, a span titled with it."""
    if not reason:
        return Markup(fmt.UNKNOWN)
    return Markup('<span class="unknown" title="{}">{}</span>').format(reason, fmt.UNKNOWN)
