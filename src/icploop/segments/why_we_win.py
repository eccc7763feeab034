"""Why we win: win rate by segment and use case beside the same segments' retention, and how
concentrated the best customers are on one use case. See ``docs/statistics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from scipy import stats as sps

from icploop.errors import IcploopError
from icploop.ingest.attributes import frame_catalog
from icploop.segments.compare import as_frame, check_columns, won_dependent
from icploop.segments.stats import wilson_interval


@dataclass(frozen=True)
class UseCaseConcentration:
    """Among the top-LTV accounts, the share using the most common use case, against that use
    case's share of all accounts (Wilson intervals; exact binomial test of top share = overall)."""

    use_case: str
    top_accounts: int
    top_using: int
    top_share: float
    top_share_lo: float
    top_share_hi: float
    overall_accounts: int
    overall_using: int
    overall_share: float
    p_value: float
    sentence: str


@dataclass(frozen=True)
class WhyWeWin:
    """``table``: one row per attribute value (attribute, value, won, lost, win_rate, win_lo,
    win_hi, accounts_full_year, retention, retention_lo, retention_hi), by win rate within each
    attribute. ``concentration``: use-case concentration among the best customers.
    ``use_cases``: use cases ranked by retention and expansion (see :func:`use_case_ranking`)."""

    table: pd.DataFrame
    concentration: UseCaseConcentration | None
    level: float
    use_cases: pd.DataFrame | None = None

    @property
    def use_case_sentence(self) -> str:
        """The use case that retains and grows most, in words ("" without a ranking)."""
        if self.use_cases is None or self.use_cases.empty:
            return ""
        return str(self.use_cases.iloc[0]["sentence"])


def use_case_ranking(accounts: pd.DataFrame | ir.Table, *, min_accounts: int = 30) -> pd.DataFrame:
    """Use cases ranked by how their customers retain and expand, best first.

    Per use case with at least ``min_accounts`` accounts that have a full year of history:
    ``accounts_full_year``, ``first_year_churn`` (rate), ``churn_ratio`` (that rate over the
    rate of all accounts), ``nrr_12m`` (first-year NRR: MRR 12 months after start over MRR at
    start, summed over those accounts: retention and expansion in one number; NaN without
    ``start_mrr`` and ``nrr_12m``) and a ``sentence``. First-year NRR is not the cohort NRR of
    ``icploop metrics`` (MRR now over MRR 12 months ago of the accounts paying then, whatever
    their tenure), which also counts the expansion of older accounts. Ranked by NRR, then by the lower churn; without NRR by
    churn alone. Empty without ``use_case`` and ``first_year_churn``.
    """
    frame = as_frame(accounts)
    if not {"use_case", "first_year_churn"} <= set(frame.columns):
        return pd.DataFrame()
    churn = pd.to_numeric(frame["first_year_churn"], errors="coerce")
    full = churn.notna()
    has_nrr = {"start_mrr", "nrr_12m"} <= set(frame.columns)
    start = pd.to_numeric(frame.get("start_mrr"), errors="coerce") if has_nrr else None
    later = start * pd.to_numeric(frame["nrr_12m"], errors="coerce") if has_nrr else None
    use = frame["use_case"].astype("string")

    def nrr(mask: pd.Series) -> float:
        if start is None or later is None:
            return float("nan")
        ok = mask & full & later.notna()
        base = float(start[ok].sum())
        return float(later[ok].sum()) / base if base else float("nan")

    base_churn = float(churn[full].mean()) if full.any() else float("nan")
    base_nrr = nrr(pd.Series(True, index=frame.index))
    rows = []
    for case in use.dropna().unique():
        m = (use == case).fillna(False)
        n = int((m & full).sum())
        if n < min_accounts:
            continue
        rate = float(churn[m & full].mean())
        rows.append(
            {
                "use_case": str(case),
                "accounts_full_year": n,
                "first_year_churn": rate,
                "churn_ratio": rate / base_churn if base_churn else float("nan"),
                "nrr_12m": nrr(m),
            }
        )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    table = table.sort_values(
        ["nrr_12m", "first_year_churn"], ascending=[False, True], na_position="last"
    ).reset_index(drop=True)
    table["sentence"] = [
        f"{r.use_case}: first-year churn {100 * r.first_year_churn:.0f}% "
        f"({r.churn_ratio:.1f}x the {100 * base_churn:.0f}% of all accounts)"
        + (
            f", first-year NRR {100 * r.nrr_12m:.0f}% against {100 * base_nrr:.0f}% overall"
            if np.isfinite(r.nrr_12m) and np.isfinite(base_nrr)
            else ""
        )
        + f" ({r.accounts_full_year:,} accounts with a full year)"
        for r in table.itertuples(index=False)
    ]
    return table


def win_rate_table(
    deals: pd.DataFrame | ir.Table,
    accounts: pd.DataFrame | ir.Table | None = None,
    attributes: Sequence[str] | None = None,
    *,
    min_deals: int = 30,
    level: float = 0.95,
) -> pd.DataFrame:
    """Win rate = won / (won + lost) per attribute value of ``deals`` (open deals ignored), with
    Wilson intervals, beside first-year retention (1 - ``first_year_churn``, accounts with a full
    year only) of ``accounts`` with the same value. Values with fewer than ``min_deals`` decided
    deals are left out; retention is NaN where no account has a full year. ``attributes``
    default to the catalogue's dimensions that describe the customer; attributes recorded only
    for won (or only for lost) deals are left out, as their win rate is circular."""
    d = as_frame(deals)
    if attributes is None:
        attributes = frame_catalog(d).customer_dimensions()
    attrs = [a for a in attributes if a in d.columns]
    check_columns(d, ["outcome"], "deals")
    attrs = [a for a in attrs if a not in won_dependent(d, attrs)]
    if not attrs:
        raise IcploopError("deals have none of the attributes", "join account attributes first")
    check_columns(d, ["outcome"], "deals")
    outcome = d["outcome"].astype("string").str.lower()
    won = (outcome == "won").fillna(False).to_numpy(bool)
    decided = outcome.isin(["won", "lost"]).fillna(False).to_numpy(bool)
    acc = as_frame(accounts) if accounts is not None else None
    if acc is not None:
        check_columns(acc, ["first_year_churn"], "accounts")
    rows = []
    for a in attrs:
        text = d[a].astype("string")
        for value in text.dropna().unique():
            m = (text == value).fillna(False).to_numpy(bool) & decided
            n = int(m.sum())
            if n < min_deals:
                continue
            k = int(won[m].sum())
            row: dict[str, object] = {
                "attribute": a,
                "value": str(value),
                "won": k,
                "lost": n - k,
                "win_rate": k / n,
            }
            lo, hi = wilson_interval(k, n, level)
            row["win_lo"], row["win_hi"] = float(lo), float(hi)
            row.update(_retention(acc, a, str(value), level))
            rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    return table.sort_values(["attribute", "win_rate"], ascending=[True, False]).reset_index(
        drop=True
    )


def _retention(
    acc: pd.DataFrame | None, attribute: str, value: str, level: float
) -> dict[str, float]:
    out: dict[str, float] = {"accounts_full_year": 0, "retention": np.nan}
    out["retention_lo"] = np.nan
    out["retention_hi"] = np.nan
    if acc is None or attribute not in acc.columns:
        return out
    churn = pd.to_numeric(acc["first_year_churn"], errors="coerce")
    m = (acc[attribute].astype("string") == value).fillna(False) & churn.notna()
    n = int(m.sum())
    if n == 0:
        return out
    kept = int(n - churn[m].sum())
    lo, hi = wilson_interval(kept, n, level)
    return {
        "accounts_full_year": n,
        "retention": kept / n,
        "retention_lo": float(lo),
        "retention_hi": float(hi),
    }


def use_case_concentration(
    accounts: pd.DataFrame | ir.Table,
    *,
    top_share: float = 0.1,
    top_n: int | None = None,
    level: float = 0.95,
    use_case: str | None = None,
) -> UseCaseConcentration | None:
    """Among the top-LTV accounts (the top ``top_share`` of accounts with an LTV, or the
    ``top_n`` highest), how many use ``use_case`` (default: their most common use case),
    against its share overall.

    Ties at the LTV cut are broken by order in the frame. Returns None when no account has both
    an LTV and a use case.
    """
    frame = as_frame(accounts, ["ltv", "use_case"])
    check_columns(frame, ["ltv", "use_case"], "accounts")
    ltv = pd.to_numeric(frame["ltv"], errors="coerce")
    use = frame["use_case"].astype("string")
    ok = ltv.notna() & use.notna()
    ltv, use = ltv[ok], use[ok]
    if ltv.empty:
        return None
    n_top = top_n if top_n is not None else max(1, int(np.ceil(top_share * len(ltv))))
    n_top = min(n_top, len(ltv))
    top = use.iloc[np.argsort(-ltv.to_numpy(float), kind="stable")[:n_top]]
    case = str(top.value_counts().index[0]) if use_case is None else use_case
    k = int((top == case).sum())
    overall_k = int((use == case).sum())
    overall = overall_k / len(use)
    lo, hi = wilson_interval(k, n_top, level)
    p = float(sps.binomtest(k, n_top, overall).pvalue) if 0 < overall < 1 else 1.0
    which = (
        f"one use case: {case}"
        if use_case is None
        else f"{case}, the use case that retains and grows most"
    )
    sentence = (
        f"{k} of {n_top} top-LTV accounts use {which} "
        f"({100 * k / n_top:.0f}%, {100 * level:.0f}% CI {100 * float(lo):.0f}-"
        f"{100 * float(hi):.0f}%), against {100 * overall:.0f}% of all {len(use):,} accounts"
    )
    return UseCaseConcentration(
        use_case=case,
        top_accounts=n_top,
        top_using=k,
        top_share=k / n_top,
        top_share_lo=float(lo),
        top_share_hi=float(hi),
        overall_accounts=len(use),
        overall_using=overall_k,
        overall_share=overall,
        p_value=p,
        sentence=sentence,
    )


def why_we_win(
    deals: pd.DataFrame | ir.Table,
    accounts: pd.DataFrame | ir.Table,
    attributes: Sequence[str] | None = None,
    *,
    min_deals: int = 30,
    top_share: float = 0.1,
    top_n: int | None = None,
    level: float = 0.95,
) -> WhyWeWin:
    """``win_rate_table``, ``use_case_ranking`` and ``use_case_concentration`` together (see
    each for the rules): the concentration is that of the use case that retains and grows most
    (the most common one among the top-LTV accounts only when no use case can be ranked)."""
    acc = as_frame(accounts)
    table = win_rate_table(deals, acc, attributes, min_deals=min_deals, level=level)
    ranking = use_case_ranking(acc)
    best = None if ranking.empty else str(ranking.iloc[0]["use_case"])
    conc = (
        use_case_concentration(acc, top_share=top_share, top_n=top_n, level=level, use_case=best)
        if "use_case" in acc.columns and "ltv" in acc.columns
        else None
    )
    return WhyWeWin(table=table, concentration=conc, level=level, use_cases=ranking)
