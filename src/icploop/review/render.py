"""Rendering the pack: self-contained HTML and Markdown from its blocks, JSON from its dict; PDF
in ``pdf`` (from the same blocks).

The HTML has inline CSS and inline SVG charts and references nothing outside the page (no
fonts, scripts, images or style sheets by URL), so it opens without a network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from icploop.errors import IcploopError
from icploop.formatting import finite
from icploop.review.blocks import Block, Bullets, Caveat, Heading, Paragraph, Proposal, Table
from icploop.review.charts import render_charts
from icploop.review.layout import document
from icploop.review.pdf import render_pdf

FORMATS = ("html", "md", "pdf", "json")


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


def environment() -> Environment:
    """The HTML templates (autoescaped, StrictUndefined: a typo fails loudly)."""
    return Environment(
        loader=PackageLoader("icploop.review", "templates"),
        autoescape=select_autoescape(["html.j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def blocks_html(blocks: Sequence[Block], charts: dict[str, dict[str, Any]] | None = None) -> str:
    """Blocks as an HTML fragment (the web app shows sections of the pack on its pages)."""
    macro = environment().get_template("_blocks.html.j2").module.blocks  # type: ignore[attr-defined]
    return str(macro(list(blocks), charts or {}))


def render_html(pack: dict[str, Any], charts: dict[str, dict[str, Any]] | None = None) -> str:
    """The pack as one self-contained HTML page."""
    charts = render_charts(pack) if charts is None else charts
    return environment().get_template("pack.html.j2").render(doc=document(pack), charts=charts)


def _markdown_block(b: Block) -> list[str]:
    t = markdown_text
    if isinstance(b, Heading):
        return [f"### {t(b.text)}"]
    if isinstance(b, Paragraph):
        return [f"**{t(b.lead)}** {t(b.text)}" if b.lead else t(b.text)]
    if isinstance(b, Bullets):
        return ["\n".join(f"- {t(item)}" for item in b.items)]
    if isinstance(b, Table):
        lines = [
            "| " + " | ".join(t(h) for h in b.header) + " |",
            "|" + "".join("---|" if i < b.text_columns else "---:|" for i in range(len(b.header))),
            *("| " + " | ".join(t(c) for c in row) + " |" for row in b.rows),
        ]
        return ["\n".join(lines)]
    if isinstance(b, Caveat):
        return [f"> caveat: {t(b.text)}"]
    if isinstance(b, Proposal):
        tags = " - ".join(x for x in (b.kind, b.label, f"owner: {b.owner}" if b.owner else "") if x)
        return [f"#### {t(b.title)}", f"*{t(tags)}*", t(b.sentence)]
    return []  # charts are drawn in the HTML and the PDF


def render_markdown(pack: dict[str, Any]) -> str:
    """The pack as Markdown (the same blocks as the HTML, without the charts). Every text from
    the data goes through :func:`markdown_text`."""
    doc = document(pack)
    out = [f"# {markdown_text(doc.title)}", markdown_text(doc.subtitle)]
    for number, s in enumerate(doc.sections, start=1):
        out.append(
            f"## {number}. {markdown_text(s.title)} ({markdown_text(s.presenter)}, {s.time_box})"
        )
        for b in s.blocks:
            out += _markdown_block(b)
    return "\n\n".join(out) + "\n"


def render_json(pack: dict[str, Any]) -> str:
    """Everything the pack says, machine-readable (the same dict the review stores); an unknown
    number (NaN, an infinity) is null, since JSON has no NaN."""
    return json.dumps(_json_ready(pack), indent=2, default=str) + "\n"


def _json_ready(value: Any) -> Any:
    """``value`` with every NaN or infinite float, at any depth, replaced by None."""
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    if isinstance(value, float):
        return finite(value)
    return value


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
            path.write_bytes(render_pdf(document(pack), charts))
        written.append(path)
    return written
