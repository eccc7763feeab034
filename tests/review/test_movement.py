"""The pack's MRR bridge (last four quarters) and champion stability at 30/90/180 days, drawn as
blocks in every format."""

from __future__ import annotations

import datetime as dt
from typing import Any

from icploop import formatting as fmt
from icploop.metrics.bridge import mrr_bridge, start_of_last
from icploop.review import layout
from icploop.review.blocks import Document, Section, Table
from icploop.review.movement import movement_evidence
from icploop.review.pdf import render_pdf
from icploop.review.render import blocks_html
from icploop.warehouse import Warehouse

AS_OF = dt.date(2026, 9, 30)


def test_bridge_and_champion_blocks(small_workspace: tuple[Any, Any]) -> None:
    backend, _ = small_workspace
    tables = Warehouse(backend).tables
    pack = {"currency": "USD", **movement_evidence(backend, tables, AS_OF)}
    blocks = layout._bridge(pack, layout._Fmt("USD")) + layout._champions(pack)
    bridge, champions = [b for b in blocks if isinstance(b, Table)]

    truth = mrr_bridge(tables, AS_OF, period="quarter", start=start_of_last(AS_OF, "quarter", 4))
    assert [r[0] for r in bridge.rows] == list(truth.frame["period"])
    assert len(bridge.rows) == 4
    for row, (_, r) in zip(bridge.rows, truth.frame.iterrows(), strict=True):
        cells = dict(zip(bridge.header[1:], row[1:], strict=True))
        assert cells["new (USD)"] == fmt.money(r["new"])
        assert cells["churn (USD)"] == fmt.money(r["churn"])
        assert cells["end (USD)"] == fmt.money(r["mrr_end"])
        assert cells["net change (USD)"] == fmt.money(r["net_change"])

    assert [r[0] for r in champions.rows] == ["30 days", "90 days", "180 days"]
    horizons = pack["champion_stability"]["horizons"]
    for h in horizons:
        assert 0 < h["in_place"] <= h["accounts"] and h["share"] == h["in_place"] / h["accounts"]
    assert horizons[-1]["share"] < 1  # the demo has champions who leave

    html = blocks_html(blocks)
    assert "MRR bridge" in html and "180 days" in html
    pdf = render_pdf(Document("t", "s", (Section("headline", "h", "all", tuple(blocks)),)), {})
    assert pdf.startswith(b"%PDF")
