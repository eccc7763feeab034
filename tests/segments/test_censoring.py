"""Young cohorts must not look loyal: churn is judged at equal exposure, not as 'churned so far'."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from tests.metrics.conftest import tables_from

from icploop.metrics.survival import kaplan_meier
from icploop.segments.outcomes import account_outcomes

AS_OF = dt.date(2026, 10, 31)  # month 46 counted from January 2023


def _company(seed: int = 5) -> tuple[list[tuple[str, int, float]], pd.DataFrame]:
    """Two segments with the same truth: 30% of accounts churn, at a uniform month 1-12.
    'veteran' accounts started in month 1 (46 months of history); 'recent' ones in month 41
    (6 months of history, so only churns in months 1-5 have happened yet)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[str, int, float]] = []
    accounts = []
    for segment, start in (("veteran", 1), ("recent", 41)):
        for i in range(600):
            account = f"{segment}-{i}"
            accounts.append({"account_id": account, "segment": segment})
            life = int(rng.integers(1, 13)) if rng.random() < 0.3 else 10_000
            last = min(start + life - 1, 46)
            rows += [(account, m, 100.0) for m in range(start, last + 1)]
    return rows, pd.DataFrame(accounts)


def test_a_naive_churned_so_far_rate_flatters_young_cohorts_but_the_estimates_do_not() -> None:
    rows, accounts = _company()
    tables = tables_from(rows, accounts=accounts)
    outcomes = account_outcomes(tables, AS_OF).merge(accounts, on="account_id", suffixes=("", "_a"))
    naive = outcomes.groupby("segment")["churned"].mean()
    assert naive["recent"] < 0.2 < 0.25 < naive["veteran"]  # the trap: recent looks loyal

    exposed = outcomes.groupby("segment")["first_year_churn"]
    assert exposed.count()["recent"] == 0  # no full year yet: no claim, not "retained"
    assert abs(exposed.mean()["veteran"] - 0.30) < 0.06

    curves = kaplan_meier(tables, AS_OF, by="segment", at_months=5)
    s5 = curves.summary.set_index("group")
    truth_at_5 = 1 - 0.30 * 5 / 12
    for segment in ("veteran", "recent"):
        low, high = s5.loc[segment, "s_at_lower"], s5.loc[segment, "s_at_upper"]
        assert low - 0.02 <= truth_at_5 <= high + 0.02
