"""The loader's stored account months give every metric exactly the numbers computed without them.

Each metric reads ``account_months`` when the tables carry it (and the default settings apply) and
computes the same neighbours itself otherwise; both paths must agree at every as-of month,
including months before the last one in the data (where the stored next month and MRR twelve
months on lie in the future and must be ignored).
"""

from __future__ import annotations

import dataclasses

import ibis
import pandas as pd
import pytest
from hypothesis import given

from icploop.ingest.paying import MovementSettings, account_months
from icploop.metrics.cohorts import cohort_triangles
from icploop.metrics.expansion import expansion_by_profile
from icploop.metrics.headline import headline
from icploop.metrics.ltv import segment_ltv
from icploop.metrics.retention import retention
from icploop.metrics.survival import duration_counts, kaplan_meier
from icploop.metrics.tables import CanonicalTables

from .conftest import month, tables_from
from .test_postgres_parity import demo_frames
from .test_properties import SETTINGS, histories, rates, rows_of


def stored(tables: CanonicalTables) -> CanonicalTables:
    """The same tables with ``account_months`` as the loader stores it (materialised, so the
    metrics read a table and not the window over ``mrr_monthly``)."""
    facts = ibis.memtable(account_months(tables.mrr_monthly).to_pyarrow())
    return dataclasses.replace(tables, account_months=facts)


def same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(
        a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False
    )


@SETTINGS
@given(histories, rates)
def test_monthly_and_one_month_retention_agree_on_random_histories(
    hist: list[list[int]], fx: list[float]
) -> None:
    plain = tables_from(rows_of(hist, fx))
    facts = stored(plain)
    for as_of in (month(9), month(13), month(16)):
        for start in (None, as_of):
            a = retention(plain, as_of, start=start).frame
            b = retention(facts, as_of, start=start).frame
            same(a, b)
    for period in ("quarter", "year"):
        same(retention(plain, month(14), period=period).frame,
             retention(facts, month(14), period=period).frame)  # fmt: skip


def test_every_metric_agrees_on_the_demo_company() -> None:
    frames = demo_frames()
    plain = CanonicalTables(**{k: ibis.memtable(v) for k, v in frames.items()})
    facts = stored(plain)
    for as_of in (month(14), month(22), month(30)):
        for by, start in (((), None), (("segment",), None), (("close_cohort", "plan"), as_of)):
            same(
                retention(plain, as_of, by=by, start=start).frame,
                retention(facts, as_of, by=by, start=start).frame,
            )
        same(retention(plain, as_of, period="quarter").frame,
             retention(facts, as_of, period="quarter").frame)  # fmt: skip
        assert headline(plain, as_of) == headline(facts, as_of)
        same(cohort_triangles(plain, as_of).frame, cohort_triangles(facts, as_of).frame)
        same(duration_counts(plain, as_of, ["segment"]), duration_counts(facts, as_of, ["segment"]))
        same(kaplan_meier(plain, as_of, "segment").curves,
             kaplan_meier(facts, as_of, "segment").curves)  # fmt: skip
        same(segment_ltv(plain, as_of, "segment").frame, segment_ltv(facts, as_of, "segment").frame)
        same(expansion_by_profile(plain, as_of, ["industry"]).frame,
             expansion_by_profile(facts, as_of, ["industry"]).frame)  # fmt: skip


@pytest.mark.parametrize(
    "settings", [MovementSettings("none"), MovementSettings(net_returns_within_days=45)]
)
def test_other_settings_never_read_the_stored_facts(settings: MovementSettings) -> None:
    """Stored facts hold the default discount policy only: garbage in them changes nothing."""
    frames = demo_frames()
    plain = CanonicalTables(**{k: ibis.memtable(v) for k, v in frames.items()})
    junk = account_months(plain.mrr_monthly).mutate(cents=ibis.literal(1, "int64"))
    poisoned = dataclasses.replace(plain, account_months=junk)
    same(retention(plain, month(30), settings=settings).frame,
         retention(poisoned, month(30), settings=settings).frame)  # fmt: skip
    assert (
        retention(poisoned, month(30)).frame.mrr_end.iloc[-1]
        != (retention(plain, month(30)).frame.mrr_end.iloc[-1])
    )  # the default settings do read them


def test_a_load_stores_the_account_months_the_metrics_then_read(demo_warehouse) -> None:  # type: ignore[no-untyped-def]
    """The loader derives ``account_months`` from ``mrr_monthly``; the demo company's metrics are
    the same read from it as computed without it."""
    from icploop.engine import connect

    backend = connect(f"duckdb://{demo_warehouse}")
    try:
        loaded = CanonicalTables.from_backend(backend)
        assert loaded.account_months is not None
        expected = account_months(loaded.mrr_monthly).to_pandas()
        got = loaded.account_months.to_pandas()
        keys = ["account_id", "m"]
        same(got.sort_values(keys), expected.sort_values(keys))
        plain = dataclasses.replace(loaded, account_months=None)
        as_of = got.m.max()
        as_of_date = month(int(as_of) - 2023 * 12 + 1)
        for by in ((), ("segment",)):
            same(
                retention(loaded, as_of_date, by=by).frame,
                retention(plain, as_of_date, by=by).frame,
            )
        assert headline(loaded, as_of_date) == headline(plain, as_of_date)
    finally:
        backend.disconnect()
