"""Invariants of movements and retention on random small MRR histories (hypothesis)."""

from __future__ import annotations

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from icploop.metrics.movements import movements
from icploop.metrics.retention import retention

from .conftest import month, tables_from

# Each account: a list of 16 monthly amounts in whole cents (0 = not paying), rates for fx.
amounts = st.lists(st.sampled_from([0, 0, 1, 999, 5000, 12345]), min_size=16, max_size=16)
histories = st.lists(amounts, min_size=1, max_size=5)
rates = st.lists(st.sampled_from([1.0, 1.1, 0.87]), min_size=16, max_size=16)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def rows_of(hist: list[list[int]], fx: list[float] | None = None) -> list[tuple[object, ...]]:
    out: list[tuple[object, ...]] = []
    for i, months in enumerate(hist):
        for m, cents in enumerate(months, start=1):
            if cents:
                r = fx[m - 1] if fx and i % 2 else 1.0
                local = cents / 100
                out.append((f"a{i}", m, round(local * r, 2), local, "EUR" if i % 2 else "USD"))
    return out


@SETTINGS
@given(histories, rates)
def test_movements_sum_exactly_to_the_change_in_mrr_each_month(
    hist: list[list[int]], fx: list[float]
) -> None:
    rows = rows_of(hist, fx)
    if not rows:
        return
    f = movements(tables_from(rows).mrr_monthly, month(16)).to_pandas()
    lhs = f.mrr_end - f.mrr_start
    rhs = f.new + f.reactivation + f.expansion - f.contraction - f.churn + f.fx
    assert (lhs == rhs).all()  # per account and month, in integer cents: exact
    g = f.groupby("m")[["mrr_start", "mrr_end", "new", "reactivation", "expansion",
                        "contraction", "churn", "fx"]].sum()  # fmt: skip
    assert (g.mrr_end - g.mrr_start == g.new + g.reactivation + g.expansion - g.contraction
            - g.churn + g.fx).all()  # fmt: skip
    assert (f[["new", "reactivation", "expansion", "contraction", "churn"]] >= 0).all().all()


@SETTINGS
@given(st.lists(st.sampled_from([1, 999, 5000, 12345]), min_size=1, max_size=6))
def test_a_cohort_with_no_changes_has_nrr_and_grr_of_exactly_one(levels: list[int]) -> None:
    rows = [(f"a{i}", m, c / 100) for i, c in enumerate(levels) for m in range(1, 14)]
    r = retention(tables_from(rows), month(13), start=month(13)).frame.iloc[-1]
    assert r.nrr == 1.0
    assert r.grr == 1.0


@SETTINGS
@given(histories)
def test_grr_never_exceeds_one_nor_nrr(hist: list[list[int]]) -> None:
    rows = rows_of(hist)
    if not rows:
        return
    f = retention(tables_from(rows), month(16)).frame.dropna(subset=["nrr"])
    assert (f.grr <= 1.0 + 1e-12).all()
    assert (f.grr <= f.nrr + 1e-12).all()


@SETTINGS
@given(histories, st.permutations(["x", "y", "z"]))
def test_relabelling_segments_does_not_change_totals(
    hist: list[list[int]], labels: list[str]
) -> None:
    rows = rows_of(hist)
    if not rows:
        return
    ids = sorted({r[0] for r in rows})
    seg = ["x", "y", "z"]

    def totals(names: list[str]) -> pd.Series:
        accounts = pd.DataFrame(
            {"account_id": ids, "segment": [names[i % 3] for i in range(len(ids))]}
        )
        t = tables_from(rows, accounts=accounts)
        f = retention(t, month(16), by=["segment"]).frame
        cols = ["n_accounts", "mrr_base", "mrr_retained", "new", "churn", "expansion", "mrr_end"]
        return f.groupby("period")[cols].sum()

    overall = retention(tables_from(rows), month(16)).frame.set_index("period")
    a, b = totals(seg), totals(list(labels))
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_series_equal(
        a.mrr_end, overall.mrr_end.loc[a.index], check_names=False, rtol=1e-12
    )
