"""The pack as PDF, with fpdf2 (pure Python: no system libraries): headings, tables and the same
charts as the HTML (as PNG images).

fpdf2's built-in Helvetica covers Latin-1 only, so text is folded to Latin-1 (dashes, arrows and
other symbols become their nearest ASCII) rather than embedding a font file.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

from icploop.errors import IcploopError
from icploop.review.render import _money, _pct, _q, _ratio

_FOLD = str.maketrans(
    {"–": "-", "—": "-", "≥": ">=", "≤": "<=", "×": "x", "’": "'", "“": '"', "”": '"'}
)
#: rows per breakdown table in the PDF (the HTML and JSON have them all)
MAX_ROWS = 12


def _text(value: Any) -> str:
    return str(value).translate(_FOLD).encode("latin-1", "replace").decode("latin-1")


def render_pdf(pack: dict[str, Any], charts: dict[str, dict[str, Any]]) -> bytes:
    """The pack as PDF bytes; an IcploopError naming the package when fpdf2 is missing."""
    try:
        from fpdf import FPDF
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise IcploopError(
            "PDF output needs the Python package fpdf2, which is not installed",
            "pip install fpdf2, or build --format html,md,json",
        ) from exc
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, _text(f"Quarterly ICP review {pack['quarter']}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.cell(0, 6, _text(f"As of {pack['as_of']}"), new_x="LMARGIN", new_y="NEXT")
    for number, section in enumerate(pack["sections"], start=1):
        pdf.ln(4)
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(
            0,
            8,
            _text(f"{number}. {section['title']} ({section['presenter']})"),
            new_x="LMARGIN",
            new_y="NEXT",
        )
        pdf.set_font("Helvetica", "", 9)
        _SECTIONS[section["id"]](pdf, pack)
        for chart in charts.values():
            if chart["section"] == section["id"]:
                pdf.image(io.BytesIO(chart["png"]), w=170)
    return bytes(pdf.output())


def _para(pdf: Any, text: str) -> None:
    pdf.multi_cell(0, 5, _text(text), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)


def _table(pdf: Any, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    if not rows:
        return
    with pdf.table(line_height=5, first_row_as_headings=True) as table:
        for row in [header, *rows]:
            cells = table.row()
            for value in row:
                cells.cell(_text(value))
    pdf.ln(2)


def _rates(pdf: Any, by: dict[str, list[dict[str, Any]]], discount: bool = False) -> None:
    for dim, rows in by.items():
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 6, _text(f"By {dim}"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 8)
        header = [dim, "n", "events", "rate", "95% CI", "vs rest", "q"] + (
            ["discount"] if discount else []
        )
        body = [
            [r["value"], r["n"], r["events"], _pct(r["rate"]), f"{_pct(r['lo'])}-{_pct(r['hi'])}",
             _ratio(r["ratio"]), _q(r["q"])] + ([_pct(r["mean_discount"])] if discount else [])
            for r in rows[:MAX_ROWS]
        ]  # fmt: skip
        _table(pdf, header, body)
        pdf.set_font("Helvetica", "", 9)


def _previous(pdf: Any, pack: dict[str, Any]) -> None:
    prev = pack["previous_review"]
    if not prev:
        _para(pdf, "This is the first review: no earlier decisions to follow up.")
        return
    _para(pdf, f"Review #{prev['review_id']} ({prev['quarter']}) decided:")
    _table(
        pdf,
        ["decision", "kind", "outcome"],
        [[d["title"], d["kind"], d["decision"]] for d in prev["decisions"]],
    )
    imp = prev["implementation"]
    if imp is None:
        _para(pdf, "No ICP version was drafted from these decisions.")
        return
    _para(pdf, f"ICP version {imp['version']} is {imp['status']}.")
    _table(pdf, ["step", "due", "state"], [[s["step"], s["due"], s["state"]] for s in imp["steps"]])


def _headline(pdf: Any, pack: dict[str, Any]) -> None:
    h = pack["headline"]
    head = h["headline"]
    _para(
        pdf,
        f"{head['as_of']}: MRR {_money(head['mrr'], pack.get('currency', ''))}, NRR {_pct(head['nrr'])}, GRR {_pct(head['grr'])}.",
    )
    _para(pdf, h["micro_review"]["reason"] + ".")
    _table(pdf, ["quarter", "accounts", "cohort NRR", "change (points)"],
           [[r["period"], r["n_accounts"], _pct(r["nrr"], 1),
             "-" if r["change_points"] is None else f"{r['change_points']:+.1f}"] for r in h["nrr_trend"]])  # fmt: skip


def _cohort(pdf: Any, pack: dict[str, Any]) -> None:
    c = pack["churn_cohort"]
    o = c["overall"]
    _para(pdf, f"Accounts closed {c['window']['start']} to {c['window']['end']}: {o['n']}, of which "
               f"{o['events']} churned within 12 months ({_pct(o['rate'])}).")  # fmt: skip
    _rates(pdf, c["by"])


def _reasons_cost(pdf: Any, pack: dict[str, Any]) -> None:
    rc = pack["reasons_cost"]
    reasons, cost = rc["reasons"], rc["cost"]
    if reasons is None:
        _para(pdf, f"Churn reasons not available: {rc['reasons_unavailable']}.")
    else:
        _para(pdf, reasons["headline"] + ".")
        _table(pdf, ["reason", "accounts", "lost MRR", "share", "cumulative"],
               [[r["label"], r["accounts"], _money(r["lost_mrr"], pack.get('currency', '')), _pct(r["share"]),
                 _pct(r["cumulative_share"])] for r in reasons["pareto"]["reasons"]])  # fmt: skip
        if reasons["hypothesis"]:
            _para(pdf, f"{reasons['hypothesis']['verdict']}: {reasons['hypothesis']['sentence']}")
    if cost is None:
        _para(pdf, f"Cost to serve not available: {rc['cost_unavailable']}.")
        return
    _table(pdf, ["tier", "accounts", "contribution %", "cost over margin"],
           [[t["tier"], t["accounts"], _pct(t["contribution_margin"]),
             f"{t['unprofitable']} ({_pct(t['unprofitable_share'])})"] for t in cost["tiers"]])  # fmt: skip
    _para(pdf, f"{cost['moves_total']} high-touch accounts cost more to serve than their gross "
               f"margin; moving them to a lower-touch tier would add about "
               f"{_money(cost['margin_gain_year_total'], pack.get('currency', ''))} a year of margin.")  # fmt: skip


def _tags(pdf: Any, pack: dict[str, Any]) -> None:
    f = pack["fit_tags"]
    _para(pdf, f"{f['basis']}: {f['n']} accounts.")
    _table(pdf, ["segment", "n", "strong_fit", "near_fit", "bad_fit"],
           [[r["segment"], r["n"], _pct(r["strong_fit_share"]), _pct(r["near_fit_share"]),
             _pct(r["bad_fit_share"])] for r in f["rows"]])  # fmt: skip


def _close(pdf: Any, pack: dict[str, Any]) -> None:
    c = pack["close_rates"]
    o = c["overall"]
    _para(pdf, f"Deals decided {c['window']['start']} to {c['window']['end']}: {o['n']}, win rate "
               f"{_pct(o['rate'])}, mean discount of won deals {_pct(o['mean_discount'])}.")  # fmt: skip
    _rates(pdf, c["by"], discount=True)


def _alignment(pdf: Any, pack: dict[str, Any]) -> None:
    al = pack["alignment"]
    sc = al["scorecard"]
    if sc is None:
        _para(pdf, f"Scorecard not available: {al['scorecard_unavailable']}.")
    else:
        _para(pdf, f"New customers closed {sc['window'][0]} to {sc['window'][1]}; retained "
                   "bookings = the same accounts' MRR 12 months later (projected from the fit-tag "
                   "mix for accounts under a year).")  # fmt: skip
        for sentence in sc["sentences"]:
            _para(pdf, f"- {sentence}.")
        _table(pdf, ["AE", "deals", "bookings", "rank", "retained", "projected", "rank", "gap",
                     "NRR", "churn", "q"],
               [[r["group"], r["deals"], _money(r["bookings"], pack.get('currency', '')), r["bookings_rank"],
                 _money(r["retained_bookings"], pack.get('currency', '')), _pct(r["projected_share"]), r["retained_rank"],
                 f"{r['rank_gap']:+d}", _pct(r["nrr"]), _pct(r["churn_rate"]), _q(r["q_value"])]
                for r in sc["team"][:MAX_ROWS]])  # fmt: skip
    if not al["experiments"]:
        _para(pdf, "No experiment is recorded.")
    for e in al["experiments"]:
        _para(pdf, f"{e['name']} ({e['change_kind']}): {e['change']}. Segment {e['segment']}, "
                   f"from {e['start']}; control: {e['control_text']}.")  # fmt: skip
        m = e.get("result")
        if m is None:
            _para(pdf, f"Not measured: {e.get('error')}.")
            continue
        if m["status"] == "not yet measurable":
            _para(pdf, "Not yet measurable.")
        _table(pdf, ["metric", "experiment", "control", "difference (95% CI)", "n", "verdict"],
               [[r["label"], _pct(r["experiment"], 1), _pct(r["control"], 1),
                 f"{_pct(r['difference'], 1)} ({_pct(r['ci_low'], 1)} to {_pct(r['ci_high'], 1)})",
                 f"{r['n_experiment']} / {r['n_control']}", r["verdict"]]
                for r in m["metrics"]])  # fmt: skip


def _synthesis(pdf: Any, pack: dict[str, Any]) -> None:
    rows = pack["synthesis"]["rows"]
    if not rows:
        _para(pdf, "No group's churn and close-rate evidence agree beyond chance this quarter.")
    for r in rows:
        _para(pdf, f"- {r['sentence']}")


def _proposals(pdf: Any, pack: dict[str, Any]) -> None:
    items = pack["proposals"]["items"]
    if not items:
        _para(pdf, "The evidence supports no change to the ICP this quarter.")
    for item in items:
        pdf.set_font("Helvetica", "B", 10)
        label = f"{item['id']}. " if item.get("id") else ""
        _para(pdf, f"{label}{item['title']} ({item['kind']})")
        pdf.set_font("Helvetica", "", 9)
        _para(pdf, item["sentence"])


_SECTIONS = {
    "previous_review": _previous,
    "headline": _headline,
    "churn_cohort": _cohort,
    "reasons_cost": _reasons_cost,
    "fit_tags": _tags,
    "close_rates": _close,
    "alignment": _alignment,
    "synthesis": _synthesis,
    "proposals": _proposals,
}
