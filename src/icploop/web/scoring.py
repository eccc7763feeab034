"""Scoring and open-deal checks for the API and the pages: the same work as ``icploop score``
and ``icploop deals check``, with the ICP rules in force read from the store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from icploop import model_files
from icploop.icp.in_force import RulesInForce, rules_in_force
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.apply import is_deal_batch, score_with, warehouse_inputs
from icploop.scoring.deal_check import open_deal_checks
from icploop.store.models import Person
from icploop.web.state import WebState


def rules_of(state: WebState, as_of: dt.date) -> RulesInForce:
    """The ICP criteria and do-not-close rules in force on ``as_of``
    (:func:`icploop.icp.in_force.rules_in_force`)."""
    fallback = state.fit_config().icp_criteria
    with state.store() as session:
        return rules_in_force(session, as_of, fallback)


def score_frame(
    state: WebState, records: pd.DataFrame, version: str | None = None
) -> tuple[str, pd.DataFrame]:
    """The model's name and ``records`` scored: fit score, tier, points and reasons; open deals
    also get the deal-time fit check against the ICP in force."""
    name, model, points, _report = model_files.load(state.settings.workspace, version)
    as_of = state.as_of()
    deals = is_deal_batch(records)
    rules = rules_of(state, as_of) if deals else None
    criteria, dnc = (rules.criteria, rules.do_not_close) if rules else ((), ())
    # the warehouse is read once per as-of date; the model's work then runs without its lock
    inputs = state.cached(
        ("score_inputs", as_of, deals),
        lambda b: warehouse_inputs(CanonicalTables.from_backend(b), as_of, deals),
    )
    return name, score_with(records, model, points, inputs, criteria, dnc)


def deal_checks_of(state: WebState, as_of: dt.date) -> dict[str, Any]:
    """Open opportunities and the traits that put them at risk (``icploop deals check``): the
    ICP in force (else the fit configuration's criteria), the do-not-close list and the AE
    patterns that churned, each in words, and one row per open deal."""
    found = rules_of(state, as_of)
    published = found.version is not None
    criteria, dnc = found.criteria, found.do_not_close
    key = tuple(r.describe() for r in [*criteria, *dnc])

    def work(backend: BaseBackend) -> dict[str, Any]:
        tables = CanonicalTables.from_backend(backend)
        patterns, rows = open_deal_checks(tables, as_of, criteria, dnc)
        rows["close_date"] = pd.to_datetime(rows["close_date"]).dt.date
        return {
            "as_of": as_of,
            "published": published,
            "criteria": [r.describe() for r in criteria],
            "do_not_close": [r.describe() for r in dnc],
            "ae_patterns": [p.describe() for p in patterns],
            "deals": rows.sort_values(["risk_count", "close_date"], ascending=[False, True])
            .astype(object)
            .where(rows.notna(), None)
            .to_dict("records"),
        }

    return state.cached(("deal_checks", as_of, key), work)


def deals_seen_by(checks: dict[str, Any], user: Person, risky: bool) -> list[dict[str, Any]]:
    """The checked deals ``user`` reads (an AE: their own; everyone else: all), only those at
    risk when ``risky``."""
    deals: list[dict[str, Any]] = checks["deals"]
    if user.role == "ae":
        deals = [d for d in deals if d.get("ae") == user.person_id]
    return [d for d in deals if d["at_risk"]] if risky else deals
