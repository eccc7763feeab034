"""Synthetic account frames with planted (or no) effects, generated from explicit seeds."""

from __future__ import annotations

from collections.abc import Callable

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd
import pytest

CATEGORIES = {
    "industry": ["Retail", "Software", "Finance", "Health", "Manufacturing"],
    "region": ["NA", "EMEA", "APAC", "LATAM"],
    "lead_source": ["inbound", "outbound", "partner", "intent"],
    "plan": ["starter", "growth", "enterprise"],
    "use_case": ["reporting", "alerts", "forecasting", "billing"],
}

Maker = Callable[..., tuple[ir.Table, pd.DataFrame]]


def make_accounts(
    seed: int, n: int, planted: bool = True, base: float = 0.10
) -> tuple[ir.Table, pd.DataFrame]:
    """Accounts with churn 0.30 in Retail and for seats_at_close < 50 (else ``base``) when
    ``planted``; otherwise churn is ``base`` for everyone. ``p`` holds each account's true
    churn probability so tests can compute true segment rates."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({k: rng.choice(v, n) for k, v in CATEGORIES.items()})
    frame["seats_at_close"] = np.maximum(1, np.round(rng.lognormal(4.3, 0.8, n)))
    p = np.full(n, base)
    if planted:
        p = np.where((frame["industry"] == "Retail") | (frame["seats_at_close"] < 50), 0.30, p)
    frame["p"] = p
    frame["churned"] = (rng.random(n) < p).astype(np.int64)
    frame["ltv"] = rng.normal(10_000, 2_000, n) + np.where(
        planted & (frame["plan"] == "enterprise"), 1_500, 0
    )
    return ibis.memtable(frame), frame


@pytest.fixture
def accounts() -> Maker:
    return make_accounts
