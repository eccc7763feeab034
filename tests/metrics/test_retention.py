"""Hand-worked NRR, GRR, logo churn and quick ratio (month numbers from January 2023 = 1)."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.metrics.headline import headline
from icploop.metrics.retention import retention

from .conftest import month, tables_from

# Month 1 (Jan 2023) is the cohort month; month 13 (Jan 2024) is M.
COHORT_ROWS = [
    *[("a", m, 100) for m in range(1, 13)], ("a", 13, 120),  # expands 100 -> 120
    *[("b", m, 100) for m in range(1, 13)], ("b", 13, 50),  # contracts 100 -> 50
    *[("c", m, 100) for m in range(1, 7)],  # churns in month 7
    ("e", 1, 100), ("e", 12, 70), ("e", 13, 80),  # churns in month 2, returns in month 12
    ("d", 5, 40), ("d", 13, 500),  # joined after month 1: not in C(M-12)
]  # fmt: skip


def test_nrr_and_grr_follow_the_cohort_method_by_hand() -> None:
    """C(M-12) = {a, b, c, e}, each 100 then: base 400.
    NRR = (120 + 50 + 0 + 80) / 400 = 250 / 400 = 0.625 (d is new since: excluded; e counts at its
    current 80 after returning).
    GRR caps each at its base: (100 + 50 + 0 + 80) / 400 = 230 / 400 = 0.575."""
    res = retention(tables_from(COHORT_ROWS), month(13), start=month(13))
    r = res.frame.iloc[-1]
    assert r.n_accounts == 4
    assert r.mrr_base == pytest.approx(400.0)
    assert r.nrr == pytest.approx(0.625)
    assert r.grr == pytest.approx(0.575)


def test_month_13_movements_and_quick_ratio_by_hand() -> None:
    """Month 12 -> 13: a 100->120 expansion 20, b 100->50 contraction 50, e 70->80 expansion 10,
    d 0->500 reactivation 500 (paid in month 5). Quick ratio = (20 + 10 + 500) / 50 = 10.6.
    Logo churn: 3 paying at month 12 (a, b, e), none lost: 0.
    Gross MRR churn rate = 50 / 270; net = (50 - 30 - 500) / 270."""
    r = retention(tables_from(COHORT_ROWS), month(13), start=month(13)).frame.iloc[-1]
    assert (r.expansion, r.contraction, r.reactivation, r.new, r.churn) == (30, 50, 500, 0, 0)
    assert r.quick_ratio == pytest.approx(10.6)
    assert (r.logo_start, r.logo_churned, r.logo_churn_rate) == (3, 0, 0.0)
    assert r.mrr_start == pytest.approx(270.0)
    assert r.mrr_end == pytest.approx(750.0)
    assert r.gross_mrr_churn_rate == pytest.approx(50 / 270)
    assert r.net_mrr_churn_rate == pytest.approx(-480 / 270)


def test_quarterly_logo_churn_excludes_accounts_that_joined_and_churned_inside() -> None:
    """Q2 2023 = months 4..6. Paying in March (start): p, q, r = 3. q churns in May, r in June
    (churn of r's April..June? r pays through June, churns in July: outside Q2). s joins in April
    and churns in May: joined and churned inside the period, excluded. Logo churn = 1 / 3."""
    rows = [
        *[("p", m, 10) for m in range(1, 8)],
        *[("q", m, 10) for m in range(1, 5)],
        *[("r", m, 10) for m in range(1, 7)],
        ("s", 4, 10),
    ]
    f = retention(tables_from(rows), month(7), period="quarter").frame.set_index("period")
    q2 = f.loc["2023Q2"]
    assert (q2.logo_start, q2.logo_churned) == (3, 1)
    assert q2.logo_churn_rate == pytest.approx(1 / 3)
    assert q2.churn == pytest.approx(20.0)  # q's 10 and s's 10 are both MRR churn


def test_breakdowns_carry_group_sizes_and_small_group_caveats() -> None:
    """Two industries; each group shows n_accounts, and groups under 30 are flagged."""
    accounts = pd.DataFrame(
        {"account_id": ["a", "b", "c", "e", "d"], "industry": ["x", "x", "y", "y", "y"]}
    )
    t = tables_from(COHORT_ROWS, accounts=accounts)
    f = retention(t, month(13), by=["industry"], start=month(13))
    x = f.frame.set_index("industry").loc["x"]
    assert x.n_accounts == 2
    assert x.nrr == pytest.approx(170 / 200)
    assert x.small_group
    assert any("industry=x" in c for c in f.caveats)


def test_an_unknown_breakdown_attribute_is_a_user_error() -> None:
    t = tables_from(COHORT_ROWS, accounts=pd.DataFrame({"account_id": ["a"], "industry": ["x"]}))
    with pytest.raises(IcploopError, match="unknown breakdown"):
        retention(t, month(13), by=["colour"])


def test_extra_attributes_and_close_cohort_and_seat_bands_are_dimensions() -> None:
    """close_cohort is the quarter of the first won deal, else of the first MRR month."""
    accounts = pd.DataFrame(
        {"account_id": ["a", "b", "c", "e", "d"], "seats_at_close": [10, 60, 300, 49, None]}
    )
    deals = pd.DataFrame(
        {
            "deal_id": ["1", "2"],
            "account_id": ["a", "b"],
            "outcome": ["won", "lost"],
            "close_date": [pd.Timestamp("2022-11-15").date(), pd.Timestamp("2022-12-01").date()],
        }
    )
    attrs = pd.DataFrame({"account_id": ["a"], "attribute": ["plan"], "value": ["pro"]})
    t = tables_from(COHORT_ROWS, accounts=accounts, deals=deals, attributes=attrs)
    f = retention(t, month(13), by=["close_cohort", "seats_band"], start=month(13)).frame
    got = {(r.close_cohort, r.seats_band): r.n_accounts for r in f.itertuples()}
    assert got[("2022Q4", "<50")] == 1  # a: won deal in Nov 2022
    assert got[("2023Q1", "50-99")] == 1  # b: lost deal only -> first MRR month
    g = retention(t, month(13), by=["plan"], start=month(13)).frame.set_index("plan")
    assert g.loc["pro"].n_accounts == 1 and g.loc["(none)"].n_accounts == 3


def test_headline_reports_the_as_of_month() -> None:
    h = headline(tables_from(COHORT_ROWS), month(13))
    assert h.mrr == pytest.approx(750.0)
    assert h.nrr == pytest.approx(0.625)
    assert h.active_accounts == 4
    assert h.logo_churn_rate == 0.0
    assert not math.isnan(h.quick_ratio or 0)
