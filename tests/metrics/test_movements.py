"""Golden, hand-worked MRR movement cases (month numbers count from January 2023 = 1)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from icploop.errors import IcploopError
from icploop.ingest.paying import MovementSettings
from icploop.metrics.movements import movements

from .conftest import month, tables_from

COLS = ["new", "reactivation", "expansion", "contraction", "churn", "fx"]


def moves(rows: list[tuple[Any, ...]], as_of: int, **settings: Any) -> pd.DataFrame:
    t = tables_from(rows)
    frame = movements(t.mrr_monthly, month(as_of), MovementSettings(**settings)).to_pandas()
    frame["month_no"] = frame.m - (2023 * 12) + 1
    return frame.sort_values(["account_id", "m"]).set_index(["account_id", "month_no"])


def row(frame: pd.DataFrame, acc: str, m: int) -> dict[str, int]:
    return {c: int(frame.loc[(acc, m), c]) for c in COLS}


def only(**kw: int) -> dict[str, int]:
    return {c: kw.get(c, 0) for c in COLS}


def test_each_movement_type_is_classified_by_hand() -> None:
    """100 in Jan (new 100), 150 in Feb (expansion 50), 120 in Mar (contraction 30), nothing in
    Apr (churn 120). Amounts in cents: 10000, 5000, 3000, 12000."""
    f = moves([("a", 1, 100), ("a", 2, 150), ("a", 3, 120)], as_of=4)
    assert row(f, "a", 1) == only(new=10000)
    assert row(f, "a", 2) == only(expansion=5000)
    assert row(f, "a", 3) == only(contraction=3000)
    assert row(f, "a", 4) == only(churn=12000)
    assert len(f) == 4


def test_a_customer_who_churns_and_returns_is_a_reactivation_not_new() -> None:
    """50 in Jan, gone in Feb (churn 50), back at 60 in Mar: reactivation 60, never new again."""
    f = moves([("b", 1, 50), ("b", 3, 60)], as_of=3)
    assert row(f, "b", 2) == only(churn=5000)
    assert row(f, "b", 3) == only(reactivation=6000)


def test_an_explicit_zero_mrr_month_counts_as_churn_then_reactivation() -> None:
    """80 in Jan, a row at 0 in Feb (a $0 plan), 80 in Mar: churn 80 in Feb, reactivation 80."""
    f = moves([("d", 1, 80), ("d", 2, 0), ("d", 3, 80)], as_of=3)
    assert row(f, "d", 2) == only(churn=8000)
    assert row(f, "d", 3) == only(reactivation=8000)


def test_an_annual_contract_normalised_to_a_month_moves_only_at_renewal() -> None:
    """An annual contract of 1,200 is 100 a month (1200 / 12) in Jan..Dec: new 100 in Jan, no
    movement Feb..Dec; renewed at 1,440 a year = 120 a month: expansion 20 next January."""
    rows = [("e", m, 100) for m in range(1, 13)] + [("e", 13, 120)]
    f = moves(rows, as_of=13)
    assert row(f, "e", 1) == only(new=10000)
    for m in range(2, 13):
        assert row(f, "e", m) == only()
    assert row(f, "e", 13) == only(expansion=2000)


def test_an_annual_contract_not_renewed_churns_its_monthly_amount() -> None:
    """1,200 a year (100 a month) in Jan..Dec and no renewal: churn 100 in month 13."""
    f = moves([("e", m, 100) for m in range(1, 13)], as_of=14)
    assert row(f, "e", 13) == only(churn=10000)
    assert ("e", 14) not in f.index


def test_currency_changes_are_an_fx_line_not_expansion() -> None:
    """EUR account, MRR in EUR (local) and USD (reporting), r = mrr / mrr_local:
    Jan 100 EUR at 1.10 = 110 USD: new 110.
    Feb 100 EUR at 1.20 = 120 USD: fx = 100 x (1.20 - 1.10) = 10, no expansion.
    Mar 120 EUR at 1.25 = 150 USD: fx = 120 x (1.25 - 1.20) = 6; business = 150 - 120 - 6 = 24
        = 20 EUR x 1.20 expansion.
    Apr 120 EUR at 1.00 = 120 USD: fx = 120 x (1.00 - 1.25) = -30, no contraction."""
    rows = [
        ("c", 1, 110, 100, "EUR"),
        ("c", 2, 120, 100, "EUR"),
        ("c", 3, 150, 120, "EUR"),
        ("c", 4, 120, 120, "EUR"),
    ]
    f = moves(rows, as_of=4)
    assert row(f, "c", 1) == only(new=11000)
    assert row(f, "c", 2) == only(fx=1000)
    assert row(f, "c", 3) == only(fx=600, expansion=2400)
    assert row(f, "c", 4) == only(fx=-3000)


def test_a_month_whose_plan_changes_net_out_has_no_movement() -> None:
    """mrr_monthly holds each account's month total: an upgrade and a downgrade inside February
    leave it at 100 = January's 100, so February has a row with every movement 0."""
    f = moves([("g", 1, 100), ("g", 2, 100)], as_of=2)
    assert row(f, "g", 2) == only()


@pytest.mark.parametrize(
    ("policy", "cents"), [("forever_only", 10000), ("all_recurring", 8000), ("none", 11000)]
)
def test_the_discount_policy_decides_which_discounts_reduce_mrr(policy: str, cents: int) -> None:
    """mrr 80 net of a forever discount of 10 and a limited one of 20:
    forever_only 80 + 20 = 100, all_recurring 80, none 80 + 10 + 20 = 110."""
    f = moves([("h", 1, 80, 80, "USD", 10, 20)], as_of=1, discount_policy=policy)
    assert row(f, "h", 1) == only(new=cents)


def test_a_short_lapse_is_netted_only_when_asked() -> None:
    """50 in Jan, 0 in Feb, 60 in Mar. Raw: churn 50 (Feb), reactivation 60 (Mar). Netting returns
    within 31 days (Feb 1 to Mar 1 = 28 days): contraction 50 and expansion 60 instead."""
    rows = [("b", 1, 50), ("b", 3, 60)]
    raw = moves(rows, as_of=3)
    assert row(raw, "b", 2) == only(churn=5000)
    netted = moves(rows, as_of=3, net_returns_within_days=31)
    assert row(netted, "b", 2) == only(contraction=5000)
    assert row(netted, "b", 3) == only(expansion=6000)
    assert bool(netted.loc[("b", 3), "netted"])
    too_long = moves([("b", 1, 50), ("b", 4, 60)], as_of=4, net_returns_within_days=31)
    assert row(too_long, "b", 2) == only(churn=5000)
    assert row(too_long, "b", 4) == only(reactivation=6000)


def test_months_after_the_as_of_month_are_ignored() -> None:
    """Rows after as_of (e.g. a prepaid future month) do not move anything yet."""
    f = moves([("a", 1, 100), ("a", 2, 100), ("a", 3, 200)], as_of=2)
    assert list(f.index) == [("a", 1), ("a", 2)]


def test_an_unknown_discount_policy_is_a_user_error() -> None:
    with pytest.raises(IcploopError):
        MovementSettings(discount_policy="sometimes")  # type: ignore[arg-type]
