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


def test_the_html_pack_opens_in_a_browser_without_asking_the_network(
    demo_pack: dict[str, Any], tmp_path: Path, browser: Any
) -> None:
    (html,) = write_pack(demo_pack, ["html"], tmp_path)
    context = browser.new_context()
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_load_state("networkidle")
    elsewhere = [url for url in requested if not url.startswith(("file:", "data:", "about:"))]
    assert requested and requested[0] == html.as_uri()
    assert elsewhere == []
    # the charts are drawn: each inline SVG has a size on the page
    boxes = [svg.bounding_box() for svg in page.locator("svg").all()]
    assert len(boxes) == 3 and all(b is not None and b["width"] > 100 for b in boxes)
    for item in demo_pack["proposals"]["items"]:
        assert item["title"] in page.inner_text("body")
    context.close()


def test_every_format_names_the_packs_currency(demo_pack: dict[str, Any], tmp_path: Path) -> None:
    assert demo_pack["currency"] == "USD"
    pack = {**demo_pack, "currency": "BRL"}
    md, html, js = write_pack(pack, ["md", "html", "json"], tmp_path)
    mrr = f"{pack['headline']['headline']['mrr']:,.0f}"
    for path in (md, html):
        assert f"MRR {mrr} BRL" in path.read_text()
    assert json.loads(js.read_text())["currency"] == "BRL"
