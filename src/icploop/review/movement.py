"""The pack's MRR bridge over the last four quarters and the stability of champions at close."""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis

from icploop.fit.signals import CHAMPION_CHECK_DAYS, FitInputs, champion_status, first_close_dates
from icploop.flags.run import fit_inputs
from icploop.metrics.bridge import mrr_bridge, start_of_last
from icploop.metrics.tables import CanonicalTables

BRIDGE_QUARTERS = 4


def quarter_bridge(tables: CanonicalTables, as_of: dt.date) -> dict[str, Any]:
    """The MRR bridge per quarter for the last :data:`BRIDGE_QUARTERS` quarters up to ``as_of``."""
    start = start_of_last(as_of, "quarter", BRIDGE_QUARTERS)
    return mrr_bridge(tables, as_of, period="quarter", start=start).to_dict()


def champion_stability(inputs: FitInputs, as_of: dt.date) -> dict[str, Any]:
    """Of the accounts closed at least N days before ``as_of`` with a champion at close, how many
    still have every champion of the close in the same role N days later, for each N of
    :data:`CHAMPION_CHECK_DAYS` (``share`` None where no account reached the day)."""
    closes = first_close_dates(inputs.deals)
    due = closes.filter(closes.close_date <= ibis.literal(as_of)).mutate(
        tag_day=ibis.literal(as_of)
    )
    frame = champion_status(inputs, due, as_of)
    rows = []
    for days in CHAMPION_CHECK_DAYS:
        seen = frame[frame[f"champion_in_place_{days}d"].notna()]
        kept = int((seen[f"champion_in_place_{days}d"] >= seen["champions"]).sum())
        n = len(seen)
        rows.append(
            {"days": days, "accounts": n, "in_place": kept, "share": kept / n if n else None}
        )
    return {"as_of": as_of.isoformat(), "horizons": rows}


def movement_evidence(backend: Any, tables: CanonicalTables, as_of: dt.date) -> dict[str, Any]:
    """The pack's ``mrr_bridge`` and ``champion_stability``."""
    return {
        "mrr_bridge": quarter_bridge(tables, as_of),
        "champion_stability": champion_stability(fit_inputs(backend), as_of),
    }
