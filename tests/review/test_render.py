"""Rendering: a self-contained HTML page, Markdown, JSON, and a PDF whose pages are not blank."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from icploop.review.render import parse_formats, write_pack

EXTERNAL = re.compile(
    r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//|url\(\s*["']?\s*(?:https?:)?//""", re.I
)


def test_the_html_pack_references_nothing_outside_the_page(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    (html,) = write_pack(demo_pack, ["html"], tmp_path)
    text = html.read_text()
    assert not EXTERNAL.search(text)
    assert "<script" not in text and "@import" not in text and "<link" not in text
    # triangle, KM curves and the scatter; the fresh store has no fit tags, so no tag-mix chart
    assert text.count("<svg") == 3


def test_markdown_and_json_say_what_the_pack_says(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    md, js = write_pack(demo_pack, parse_formats("md,json"), tmp_path)
    data = json.loads(js.read_text())
    assert [s["id"] for s in data["sections"]] == [s["id"] for s in demo_pack["sections"]]
    text = md.read_text()
    for item in demo_pack["proposals"]["items"]:
        assert item["title"] in text


def test_the_pdf_renders_pages_that_are_not_blank(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    pdfium = pytest.importorskip("pypdfium2")
    (pdf,) = write_pack(demo_pack, ["pdf"], tmp_path)
    document = pdfium.PdfDocument(str(pdf))
    assert len(document) >= 2
    for index in range(len(document)):
        image = np.asarray(document[index].render(scale=0.5).to_pil().convert("L"), dtype=float)
        assert image.std() > 5, f"page {index + 1} is blank"
    document.close()
