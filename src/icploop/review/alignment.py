"""The pack's section on long-term value: the retention-adjusted scorecard and the experiments.

The scorecard ranks AEs (and lead sources, and campaigns where deals carry one) by bookings and
by retained bookings over the 8 quarters up to the review's date; every recorded experiment is
measured against its control. A missing input leaves its part empty with the reason, never the
pack unbuilt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from icploop.alignment.experiments import experiment_kinds
from icploop.alignment.scorecard import BY, Scorecard, scorecard, tags_in_force, with_campaign
from icploop.errors import IcploopError
from icploop.fit.config import FitConfig
from icploop.flags.tags_in_force import fit_tags_in_force
from icploop.icp.experiments import list_experiments, measure_all
from icploop.icp.in_force import published_periods
from icploop.rules import Kind
from icploop.segments.frames import account_frame, deal_frame
from icploop.warehouse import Warehouse

#: deals from this date on feed the experiments (the control may reach back before the start)
DEALS_FROM = dt.date(1900, 1, 1)


def experiment_attributes(backend: Any, accounts: pd.DataFrame, as_of: dt.date) -> dict[str, Kind]:
    """The attributes an experiment's rules may name and their kinds, on the same frames the
    section measures experiments on (``accounts``: the account frame as of ``as_of``)."""
    return experiment_kinds(accounts, deal_frame(backend, DEALS_FROM, as_of))


def team_scorecard(
    backend: Any,
    session: Session,
    as_of: dt.date,
    by: str = "ae",
    window_quarters: int = 8,
    fit_config: FitConfig | None = None,
) -> Scorecard:
    """The retention-adjusted scorecard by ``by`` (``ae``, ``lead_source`` or ``campaign``) over
    the ``window_quarters`` quarters up to ``as_of``, with the fit tags in force under the
    workspace's ``fit_config``: what ``icploop scorecard`` and ``GET /api/v1/scorecard`` show
    (the pack's section reads the same frames and tags)."""
    if by not in BY:
        raise IcploopError(f"unknown --by {by!r}", f"use one of: {', '.join(BY)}")
    accounts = account_frame(backend, as_of)
    if by == "campaign":
        deals = Warehouse(backend).optional("deals")
        if deals is None:
            raise IcploopError("no deals table is loaded", "load deals first")
        accounts = with_campaign(accounts, deals)
    tags = fit_tags_in_force(backend, session, as_of, published_periods(session), fit_config)
    return scorecard(accounts, tags.tags, as_of, by, window_quarters=window_quarters)


def _team(card: Any, top: int | None) -> dict[str, Any]:
    data = card.to_dict(top=top)
    data.pop("rows")
    return data


def alignment_section(
    backend: Any,
    session: Session,
    accounts: pd.DataFrame,
    as_of: dt.date,
    tags: pd.DataFrame | None = None,
    top: int | None = None,
    fit_config: FitConfig | None = None,
) -> dict[str, Any]:
    """JSON-ready: ``scorecard`` (by AE: team view with both ranks and the gap, the owners that
    stand apart, caveats), ``by_lead_source`` and ``by_campaign`` (team views; None with
    ``*_unavailable`` when the data lacks them) and ``experiments`` (each definition with its
    measurement as of ``as_of``).

    ``accounts`` is :func:`icploop.segments.frames.account_frame` as of ``as_of``; ``tags``
    defaults to the fit tags in force (:mod:`icploop.flags.tags_in_force`) under the workspace's
    ``fit_config``."""
    tag_frame = (
        fit_tags_in_force(backend, session, as_of, published_periods(session), fit_config).tags
        if tags is None
        else tags
    )
    tag_day = (fit_config or FitConfig()).thresholds.tag_after_days
    out: dict[str, Any] = {"as_of": as_of.isoformat()}
    for key, by in (("scorecard", "ae"), ("by_lead_source", "lead_source")):
        try:
            out[key] = _team(scorecard(accounts, tag_frame, as_of, by), top)
        except IcploopError as exc:
            out[key] = None
            out[f"{key}_unavailable"] = exc.message
    deals_table = Warehouse(backend).optional("deals")
    try:
        if deals_table is None:
            raise IcploopError("no deals table is loaded")
        with_campaigns = with_campaign(accounts, deals_table)
        if with_campaigns["campaign"].notna().sum() == 0:
            raise IcploopError("no deal carries a campaign")
        out["by_campaign"] = _team(scorecard(with_campaigns, tag_frame, as_of, "campaign"), top)
    except IcploopError as exc:
        out["by_campaign"] = None
        out["by_campaign_unavailable"] = exc.message
    out["experiments"] = []
    if list_experiments(session):
        try:
            deals = deal_frame(backend, DEALS_FROM, as_of)
        except IcploopError as exc:
            out["experiments_unavailable"] = exc.message
        else:
            out["experiments"] = measure_all(
                session, accounts, deals, tags_in_force(tag_frame, as_of, tag_day), as_of
            )
    return out
