"""Rendering: a self-contained HTML page, Markdown, JSON, and a PDF whose pages are not blank."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np

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
    import pypdfium2 as pdfium

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


def test_the_markdown_pack_shows_html_and_links_from_the_data_as_text(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    import copy

    from icploop.review.render import markdown_text, render_markdown

    pack = copy.deepcopy(demo_pack)
    hostile = [
        "<script>alert(1)</script>",
        '<img src=x onerror="alert(1)">',
        "[open](javascript:alert(1))",
        "a | b\nc",
    ]
    for item, text in zip(pack["proposals"]["items"], hostile, strict=False):
        item["title"] = text
    rendered = render_markdown(pack)
    assert "<script" not in rendered and "<img" not in rendered
    assert not re.search(r"(?<!\\)\]\(javascript:", rendered)  # no link, only its text
    assert "&lt;script>alert(1)&lt;/script>" in rendered
    assert r"\[open\](javascript:alert(1))" in rendered and r"a \| b c" in rendered
    assert markdown_text(None) == "" and markdown_text(0.25) == "0.25"


def _caveat_lists(node: Any) -> list[list[str]]:
    """Every list of caveats anywhere in the pack's dict."""
    if isinstance(node, dict):
        found = [node["caveats"]] if isinstance(node.get("caveats"), list) else []
        return found + [c for v in node.values() for c in _caveat_lists(v)]
    if isinstance(node, list):
        return [c for v in node for c in _caveat_lists(v)]
    return []


def _words(text: str) -> str:
    return " ".join(text.split())


def test_every_caveat_of_the_pack_appears_in_html_markdown_and_pdf(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    import copy
    import html

    import pypdfium2 as pdfium

    from icploop.review.pdf import _text
    from icploop.review.render import markdown_text

    pack = copy.deepcopy(demo_pack)
    # the data end's caveats are the headline's in the latest quarter's pack (build_pack)
    lists = _caveat_lists({k: v for k, v in pack.items() if k != "data_end"})
    # one planted caveat in every place a caveat can be (data end, headline, reasons, cost,
    # scorecard, lead source, campaign, proposals...), markup in one of them
    for index, caveats in enumerate(lists):
        caveats.append(f"planted caveat {index} <b>&</b> ends here")
    expected = {c for caveats in lists for c in caveats}
    assert len(lists) >= 8 and len(expected) >= len(lists)
    md, page, pdf = write_pack(pack, ["md", "html", "pdf"], tmp_path)
    markdown = _words(md.read_text())
    shown = _words(html.unescape(re.sub(r"<[^>]+>", " ", page.read_text())))
    document = pdfium.PdfDocument(str(pdf))
    printed = _words(" ".join(p.get_textpage().get_text_range() for p in document))
    document.close()
    for caveat in expected:
        assert _words(markdown_text(caveat)) in markdown, caveat
        assert _words(caveat) in shown, caveat
        assert _words(_text(caveat)) in printed, caveat


def _with_html(node: Any, key: str = "") -> Any:
    """The pack with HTML appended to every text from the data (section ids and dates aside)."""
    if isinstance(node, dict):
        return {k: _with_html(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [_with_html(v, key) for v in node]
    if isinstance(node, str) and node and key != "id" and not re.match(r"\d{4}-\d{2}", node):
        return node + '<img src=x onerror="alert(1)">'
    return node


def test_no_text_of_the_markdown_pack_carries_html_whatever_the_data_holds(
    demo_pack: dict[str, Any],
) -> None:
    from icploop.review.render import render_markdown

    rendered = render_markdown(_with_html(demo_pack))
    assert "<img" not in rendered
    assert rendered.count("&lt;img") > 100  # the data is there, as text
