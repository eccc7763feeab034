"""Every metric gives the same numbers on PostgreSQL as on DuckDB (same tables, same code)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import ibis
import numpy as np
import pandas as pd
import pytest

from icploop.ingest.paying import MovementSettings
from icploop.metrics.cohorts import cohort_triangles
from icploop.metrics.expansion import expansion_by_profile
from icploop.metrics.headline import headline
from icploop.metrics.ltv import segment_ltv
from icploop.metrics.movements import movements
from icploop.metrics.retention import retention
from icploop.metrics.survival import duration_counts, kaplan_meier
from icploop.metrics.tables import CanonicalTables

from ..conftest import postgres_copies
from .conftest import month, mrr_frame

pytestmark = pytest.mark.postgres


def demo_frames(n: int = 120, seed: int = 3) -> dict[str, pd.DataFrame]:
    """A small seeded company: expansions, contractions, churns, returns, fx and discounts."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        start, level = int(rng.integers(1, 20)), float(rng.choice([50, 100, 250, 1000]))
        eur = i % 4 == 0
        for m in range(start, 31):
            if rng.random() < 0.04:
                break
            if rng.random() < 0.05:
                continue  # a zero month: churn and return
            level = max(10.0, level * float(rng.choice([1, 1, 1, 1.2, 0.8])))
            rate = 1.0 + 0.1 * np.sin(m) if eur else 1.0
            rows.append((f"a{i}", m, round(level * rate, 2), level, "EUR" if eur else "USD",
                         5.0 if i % 5 == 0 else 0.0, 7.5 if i % 7 == 0 else 0.0))  # fmt: skip
    accounts = pd.DataFrame(
        {
            "account_id": [f"a{i}" for i in range(n)],
            "segment": [["SMB", "Mid", "Ent"][i % 3] for i in range(n)],
            "industry": [["saas", "retail"][i % 2] for i in range(n)],
            "seats_at_close": [int(x) for x in rng.integers(5, 400, n)],
        }
    )
    deals = pd.DataFrame(
        {
            "deal_id": [f"d{i}" for i in range(0, n, 2)],
            "account_id": [f"a{i}" for i in range(0, n, 2)],
            "outcome": ["won" if i % 4 else "lost" for i in range(0, n, 2)],
            "close_date": [month(1 + i % 18) for i in range(0, n, 2)],
        }
    )
    attrs = pd.DataFrame(
        {
            "account_id": accounts.account_id,
            "attribute": "plan",
            "value": ["pro", "team"] * (n // 2),
        }
    )
    return {"mrr_monthly": mrr_frame(rows), "accounts": accounts, "deals": deals,
            "account_attributes": attrs}  # fmt: skip


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[CanonicalTables, CanonicalTables]]:
    frames = demo_frames()
    with postgres_copies(frames) as pg:
        duck = CanonicalTables(**{k: ibis.memtable(v) for k, v in frames.items()})
        yield duck, CanonicalTables(**pg)


def same(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> None:
    a = a.sort_values(keys).reset_index(drop=True)
    b = b.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_dtype=False, check_exact=False, rtol=1e-9)


AS_OF = month(30)


def test_movements_agree(both: tuple[CanonicalTables, CanonicalTables]) -> None:
    for s in (MovementSettings(), MovementSettings("none", net_returns_within_days=45)):
        d, p = (movements(t.mrr_monthly, AS_OF, s).drop("month").to_pandas() for t in both)
        same(d, p, ["account_id", "m"])


@pytest.mark.parametrize(
    ("by", "period"),
    [((), "month"), (("segment",), "quarter"), (("close_cohort", "seats_band"), "month"),
     (("plan", "industry"), "year")],
)  # fmt: skip
def test_retention_agrees(
    both: tuple[CanonicalTables, CanonicalTables], by: tuple[str, ...], period: Any
) -> None:
    d, p = (retention(t, AS_OF, by=by, period=period) for t in both)
    same(d.frame, p.frame, ["period", *by])
    assert d.caveats == p.caveats


def test_headline_triangles_expansion_survival_and_ltv_agree(
    both: tuple[CanonicalTables, CanonicalTables],
) -> None:
    d, p = both
    assert headline(d, AS_OF) == headline(p, AS_OF)
    same(cohort_triangles(d, AS_OF).frame, cohort_triangles(p, AS_OF).frame,
         ["cohort", "months_since"])  # fmt: skip
    same(expansion_by_profile(d, AS_OF, ["segment"]).frame,
         expansion_by_profile(p, AS_OF, ["segment"]).frame, ["segment"])  # fmt: skip
    keys = ["segment", "first_m", "duration", "event"]
    same(duration_counts(d, AS_OF, ["segment"]), duration_counts(p, AS_OF, ["segment"]), keys)
    same(kaplan_meier(d, AS_OF, "segment").summary, kaplan_meier(p, AS_OF, "segment").summary,
         ["group"])  # fmt: skip
    same(segment_ltv(d, AS_OF, "segment").frame, segment_ltv(p, AS_OF, "segment").frame, ["group"])
