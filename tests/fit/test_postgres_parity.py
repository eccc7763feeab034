"""Tagging gives the same signals and tags on PostgreSQL as on DuckDB (same tables, same code)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

from icploop.fit.config import FitConfig
from icploop.fit.signals import FitInputs
from icploop.fit.tagging import compute_fit

from ..conftest import postgres_copies
from .conftest import AS_OF, CLOSE, inputs, keyed

pytestmark = pytest.mark.postgres


def random_company(n: int = 60, seed: int = 5) -> FitInputs:
    """Accounts with random usage around day 90 (some rows without a use case), committed use
    cases and champions who stay, move or leave; usage keyed by integer account keys, as a load
    stores it."""
    rng = np.random.default_rng(seed)
    cases = ["reporting", "billing", "forecasting"]
    accounts = [
        {"account_id": f"a{i}", "use_case": cases[i % 3], "segment": ["SMB", "Ent"][i % 2]}
        for i in range(n)
    ]
    usage = [
        {
            "account_id": f"a{rng.integers(0, n)}",
            "date": CLOSE + dt.timedelta(days=int(day)),
            "feature": "f",
            "use_case": [*cases, None][rng.integers(0, 4)],
            "events": int(rng.integers(1, 30)),
        }
        for day in rng.integers(-10, 120, 3_000)
    ]
    contacts = [
        {
            "contact_id": f"c{i}",
            "account_id": f"a{i}",
            "title": "VP",
            "is_champion": True,
            "valid_from": CLOSE - dt.timedelta(days=30),
            "valid_to": None if i % 3 else CLOSE + dt.timedelta(days=40),
        }
        for i in range(n)
    ]
    committed = {f"a{i}": cases[: 1 + i % 3] for i in range(n)}
    return keyed(inputs(accounts, usage, contacts, committed))


@pytest.fixture(scope="module")
def both() -> Iterator[tuple[FitInputs, FitInputs]]:
    duck = random_company()
    data = {name: getattr(duck, name).to_pyarrow() for name in FitInputs.__dataclass_fields__}
    with postgres_copies(data) as pg:
        yield duck, FitInputs(**pg)


def test_signals_and_tags_agree(both: tuple[FitInputs, FitInputs]) -> None:
    duck, pg = (compute_fit(t, AS_OF, FitConfig()) for t in both)
    assert len(duck) == 60
    assert duck["active_weeks_recent"].max() > 1  # real counts are compared
    columns = [c for c in duck.columns if c not in ("committed_inactive", "criteria_missed")]
    pd.testing.assert_frame_equal(
        duck[columns], pg[columns], check_dtype=False, check_exact=False, rtol=1e-9
    )
    assert [sorted(x) if isinstance(x, list) else x for x in duck.committed_inactive] == [
        sorted(x) if isinstance(x, list) else x for x in pg.committed_inactive
    ]
