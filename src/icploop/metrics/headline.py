"""The headline numbers of one month: MRR, NRR, GRR, logo churn and quick ratio."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

from icploop.formatting import finite
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings
from icploop.metrics.retention import retention
from icploop.metrics.tables import CanonicalTables


@dataclass(frozen=True)
class Headline:
    """Headline metrics of the as-of month (ratios as fractions; None when undefined).

    ``mrr`` and ``mrr_start`` in the reporting currency; ``active_accounts`` paying in the month;
    ``nrr``/``grr`` over ``nrr_accounts`` accounts paying 12 months earlier (``mrr_base``);
    ``logo_churn_rate`` = ``logo_churned`` / ``logo_start`` for the month; ``quick_ratio`` of the
    month's movements; ``net_mrr_churn_rate`` and ``gross_mrr_churn_rate`` are monthly flow rates.
    """

    as_of: dt.date
    mrr: float
    mrr_start: float
    active_accounts: int
    nrr: float | None
    grr: float | None
    nrr_accounts: int
    mrr_base: float
    logo_churn_rate: float | None
    logo_start: int
    logo_churned: int
    quick_ratio: float | None
    gross_mrr_churn_rate: float | None
    net_mrr_churn_rate: float | None

    def to_dict(self) -> dict[str, object]:
        """Plain values for JSON (dates as ISO text)."""
        out = asdict(self)
        out["as_of"] = self.as_of.isoformat()
        return out


def headline(
    tables: CanonicalTables, as_of: dt.date, settings: MovementSettings = DEFAULT_SETTINGS
) -> Headline:
    """Headline metrics for the month of ``as_of`` (any day of the month selects it)."""
    month = as_of.replace(day=1)
    res = retention(tables, month, start=month, settings=settings)
    frame = res.frame
    if frame.empty:
        return Headline(month, 0.0, 0.0, 0, None, None, 0, 0.0, None, 0, 0, None, None, None)
    row = frame.iloc[-1]
    pos = tables.mrr_monthly
    from icploop.ingest.paying import paying_months

    paying = paying_months(pos, month, settings)
    active = int(
        paying.filter(paying.m == month.year * 12 + month.month - 1).count().to_pyarrow().as_py()
    )
    return Headline(
        as_of=month,
        mrr=float(row.mrr_end),
        mrr_start=float(row.mrr_start),
        active_accounts=active,
        nrr=finite(row.nrr),
        grr=finite(row.grr),
        nrr_accounts=int(row.n_accounts),
        mrr_base=float(row.mrr_base),
        logo_churn_rate=finite(row.logo_churn_rate),
        logo_start=int(row.logo_start),
        logo_churned=int(row.logo_churned),
        quick_ratio=finite(row.quick_ratio),
        gross_mrr_churn_rate=finite(row.gross_mrr_churn_rate),
        net_mrr_churn_rate=finite(row.net_mrr_churn_rate),
    )
