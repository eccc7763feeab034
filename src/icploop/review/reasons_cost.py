"""The pack's section on why customers left and what they cost to serve.

Both analyses need tables a company may not have loaded (tickets, notes, costs); a missing or
unusable table leaves its half of the section empty with the reason, not the whole pack unbuilt.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from icploop.cost.profitability import cost_to_serve
from icploop.errors import IcploopError
from icploop.metrics.tables import CanonicalTables
from icploop.reasons.evidence import ReasonTables
from icploop.reasons.report import reasons_section
from icploop.warehouse import Warehouse

PACK_REASONS = 8
PACK_MOVES = 10


def reasons_and_cost(
    backend: Any, tables: CanonicalTables, as_of: dt.date, window_months: int = 12
) -> dict[str, Any]:
    """``reasons`` (Pareto, the "support causes churn" check, returning objections) and
    ``cost`` (tiers and recommended tier moves) over the ``window_months`` to ``as_of``; each is
    None with ``*_unavailable`` saying why when its data is missing."""
    out: dict[str, Any] = {"window_months": window_months, "reasons": None, "cost": None}
    try:
        out["reasons"] = reasons_section(
            ReasonTables.from_backend(backend), as_of, window_months, top=PACK_REASONS
        )
    except IcploopError as exc:
        out["reasons_unavailable"] = exc.message
    costs = Warehouse(backend).optional("costs")
    if costs is None:
        out["cost_unavailable"] = "no costs table is loaded"
        return out
    try:
        cost = cost_to_serve(tables, costs, as_of).to_dict(top=PACK_MOVES)
    except IcploopError as exc:
        out["cost_unavailable"] = exc.message
        return out
    cost["tiers"] = [t for t in cost["tiers"] if t["segment"] == "all"]
    out["cost"] = cost
    return out
