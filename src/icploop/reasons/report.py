"""The churn-reasons section of a report: Pareto table, one hypothesis check, returning objections.

Surfaces (the review pack, the web app) call :func:`reasons_section` and render its plain dict;
the numbers are the same the CLI prints.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from icploop.reasons.evidence import ReasonTables
from icploop.reasons.hypothesis import check_hypothesis, compare_accounts, reason_separation
from icploop.reasons.objections import returning_objections
from icploop.reasons.pareto import churn_reasons
from icploop.reasons.taxonomy import Taxonomy, load_taxonomy


def reasons_section(
    tables: ReasonTables,
    as_of: dt.date,
    window_months: int = 12,
    hypothesis: str | None = "support",
    taxonomy: Taxonomy | None = None,
    top: int = 8,
) -> dict[str, Any]:
    """A JSON-ready dict: ``pareto`` (as :meth:`ReasonPareto.to_dict`, ``top`` reasons),
    ``separation`` (reasons that separate churned from retained accounts), ``hypothesis``
    (as :meth:`HypothesisResult.to_dict`, or None), ``objections`` and a one-line ``headline``."""
    tax = taxonomy or load_taxonomy()
    pareto = churn_reasons(tables, as_of, window_months, taxonomy=tax)
    comp = compare_accounts(tables, as_of, window_months, taxonomy=tax)
    sep = reason_separation(comp, tax)
    checked = (
        check_hypothesis(tables, as_of, hypothesis, window_months, taxonomy=tax, comparison=comp)
        if hypothesis and not comp.missing_side()
        else None
    )
    objections = returning_objections(tables, as_of, window_months, tax, comparison=comp)
    body = pareto.to_dict()
    body["reasons"] = body["reasons"][:top]
    explained = [r for r in pareto.table.to_dict("records") if r["reason"] != "unexplained"][:3]
    headline = (
        f"{len(explained)} reasons explain {sum(r['share'] for r in explained):.0%} of the "
        f"{pareto.n_accounts} accounts lost in {window_months} months: "
        + ", ".join(f"{r['label']} ({r['share']:.0%})" for r in explained)
        if explained
        else f"no lost accounts with a reason in the last {window_months} months"
    )
    separating = sep[sep["separates"]]
    return {
        "headline": headline,
        "pareto": body,
        "separation": sep.replace({float("nan"): None}).to_dict("records"),
        "separating_reasons": list(separating["reason"]),
        "hypothesis": checked.to_dict() if checked else None,
        "objections": objections.to_dict(),
    }
