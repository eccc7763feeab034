"""The review pack: every section's evidence and the drafted proposals, as one JSON-friendly dict.

The dict is what the pack says, whatever the format: HTML, Markdown, PDF and JSON are renderings
of it (``icploop.review.render``), and the stored ``Review.evidence`` is the same dict.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from icploop.config import DEFAULT_CURRENCY
from icploop.fit.config import FitConfig
from icploop.icp.in_force import rules_in_force
from icploop.review.alignment import alignment_section
from icploop.review.evidence import analytics_evidence, deal_window
from icploop.review.executive import executive_evidence
from icploop.review.loop_state import fit_tag_mix, previous_review
from icploop.review.movement import movement_evidence
from icploop.review.policy import ProposalPolicy
from icploop.review.proposals import draft_proposals
from icploop.review.quarters import Quarter, latest_full_quarter
from icploop.review.reasons_cost import reasons_and_cost
from icploop.segments.frames import account_frame, deal_frame
from icploop.segments.outcomes import attribute_catalog
from icploop.warehouse import Warehouse

#: The pack's sections in the order of the review's agenda: (id, title, who presents it, minutes
#: in the meeting). The executive summary is read before the meeting; the time boxes follow the
#: seeds' 75-minute review (churn cohort, fit signal, close rates, synthesis, decisions), with the
#: follow-up of the last decisions first.
SECTIONS: tuple[tuple[str, str, str, int | None], ...] = (
    ("executive", "Executive summary", "RevOps", None),
    ("previous_review", "Last quarter's decisions and their implementation", "RevOps", 5),
    ("headline", "Headline and NRR trend", "RevOps", 5),
    ("churn_cohort", "Churn cohort", "VP CS", 10),
    ("reasons_cost", "Why customers left, and what they cost to serve", "VP CS", 5),
    ("fit_tags", "Fit-tag distribution", "RevOps", 10),
    ("close_rates", "Close rate and discount", "VP Sales", 10),
    ("alignment", "Retained bookings and segment experiments", "VP Sales", 5),
    ("synthesis", "Synthesis", "RevOps", 10),
    ("proposals", "Proposed decisions", "all", 15),
)


def agenda() -> list[dict[str, Any]]:
    """The sections with their time boxes: ``start`` and ``minutes`` into the meeting."""
    out, start = [], 0
    for section_id, title, presenter, minutes in SECTIONS:
        out.append(
            {"id": section_id, "title": title, "presenter": presenter,
             "start": None if minutes is None else start, "minutes": minutes}
        )  # fmt: skip
        start += minutes or 0
    return out


def resolve_quarter(backend: Any, quarter: str | None) -> Quarter:
    """The quarter asked for, or the latest full quarter up to the default as-of date (the end
    of the last complete month of data)."""
    if quarter:
        return Quarter.parse(quarter)
    return latest_full_quarter(Warehouse(backend).data_end.as_of)


def build_pack(
    backend: Any,
    session: Session,
    quarter: Quarter,
    policy: ProposalPolicy | None = None,
    progress: Callable[[str, float], None] | None = None,
    currency: str = DEFAULT_CURRENCY,
    fit_config: FitConfig | None = None,
) -> dict[str, Any]:
    """The pack for ``quarter`` (as of its last day) from the warehouse ``backend`` and the app
    store ``session`` (read only). Proposal ids are filled in when the review is stored.
    ``currency`` is the workspace's reporting currency: every money figure is in it.
    ``progress`` hears the stage and the fraction done (for a progress bar). ``fit_config`` is
    the workspace's (:func:`icploop.fit.config.workspace_fit_config`; default the defaults): its
    tag day, rule and fallback ICP criteria give the fit tags and the ICP rules in force."""
    tell = progress or (lambda stage, fraction: None)
    config = fit_config or FitConfig()
    tell("reading accounts and their outcomes", 0.05)
    warehouse = Warehouse(backend)
    tables = warehouse.tables
    end = warehouse.data_end
    accounts = account_frame(backend, quarter.end)
    deals = deal_frame(backend, *deal_window(quarter))
    tell("churn cohort, close rates, synthesis and charts", 0.3)
    evidence = analytics_evidence(tables, accounts, deals, quarter)
    tell("churn reasons and cost to serve", 0.5)
    reasons_cost = reasons_and_cost(backend, tables, quarter.end)
    movement = movement_evidence(backend, tables, quarter.end)
    tell("retention-adjusted scorecard and experiments", 0.6)
    alignment = alignment_section(backend, session, accounts, quarter.end, fit_config=config)
    tell("searching segments and thresholds for proposals", 0.65)
    catalog = attribute_catalog(tables, accounts, ("first_year_churn",))
    drafted, summary = draft_proposals(accounts, policy, catalog)
    tell("the executive summary", 0.85)
    items = [d.to_dict() for d in drafted]
    executive = executive_evidence(tables, accounts, quarter, items)
    tell("assembling the pack", 0.9)
    if quarter == latest_full_quarter(end.as_of):
        # the latest pack the data allows says what the data's end left out
        evidence["headline"]["caveats"] = [*end.caveats, *evidence["headline"]["caveats"]]
    pack: dict[str, Any] = {
        "quarter": quarter.label,
        "as_of": quarter.end.isoformat(),
        "data_end": end.to_dict(),
        "currency": currency,
        "review_id": None,
        "sections": agenda(),
        "previous_review": previous_review(session, quarter, quarter.end),
        "headline": evidence["headline"],
        "churn_cohort": evidence["churn_cohort"],
        "reasons_cost": reasons_cost,
        "fit_tags": fit_tag_mix(session, accounts, quarter),
        "icp_in_force": rules_in_force(session, quarter.end, config.icp_criteria).to_dict(),
        "close_rates": evidence["close_rates"],
        **movement,
        "alignment": alignment,
        "synthesis": evidence["synthesis"],
        "proposals": {"summary": summary, "items": items},
        "executive": executive,
        "charts": evidence["charts"],
    }
    return pack
