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

from icploop.ingest.paying import (
    DEFAULT_SETTINGS,
    MovementSettings,
    index_of,
    paying_months,
    with_neighbours,
)
from icploop.metrics.calendar import PERIOD_MONTHS, Period, date_of, period_label
from icploop.metrics.facts import as_of_view, stored_facts
from icploop.metrics.movements import MOVEMENT_COLUMNS, movements
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


def _monthly_facts(
    tables: CanonicalTables,
    pos: ir.Table,
    dims: Sequence[str],
    as_of_m: int,
    start_m: int,
    size: int,
    stored: ir.Table | None = None,
) -> ir.Table:
    """Per month m and group: everything the periods need, from ONE pass over the rows.

    With ``stored`` account months (see :mod:`icploop.metrics.facts`) that pass is a plain
    aggregation: the neighbours are in the rows, and "paid through the k months before" is the
    month's paying run having started by then. Without them, one window (each account's paying
    months in order) gives the month before (movements),
    the next paying month (churn), the paying month ``size`` / ``k`` rows back (did the account
    pay through a whole period) and MRR twelve months later (NRR of the cohort of month m).
    A sort per account beats the three self-joins on (account_id, month) this replaces: the
    text key is hashed and compared once instead of three times over every row, and only
    about 50 rows per group leave the engine. Columns, per (m, dims):

    ``n_pay`` / ``cents`` accounts paying and their MRR at m; ``new`` .. ``fx`` movements of m;
    ``n_end`` / ``churn_next`` accounts churning at m + 1 and their MRR at m; ``retained`` /
    ``capped`` MRR at m + 12 of the accounts paying at m (plain and capped at their MRR at m);
    ``n_full`` / ``n_part`` accounts paying at m and in every month of the ``size`` (or, for
    the as-of period, ``as_of - period start + 1``) months before.
    """
    zero = ibis.literal(0, "int64")
    part_k = as_of_m - (as_of_m - as_of_m % size) + 1
    if stored is not None:
        p = as_of_view(stored, as_of_m)

        def paid_through(q: ir.Table, k: int) -> ir.BooleanValue:
            # paying in each of the k months before: the month's paying run began by then
            return q.run_start <= q.m - k
    else:
        w = ibis.window(group_by=pos.account_id, order_by=pos.m)
        # one window function per distinct lag: the engine evaluates a repeated one again
        lags = {k: pos.m.lag(k).over(w) for k in sorted({size, part_k} - {1})}
        p = with_neighbours(pos).mutate(**{_lag_column(k): lag for k, lag in lags.items()})

        def paid_through(q: ir.Table, k: int) -> ir.BooleanValue:
            # the paying month k rows back is k months back: no month in between was missed
            return (q[_lag_column(k)] == q.m - k).fill_null(False)

    # rows older than the first period start - 13 feed no reported number (lags are taken above)
    lo = start_m - start_m % size - 13
    p = p.filter(p.m >= lo)
    if dims:
        p = p.join(account_dimensions(tables, dims), "account_id")
    contiguous = (p.pm == p.m - 1).fill_null(False)
    start = ibis.ifelse(contiguous, p.pc, zero)
    fx_ok = contiguous & (p.pccy == p.currency).fill_null(False)
    fx_ok = fx_ok & p.rate.notnull() & p.prate.notnull()
    fx = ibis.ifelse(fx_ok, (p.cents - p.cents.cast("float64") * p.prate / p.rate).round(), 0)
    p = p.mutate(fx=fx.cast("int64"), start=start, contiguous=contiguous)
    biz = p.cents - p.start - p.fx
    ends = ((p.nm.isnull() & (p.m < as_of_m)) | (p.nm > p.m + 1)).fill_null(False)
    later = p.c12.fill_null(0)
    return p.group_by(["m", *dims]).agg(
        n_pay=p.count(),
        cents=p.cents.sum(),
        new=ibis.ifelse(p.pm.isnull(), p.cents, zero).sum(),
        reactivation=ibis.ifelse(p.pm.notnull() & ~p.contiguous, p.cents, zero).sum(),
        expansion=ibis.ifelse(p.contiguous & (biz > 0), biz, zero).sum(),
        contraction=ibis.ifelse(p.contiguous & (biz < 0), -biz, zero).sum(),
        fx=p.fx.sum(),
        n_end=ends.sum(),
        churn_next=ibis.ifelse(ends, p.cents, zero).sum(),
        retained=later.sum(),
        capped=ibis.least(later, p.cents).sum(),
        n_full=paid_through(p, size).sum(),
        n_part=paid_through(p, part_k).sum(),
    )


def _lag_column(k: int) -> str:
    return "pm" if k == 1 else f"m_lag{k}"


def _one_month_facts(
    tables: CanonicalTables,
    pos: ir.Table,
    dims: Sequence[str],
    as_of_m: int,
    stored: ir.Table | None = None,
) -> pd.DataFrame:
    """The monthly facts of months M - 12, M - 1 and M (M = as-of month) by one GROUP BY.

    Retention of the as-of month alone needs per account only its MRR (and rate, currency) in
    those three months and its first paying month, so one hash aggregation per account over
    the rows (conditional sums by month) replaces the sort and the self-joins; the group-by on
    dimensions then runs over one row per account. Same columns as :func:`_monthly_facts`.
    """
    zero = ibis.literal(0, "int64")
    prev_m, base_m = as_of_m - 1, as_of_m - 12
    if stored is not None:
        # the three months' rows alone, each knowing its account's first month
        pos = stored.filter(stored.m.isin([as_of_m, prev_m, base_m]))
        first_m = pos.first_m.min()
    else:
        first_m = pos.m.min()

    def at(month: int, col: ir.Column) -> ir.Value:
        return ibis.ifelse(pos.m == month, col, ibis.null(col.type()))

    acc = pos.group_by("account_id").agg(
        first_m=first_m,
        cur=at(as_of_m, pos.cents).max(),
        rate=at(as_of_m, pos.rate).max(),
        ccy=at(as_of_m, pos.currency).max(),
        pc=at(prev_m, pos.cents).max(),
        prate=at(prev_m, pos.rate).max(),
        pccy=at(prev_m, pos.currency).max(),
        base=at(base_m, pos.cents).max(),
    )
    # accounts paying in none of the three months add nothing to any number of the month
    acc = acc.filter(acc.cur.notnull() | acc.pc.notnull() | acc.base.notnull())
    if dims:
        acc = acc.join(account_dimensions(tables, dims), "account_id")
    cur, pc, base = acc.cur.fill_null(0), acc.pc.fill_null(0), acc.base.fill_null(0)
    both = (cur > 0) & (pc > 0)
    fx_ok = both & (acc.pccy == acc.ccy).fill_null(False)
    fx_ok = fx_ok & acc.rate.notnull() & acc.prate.notnull()
    fx = ibis.ifelse(fx_ok, (cur - cur.cast("float64") * acc.prate / acc.rate).round(), 0)
    acc = acc.mutate(fx=fx.cast("int64"), cur0=cur, pc0=pc, base0=base, both=both)
    biz = acc.cur0 - acc.pc0 - acc.fx
    arriving = (acc.cur0 > 0) & (acc.pc0 == 0)
    agg = (
        (acc.group_by(list(dims)) if dims else acc)
        .aggregate(
            n_cur=(acc.cur0 > 0).sum(),
            c_cur=acc.cur0.sum(),
            new=ibis.ifelse(arriving & (acc.first_m == as_of_m), acc.cur0, zero).sum(),
            reactivation=ibis.ifelse(arriving & (acc.first_m < as_of_m), acc.cur0, zero).sum(),
            expansion=ibis.ifelse(acc.both & (biz > 0), biz, zero).sum(),
            contraction=ibis.ifelse(acc.both & (biz < 0), -biz, zero).sum(),
            fx=acc.fx.sum(),
            n_full=acc.both.sum(),
            n_prev=(acc.pc0 > 0).sum(),
            c_prev=acc.pc0.sum(),
            n_end=((acc.pc0 > 0) & (acc.cur0 == 0)).sum(),
            churn_next=ibis.ifelse(acc.cur0 == 0, acc.pc0, zero).sum(),
            n_base=(acc.base0 > 0).sum(),
            c_base=acc.base0.sum(),
            retained=ibis.ifelse(acc.base0 > 0, acc.cur0, zero).sum(),
            capped=ibis.ifelse(acc.base0 > 0, ibis.least(acc.cur0, acc.base0), zero).sum(),
        )
        .to_pandas()
    )
    for col in agg.columns:
        if col not in dims:  # all-null sums (no rows in a month) come back as objects
            agg[col] = pd.to_numeric(agg[col]).fillna(0)
    cols = ["n_pay", "cents", *MOVEMENT_COLUMNS[:4], "fx", "n_end", "churn_next"]
    cols += ["retained", "capped", "n_full", "n_part"]
    parts = []
    for month, values in (
        (as_of_m, {"n_pay": "n_cur", "cents": "c_cur", "new": "new", "fx": "fx",
                   "reactivation": "reactivation", "expansion": "expansion",
                   "contraction": "contraction", "n_full": "n_full", "n_part": "n_full"}),
        (prev_m, {"n_pay": "n_prev", "cents": "c_prev", "n_end": "n_end",
                  "churn_next": "churn_next"}),
        (base_m, {"n_pay": "n_base", "cents": "c_base", "retained": "retained",
                  "capped": "capped"}),
    ):  # fmt: skip
        part = agg[list(dims)].copy()
        part.insert(0, "m", month)
        for col in cols:
            part[col] = agg[values[col]] if col in values else 0
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def _periods_from_facts(
    facts: pd.DataFrame, dims: list[str], as_of_m: int, start_m: int, size: int
) -> pd.DataFrame:
    """Periods x groups from the monthly facts, with the columns ``_finish`` expects.

    A period's flows are the sums of its months (churn of month m is ``churn_next`` of m - 1),
    MRR at its start is MRR in the month before it, logo churn is the accounts paying then
    less those paying through every month of the period, and NRR/GRR at its end month M come
    from the cohort paying at M - 12. A group is listed for a period when it has a movement
    row in it (paying or churning) or an NRR base, as the movement rows themselves would give.
    """
    keys = ["m", *dims]
    value_cols = [c for c in facts.columns if c not in keys]
    facts = facts.set_index(keys)[value_cols].fillna(0).astype("int64")
    first_p = (start_m - start_m % size) // size
    last_p = as_of_m // size
    rows = []
    for pidx in range(first_p, last_p + 1):
        s = pidx * size
        e = min(s + size - 1, as_of_m)
        k = e - s + 1

        def months(lo: int, hi: int, f: pd.DataFrame = facts) -> pd.DataFrame:
            got = f[(f.index.get_level_values("m") >= lo) & (f.index.get_level_values("m") <= hi)]
            if dims:
                return got.groupby(level=dims).sum()
            return got.sum().to_frame().T.assign(_all=0).set_index("_all")

        inside = months(s, e)
        before = months(s - 1, s - 1)
        at_end = months(e, e)
        churned = months(s - 1, e - 1)
        base = months(e - 12, e - 12)
        flows = pd.DataFrame(
            {
                **{c: inside[c] for c in ("new", "reactivation", "expansion", "contraction")},
                "fx": inside["fx"],
            }
        )
        flows = flows.join(churned["churn_next"].rename("churn"), how="outer")
        present = (inside.n_pay > 0).reindex(flows.index, fill_value=False) | (
            churned.n_end > 0
        ).reindex(flows.index, fill_value=False)
        flows = flows[present]
        survived = at_end["n_full" if k == size else "n_part"]
        flows["logo_start"] = before.n_pay.reindex(flows.index, fill_value=0)
        flows["logo_churned"] = flows.logo_start - survived.reindex(flows.index, fill_value=0)
        flows["mrr_start"] = before.cents.reindex(flows.index, fill_value=0)
        flows["mrr_end"] = at_end.cents.reindex(flows.index, fill_value=0)
        part = flows.fillna(0)
        if e >= start_m and e - 12 >= 0:
            nrr = base[base.n_pay > 0]
            nrr = pd.DataFrame(
                {
                    "n_accounts": nrr.n_pay,
                    "mrr_base": nrr.cents,
                    "mrr_retained": nrr.retained,
                    "mrr_retained_capped": nrr.capped,
                }
            )
            part = part.join(nrr, how="outer")
        part = part.reset_index()
        part["pidx"] = pidx
        rows.append(part)
    money = [*MOVEMENT_COLUMNS, "mrr_start", "mrr_end", "mrr_base", "mrr_retained"]
    money.append("mrr_retained_capped")
    cols = ["pidx", *dims, "logo_start", "logo_churned", "n_accounts", *money]
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)
    frame = frame.drop(columns=[c for c in ("_all", "index") if c in frame.columns])
    for col in cols:
        if col not in frame.columns:
            frame[col] = float("nan")
    for col in money:
        # sums of integer cents are exact; convert once at the end, as the engine would
        frame[col] = frame[col].astype("float64") / 100
    return frame[cols]


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
    stored = stored_facts(tables, settings)
    if settings.net_returns_within_days is None and size == 1 and start_m >= as_of_m:
        # one month only (headline, breakdowns of the latest month): no sort at all
        facts = _one_month_facts(tables, pos, dims, as_of_m, stored)
        frame = _periods_from_facts(facts, dims, as_of_m, start_m, size)
    elif settings.net_returns_within_days is None:
        monthly = _monthly_facts(tables, pos, dims, as_of_m, start_m, size, stored)
        frame = _periods_from_facts(monthly.to_pandas(), dims, as_of_m, start_m, size)
    else:
        # netted lapses change which rows are churn: go through the movement rows themselves
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
    frame["period"] = [period_label(int(p), period) for p in frame.pidx]
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
