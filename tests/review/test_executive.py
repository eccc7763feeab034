"""The executive page: first in every format, one PDF page, findings sized in MRR."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from icploop.review.executive import proposal_sizes
from icploop.review.layout import document
from icploop.review.render import write_pack


def _words(text: str) -> str:
    return " ".join(text.split())


def test_a_proposal_is_sized_by_the_mrr_its_accounts_lost() -> None:
    frame = pd.DataFrame(
        {
            "industry": ["Hospitality"] * 3 + ["Retail"] * 7,
            "seats_at_close": [10, 20, 30, 40, 60, 70, 80, 90, 100, 110],
            "churned_mrr": [100.0, 100.0, 100.0, 10, 10, 10, 0, 0, 0, float("nan")],
        }
    )
    items = [
        {"evidence": {"segment": "industry = Hospitality", "ratio": 3.0}},
        {"evidence": {"attribute": "seats_at_close", "cut": 50, "rate_below_lo": 0.2, "ratio": 2}},
        {"evidence": {"segment": "region = EMEA", "ratio": 2.0}},
    ]
    hospitality, small, unknown = proposal_sizes(frame, items)
    assert hospitality["churned_mrr"] == 300 and hospitality["accounts"] == 3
    assert hospitality["churned_share"] == pytest.approx(300 / 330)
    assert small["group"] == "seats_at_close < 50" and small["churned_mrr"] == 310
    assert small["accounts"] == 4
    assert unknown["churned_mrr"] is None and unknown["unknown"]


def test_the_executive_page_comes_first_and_fills_the_first_pdf_page(
    demo_pack: dict[str, Any], tmp_path: Path
) -> None:
    import pypdfium2 as pdfium

    doc = document(demo_pack)
    executive = doc.sections[0]
    assert executive.id == "executive" and executive.time_box == "read before the meeting"
    md, html, pdf = write_pack(demo_pack, ["md", "html", "pdf"], tmp_path)
    for path in (md, html):
        text = path.read_text()
        assert text.index("Executive summary") < text.index("Last quarter")
    document_pdf = pdfium.PdfDocument(str(pdf))
    first = _words(document_pdf[0].get_textpage().get_text_range())
    second = _words(document_pdf[1].get_textpage().get_text_range())
    document_pdf.close()
    head = demo_pack["headline"]["headline"]
    assert (
        f"NRR {round(100 * head['nrr'])}%" in first and f"GRR {round(100 * head['grr'])}%" in first
    )
    assert "The three findings that matter most" in first and "USD churned" in first
    for item in demo_pack["proposals"]["items"]:  # the decisions, each with its owner
        assert _words(item["title"]) in first
    assert "Overdue" in first and "Nothing is overdue." in first
    assert "Last quarter's decisions" not in first and second.startswith("2. Last quarter's")


def test_the_findings_are_the_largest_in_mrr_and_the_planted_ones(
    demo_pack: dict[str, Any],
) -> None:
    sizes = [s for s in demo_pack["executive"]["sizes"] if s["churned_mrr"] is not None]
    risky = sorted((s for s in sizes if s["ratio"] > 1), key=lambda s: -s["churned_mrr"])
    executive = document(demo_pack).sections[0]
    table = next(b for b in executive.blocks if getattr(b, "header", ())[:1] == ("finding",))
    assert len(table.rows) == 3
    # the largest risky group leads; the planted bad-fit AE pattern is among the three
    assert table.rows[0][0].startswith(risky[0]["group"])
    assert any("haddad" in row[0] for row in table.rows)


def test_a_company_without_effects_has_no_finding_from_proposals(null_pack: dict[str, Any]) -> None:
    executive = document(null_pack).sections[0]
    tables = [b for b in executive.blocks if getattr(b, "header", ())[:1] == ("finding",)]
    rows = [row for t in tables for row in t.rows]
    assert all(row[0].startswith("Top churn reason") for row in rows)


def test_every_agenda_section_carries_its_time_box(demo_pack: dict[str, Any]) -> None:
    doc = document(demo_pack)
    boxes = [s.time_box for s in doc.sections[1:]]
    assert boxes[0] == "0-5 min" and boxes[-1] == "60-75 min"
    ends = [int(b.split("-")[1].split()[0]) for b in boxes]
    starts = [int(b.split("-")[0]) for b in boxes]
    assert starts[1:] == ends[:-1]  # back to back, no gap and no overlap
