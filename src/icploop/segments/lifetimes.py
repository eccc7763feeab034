"""How long accounts of each segment stay and what they are worth: Kaplan-Meier survival with a
log-rank test and an optional Cox model, and the sBG lifetime value, by one attribute of the
workspace.

The attribute is checked against the attribute roles catalogue: a dimension of the accounts (a
column, an extra attribute) or one of the derived breakdowns ``close_cohort`` (quarter of the
first won deal) and ``seats_band``; a measure, label, identifier or date is refused with what to
use instead. The curves, tests and lifetime values themselves are ``icploop.metrics``'
(``kaplan_meier``, ``CoxModel``, ``segment_ltv``); this module chooses and checks what they run
on, so the CLI, the API and the web page give the same answer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.attributes import workspace_catalog
from icploop.metrics.cox import CoxModel
from icploop.metrics.lifetime import ShiftedBetaGeometric
from icploop.metrics.ltv import LtvPeriod, LtvResult, segment_ltv
from icploop.metrics.survival import SurvivalCurves, duration_counts, kaplan_meier
from icploop.metrics.tables import CLOSE_COHORT, SEATS_BAND, CanonicalTables

#: breakdowns computed from other columns (``icploop.metrics.tables``)
DERIVED_BREAKDOWNS = (CLOSE_COHORT, SEATS_BAND)


def breakdown(tables: CanonicalTables, by: str | None) -> str | None:
    """``by`` when it is a dimension of the workspace's accounts (a column or an extra
    attribute, as the catalogue says) or a derived breakdown; an ``IcploopError`` saying what to
    use otherwise. None stays None (all accounts together)."""
    if by is None or by in DERIVED_BREAKDOWNS:
        return by
    catalog = workspace_catalog(
        tables.accounts, None, tables.account_attributes, tables.attribute_roles
    ).get("accounts")
    dimensions = [a.name for a in catalog.attributes if a.role == "dimension"] if catalog else []
    choose = f"choose one of: {', '.join([*dimensions, *DERIVED_BREAKDOWNS])}"
    if catalog is None or by not in catalog:
        raise IcploopError(f"unknown attribute {by!r} to break survival down by", choose)
    attribute = catalog[by]
    if attribute.role == "measure":
        hint = "seats_band" if by == "seats_at_close" else "a dimension"
        raise IcploopError(
            f"{by} is a measure: survival is compared between groups, not along a number",
            f"use {hint}; {choose}",
        )
    if attribute.role != "dimension":
        raise IcploopError(
            f"{by} is {_article(attribute.role)} {attribute.role}: no groups", choose
        )
    return by


def _article(role: str) -> str:
    return "an" if role[0] in "aeiou" else "a"


@dataclass(frozen=True)
class SurvivalReport:
    """Kaplan-Meier curves, S(``at_months``) and the median per group, the log-rank test across
    groups, and with ``cox`` the hazard ratios of each group against the most common one."""

    km: SurvivalCurves
    hazard_ratios: pd.DataFrame | None
    concordance: float | None
    caveats: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data (what ``--json`` and the API give): ``by``, ``at_months``,
        ``groups`` (the summary), ``logrank``, ``cox`` (hazard ratios, concordance) or None,
        ``curves`` and ``caveats``; missing or infinite numbers (a median never reached) are
        None."""
        return {
            "by": self.km.by,
            "at_months": self.km.at_months,
            "groups": records(self.km.summary),
            "logrank": self.km.logrank,
            "cox": None
            if self.hazard_ratios is None
            else {"hazard_ratios": records(self.hazard_ratios), "concordance": self.concordance},
            "curves": records(self.km.curves),
            "caveats": list(self.caveats),
        }


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows of ``frame`` as dicts with NaN and infinities as None (JSON has neither)."""
    finite = frame.replace([np.inf, -np.inf], np.nan)
    return list(finite.astype(object).where(finite.notna(), None).to_dict("records"))


def ltv_dict(result: LtvResult) -> dict[str, Any]:
    """A lifetime-value result as plain data (what ``--json`` and the API give)."""
    return {
        "by": result.by,
        "as_of": result.as_of,
        "period": result.period,
        "annual_discount": result.annual_discount,
        "gross_margin": result.gross_margin,
        "groups": records(result.frame),
        "caveats": list(result.caveats),
    }


def survival_by(
    tables: CanonicalTables,
    as_of: dt.date,
    by: str | None = None,
    *,
    cox: bool = False,
    at_months: int = 12,
) -> SurvivalReport:
    """Survival of paying accounts by ``by`` (checked by ``breakdown``) as of ``as_of``.

    With ``cox``, a Cox proportional-hazards model (lifelines) with ``by`` one-hot (its most
    common value the reference) gives hazard ratios with 95% intervals and the test of the
    proportional-hazards assumption; it needs a breakdown. Raises ``IcploopError`` when there
    is nothing to compare or no churn to model.
    """
    by = breakdown(tables, by)
    km = kaplan_meier(tables, as_of, by, at_months=at_months)
    if km.summary.empty:
        raise IcploopError(
            f"no paying account to follow up to {as_of}: each is followed from its first paying "
            "month, and none started before the as-of month",
            "load subscriptions with more history, or pass a later --as-of",
        )
    caveats = list(km.caveats)
    ratios, concordance = None, None
    if cox:
        if by is None:
            raise IcploopError("a Cox model compares groups", "give --by with --cox")
        if int(km.summary["events"].sum()) == 0:
            raise IcploopError("no account churned: there is no hazard to model")
        model = CoxModel().fit(tables, as_of, [by])
        ratios = model.summary
        concordance = model.concordance_
        doubtful = ratios[ratios["ph_p_value"] < 0.05]["covariate"].tolist()
        if doubtful:
            caveats.append(
                "the hazards are not proportional for "
                + ", ".join(doubtful)
                + ": read the Kaplan-Meier curves rather than the ratios"
            )
    return SurvivalReport(km, ratios, concordance, tuple(caveats))


def ltv_by(
    tables: CanonicalTables,
    as_of: dt.date,
    by: str | None = None,
    *,
    gross_margin: float = 0.8,
    annual_discount: float = 0.10,
    period: LtvPeriod = "month",
) -> LtvResult:
    """Lifetime value per value of ``by`` (checked by ``breakdown``): the shifted-beta-
    geometric model fitted to each group's start-month cohorts of the workspace
    (``icploop.metrics.ltv.segment_ltv``: the simple ARPA x margin / churn beside it), with

    - ``del_periods`` and ``ltv_sbg``: the discounted expected lifetime of a new account at
      ``annual_discount`` and its value (ARPA x margin x DEL);
    - ``derl_periods`` and ``residual_value``: the discounted expected residual lifetime of the
      group's accounts paying at ``as_of``, each by the renewals it has made (Fader and Hardie),
      averaged, and its value: what the current book of the group is still worth per account.
    """
    chosen = breakdown(tables, by)
    result = segment_ltv(
        tables,
        as_of,
        chosen,
        gross_margin=gross_margin,
        annual_discount=annual_discount,
        period=period,
    )
    size = 12 if period == "year" else 1
    d_period = (1 + annual_discount) ** (size / 12) - 1
    counts = duration_counts(tables, as_of, [chosen] if chosen else [])
    current = counts[~counts["event"].astype(bool)]
    groups = current[chosen].astype(str) if chosen else pd.Series("all", index=current.index)
    frame = result.frame.copy()
    derl, residual = [], []
    for row in frame.to_dict("records"):
        mine = current[(groups == str(row["group"])).to_numpy()]
        if mine.empty or row["alpha"] != row["alpha"]:
            derl.append(np.nan)
            residual.append(np.nan)
            continue
        model = ShiftedBetaGeometric()
        model.alpha_, model.beta_ = float(row["alpha"]), float(row["beta"])
        renewals = np.maximum(mine["duration"].to_numpy() // size - 1, 0)
        each = [model.discounted_expected_residual_lifetime(d_period, int(r)) for r in renewals]
        mean = float(np.average(each, weights=mine["n"].to_numpy()))
        derl.append(mean)
        residual.append(float(row["arpa"]) * size * gross_margin * mean)
    frame["derl_periods"] = derl
    frame["residual_value"] = residual
    return replace(result, frame=frame)
