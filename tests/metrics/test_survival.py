"""Survival: durations by hand, and KM, log-rank and Cox agreeing with lifelines run directly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifelines import CoxPHFitter, KaplanMeierFitter
from lifelines.statistics import multivariate_logrank_test

from icploop.metrics.cox import CoxModel
from icploop.metrics.survival import durations, first_year_churn, kaplan_meier

from .conftest import month, tables_from


def simulated(n: int = 300, seed: int = 7) -> tuple[list[tuple[object, ...]], pd.DataFrame]:
    """Accounts starting in months 1..12 of 2023, churning with a monthly hazard by segment."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[object, ...]] = []
    segs, bands = [], []
    for i in range(n):
        seg = ["smb", "mid", "ent"][i % 3]
        band = ["small", "large"][(i // 3) % 2]
        hazard = {"smb": 0.08, "mid": 0.04, "ent": 0.02}[seg] * (1.8 if band == "small" else 1)
        start = int(rng.integers(1, 13))
        life = int(rng.geometric(hazard))
        for m in range(start, min(start + life, 31)):
            rows.append((f"a{i}", m, 100))
        segs.append(seg)
        bands.append(band)
    acc = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "segment": segs, "band": bands})
    return rows, acc


def test_durations_are_months_to_the_first_churn_or_to_as_of() -> None:
    """a: pays months 1-3, churns in 4: duration 3, event. b: pays 2-6 at as_of 6: censored at 4.
    c: churns in 3 and returns in 5: the first churn counts, duration 2. d starts at as_of: left
    out (no exposure)."""
    rows = [("a", 1, 9), ("a", 2, 9), ("a", 3, 9)] + [("b", m, 9) for m in range(2, 7)]
    rows += [("c", 1, 9), ("c", 2, 9), ("c", 5, 9), ("c", 6, 9), ("d", 6, 9)]
    d = durations(tables_from(rows), month(6)).to_pandas().set_index("account_id").sort_index()
    assert d.duration.to_dict() == {"a": 3, "b": 4, "c": 2}
    assert d.event.to_dict() == {"a": True, "b": False, "c": True}


def test_first_year_churn_needs_twelve_months_of_exposure() -> None:
    """x pays months 1-12 and churns in 13: duration 12, a first-year churn (annual not renewed).
    y pays months 1-13+: retained. z starts in month 5: only 9 months by as_of 14: left out."""
    rows = [("x", m, 1) for m in range(1, 13)] + [("y", m, 1) for m in range(1, 15)]
    rows += [("z", m, 1) for m in range(5, 15)]
    f = first_year_churn(tables_from(rows), month(14)).to_pandas().set_index("account_id")
    assert f.churned_first_year.to_dict() == {"x": True, "y": False}


def test_kaplan_meier_agrees_with_lifelines_on_one_row_per_account() -> None:
    rows, acc = simulated()
    t = tables_from(rows, accounts=acc)
    res = kaplan_meier(t, month(30), by="segment", at_months=12)
    d = durations(t, month(30)).to_pandas().merge(acc, on="account_id")
    for seg, part in d.groupby("segment"):
        kmf = KaplanMeierFitter().fit(part.duration, part.event)
        ours = res.curves[res.curves.group == seg].set_index("months")
        theirs = kmf.survival_function_.iloc[:, 0]
        np.testing.assert_allclose(ours.survival.to_numpy(), theirs.loc[ours.index].to_numpy())
        ci = kmf.confidence_interval_.loc[ours.index]
        np.testing.assert_allclose(ours.ci_lower.to_numpy(), ci.iloc[:, 0].to_numpy())
        np.testing.assert_allclose(ours.ci_upper.to_numpy(), ci.iloc[:, 1].to_numpy())
        s12 = res.summary.set_index("group").loc[seg, "s_at"]
        assert s12 == pytest.approx(float(kmf.predict(12)))
    lr = multivariate_logrank_test(d.duration, d.segment, d.event)
    assert res.logrank is not None
    assert res.logrank["test_statistic"] == pytest.approx(lr.test_statistic)
    assert res.logrank["p_value"] == pytest.approx(lr.p_value)


def test_cox_hazard_ratios_agree_with_lifelines_on_one_row_per_account() -> None:
    rows, acc = simulated()
    t = tables_from(rows, accounts=acc)
    model = CoxModel().fit(t, month(30), ["segment", "band"])
    d = durations(t, month(30)).to_pandas().merge(acc, on="account_id")
    design = pd.DataFrame(
        {
            f"segment={s}": (d.segment == s).astype(float)
            for s in sorted(d.segment.unique())
            if s != model.references_["segment"]
        }
        | {
            f"band={b}": (d.band == b).astype(float)
            for b in sorted(d.band.unique())
            if b != model.references_["band"]
        }
    )
    design["duration"], design["event"] = d.duration, d.event.astype(int)
    cph = CoxPHFitter().fit(design, "duration", "event")
    ours = model.hazard_ratios_.set_index("covariate")
    for cov in cph.summary.index:
        assert ours.loc[cov, "hazard_ratio"] == pytest.approx(
            cph.summary.loc[cov, "exp(coef)"], rel=1e-5
        )
        assert ours.loc[cov, "ci_lower"] == pytest.approx(
            cph.summary.loc[cov, "exp(coef) lower 95%"], rel=1e-4
        )
    assert model.concordance_ == pytest.approx(cph.concordance_index_, abs=1e-6)
    assert set(model.summary.columns) >= {"hazard_ratio", "ph_p_value"}
    # the planted effect: small bands churn 1.8x as fast
    assert 1.3 < ours.loc["band=small", "hazard_ratio"] < 2.6
