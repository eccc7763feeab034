"""The retention-adjusted scorecard: bookings next to what the same accounts pay a year later.

Per owner (the closing AE, the lead source or the marketing campaign of the first won deal) and
quarter of close, over the new customers closed in the window (default the 8 quarters up to
``as_of``):

- ``deals``: new customers closed (an account's first won deal; later deals are expansion).
- ``bookings``: new MRR, the account's MRR in its first paid month (reporting currency).
- the same accounts' MRR 12 months later, split for accounts with a full year observed:
  ``retained`` = min(MRR at 12 months, MRR at start), ``expanded`` = the excess over the start,
  ``churned`` = the start MRR of accounts at 0 MRR 12 months later, ``contracted`` = the rest of
  the loss (``retained + contracted + churned`` = the bookings of those accounts,
  ``retained + expanded`` = their MRR at 12 months).
- ``retained_bookings``: bookings x 12-month NRR of the same accounts = their MRR 12 months after
  the first paid month (0 after churn), the numerator of cohort NRR (``docs/metrics.md``). For
  accounts younger than 12 months it is projected: start MRR x the historical 12-month NRR of
  accounts with the same 90-day fit tag (``untagged`` accounts, younger than 90 days, take the
  overall rate), with a simulated interval; rows holding such accounts say ``projected`` and how
  much of their bookings is projected. With no account of a full first year to learn the rate
  from (under 12 months of history), a row holding young accounts has unknown retained
  bookings and NRR (missing, never 0).
- ``bad_fit_share`` (of the accounts that have a fit tag), ``avg_discount`` (the first won deal's
  discount off list), and first-year churn (accounts with a full year observed).

The team view sums the window per owner and ranks owners by bookings and by retained bookings
(1 = most) of the accounts with a full year observed (young accounts' projections are shown, not
ranked; an owner with no such account has no rank); ``rank_gap`` = retained rank - bookings rank, positive for owners whose deals hold up
worse than their bookings suggest. Totals grow with the number of deals, so the ranks are read
next to ``nrr`` (retained bookings / bookings). Whether an owner's first-year churn stands apart
beyond chance is a test of the owner against the rest (Fisher exact or chi-squared), with
Benjamini-Hochberg q-values over every owner: ``stands_apart`` is q < 0.05.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.fit.config import TAG_AFTER_DAYS
from icploop.formatting import json_value
from icploop.formatting import q as fmt_q
from icploop.metrics.calendar import add_months
from icploop.segments import stats

LEVEL = 0.95
ALPHA = 0.05
WINDOW_QUARTERS = 8
#: projections learn each tag's 12-month NRR from accounts that started in these months before
#: the last fully observed start month
HISTORY_MONTHS = 24
#: a tag with less history than this borrows the overall rate (and pool)
MIN_HISTORY = 20
DRAWS = 400
NONE_LABEL = "(none)"
UNTAGGED = "untagged"
BAD_FIT = "bad_fit"
TAG_GROUPS = ("strong_fit", "near_fit", "bad_fit", UNTAGGED)

#: the ``by`` choices and the column of the outcomes frame each reads
BY = {"ae": "closing_ae", "lead_source": "lead_source", "campaign": "campaign"}

ROW_COLUMNS = (
    "group", "close_quarter", "deals", "bookings", "mature_deals", "retained", "expanded",
    "contracted", "churned", "retained_bookings", "retained_low", "retained_high", "projected",
    "projected_share", "nrr", "tagged", "bad_fit_share", "avg_discount", "churn_n",
    "churn_events", "churn_rate",
)  # fmt: skip
TEAM_COLUMNS = (
    "group", "deals", "bookings", "retained_bookings", "retained_low", "retained_high",
    "projected", "projected_share", "nrr", "retained", "expanded", "contracted", "churned",
    "bookings_rank", "retained_rank", "rank_gap", "tagged", "bad_fit_share", "avg_discount",
    "churn_n", "churn_events", "churn_rate", "churn_low", "churn_high", "rest_churn_rate",
    "churn_difference", "difference_low", "difference_high", "p_value", "q_value",
    "stands_apart", "direction",
)  # fmt: skip


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready rows (None for missing numbers)."""
    return [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def first_deal_campaigns(deals: ir.Table) -> pd.DataFrame:
    """Per account, the campaign of its first won deal (``account_id``, ``campaign``); accounts
    whose first deal carries no campaign are left out. An IcploopError when deals have no
    ``campaign`` column."""
    if "campaign" not in deals.columns:
        raise IcploopError(
            "the deals carry no campaign",
            "map a campaign column onto deals to see the scorecard by campaign",
        )
    won = deals.filter(deals.outcome == "won")
    first = won.group_by("account_id").agg(first_close=won.close_date.min())
    firsts = won.join(first, "account_id")
    firsts = firsts.filter((firsts.close_date == firsts.first_close) & firsts.campaign.notnull())
    out = firsts.group_by("account_id").agg(campaign=firsts.campaign.min()).to_pandas()
    out = out[out["campaign"].astype(str).str.strip() != ""]
    return out.reset_index(drop=True)


def with_campaign(outcomes: pd.DataFrame, deals: ir.Table) -> pd.DataFrame:
    """``outcomes`` with the ``campaign`` of each account's first won deal (missing: none)."""
    campaigns = first_deal_campaigns(deals)
    base = outcomes.drop(columns=["campaign"], errors="ignore")
    return base.merge(campaigns, on="account_id", how="left")


def tags_in_force(
    tags: pd.DataFrame | None, as_of: dt.date, tag_after_days: int = TAG_AFTER_DAYS
) -> pd.Series:
    """account_id -> fit tag known at ``as_of``.

    ``tags`` has ``account_id`` and ``tag``; with ``current`` only current tags count; with
    ``tagged_on`` (a date) only tags given by ``as_of``; else with ``close_date`` only accounts
    ``tag_after_days`` past close by ``as_of`` (the tag day, the fit configuration's). The last row of an account wins.
    """
    if tags is None or tags.empty:
        return pd.Series(dtype=object)
    if not {"account_id", "tag"} <= set(tags.columns):
        raise IcploopError("the tags frame needs account_id and tag columns")
    frame = tags
    if "current" in frame.columns:
        frame = frame[frame["current"].astype(bool)]
    if "tagged_on" in frame.columns:
        frame = frame[pd.to_datetime(frame["tagged_on"]).dt.date <= as_of]
    elif "close_date" in frame.columns:
        closes = pd.to_datetime(frame["close_date"])
        frame = frame[(closes + pd.Timedelta(days=tag_after_days)).dt.date <= as_of]
    frame = frame.drop_duplicates("account_id", keep="last")
    return pd.Series(frame["tag"].astype(str).to_numpy(), index=frame["account_id"].to_numpy())


@dataclass(frozen=True)
class TagHistory:
    """Each tag's historical 12-month NRR (pooled: MRR 12 months later / start MRR) and the
    accounts behind it; ``pools`` keeps (start MRR, 12-month ratio) arrays for the interval."""

    rates: pd.DataFrame
    pools: dict[str, tuple[np.ndarray, np.ndarray]]
    overall: float


def tag_history(outcomes: pd.DataFrame, tags: pd.Series, as_of: dt.date) -> TagHistory:
    """Per fit tag, the 12-month NRR of accounts with a full first year that started in the
    ``HISTORY_MONTHS`` before the last fully observed start month."""
    first = pd.to_datetime(outcomes["first_month"]).dt.date
    lo = add_months(as_of, -(12 + HISTORY_MONTHS))
    hist = outcomes[outcomes["nrr_12m"].notna() & (first >= lo) & (outcomes["start_mrr"] > 0)]
    start = hist["start_mrr"].to_numpy(dtype="float64")
    ratio = hist["nrr_12m"].to_numpy(dtype="float64")
    group = hist["account_id"].map(tags).fillna(UNTAGGED).astype(str).to_numpy()
    overall = float((start * ratio).sum() / start.sum()) if start.size else math.nan
    rows, pools = [], {}
    for g in TAG_GROUPS:
        own = (group == g) & (g != UNTAGGED)
        n = int(own.sum())
        if n >= MIN_HISTORY:
            pools[g] = (start[own], ratio[own])
            rate, source = float((start[own] * ratio[own]).sum() / start[own].sum()), "own"
        else:
            pools[g] = (start, ratio)
            rate, source = overall, "overall"
        rows.append({"tag": g, "history_accounts": n, "nrr_12m": rate, "source": source})
    return TagHistory(rates=pd.DataFrame(rows), pools=pools, overall=overall)


def _projection_draws(
    start: np.ndarray, group: np.ndarray, history: TagHistory, draws: int, seed: int
) -> np.ndarray:
    """Simulated 12-month MRR of each young account (draws x accounts): each draw resamples each
    tag's history (the uncertainty of the rate) and draws every account's ratio from it,
    weighted by start MRR (the spread of account outcomes)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((draws, start.size))
    for g in TAG_GROUPS:
        idx = np.flatnonzero(group == g)
        pool_start, pool_ratio = history.pools[g]
        if idx.size == 0 or pool_start.size == 0:
            continue
        for d in range(draws):
            boot = rng.integers(0, pool_start.size, pool_start.size)
            w = pool_start[boot] / pool_start[boot].sum()
            picks = rng.choice(boot, size=idx.size, p=w)
            out[d, idx] = pool_ratio[picks]
    return out * start


@dataclass(frozen=True)
class Scorecard:
    """The scorecard of one ``by`` (``ae``, ``lead_source`` or ``campaign``) as of ``as_of``.

    ``rows``: one per owner and close quarter (``ROW_COLUMNS``); ``team``: one per owner over the
    window, ordered by bookings (``TEAM_COLUMNS``); ``tag_rates``: the historical 12-month NRR per
    fit tag behind the projections. Money is monthly, in the reporting currency; rates and NRR
    are fractions (1.05 is 105%).
    """

    by: str
    as_of: dt.date
    window: tuple[dt.date, dt.date]
    rows: pd.DataFrame
    team: pd.DataFrame
    tag_rates: pd.DataFrame
    level: float = LEVEL
    caveats: tuple[str, ...] = field(default=())

    @property
    def standing_apart(self) -> list[str]:
        """Owners whose first-year churn differs from the rest beyond chance (q < 0.05)."""
        return [str(g) for g in self.team.loc[self.team["stands_apart"], "group"]]

    def sentences(self) -> list[str]:
        """One plain sentence per owner that stands apart; one saying so when none does."""
        out = []
        for row in self.team[self.team["stands_apart"]].to_dict("records"):
            out.append(
                f"{row['group']}: first-year churn {row['churn_rate']:.0%} "
                f"({self.level:.0%} CI {row['churn_low']:.0%}-{row['churn_high']:.0%}, "
                f"n={row['churn_n']}) against {row['rest_churn_rate']:.0%} for the rest "
                f"(q={fmt_q(row['q_value'])}); bookings rank {row['bookings_rank']}, retained "
                f"bookings rank {row['retained_rank']}"
            )
        if not out:
            out.append(
                f"no {self.by.replace('_', ' ')} stands apart on first-year churn beyond chance "
                f"(every q >= {ALPHA})"
            )
        return out

    def to_dict(self, top: int | None = None) -> dict[str, Any]:
        """JSON-ready: the team view (the ``top`` owners by bookings when given), the quarter rows
        of those owners, the tag rates, the sentences and the caveats."""
        team = self.team if top is None else self.team.head(top)
        rows = self.rows[self.rows["group"].isin(team["group"])]
        return {
            "by": self.by,
            "as_of": self.as_of.isoformat(),
            "window": [self.window[0].isoformat(), self.window[1].isoformat()],
            "level": self.level,
            "team": records(team),
            "rows": records(rows),
            "tag_rates": records(self.tag_rates),
            "standing_apart": self.standing_apart,
            "sentences": self.sentences(),
            "caveats": list(self.caveats),
        }


def _per_account(
    frame: pd.DataFrame, tags: pd.Series, history: TagHistory
) -> tuple[pd.DataFrame, np.ndarray]:
    """Per-account money columns and the young accounts' simulated 12-month MRR (draws x young)."""
    start = frame["start_mrr"].astype(float)
    mature = frame["nrr_12m"].notna()
    at12 = (frame["nrr_12m"].astype(float) * start).where(mature, 0.0)
    retained = np.minimum(at12, start).where(mature, 0.0)
    churned = start.where(mature & (at12 <= 0), 0.0)
    tag = frame["account_id"].map(tags)
    group = tag.fillna(UNTAGGED).astype(str).where(tag.isin(TAG_GROUPS) | tag.isna(), UNTAGGED)
    rate = group.map(history.rates.set_index("tag")["nrr_12m"]).astype(float)
    young = ~mature
    # 1/0 or missing (under a year of history): float, whatever dtype the frame gives it
    churn = frame["first_year_churn"].astype("float64")
    out = pd.DataFrame(
        {
            "deals": 1,
            "bookings": start,
            "mature_deals": mature.astype(int),
            "mature_bookings": start.where(mature, 0.0),
            "young_bookings": start.where(young, 0.0),
            "at12": at12,
            "retained": retained,
            "expanded": (at12 - start).clip(lower=0).where(mature, 0.0),
            "churned": churned,
            "contracted": (start - retained - churned).where(mature, 0.0),
            "projected_mrr": (start * rate).where(young, 0.0),
            # young accounts with no 12-month NRR to project from (no account has a full year)
            "unprojected": (young & rate.isna()).astype(int),
            "tagged": tag.notna().astype(int),
            "bad": (tag == BAD_FIT).astype(int),
            "discount": frame["discount"].astype(float),
            "churn_n": churn.notna().astype(int),
            "churn_events": churn.fillna(0.0),
        },
        index=frame.index,
    )
    return out, group.where(young).to_numpy()


def _aggregate(
    money: pd.DataFrame, keys: list[pd.Series], sims: np.ndarray, young: np.ndarray, level: float
) -> pd.DataFrame:
    cols = [c for c in money.columns if c != "discount"]
    grouped = money.groupby(keys, sort=True, dropna=False)
    out = grouped[cols].sum()
    out["avg_discount"] = grouped["discount"].mean()
    # the projected part's interval per cell, from the simulated draws of the young accounts
    tail = (1 - level) / 2
    low = pd.Series(0.0, index=out.index)
    high = pd.Series(0.0, index=out.index)
    if young.any():
        cells = pd.MultiIndex.from_arrays([k[young] for k in keys]) if len(keys) > 1 else None
        labels = cells if cells is not None else pd.Index(keys[0][young])
        codes, uniques = pd.factorize(labels)
        member = np.zeros((young.sum(), len(uniques)))
        member[np.arange(young.sum()), codes] = 1.0
        totals = sims @ member
        q = np.quantile(totals, [tail, 1 - tail], axis=0)
        low.loc[uniques] = q[0]
        high.loc[uniques] = q[1]
    out["retained_bookings"] = out["at12"] + out["projected_mrr"]
    out["retained_low"] = out["at12"] + low
    out["retained_high"] = out["at12"] + high
    no_young = out["young_bookings"] <= 0
    out.loc[no_young, "retained_low"] = out.loc[no_young, "retained_bookings"]
    out.loc[no_young, "retained_high"] = out.loc[no_young, "retained_bookings"]
    # a young account with nothing to project from leaves its cell's total unknown, not short
    unknown = out["unprojected"] > 0
    out.loc[unknown, ["retained_bookings", "retained_low", "retained_high"]] = np.nan
    out["projected"] = out["deals"] > out["mature_deals"]
    out["projected_share"] = out["young_bookings"] / out["bookings"].where(out["bookings"] > 0)
    out["nrr"] = out["retained_bookings"] / out["bookings"].where(out["bookings"] > 0)
    out["bad_fit_share"] = out["bad"] / out["tagged"].where(out["tagged"] > 0)
    out["churn_rate"] = out["churn_events"] / out["churn_n"].where(out["churn_n"] > 0)
    for c in ("deals", "mature_deals", "tagged", "churn_n"):
        out[c] = out[c].astype(int)
    out["churn_events"] = out["churn_events"].astype(int)
    return out.reset_index()


def _churn_tests(team: pd.DataFrame, level: float) -> pd.DataFrame:
    k1 = team["churn_events"].to_numpy(dtype="float64")
    n1 = team["churn_n"].to_numpy(dtype="float64")
    k2, n2 = k1.sum() - k1, n1.sum() - n1
    lo, hi = stats.wilson_interval(k1, n1, level)
    d, dlo, dhi = stats.rate_difference(k1, n1, k2, n2, level)
    testable = (n1 > 0) & (n2 > 0) & (k1 + k2 > 0)
    p = np.full(k1.shape, np.nan)
    if testable.any():
        p[testable] = stats.two_proportion_pvalue(
            k1[testable], n1[testable], k2[testable], n2[testable]
        )
    q = stats.benjamini_hochberg(p)
    with np.errstate(divide="ignore", invalid="ignore"):
        rest = k2 / n2
    team = team.assign(
        churn_low=lo,
        churn_high=hi,
        rest_churn_rate=rest,
        churn_difference=d,
        difference_low=dlo,
        difference_high=dhi,
        p_value=p,
        q_value=q,
    )
    team["stands_apart"] = team["q_value"].fillna(1.0) < ALPHA
    team["direction"] = np.where(team["churn_difference"] > 0, "higher", "lower")
    team.loc[team["q_value"].isna(), "direction"] = None
    return team


def scorecard(
    outcomes: pd.DataFrame,
    tags: pd.DataFrame | None,
    as_of: dt.date,
    by: str = "ae",
    *,
    window_quarters: int = WINDOW_QUARTERS,
    level: float = LEVEL,
    draws: int = DRAWS,
    seed: int = 0,
) -> Scorecard:
    """The scorecard by ``by`` over the new customers closed in the ``window_quarters`` quarters
    up to ``as_of`` (both ends included).

    ``outcomes`` is :func:`icploop.segments.outcomes.account_outcomes` (for ``by="campaign"``
    passed through :func:`with_campaign` first); ``tags`` has ``account_id`` and ``tag`` (see
    :func:`tags_in_force`; None or empty: every account untagged). Projections of young accounts
    are simulated with ``draws`` draws from ``seed`` (the same inputs give the same numbers).
    """
    if by not in BY:
        raise IcploopError(f"unknown scorecard dimension {by!r}", f"use one of: {', '.join(BY)}")
    if window_quarters < 1:
        raise IcploopError("window_quarters must be at least 1")
    column = BY[by]
    needed = {"account_id", "close_date", "first_month", "start_mrr", "nrr_12m"}
    needed |= {"first_year_churn", "discount", column}
    missing = needed - set(outcomes.columns)
    if missing:
        hint = (
            "add it with icploop.alignment.scorecard.with_campaign(outcomes, deals)"
            if column in missing and by == "campaign"
            else "build the frame with icploop.segments.outcomes.account_outcomes"
        )
        raise IcploopError(f"the outcomes frame lacks {', '.join(sorted(missing))}", hint)
    window = (add_months(as_of, -3 * window_quarters) + dt.timedelta(days=1), as_of)
    closes = pd.to_datetime(outcomes["close_date"]).dt.date
    frame = outcomes[
        (closes >= window[0]) & (closes <= window[1]) & (outcomes["start_mrr"] > 0)
    ].copy()
    tag_of = tags_in_force(tags, as_of)
    history = tag_history(outcomes, tag_of, as_of)
    caveats = []
    if frame.empty:
        raise IcploopError(
            f"no new customers closed from {window[0]} to {window[1]}",
            "choose another --as-of or load deals and revenue first",
        )
    owner = frame[column].astype(object).where(frame[column].notna(), NONE_LABEL)
    owner = owner.astype(str).str.strip().replace("", NONE_LABEL)
    quarter = pd.to_datetime(frame["close_date"])
    quarter = quarter.dt.year.astype(str) + "Q" + quarter.dt.quarter.astype(str)
    money, young_tags = _per_account(frame, tag_of, history)
    young = (money["mature_deals"] == 0).to_numpy()
    sims = _projection_draws(
        money["bookings"].to_numpy(dtype="float64")[young],
        young_tags[young],
        history,
        draws,
        seed,
    )
    rows = _aggregate(money, [owner.rename("group"), quarter.rename("close_quarter")], sims,
                      young, level)  # fmt: skip
    team = _aggregate(money, [owner.rename("group")], sims, young, level)
    team = team.sort_values(["bookings", "group"], ascending=[False, True]).reset_index(drop=True)
    # ranks compare what has happened: the accounts with a full year observed (projections of
    # younger accounts are shown beside them, not ranked)
    # (an owner with none has no rank: missing, not a tie for last)
    observed = team["mature_deals"] > 0
    for rank, column in (("bookings_rank", "mature_bookings"), ("retained_rank", "at12")):
        ranked = team[column].where(observed).rank(ascending=False, method="min")
        team[rank] = ranked.astype("Int64")
    team["rank_gap"] = team["retained_rank"] - team["bookings_rank"]
    team = team.sort_values(["bookings_rank", "group"]).reset_index(drop=True)
    team = _churn_tests(team, level)

    unprojected = int(money["unprojected"].sum())
    if unprojected:
        caveats.append(
            f"{unprojected} accounts closed in the last 12 months have no 12-month MRR yet and no "
            "account has a full first year to project them from: their retained bookings and "
            "NRR are unknown (they need 12 months of MRR history after a first paid month)"
        )
    elif young.any():
        caveats.append(
            f"{int(young.sum())} accounts closed in the last 12 months have no 12-month MRR yet: "
            "their retained bookings are projected from their fit tag's historical 12-month NRR "
            f"({level:.0%} interval simulated), marked projected"
        )
    if tag_of.empty and not unprojected:
        caveats.append("no fit tags: every projection uses the overall 12-month NRR")
    borrowed = history.rates[
        (history.rates["source"] == "overall") & (history.rates["tag"] != UNTAGGED)
    ]
    if not borrowed.empty and not tag_of.empty:
        caveats.append(
            f"{', '.join(borrowed['tag'])}: under {MIN_HISTORY} accounts of history, the overall "
            "12-month NRR is used"
        )
    caveats.append(
        "ranks compare totals, which grow with the number of deals: read them next to NRR "
        "(retained bookings / bookings) and the first-year churn test"
    )
    if by == "ae":
        caveats.append(
            "an AE's accounts are not a random sample: territory, segment and lead mix differ "
            "between AEs, so a gap is a question to ask, not a verdict on the person"
        )
    return Scorecard(
        by=by,
        as_of=as_of,
        window=window,
        rows=rows[list(ROW_COLUMNS)],
        team=team[list(TEAM_COLUMNS)],
        tag_rates=history.rates,
        level=level,
        caveats=tuple(caveats),
    )
