"""On the demo company the planted bad-fit groups come out bad fit far more often than the rest."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import ibis
import pandas as pd

from icploop.demo.vocab import USE_CASES
from icploop.fit.config import FitConfig
from icploop.fit.signals import FitInputs, due_accounts, usage_features
from icploop.fit.tagging import compute_fit

AS_OF = dt.date(2026, 10, 31)
TABLES = ("accounts", "deals", "deal_use_cases", "usage", "contacts", "mrr_monthly")


def test_the_bad_fit_ae_and_the_hard_targeted_segment_are_tagged_bad_fit_far_more_often(
    demo_5000: dict[str, Any],
) -> None:
    backend = ibis.duckdb.connect(str(demo_5000["warehouse"]), read_only=True)
    fit = compute_fit(FitInputs(**{t: backend.table(t) for t in TABLES}), AS_OF, FitConfig())
    accounts = backend.table("accounts").select("account_id", "industry").to_pandas()
    deals = backend.table("deals").to_pandas()
    won = deals[deals["outcome"] == "won"].sort_values("close_date").groupby("account_id").first()
    frame = fit.merge(accounts, on="account_id").join(won[["ae"]], on="account_id")
    close = pd.to_datetime(frame["close_date"])
    quarter_end = (close + pd.offsets.QuarterEnd(0) - close).dt.days < 14
    groups = {
        "ae": (frame["ae"] == "ae.haddad@demo.icploop.dev") & quarter_end,
        "targeted": (frame["industry"] == "Hospitality") & (close.dt.year == 2023),
    }
    bad = frame["tag"] == "bad_fit"
    rest = ~(groups["ae"] | groups["targeted"])
    assert len(fit) == len(frame) > 4000
    for name, members in groups.items():
        assert members.sum() >= 100, name
        assert bad[members].mean() >= 2.5 * bad[rest].mean(), name
        strong = frame["tag"] == "strong_fit"
        assert strong[members].mean() < strong[rest].mean() - 0.3, name


def test_usage_joined_by_integer_keys_gives_the_same_features_as_by_text_ids(
    demo_5000: dict[str, Any],
) -> None:
    """The demo's stored usage carries the load's integer account keys; a warehouse loaded
    before them (no keys) gets the same usage features from the text ids."""
    backend = ibis.duckdb.connect(str(demo_5000["warehouse"]), read_only=True)
    plain = FitInputs(**{t: backend.table(t) for t in TABLES})
    with_keys = replace(plain, account_keys=backend.table("account_keys"))
    assert with_keys.keyed and not plain.keyed
    due = due_accounts(plain, AS_OF, FitConfig())
    use_cases = list(USE_CASES)
    a, b = (
        usage_features(data, due, FitConfig(), use_cases).sort_values("account_id")
        for data in (with_keys, plain)
    )
    assert len(a) > 4000 and a["events_0_30"].sum() > 0
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
