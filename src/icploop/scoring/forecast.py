"""NRR forecast from the fit-tag mix of recent cohorts, with an interval and a backtest.

At a forecast month T the book of accounts paying at T is split into groups: accounts past their
first year (``tenured``), and first-year accounts by their 90-day fit tag (``strong_fit``,
``near_fit``, ``bad_fit``, or ``untagged`` when the tag is not known yet at T). Each group's
12-month net retention is measured on history that is complete at T: accounts in the same group
at the four quarter-ends 12-21 months before T, their MRR 12 months later over their MRR then.
The forecast of NRR 12 months after T (the cohort definition: accounts paying at T, their MRR at
T+12 over their MRR at T) is the MRR-weighted mix of the group rates.

The interval (default 90%) is simulated: each draw takes the history of one of the lookback
dates (so the drift of the rates from year to year is in it), resamples its accounts, then draws
each current account's 12-month ratio from its group there (weighted by MRR). It covers the
spread of account outcomes and of the group rates, not a shift of the whole business beyond what
the last two years saw; the backtest (forecasts made at past month-ends against what happened) measures the error in NRR
points, and that is the figure to quote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.formatting import json_tree
from icploop.ingest.paying import index_of
from icploop.metrics.calendar import date_of

HORIZON = 12
LOOKBACK = (12, 15, 18, 21)
GROUPS = ("tenured", "strong_fit", "near_fit", "bad_fit", "untagged")


@dataclass(frozen=True)
class NrrForecast:
    """The forecast made at ``made_at`` for NRR at ``target_month`` (12 months later).

    ``groups``: one row per group with its ``accounts`` now, ``mrr_share``, ``historical_nrr``
    (NaN for a group with no account now and under 20 accounts of history: it has no rate)
    and ``history_accounts``."""

    made_at: dt.date
    target_month: dt.date
    nrr: float
    low: float
    high: float
    level: float
    groups: pd.DataFrame
    caveats: tuple[str, ...] = field(default=())

    @property
    def sentence(self) -> str:
        return (
            f"NRR forecast for {self.target_month:%Y-%m} (made at {self.made_at:%Y-%m}): "
            f"{self.nrr:.1%} ({self.level:.0%} interval {self.low:.1%}-{self.high:.1%})."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: dates, NRR with its interval (``low``, ``high``) and ``level``, the
        sentence, the groups (one record each) and the caveats."""
        return json_tree(
            {
                "made_at": self.made_at,
                "target_month": self.target_month,
                "nrr": self.nrr,
                "low": self.low,
                "high": self.high,
                "level": self.level,
                "sentence": self.sentence,
                "groups": self.groups.to_dict("records"),
                "caveats": list(self.caveats),
            }
        )


@dataclass(frozen=True)
class Backtest:
    """Forecasts made at past months against the NRR that followed. ``rows``: one per month."""

    rows: pd.DataFrame
    mean_abs_error_points: float
    max_abs_error_points: float
    coverage: float

    @property
    def sentence(self) -> str:
        return (
            f"Backtest over {len(self.rows)} past forecast dates: mean absolute error "
            f"{self.mean_abs_error_points:.1f} NRR points (worst {self.max_abs_error_points:.1f}); "
            f"the interval held the actual NRR {self.coverage:.0%} of the time."
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the errors in NRR points, the coverage, the sentence and one record per
        past forecast date."""
        return json_tree(
            {
                "mean_abs_error_points": self.mean_abs_error_points,
                "max_abs_error_points": self.max_abs_error_points,
                "coverage": self.coverage,
                "sentence": self.sentence,
                "rows": self.rows.to_dict("records"),
            }
        )


def forecast_answer(forecast: NrrForecast, backtest: Backtest | None) -> dict[str, Any]:
    """The forecast as every surface gives it (``icploop forecast nrr --json``, ``GET
    /api/v1/forecast``, the forecast page): :meth:`NrrForecast.to_dict` with ``backtest``
    (:meth:`Backtest.to_dict`, or None when it was not run)."""
    return {**forecast.to_dict(), "backtest": None if backtest is None else backtest.to_dict()}


def monthly_book(paying: pd.DataFrame) -> pd.DataFrame:
    """``paying`` (account_id, m, cents) to a wide frame: one row per account, one column per m."""
    wide = paying.pivot_table(index="account_id", columns="m", values="cents", aggfunc="sum")
    return wide.fillna(0.0)


def _groups_at(
    wide: pd.DataFrame, first_m: pd.Series, tags: pd.DataFrame, t: int
) -> tuple[pd.Series, pd.Series]:
    """MRR at month ``t`` of accounts paying then, and their group."""
    mrr = wide[t] if t in wide.columns else pd.Series(dtype="float64")
    mrr = mrr[mrr > 0]
    tenure = t - first_m.reindex(mrr.index)
    known = tags[tags["known_m"] <= t].set_index("account_id")["tag"]
    group = known.reindex(mrr.index).fillna("untagged").astype(str)
    group = group.where(group.isin(GROUPS), "untagged")
    group[tenure >= 12] = "tenured"
    return mrr, group


def _history(wide: pd.DataFrame, first_m: pd.Series, tags: pd.DataFrame, t: int) -> pd.DataFrame:
    """Per group and account at the lookback months: MRR then and 12 months later."""
    parts = []
    for back in LOOKBACK:
        past = t - back
        if past not in wide.columns or past + HORIZON > t:
            continue
        mrr, group = _groups_at(wide, first_m, tags, past)
        later = (
            wide[past + HORIZON].reindex(mrr.index).fillna(0.0)
            if past + HORIZON in wide.columns
            else 0.0
        )
        parts.append(pd.DataFrame({"group": group, "start": mrr, "later": later, "back": back}))
    if not parts:
        return pd.DataFrame(columns=["group", "start", "later", "back"])
    return pd.concat(parts, ignore_index=True)


def forecast_nrr_at(
    paying: pd.DataFrame,
    tags: pd.DataFrame,
    made_at: dt.date,
    level: float = 0.90,
    draws: int = 400,
    seed: int = 0,
) -> NrrForecast:
    """Forecast NRR 12 months after the month of ``made_at``.

    ``paying``: account-months with MRR (``account_id``, ``m`` month index, ``cents``), e.g.
    :func:`icploop.ingest.paying.paying_months` as a frame. ``tags``: ``account_id``,
    ``tag`` (a fit tag) and ``known_m`` (month index from which the tag is known, the tag day).
    Only data up to ``made_at`` is used.
    """
    t = index_of(made_at)
    paying = paying[paying["m"] <= t]
    if paying.empty:
        raise IcploopError("no MRR up to the forecast date", "load revenue history first")
    wide = monthly_book(paying)
    first_m = paying.groupby("account_id")["m"].min()
    mrr, group = _groups_at(wide, first_m, tags, t)
    hist = _history(wide, first_m, tags, t)
    if hist.empty:
        raise IcploopError(
            f"a forecast at {made_at} needs at least 12 months of history before it",
            "choose a later date or load more history",
        )
    pooled = hist.groupby("group")[["start", "later"]].sum()
    overall = float(pooled["later"].sum() / pooled["start"].sum())
    rates, shown = {}, {}
    caveats = []
    for g in GROUPS:
        n_hist = int((hist["group"] == g).sum())
        if g in pooled.index and n_hist >= 20:
            rates[g] = float(pooled.loc[g, "later"] / pooled.loc[g, "start"])
        else:
            rates[g] = overall
            if (group == g).any():
                caveats.append(f"{g}: {n_hist} accounts of history, the overall rate is used")
        # a group with no account now and too little history of its own has no rate to show
        # (the overall one it would borrow weighs nothing in the forecast)
        own = g in pooled.index and n_hist >= 20
        shown[g] = rates[g] if own or (group == g).any() else np.nan
    weights = mrr.groupby(group).sum()
    nrr = float(sum(weights.get(g, 0.0) * rates[g] for g in GROUPS) / weights.sum())
    low, high = _interval(hist, mrr, group, rates, level, draws, seed)
    table = pd.DataFrame(
        {
            "group": list(GROUPS),
            "accounts": [int((group == g).sum()) for g in GROUPS],
            "mrr_share": [float(weights.get(g, 0.0) / weights.sum()) for g in GROUPS],
            "historical_nrr": [shown[g] for g in GROUPS],
            "history_accounts": [int((hist["group"] == g).sum()) for g in GROUPS],
        }
    )
    return NrrForecast(
        made_at=made_at,
        target_month=date_of(t + HORIZON),
        nrr=nrr,
        low=low,
        high=high,
        level=level,
        groups=table,
        caveats=tuple(caveats),
    )


def _interval(
    hist: pd.DataFrame,
    mrr: pd.Series,
    group: pd.Series,
    rates: dict[str, float],
    level: float,
    draws: int,
    seed: int,
) -> tuple[float, float]:
    """Each draw takes one lookback date's history (the year-to-year drift of the rates), resamples
    its accounts, and draws each current account's ratio from its group there by MRR weight."""
    rng = np.random.default_rng(seed)
    total = float(mrr.sum())
    backs = sorted(hist["back"].unique())
    sims = np.zeros(draws)
    for g in GROUPS:
        current = mrr[group == g].to_numpy(dtype="float64")
        if current.size == 0:
            continue
        pools = []
        for b in backs:
            h = hist[(hist["group"] == g) & (hist["back"] == b)]
            if len(h) >= 20:
                start = h["start"].to_numpy(dtype="float64")
                pools.append((start, h["later"].to_numpy(dtype="float64") / start))
        if not pools:
            sims += current.sum() * rates[g] / total
            continue
        for d in range(draws):
            start, ratio = pools[rng.integers(0, len(pools))]
            boot = rng.integers(0, len(start), len(start))
            w = start[boot] / start[boot].sum()
            picks = rng.choice(boot, size=current.size, p=w)
            sims[d] += float(current @ ratio[picks]) / total
    tail = (1 - level) / 2
    lo, hi = np.quantile(sims, [tail, 1 - tail])
    return float(lo), float(hi)


def actual_nrr(paying: pd.DataFrame, made_at: dt.date) -> float | None:
    """What NRR 12 months after ``made_at`` turned out to be (None when not yet known)."""
    t = index_of(made_at)
    if paying["m"].max() < t + HORIZON:
        return None
    at = paying[paying["m"] == t].groupby("account_id")["cents"].sum()
    later = paying[paying["m"] == t + HORIZON].groupby("account_id")["cents"].sum()
    return float(later.reindex(at.index).fillna(0).sum() / at.sum()) if at.sum() else None


def backtest(
    paying: pd.DataFrame,
    tags: pd.DataFrame,
    dates: list[dt.date] | None = None,
    level: float = 0.90,
    draws: int = 200,
) -> Backtest:
    """Forecasts at past quarter-ends (default: every quarter-end with 21 months of history
    before it and 12 months after it), each using only data up to its own date."""
    months = sorted(paying["m"].unique())
    if dates is None:
        first, last = months[0] + max(LOOKBACK), months[-1] - HORIZON
        dates = [date_of(m) for m in range(first, last + 1) if (m % 12) % 3 == 2]
    rows = []
    for day in dates:
        f = forecast_nrr_at(paying, tags, day, level=level, draws=draws)
        actual = actual_nrr(paying, day)
        if actual is None:
            continue
        rows.append(
            {
                "made_at": f.made_at,
                "target_month": f.target_month,
                "forecast": f.nrr,
                "low": f.low,
                "high": f.high,
                "actual": actual,
                "error_points": 100 * (f.nrr - actual),
                "covered": f.low <= actual <= f.high,
            }
        )
    if not rows:
        raise IcploopError(
            "no past date has both the history a forecast needs and 12 months after it",
            "a backtest needs about three years of MRR history",
        )
    frame = pd.DataFrame(rows)
    errors = frame["error_points"].abs()
    return Backtest(
        rows=frame,
        mean_abs_error_points=float(errors.mean()),
        max_abs_error_points=float(errors.max()),
        coverage=float(frame["covered"].mean()),
    )
