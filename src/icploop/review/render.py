"""Rendering the pack: self-contained HTML, Markdown and JSON from templates; PDF in ``pdf``.

The HTML has inline CSS and inline SVG charts and references nothing outside the page (no
fonts, scripts, images or style sheets by URL), so it opens without a network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from icploop.errors import IcploopError
from icploop.review.charts import render_charts

FORMATS = ("html", "md", "pdf", "json")


def _pct(value: float | None, digits: int = 0) -> str:
    """A fraction as a percentage (0.123 -> 12%); a dash when missing."""
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _q(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def _points(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f}"


def _money(value: float | None, currency: str = "") -> str:
    """Whole currency units with thousands separators and the currency code; a dash when missing."""
    if value is None:
        return "-"
    return f"{value:,.0f} {currency}" if currency else f"{value:,.0f}"


_MARKDOWN_SPECIAL = re.compile(r"([\\`\[\]|])")


def markdown_text(value: Any) -> str:
    """Data as literal Markdown text: ``<`` and ``&`` become entities, so HTML from the data
    (``<script>``, ``<img onerror>``, an autolink) shows as text; the characters that would
    open a link or an image, code, or a new table cell are backslash-escaped; line breaks
    become spaces. Whoever renders the pack (a wiki, a chat tool) shows the data and runs
    nothing of it. Emphasis characters are left alone: they change how text looks, not what
    it does."""
    text = "" if value is None else str(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;")
    text = _MARKDOWN_SPECIAL.sub(r"\\\1", text)
    return " ".join(text.splitlines())


def environment(autoescape: bool, currency: str = "") -> Environment:
    """The templates with the pack's number filters (StrictUndefined: a typo fails loudly);
    money figures name ``currency``. Without HTML autoescape (the Markdown pack) every
    ``{{ value }}`` goes through :func:`markdown_text`."""
    env = Environment(
        loader=PackageLoader("icploop.review", "templates"),
        autoescape=select_autoescape(["html.j2"]) if autoescape else False,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=None if autoescape else markdown_text,
    )
    env.filters.update(
        pct=_pct, ratio=_ratio, q=_q, points=_points, money=lambda v: _money(v, currency)
    )
    return env


def render_html(pack: dict[str, Any], charts: dict[str, dict[str, Any]] | None = None) -> str:
    """The pack as one self-contained HTML page."""
    charts = render_charts(pack) if charts is None else charts
    env = environment(True, pack.get("currency", ""))
    return env.get_template("pack.html.j2").render(pack=pack, charts=charts)


def render_markdown(pack: dict[str, Any]) -> str:
    """The pack as Markdown (tables, no charts)."""
    return environment(False, pack.get("currency", "")).get_template("pack.md.j2").render(pack=pack)


def render_json(pack: dict[str, Any]) -> str:
    """Everything the pack says, machine-readable (the same dict the review stores)."""
    return json.dumps(pack, indent=2, default=str) + "\n"


def parse_formats(text: str) -> list[str]:
    """``"html,md"`` as a list, checked against ``FORMATS``."""
    formats = [f.strip().lower() for f in text.split(",") if f.strip()]
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise IcploopError(
            f"unknown format(s): {', '.join(unknown) or '(none)'}",
            f"use a comma-separated list of {', '.join(FORMATS)}",
        )
    return formats


def write_pack(pack: dict[str, Any], formats: list[str], out: Path) -> list[Path]:
    """Write the pack in each format to ``out`` (created if needed) as
    ``icp-review-<quarter>.<ext>``; returns the paths written, in the order of ``formats``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = out / f"icp-review-{pack['quarter']}"
    charts = render_charts(pack) if {"html", "pdf"} & set(formats) else {}
    written = []
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        if fmt == "html":
            path.write_text(render_html(pack, charts), encoding="utf-8")
        elif fmt == "md":
            path.write_text(render_markdown(pack), encoding="utf-8")
        elif fmt == "json":
            path.write_text(render_json(pack), encoding="utf-8")
        else:
            from icploop.review.pdf import render_pdf

            path.write_bytes(render_pdf(pack, charts))
        written.append(path)
    return written
