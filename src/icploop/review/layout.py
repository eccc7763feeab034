"""What each section of the pack says, as blocks (``icploop.review.blocks``), from the pack's dict.

One function per section; the renderers draw the same blocks as HTML, Markdown and PDF, so a
caveat, a row or a sentence added here appears in every format. Reads stored packs of earlier
versions too (keys added since are looked up with a default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from icploop import formatting as fmt
from icploop.review.blocks import (
    Block,
    Bullets,
    Caveat,
    Chart,
    Document,
    Heading,
    Paragraph,
    Proposal,
    Section,
    Table,
)
from icploop.review.charts import CHARTS

Blocks = list[Block]


class _Fmt:
    """The pack's formatters with its currency bound."""

    def __init__(self, currency: str) -> None:
        self.currency = currency

    def money(self, value: Any) -> str:
        return fmt.money(value, self.currency)

    def cell(self, value: Any) -> str:
        """A money cell: the currency is in the column's header (:meth:`head`)."""
        return fmt.money(value)

    def head(self, name: str) -> str:
        return f"{name} ({self.currency})" if self.currency else name


def _caveats(texts: Any) -> Blocks:
    return [Caveat(str(t)) for t in texts or ()]


def _interval(lo: Any, hi: Any, digits: int = 0) -> str:
    return f"{fmt.pct(lo, digits)}-{fmt.pct(hi, digits)}"


Row = dict[str, Any]
#: a column of a table: its header and how a row of the pack shows in it
Column = tuple[str, Callable[[Row], str]]


def _table(
    rows: list[Row],
    columns: list[Column],
    tone: Callable[[Row], str] | None = None,
    text_columns: int = 1,
) -> Table:
    """One table row per item of ``rows``: each column's header stands beside the cell it shows,
    so they cannot drift apart; ``tone`` marks rows (a flag, a small group)."""
    return Table(
        tuple(header for header, _ in columns),
        tuple(tuple(cell(r) for _, cell in columns) for r in rows),
        tuple(tone(r) for r in rows) if tone else (),
        text_columns,
    )


def _count(key: str, header: str | None = None) -> Column:
    return (header or key, lambda r: fmt.count(r[key]))


def _pct(key: str, header: str, digits: int = 0) -> Column:
    return (header, lambda r: fmt.pct(r[key], digits))


def _q(key: str) -> Column:
    return ("q", lambda r: fmt.q(r[key]))


def _small(r: Row) -> str:
    return "small" if r.get("small") else ""


def _stands_apart(r: Row) -> str:
    return "flag" if r.get("stands_apart") else ""


def _rate_table(rows: list[Row], label: str, extra: tuple[str, str] | None) -> Table:
    columns: list[Column] = [
        (label, lambda r: str(r["value"])),
        _count("n"),
        _count("events"),
        _pct("rate", "rate"),
        ("95% CI", lambda r: _interval(r["lo"], r["hi"])),
        ("vs rest", lambda r: fmt.ratio(r["ratio"])),
        _q("q"),
    ]
    if extra:
        key = extra[0]
        columns.append((extra[1], lambda r: fmt.pct(r.get(key))))
    return _table(rows, columns, _small)


def previous_review(pack: dict[str, Any], f: _Fmt) -> Blocks:
    prev = pack["previous_review"]
    if not prev:
        return [Paragraph("This is the first review: no earlier decisions to follow up.")]
    out: Blocks = [
        Paragraph(f"Review #{prev['review_id']} ({prev['quarter']}) decided:"),
        Table(
            ("decision", "kind", "outcome", "by"),
            tuple(
                (d["title"], d["kind"], d["decision"] or "undecided", d["decided_by"] or "-")
                for d in prev["decisions"]
            ),
            text_columns=4,
        ),
    ]
    imp = prev["implementation"]
    if imp is None:
        return [*out, Paragraph("No ICP version was drafted from these decisions.", tone="flag")]
    since = f" (in force from {fmt.day(imp['published_at'])})" if imp.get("published_at") else ""
    out.append(Paragraph(f"ICP version {imp['version']} is {imp['status']}{since}."))
    if imp["steps"]:
        out.append(
            Table(
                ("step", "due", "state", "done by"),
                tuple(
                    (s["step"], fmt.day(s["due"]), s["state"], s.get("done_by") or "-")
                    for s in imp["steps"]
                ),
                tuple("flag" if s["state"] == "overdue" else "" for s in imp["steps"]),
                text_columns=4,
            )
        )
    return out


def headline(pack: dict[str, Any], f: _Fmt) -> Blocks:
    h = pack["headline"]
    head = h["headline"]
    return [
        Paragraph(
            f"{fmt.day(head['as_of'])}: MRR {f.money(head['mrr'])}, NRR {fmt.pct(head['nrr'])}, "
            f"GRR {fmt.pct(head['grr'])}, monthly logo churn "
            f"{fmt.pct(head['logo_churn_rate'], 1)}."
        ),
        Paragraph(
            f"{h['micro_review']['reason']}.", tone="flag" if h["micro_review"]["due"] else "ok"
        ),
        Table(
            ("quarter", "accounts (base)", "cohort NRR", "change (points)"),
            tuple(
                (
                    r["period"],
                    fmt.count(r["n_accounts"]),
                    fmt.pct(r["nrr"], 1),
                    fmt.points(r["change_points"]),
                )
                for r in h["nrr_trend"]
            ),
        ),
        *_caveats(h.get("caveats")),
        *_bridge(pack, f),
        *_champions(pack),
    ]


BRIDGE_COLUMNS = (
    ("start", "mrr_start"), ("new", "new"), ("reactivation", "reactivation"),
    ("expansion", "expansion"), ("contraction", "contraction"), ("churn", "churn"),
    ("fx", "fx"), ("end", "mrr_end"), ("net change", "net_change"),
)  # fmt: skip


def _bridge(pack: dict[str, Any], f: _Fmt) -> Blocks:
    """The MRR bridge of the last four quarters (packs stored before it have none)."""
    b = pack.get("mrr_bridge")
    if not b:
        return []
    rows = tuple(
        (r["period"] + (" (to date)" if r["partial"] else ""),
         *(f.cell(r[key]) for _, key in BRIDGE_COLUMNS))
        for r in b["rows"]
    )  # fmt: skip
    head = ("quarter", *(f.head(name) for name, _ in BRIDGE_COLUMNS))
    return [Heading("MRR bridge, last four quarters"), Table(head, rows), *_caveats(b["caveats"])]


def _champions(pack: dict[str, Any]) -> Blocks:
    """How many accounts keep every champion of the close in the same role 30, 90, 180 days on."""
    c = pack.get("champion_stability")
    if not c:
        return []
    rows = tuple(
        (f"{h['days']} days", fmt.count(h["accounts"]), fmt.count(h["in_place"]),
         fmt.pct(h["share"]) if h["share"] is not None else "- (no account reached the day)")
        for h in c["horizons"]
    )  # fmt: skip
    return [
        Heading("Champion stability after close"),
        Paragraph(
            "Accounts with a champion at close that still have every one of them in the same "
            "role that many days after close (accounts closed at least that long ago)."
        ),
        Table(("days after close", "accounts", "champions in place", "share"), rows),
    ]


def churn_cohort(pack: dict[str, Any], f: _Fmt) -> Blocks:
    c = pack["churn_cohort"]
    o = c["overall"]
    censored = (
        f" {fmt.count(c['censored'])} accounts without a full first year are left out."
        if c.get("censored")
        else ""
    )
    out: Blocks = [
        Paragraph(
            f"Accounts closed {fmt.day(c['window']['start'])} to {fmt.day(c['window']['end'])} "
            f"(12-18 months before the quarter's end): {fmt.count(o['n'])} accounts, "
            f"{fmt.count(o['events'])} churned within 12 months: {fmt.pct(o['rate'])} "
            f"(95% CI {_interval(o['lo'], o['hi'])}).{censored} Grey rows have fewer than 20 "
            "accounts; q is Benjamini-Hochberg over every row."
        )
    ]
    for dim, rows in c["by"].items():
        out += [Heading(f"By {dim}"), _rate_table(rows, dim, None)]
    return out


def _money(f: _Fmt, key: str, header: str) -> Column:
    """A money column: the currency in its header, the cells without it."""
    return (f.head(header), lambda r: f.cell(r[key]))


def _sample(row: Row) -> str:
    return "; ".join(f"{s['account_id']}: {s['text']}" for s in row["samples"][:1])


def _unprofitable(t: Row) -> str:
    return f"{fmt.count(t['unprofitable'])} ({fmt.pct(t['unprofitable_share'])})"


def reasons_cost(pack: dict[str, Any], f: _Fmt) -> Blocks:
    rc = pack["reasons_cost"]
    out: Blocks = [Heading(f"Churn reasons, last {rc['window_months']} months")]
    r = rc["reasons"]
    if r:
        out += [
            Paragraph(f"{r['headline']}."),
            _table(
                r["pareto"]["reasons"],
                [
                    ("reason", lambda row: row["label"]),
                    _count("accounts"),
                    _money(f, "lost_mrr", "lost MRR"),
                    _pct("share", "share"),
                    _pct("cumulative_share", "cumulative"),
                    ("sample evidence", _sample),
                ],
            ),
        ]
        out += _caveats(r["pareto"].get("caveats"))
        if r.get("hypothesis"):
            hyp = r["hypothesis"]
            tone = "flag" if hyp["verdict"] == "supported" else "ok"
            out.append(Paragraph(hyp["sentence"], lead=f"{hyp['verdict']}:", tone=tone))
            out += _caveats(hyp.get("caveats"))
        if r.get("separating_reasons"):
            out.append(
                Paragraph(
                    "Reasons that separate churned from retained accounts of the same segment "
                    f"and tenure: {', '.join(r['separating_reasons'])}."
                )
            )
        else:
            out.append(
                Paragraph("No reason separates churned from retained accounts beyond chance.")
            )
        out += _caveats(r.get("caveats"))
    else:
        out.append(Caveat(f"Churn reasons not available: {rc['reasons_unavailable']}."))
    out.append(Heading("Cost to serve against gross margin"))
    c = rc["cost"]
    if not c:
        return [*out, Caveat(f"Cost to serve not available: {rc['cost_unavailable']}.")]
    out += [
        _table(
            c["tiers"],
            [
                ("tier", lambda t: t["tier"]),
                _count("accounts"),
                _money(f, "revenue", "revenue"),
                _money(f, "cost", "cost to serve"),
                _money(f, "contribution", "contribution"),
                _pct("contribution_margin", "contribution %"),
                ("cost over margin", _unprofitable),
            ],
        ),
        Paragraph(
            f"{fmt.count(c['moves_total'])} high-touch accounts cost more to serve than their "
            "gross margin; moving them to a lower-touch tier would add about "
            f"{f.money(c['margin_gain_year_total'])} a year of margin."
        ),
        *_caveats(c.get("caveats")),
    ]
    return out


def fit_tags(pack: dict[str, Any], f: _Fmt) -> Blocks:
    t = pack["fit_tags"]
    mix = ", ".join(f"{tag} {fmt.count(n)}" for tag, n in t["overall"].items())
    basis = t["basis"][:1].upper() + t["basis"][1:]
    out: Blocks = [Paragraph(f"{basis}: {fmt.count(t['n'])} accounts ({mix}).")]
    if not t["rows"]:
        return [*out, Paragraph("No fit tags recorded for this quarter: run icploop fit run.")]
    tags = ("strong_fit", "near_fit", "bad_fit")
    out.append(
        Table(
            ("segment", "n", *tags),
            tuple(
                (
                    r["segment"],
                    fmt.count(r["n"]),
                    *(f"{fmt.count(r[tag])} ({fmt.pct(r[f'{tag}_share'])})" for tag in tags),
                )
                for r in t["rows"]
            ),
        )
    )
    return out


def close_rates(pack: dict[str, Any], f: _Fmt) -> Blocks:
    c = pack["close_rates"]
    o = c["overall"]
    out: Blocks = [
        Paragraph(
            f"Deals decided {fmt.day(c['window']['start'])} to {fmt.day(c['window']['end'])}: "
            f"{fmt.count(o['n'])} won or lost, win rate {fmt.pct(o['rate'])} "
            f"(95% CI {_interval(o['lo'], o['hi'])}), mean discount of won deals "
            f"{fmt.pct(o['mean_discount'])}."
        )
    ]
    for dim, rows in c["by"].items():
        out += [
            Heading(f"By {dim}"),
            _rate_table(rows, dim, ("mean_discount", "mean discount (won)")),
        ]
    return out


def _retained(r: dict[str, Any], f: _Fmt) -> str:
    if fmt.finite(r["retained_bookings"]) is None:  # nothing to project from: the caveat says
        return fmt.UNKNOWN
    projected = f" (projected {fmt.pct(r['projected_share'])})" if r.get("projected") else ""
    return f"{f.cell(r['retained_bookings'])}{projected}"


def _ci(low: str, high: str) -> Column:
    """A 95% interval of percentages, to a tenth of a point."""
    return ("95% CI", lambda r: _interval(r[low], r[high], 1))


def _retained_interval(r: Row, f: _Fmt) -> str:
    if fmt.finite(r["retained_low"]) is None:
        return fmt.UNKNOWN
    return f"{f.cell(r['retained_low'])}-{f.cell(r['retained_high'])}"


def _group(r: Row) -> str:
    group: str = r["group"]
    return group


def _churn_with_n(r: Row) -> str:
    return f"{fmt.pct(r['churn_rate'])} (n={fmt.count(r['churn_n'])})"


#: the gap between an owner's rank by bookings and by retained bookings
GAP: Column = ("gap", lambda r: fmt.points(r["rank_gap"], 0))


def _experiment(e: dict[str, Any]) -> Blocks:
    until = f" to {fmt.day(e['end'])}" if e.get("end") else ""
    out: Blocks = [
        Proposal(
            e["change_kind"],
            e["name"],
            f"{e['change']}. Segment {e['segment']}, from {fmt.day(e['start'])}{until}; "
            f"control: {e['control_text']}.",
        )
    ]
    m = e.get("result")
    if not m:
        return [*out, Caveat(f"Not measured: {e.get('error')}.")]
    lead = "Not yet measurable." if m["status"] == "not yet measurable" else ""
    out += [
        Paragraph(f"Experiment: {m['experiment']}. Control: {m['control']}.", lead=lead),
        _table(
            m["metrics"],
            [
                ("metric", lambda r: r["label"]),
                _pct("experiment", "experiment", 1),
                _ci("experiment_low", "experiment_high"),
                _pct("control", "control", 1),
                _ci("control_low", "control_high"),
                _pct("difference", "difference", 1),
                _ci("ci_low", "ci_high"),
                ("n", lambda r: f"{fmt.count(r['n_experiment'])} / {fmt.count(r['n_control'])}"),
                ("verdict", lambda r: r["verdict"]),
            ],
        ),
        *_caveats(m.get("caveats")),
    ]
    return out


def alignment(pack: dict[str, Any], f: _Fmt) -> Blocks:
    al = pack["alignment"]
    out: Blocks = [Heading("Retention-adjusted AE scorecard")]
    sc = al["scorecard"]
    if sc:
        out.append(
            Paragraph(
                f"New customers closed {fmt.day(sc['window'][0])} to {fmt.day(sc['window'][1])}. "
                "Retained bookings: the same accounts' MRR 12 months after their first paid "
                "month; for accounts younger than a year it is projected from their fit tag's "
                "historical 12-month NRR (marked projected)."
            )
        )
        tone = "flag" if sc.get("standing_apart") else "ok"
        out += [Paragraph(f"{s}.", tone=tone) for s in sc["sentences"]]
        out.append(
            _table(
                sc["team"],
                [
                    ("AE", _group),
                    _count("deals"),
                    _money(f, "bookings", "bookings"),
                    _count("bookings_rank", "rank"),
                    (f.head("retained bookings"), lambda r: _retained(r, f)),
                    ("95% interval", lambda r: _retained_interval(r, f)),
                    _count("retained_rank", "rank"),
                    GAP,
                    _pct("nrr", "NRR"),
                    _pct("bad_fit_share", "bad fit"),
                    _pct("avg_discount", "discount"),
                    ("first-year churn", _churn_with_n),
                    _q("q_value"),
                ],
                _stands_apart,
            )
        )
        out += _caveats(sc.get("caveats"))
    else:
        out.append(Caveat(f"Scorecard not available: {al['scorecard_unavailable']}."))
    for key, title in (("by_lead_source", "lead source"), ("by_campaign", "campaign")):
        out.append(Heading(f"By {title}"))
        t = al.get(key)
        if not t:
            out.append(Caveat(f"By {title} not available: {al.get(key + '_unavailable')}."))
            continue
        out.append(
            _table(
                t["team"],
                [
                    (title, _group),
                    _count("deals"),
                    _money(f, "bookings", "bookings"),
                    (f.head("retained bookings"), lambda r: _retained(r, f)),
                    GAP,
                    _pct("nrr", "NRR"),
                    _pct("churn_rate", "first-year churn"),
                    _q("q_value"),
                ],
                _stands_apart,
            )
        )
        out += _caveats(t.get("caveats"))
    out.append(Heading("Segment experiments"))
    if not al["experiments"]:
        why = al.get("experiments_unavailable")
        out.append(Paragraph(f"No experiment is recorded{f' ({why})' if why else ''}."))
    for e in al["experiments"]:
        out += _experiment(e)
    return out


def synthesis(pack: dict[str, Any], f: _Fmt) -> Blocks:
    s = pack["synthesis"]
    out: Blocks = []
    if s.get("churn_window"):
        w = s["churn_window"]
        out.append(
            Paragraph(
                f"Groups where churn (accounts closed {fmt.day(w['start'])} to "
                f"{fmt.day(w['end'])}) and close-rate evidence point the same way, both at "
                "q < 0.05."
            )
        )
    if not s["rows"]:
        return [
            *out,
            Paragraph("No group's churn and close-rate evidence agree beyond chance this quarter."),
        ]
    return [*out, Bullets(tuple(f"{r['pattern']}: {r['sentence']}" for r in s["rows"]))]


#: Who carries out a proposed decision of each kind (the seeds' review: RevOps owns the ICP
#: document, Sales qualification and the do-not-close list, Marketing lead scoring).
OWNERS = {
    "criterion": "RevOps",
    "qualification": "VP Sales",
    "do_not_close": "VP Sales",
    "lead_scoring": "Marketing",
}


def proposal_owner(kind: str) -> str:
    return OWNERS.get(kind, "RevOps")


def proposals(pack: dict[str, Any], f: _Fmt) -> Blocks:
    p = pack["proposals"]
    summary = p["summary"]
    tested = (
        f": {fmt.count(summary['segments_tested'])} segments tested, "
        f"{fmt.count(summary['findings'])} significant at q < 0.05 after Benjamini-Hochberg"
        if summary.get("segments_tested")
        else ""
    )
    out: Blocks = [
        Paragraph(
            f"Drafted from {fmt.count(summary['accounts'])} accounts with a first-year "
            f"outcome{tested}. Only findings that survive multiple testing and have support "
            "become proposals. Accept, edit or reject each with icploop review decide."
        ),
        *_caveats(summary.get("caveats")),
    ]
    if not p["items"]:
        return [
            *out,
            Paragraph("The evidence supports no change to the ICP this quarter.", tone="ok"),
        ]
    for item in p["items"]:
        label = f"proposal {item['id']}" if item.get("id") else ""
        out.append(
            Proposal(
                item["kind"].replace("_", " "),
                item["title"],
                item["sentence"],
                label=label,
                owner=proposal_owner(item["kind"]),
            )
        )
    return out


def _trend(pack: dict[str, Any]) -> str:
    head = pack["headline"]["headline"]
    now = f"NRR {fmt.pct(head['nrr'])} and GRR {fmt.pct(head['grr'])} on {fmt.day(head['as_of'])}"
    before = [
        f"{h['label']} NRR {fmt.pct(h['nrr'])}, GRR {fmt.pct(h['grr'])}"
        for h in pack.get("executive", {}).get("history", [])
    ]
    trend = pack["headline"]["nrr_trend"][-4:]
    cohort = " > ".join(f"{r['period']} {fmt.pct(r['nrr'], 1)}" for r in trend)
    return (
        f"{now}" + (f" ({'; '.join(before)})" if before else "") + "."
        + (f" Cohort NRR by quarter: {cohort}." if cohort else "")
    )  # fmt: skip


def _findings(pack: dict[str, Any], f: _Fmt) -> list[tuple[float, tuple[str, str, str]]]:
    """(MRR size, (finding, size in MRR, what it asks)) of every sized finding."""
    out = []
    sizes = pack.get("executive", {}).get("sizes", [])
    seen = set()
    for item, size in zip(pack["proposals"]["items"], sizes, strict=False):
        if size["churned_mrr"] is None or size["group"] in seen or (size["ratio"] or 0) <= 1:
            continue
        seen.add(size["group"])
        share = f" ({fmt.pct(size['churned_share'])} of all churned MRR)"
        finding = (
            f"{size['group']}: first-year churn {fmt.ratio(size['ratio'])} the rest "
            f"({fmt.count(size['accounts'])} accounts)"
        )
        out.append(
            (size["churned_mrr"], (finding, f"{f.money(size['churned_mrr'])} churned{share}",
                                   item["title"]))
        )  # fmt: skip
    reasons = pack["reasons_cost"].get("reasons")
    if reasons and reasons["pareto"]["reasons"]:
        top = reasons["pareto"]["reasons"][0]
        window = pack["reasons_cost"]["window_months"]
        out.append(
            (top["lost_mrr"] or 0.0,
             (f"Top churn reason: {top['label']} ({fmt.count(top['accounts'])} accounts, "
              f"{fmt.pct(top['share'])} of churned and contracted accounts)",
              f"{f.money(top['lost_mrr'])} lost in {window} months", f"owner: {top['owner']}"))
        )  # fmt: skip
    return sorted(out, key=lambda x: -x[0])


def _overdue(pack: dict[str, Any]) -> list[str]:
    out = []
    if pack["headline"]["micro_review"]["due"]:
        out.append(f"{pack['headline']['micro_review']['reason']}.")
    prev = pack["previous_review"]
    imp = prev and prev.get("implementation")
    if prev and imp is None:
        out.append(f"No ICP version was drafted from review #{prev['review_id']}'s decisions.")
    for s in imp["steps"] if imp else ():
        if s["state"] == "overdue":
            out.append(f"{s['step']} of ICP version {imp['version']}, due {fmt.day(s['due'])}")
    return out


def _since(pack: dict[str, Any]) -> str:
    prev = pack["previous_review"]
    if not prev:
        return "This is the first review: nothing was decided before."
    decided: dict[str, int] = {}
    for d in prev["decisions"]:
        decided[d["decision"] or "undecided"] = decided.get(d["decision"] or "undecided", 0) + 1
    counts = ", ".join(f"{n} {what}" for what, n in sorted(decided.items()))
    imp = prev["implementation"]
    version = (
        f"; ICP version {imp['version']} is {imp['status']}" if imp else "; no ICP version drafted"
    )
    return f"Review #{prev['review_id']} ({prev['quarter']}) decided {counts}{version}."


def executive(pack: dict[str, Any], f: _Fmt) -> Blocks:
    """The page a revenue leader reads first: NRR and GRR with their trend, the three findings
    that matter most with their size in MRR, the proposed decisions with owners, what changed
    since the last review and what is overdue."""
    head = pack["headline"]["headline"]
    out: Blocks = [
        Paragraph(_trend(pack), lead=f"MRR {f.money(head['mrr'])}."),
        Heading("The three findings that matter most"),
    ]
    findings = _findings(pack, f)[:3]
    if findings:
        rows = tuple(r for _, r in findings)
        out.append(Table(("finding", "size in MRR", "what it asks"), rows, text_columns=3))
    else:
        out.append(Paragraph("No finding with a size in MRR this quarter."))
    out.append(Heading("Decisions proposed"))
    items = pack["proposals"]["items"]
    if items:
        out.append(
            Table(
                ("decision", "kind", "owner"),
                tuple(
                    (i["title"], i["kind"].replace("_", " "), proposal_owner(i["kind"]))
                    for i in items
                ),
                text_columns=3,
            )
        )
    else:
        out.append(Paragraph("The evidence supports no change to the ICP this quarter."))
    out += [Heading("Since the last review"), Paragraph(_since(pack)), Heading("Overdue")]
    overdue = _overdue(pack)
    out.append(Bullets(tuple(overdue)) if overdue else Paragraph("Nothing is overdue.", tone="ok"))
    return out


SECTION_BLOCKS: dict[str, Callable[[dict[str, Any], _Fmt], Blocks]] = {
    "executive": executive,
    "previous_review": previous_review,
    "headline": headline,
    "churn_cohort": churn_cohort,
    "reasons_cost": reasons_cost,
    "fit_tags": fit_tags,
    "close_rates": close_rates,
    "alignment": alignment,
    "synthesis": synthesis,
    "proposals": proposals,
}


def section_blocks(pack: dict[str, Any], section_id: str) -> Blocks:
    """The blocks of one section (the web app shows single sections on its pages)."""
    return SECTION_BLOCKS[section_id](pack, _Fmt(pack.get("currency", "")))


def _once(blocks: Blocks) -> Blocks:
    """The blocks with each caveat kept where it first appears (several tables of a section
    share one)."""
    seen: set[str] = set()
    out: Blocks = []
    for b in blocks:
        if isinstance(b, Caveat):
            if b.text in seen:
                continue
            seen.add(b.text)
        out.append(b)
    return out


def document(pack: dict[str, Any]) -> Document:
    """The whole pack as blocks, in the agenda's order, each section with its charts."""
    f = _Fmt(pack.get("currency", ""))
    review = f"; review #{pack['review_id']}" if pack.get("review_id") else ""
    sections = []
    for s in pack["sections"]:
        blocks = SECTION_BLOCKS[s["id"]](pack, f)
        blocks += [Chart(name) for name, (where, _) in CHARTS.items() if where == s["id"]]
        blocks = _once(blocks)
        sections.append(
            Section(
                s["id"], s["title"], s["presenter"], tuple(blocks), s.get("start"), s.get("minutes")
            )
        )
    return Document(
        pack.get("title") or f"Quarterly ICP review {pack['quarter']}",
        f"As of {fmt.day(pack['as_of'])}{review}.",
        tuple(sections),
    )
