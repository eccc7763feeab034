"""NRR and GRR by the cohort method, logo churn, quick ratio and MRR flow rates, by period and group.

Every number is aggregated in the engine (one Ibis expression per part) and only one row per period
and group reaches Python, where ratios are taken. See ``docs/metrics.md`` for the definitions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import ibis
import ibis.expr.types as ir
import pandas as pd

from icploop.metrics.calendar import PERIOD_MONTHS, Period, date_of, index_of
from icploop.metrics.movements import (
    DEFAULT_SETTINGS,
    MOVEMENT_COLUMNS,
    MovementSettings,
    movements,
    paying_months,
)
from icploop.metrics.tables import CanonicalTables, account_dimensions

MIN_GROUP = 30

RETENTION_COLUMNS = (
    "period", "period_end", "n_accounts", "mrr_base", "mrr_retained", "mrr_retained_capped",
    "nrr", "grr", "logo_start", "logo_churned", "logo_churn_rate", "mrr_start", "mrr_end",
    *MOVEMENT_COLUMNS, "quick_ratio", "gross_mrr_churn_rate", "net_mrr_churn_rate",
)  # fmt: skip


@dataclass(frozen=True)
class RetentionResult:
    """Retention per period (and group). ``frame`` has one row per period and group.

    Columns: ``period`` (label: ``2024-03``, ``2024Q1``, ``2024``), ``period_end`` (date of the
    period's last month, capped at as_of), the ``by`` dimensions, ``n_accounts`` (accounts paying
    12 months before period_end: the NRR/GRR base), ``mrr_base`` / ``mrr_retained`` /
    ``mrr_retained_capped`` (currency units), ``nrr`` and ``grr`` (fractions, NaN without a
    base), ``logo_start`` (accounts paying in the month before the period), ``logo_churned``,
    ``logo_churn_rate``, ``mrr_start`` / ``mrr_end`` (total MRR before and at the end of the
    period), the movement sums ``new`` .. ``fx`` (currency units), ``quick_ratio`` (NaN without
    losses), ``gross_mrr_churn_rate`` and ``net_mrr_churn_rate`` (flow rates over the period,
    labelled separately from cohort NRR/GRR), ``small_group`` (n_accounts < min_group).
    """

    frame: pd.DataFrame
    as_of: dt.date
    period: Period
    by: tuple[str, ...]
    settings: MovementSettings
    caveats: tuple[str, ...] = field(default=())


def _cents(x: ir.NumericValue) -> ir.FloatingValue:
    return x.cast("float64") / 100


def _nrr_part(
    pos: ir.Table, dims: Sequence[str], as_of_m: int, start_m: int, size: int
) -> ir.Table:
    """Per period end month M and group: the cohort C(M-12) and its MRR then and at M."""
    base = pos.mutate(end_m=pos.m + 12)
    base = base.filter(
        (base.end_m <= as_of_m)
        & (base.end_m >= start_m)
        & ((base.end_m % size == size - 1) | (base.end_m == as_of_m))
    )
    later = pos.filter(pos.m >= start_m)
    later = later.select(l_account=later.account_id, l_m=later.m, l_cents=later.cents)
    j = base.left_join(later, [base.account_id == later.l_account, base.end_m == later.l_m])
    cur = j.l_cents.fill_null(0)
    return j.group_by(["end_m", *dims]).agg(
        n_accounts=j.account_id.count(),
        mrr_base=_cents(j.cents.sum()),
        mrr_retained=_cents(cur.sum()),
        mrr_retained_capped=_cents(ibis.least(cur, j.cents).sum()),
    )


def _flow_part(
    mv: ir.Table, dims: Sequence[str], as_of_m: int, start_m: int, size: int
) -> ir.Table:
    """Per period and group: movement sums, MRR at the edges and logo churn."""
    mv = mv.filter((mv.m >= start_m - (start_m % size)) & (mv.m <= as_of_m))
    mv = mv.mutate(pidx=mv.m // size)
    first = mv.m == mv.pidx * size
    active_start = first & (mv.mrr_start > 0)
    sums = {c: _cents(mv[c].sum()) for c in MOVEMENT_COLUMNS}
    edge = {
        "mrr_start": _cents(ibis.ifelse(first, mv.mrr_start, 0).sum()),
        "mrr_end": _cents(
            ibis.ifelse(
                (mv.m == mv.pidx * size + size - 1) | (mv.m == as_of_m), mv.mrr_end, 0
            ).sum()
        ),
    }
    if size == 1:
        return mv.group_by(["pidx", *dims]).agg(
            logo_start=active_start.sum(), logo_churned=(mv.churn > 0).sum(), **sums, **edge
        )
    # a logo counts once per period: paying at the start, and churned at least once inside it
    per_acc = mv.group_by(["pidx", "account_id", *dims]).agg(
        was_active=active_start.max(), churned=(mv.churn > 0).max(), **sums, **edge
    )
    agg = {c: per_acc[c].sum() for c in [*MOVEMENT_COLUMNS, "mrr_start", "mrr_end"]}
    return per_acc.group_by(["pidx", *dims]).agg(
        logo_start=per_acc.was_active.sum(),
        logo_churned=(per_acc.was_active & per_acc.churned).sum(),
        **agg,
    )


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    den = den.astype("float64")
    return (num.astype("float64") / den.where(den != 0)).astype("float64")


def retention(
    tables: CanonicalTables,
    as_of: dt.date,
    *,
    by: Sequence[str] = (),
    period: Period = "month",
    start: dt.date | None = None,
    settings: MovementSettings = DEFAULT_SETTINGS,
    min_group: int = MIN_GROUP,
) -> RetentionResult:
    """NRR, GRR, logo churn, quick ratio and flow rates per period from ``start`` to ``as_of``.

    ``by`` names up to a few account dimensions (see
    :func:`~icploop.metrics.tables.account_dimensions`); two give their crossing. ``start``
    defaults to the first MRR month. Groups carry their sizes; groups under ``min_group`` accounts
    are flagged ``small_group`` and listed in ``caveats`` for the latest period.
    """
    dims = list(by)
    as_of_m = index_of(as_of)
    size = PERIOD_MONTHS[period]
    mrr = tables.mrr_monthly
    if start is None:
        first = mrr.aggregate(m=mrr.month.min()).to_pyarrow().column("m")[0].as_py()
        start = first or as_of
    start_m = index_of(start)
    pos = paying_months(mrr, as_of, settings)
    # flows need only the periods reported (and the history that tells new from reactivation)
    mv = movements(mrr, as_of, settings, from_month=date_of(start_m - start_m % size))
    if dims:
        dim_t = account_dimensions(tables, dims)
        pos = pos.join(dim_t, "account_id")
        mv = mv.join(dim_t, "account_id")
    nrr = _nrr_part(pos, dims, as_of_m, start_m, size).to_pandas()
    nrr["pidx"] = nrr.pop("end_m") // size
    flows = _flow_part(mv, dims, as_of_m, start_m, size).to_pandas()
    frame = flows.merge(nrr, on=["pidx", *dims], how="outer")
    frame = frame[frame.pidx * size + size - 1 >= start_m]
    frame = _finish(frame, dims, period, size, as_of_m, min_group)
    return RetentionResult(
        frame=frame,
        as_of=as_of,
        period=period,
        by=tuple(dims),
        settings=settings,
        caveats=_caveats(frame, dims, min_group),
    )


def _finish(
    frame: pd.DataFrame, dims: list[str], period: Period, size: int, as_of_m: int, min_group: int
) -> pd.DataFrame:
    frame = frame.sort_values(["pidx", *dims]).reset_index(drop=True)
    for col in ("n_accounts", "logo_start", "logo_churned"):
        frame[col] = frame[col].fillna(0).astype("int64")
    money = ["mrr_base", "mrr_retained", "mrr_retained_capped", "mrr_start", "mrr_end"]
    for col in [*money, *MOVEMENT_COLUMNS]:
        frame[col] = frame[col].astype("float64").fillna(0.0)
    frame["period"] = [_label(int(p), period) for p in frame.pidx]
    frame["period_end"] = [date_of(min(int(p) * size + size - 1, as_of_m)) for p in frame.pidx]
    frame["nrr"] = _ratio(frame.mrr_retained, frame.mrr_base)
    frame["grr"] = _ratio(frame.mrr_retained_capped, frame.mrr_base)
    frame["logo_churn_rate"] = _ratio(frame.logo_churned, frame.logo_start)
    gains = frame.new + frame.expansion + frame.reactivation
    losses = frame.contraction + frame.churn
    frame["quick_ratio"] = _ratio(gains, losses)
    frame["gross_mrr_churn_rate"] = _ratio(losses, frame.mrr_start)
    frame["net_mrr_churn_rate"] = _ratio(
        losses - frame.expansion - frame.reactivation, frame.mrr_start
    )
    frame["small_group"] = frame.n_accounts < min_group
    return frame[["period", "period_end", *dims, *RETENTION_COLUMNS[2:], "small_group"]]


def _label(p: int, period: Period) -> str:
    if period == "year":
        return str(p)
    if period == "quarter":
        return f"{p // 4}Q{p % 4 + 1}"
    return f"{p // 12}-{p % 12 + 1:02d}"


def _caveats(frame: pd.DataFrame, dims: list[str], min_group: int) -> tuple[str, ...]:
    if frame.empty:
        return ("no paying accounts up to the as-of month",)
    latest = frame[frame.period == frame.period.iloc[-1]]
    out = []
    for row in latest.itertuples(index=False):
        n = int(row.n_accounts)
        if n < min_group:
            where = ", ".join(f"{d}={getattr(row, d)}" for d in dims) or "all accounts"
            out.append(f"{where}: NRR/GRR for {row.period} rest on {n} accounts (< {min_group})")
    return tuple(out)
