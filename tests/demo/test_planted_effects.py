"""Each planted effect of truth.json, measured from the files; and absent from the null company.

The segment definitions come from truth.json; the outcomes are computed here from the canonical
tables the way an analyst would, never from the generator's parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest, fisher_exact, mannwhitneyu

from .measures import (
    N_MONTHS,
    Company,
    account_mask,
    days_to_quarter_end,
    first_year_churn,
    new_deals,
    nrr,
)

NOISE_P = 0.001  # a null company must not show any of these at this level


def _compare(df: pd.DataFrame, seg: pd.Series) -> tuple[float, float]:
    """First-year churn ratio segment/rest and the Fisher exact p-value."""
    exposed = df["exposed"].to_numpy()
    s, y = seg.to_numpy() & exposed, df["churn"].to_numpy()
    r = ~seg.to_numpy() & exposed
    a, b = y[s].sum(), y[r].sum()
    table = [[a, s.sum() - a], [b, r.sum() - b]]
    return (a / s.sum()) / (b / r.sum()), fisher_exact(table).pvalue


def _won(co: Company) -> pd.DataFrame:
    d = new_deals(co)
    return d[d["outcome"] == "won"]


# 1. seats under the threshold


def _small(co: Company) -> tuple[float, float]:
    seg = co.effect("small_seats_first_year_churn")["segment"]
    df = first_year_churn(co)
    return _compare(df, df[seg["attribute"]] < seg["value"])


def test_small_seat_accounts_churn_about_3x_in_year_one(demo: Company) -> None:
    ratio, p = _small(demo)
    assert 2.0 <= ratio <= 4.5 and p < 1e-6


def test_null_small_seats_no_effect(null: Company) -> None:
    ratio, p = _small(null)
    assert p > NOISE_P and 0.7 < ratio < 1.4


# 2. the best use case and industry x use case


def _use_case(co: Company) -> tuple[float, float, float]:
    eff = co.effect("best_use_case_nrr")
    seg = account_mask(co, "use_case", eff["segment"]["value"])
    sub = seg & account_mask(co, "industry", eff["subsegment"]["all"][0]["value"])
    return nrr(co, seg), nrr(co, ~seg), nrr(co, sub)


def test_best_use_case_retains_and_expands_far_better(demo: Company) -> None:
    best, rest, combo = _use_case(demo)
    assert best - rest >= 0.10
    assert combo - best >= 0.05
    df = first_year_churn(demo)
    ratio, _p = _compare(df, df["use_case"] == "revenue_forecasting")
    assert ratio < 0.85


def test_null_use_case_no_effect(null: Company) -> None:
    best, rest, combo = _use_case(null)
    assert abs(best - rest) < 0.10 and abs(combo - rest) < 0.15
    df = first_year_churn(null)
    assert _compare(df, df["use_case"] == "revenue_forecasting")[1] > NOISE_P


# 3. one AE's quarter-end deals


def _ae_quarter_end(co: Company) -> tuple[float, float, float, float]:
    seg = co.effect("ae_quarter_end_bad_fit")["segment"]["all"]
    won = _won(co)
    qe = (won["ae"] == seg[0]["value"]) & (days_to_quarter_end(won["close_date"]) < seg[1]["value"])
    df = first_year_churn(co)
    ratio, p = _compare(df, df["account_id"].isin(won.loc[qe, "account_id"]))
    return ratio, p, won.loc[qe, "discount"].mean(), won.loc[~qe, "discount"].mean()


def test_ae_quarter_end_deals_churn_and_are_discounted(demo: Company) -> None:
    ratio, p, disc, disc_rest = _ae_quarter_end(demo)
    assert ratio >= 2.0 and p < 1e-6
    assert disc >= 0.30 and disc_rest <= 0.15


def test_null_ae_quarter_end_no_effect(null: Company) -> None:
    ratio, p, disc, disc_rest = _ae_quarter_end(null)
    assert p > NOISE_P and ratio < 1.8 and abs(disc - disc_rest) < 0.04


# 4. the hard-targeted segment


def _hospitality(co: Company) -> dict[str, float]:
    seg = co.effect("hospitality_2023_push")["segment"]["all"]
    industry, year = seg[0]["value"], seg[1]["value"]
    acc = co.tables["accounts"][["account_id", "industry"]]
    deals = new_deals(co).merge(acc, on="account_id")
    deals = deals[deals["outcome"].isin(["won", "lost"])]
    in_seg = (deals["industry"] == industry) & (deals["close_date"].dt.year == year)
    won = deals["outcome"] == "won"
    share = won & (deals["close_date"].dt.year == year)
    other_years = won & (deals["close_date"].dt.year != year)
    df = first_year_churn(co)
    seg_ids = set(deals.loc[in_seg & won, "account_id"])
    ratio, p = _compare(df, df["account_id"].isin(seg_ids))
    # survivors' usage growth: last 13 weeks against their first 13 weeks
    usage = co.tables["usage"]
    start = _won(co).set_index("account_id")["close_date"]
    cohort = set(_won(co).loc[_won(co)["close_date"].dt.year == year, "account_id"])
    alive = set(np.asarray(co.account_ids)[co.mrr[:, N_MONTHS - 1] > 0]) & cohort
    u = usage[usage["account_id"].isin(alive)]
    weeks = (u["date"] - u["account_id"].map(start)).dt.days // 7
    early = u[weeks < 13].groupby("account_id")["events"].sum()
    late = u[u["date"] > pd.Timestamp("2026-10-31") - pd.Timedelta(weeks=13)]
    # an account still paying but no longer using the product has grown to zero, not vanished
    late = late.groupby("account_id")["events"].sum().reindex(early.index, fill_value=0)
    growth = (late / early).dropna()
    in_growth = growth.index.isin(seg_ids)
    return {
        "share_in_year": (in_seg & won).sum() / share.sum(),
        "share_other": ((deals["industry"] == industry) & other_years).sum() / other_years.sum(),
        "win": won[in_seg].mean(),
        "win_rest": won[~in_seg].mean(),
        "win_p": fisher_exact(pd.crosstab(in_seg, won).to_numpy()).pvalue,
        "churn": df.loc[df["account_id"].isin(seg_ids) & df["exposed"], "churn"].mean(),
        "ratio": ratio,
        "p": p,
        "growth": growth[in_growth].median(),
        "growth_rest": growth[~in_growth].median(),
        "growth_p": mannwhitneyu(growth[in_growth], growth[~in_growth]).pvalue,
    }


def test_hospitality_push_wins_then_churns_and_stalls(demo: Company) -> None:
    h = _hospitality(demo)
    assert h["share_in_year"] >= 3 * h["share_other"]
    assert h["win"] - h["win_rest"] >= 0.15
    assert 0.40 <= h["churn"] <= 0.65 and h["p"] < 1e-6
    assert h["growth"] < 0.75 * h["growth_rest"] and h["growth_p"] < 1e-3


def test_null_hospitality_no_effect(null: Company) -> None:
    h = _hospitality(null)
    assert h["win_p"] > NOISE_P and h["p"] > NOISE_P and h["growth_p"] > NOISE_P


# 5. the intent trap


def _intent(co: Company) -> tuple[float, float, float, float]:
    value = co.effect("intent_trap")["segment"]["value"]
    df = first_year_churn(co)
    seg = df["lead_source"] == value
    ratio, p = _compare(df, seg)
    return df.loc[seg, "intent_score"].mean(), df.loc[~seg, "intent_score"].mean(), ratio, p


def test_intent_vendor_leads_score_high_and_retain_poorly(demo: Company) -> None:
    score, score_rest, ratio, p = _intent(demo)
    assert score - score_rest >= 15
    assert ratio >= 1.5 and p < 1e-6
    mask = account_mask(demo, "lead_source", "intent_vendor")
    assert nrr(demo, mask) < nrr(demo, ~mask) - 0.05


def test_null_intent_no_effect(null: Company) -> None:
    _, _, ratio, p = _intent(null)
    assert p > NOISE_P and 0.6 < ratio < 1.6


# 6. support does not cause churn


def _support(co: Company) -> dict[str, float]:
    paid = co.mrr > 0
    churned = paid.any(axis=1) & ~paid[:, N_MONTHS - 1]
    months = pd.Series(paid.sum(axis=1), index=co.account_ids)
    status = pd.Series(churned, index=co.account_ids)
    tickets = co.tables["tickets"]
    per_account = tickets.groupby("account_id").size().reindex(co.account_ids, fill_value=0)
    rate = per_account / months.clip(lower=1)
    customers = months > 0
    days = (tickets["resolved_date"] - tickets["created_date"]).dt.days
    t_churned = tickets["account_id"].map(status)
    notes = co.tables["notes"]
    reasons = (
        notes.loc[notes["kind"] == "churn_reason", "reason_code"]
        .dropna()
        .value_counts(normalize=True)
    )
    return {
        "rate_ratio": rate[customers & status].mean() / rate[customers & ~status].mean(),
        "rate_p": mannwhitneyu(rate[customers & status], rate[customers & ~status]).pvalue,
        "days": days[t_churned].mean(),
        "days_rest": days[~t_churned].mean(),
        "support_share": reasons.get("support_quality", 0.0),
        "top3": reasons.iloc[:3].sum(),
        "top3_names": set(reasons.index[:3]),
    }


def test_support_does_not_cause_churn(demo: Company) -> None:
    s = _support(demo)
    # churned accounts do not file more tickets (smaller accounts file fewer, and churn more)
    assert 0.7 <= s["rate_ratio"] <= 1.15
    assert abs(s["days"] - s["days_rest"]) < 0.5
    assert s["support_share"] < 0.05
    assert s["top3"] >= 0.55
    assert "support_quality" not in s["top3_names"]
    planted = set(demo.effect("support_not_cause")["planted"]["top_reasons"])
    assert len(s["top3_names"] & planted) >= 2


def test_null_support_no_effect(null: Company) -> None:
    s = _support(null)
    assert 0.8 <= s["rate_ratio"] <= 1.25


# 7. cost to serve above gross margin in the premium tier


def _cost(co: Company) -> pd.Series:
    eff = co.effect("premium_cost_exceeds_margin")["planted"]
    rates, margin_share = eff["hourly_rates_usd"], eff["gross_margin"]
    costs = co.tables["costs"]
    cost = (costs["hours"] * costs["team"].map(rates)).groupby(costs["account_id"]).sum()
    margin = pd.Series(margin_share * co.mrr.sum(axis=1), index=co.account_ids)
    tier = co.tables["accounts"].set_index("account_id")["plan_tier"]
    customers = margin[margin > 0].index
    over = cost.reindex(customers, fill_value=0) > margin[customers]
    return over.groupby(tier[customers]).mean()


def test_part_of_premium_costs_more_than_it_earns(demo: Company) -> None:
    share = _cost(demo)
    assert 0.2 <= share["premium"] <= 0.42
    assert share.drop("premium").max() <= 0.08


def test_null_cost_no_tier_effect(null: Company) -> None:
    share = _cost(null)
    assert share.max() - share.min() < 0.07


# 8. champion departures precede churn


def _champion(co: Company) -> tuple[float, float, float]:
    c = co.tables["contacts"].sort_values(["contact_id", "valid_from"])
    last = c.drop_duplicates("contact_id", keep="last")
    dep = last[last["is_champion"] & last["valid_to"].notna()]
    pos = pd.Series(np.arange(len(co.account_ids)), index=co.account_ids)
    rows = pos[dep["account_id"]].to_numpy()
    m = ((dep["valid_to"].dt.year - 2021) * 12 + dep["valid_to"].dt.month - 10).to_numpy()
    paid = co.mrr > 0
    ok = (m + 12 <= N_MONTHS - 1) & paid[rows, m]
    rows, m = rows[ok], m[ok]
    churn = np.zeros(len(rows), bool)
    for k in range(1, 13):
        churn |= ~paid[rows, m + k]
    # baseline: any paid account-month with 12 months of follow-up
    follow = paid[:, : N_MONTHS - 12]
    future_zero = np.zeros_like(follow)
    for k in range(1, 13):
        future_zero |= ~paid[:, k : N_MONTHS - 12 + k]
    base = future_zero[follow].mean()
    return churn.mean(), base, binomtest(int(churn.sum()), len(churn), base).pvalue


def test_champion_departure_precedes_churn(demo: Company) -> None:
    rate, base, p = _champion(demo)
    assert rate >= 2.0 * base and p < 1e-6


def test_null_champion_no_effect(null: Company) -> None:
    _rate, _base, p = _champion(null)
    assert p > NOISE_P
