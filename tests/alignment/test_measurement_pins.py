"""Both surfaces of "did this change work" give on the demo company exactly what they gave
before they shared one measurement engine: the ICP before/after comparison and the experiment
against its control, over scenarios that reach every verdict and caveat (measured, too early,
too few accounts, cut by the next version, empty control). The oracle is the frozen
implementation in ``frozen_measurement``; results are compared by equality, NaN for NaN."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import pytest

from icploop.alignment.experiments import measure_experiment
from icploop.icp.outcomes import measure_change

from . import frozen_measurement as frozen
from .conftest import AS_OF

HOSPITALITY = [{"attribute": "industry", "op": "==", "value": "Hospitality"}]
HOSPITALITY_2023 = [*HOSPITALITY, {"attribute": "close_year", "op": "==", "value": 2023}]
OTHERS_2023 = [
    {"attribute": "industry", "op": "!=", "value": "Hospitality"},
    {"attribute": "close_year", "op": "==", "value": 2023},
]


def _plain(summary: pd.DataFrame) -> list[dict[str, Any]]:
    """Summary rows with NaN as None, so that equality holds NaN for NaN."""
    return [
        {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in row.items()}
        for row in summary.to_dict("records")
    ]


def _tags(accounts: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(17)
    tags = rng.choice(["bad_fit", "near_fit", "strong_fit"], len(accounts), p=[0.3, 0.4, 0.3])
    return pd.DataFrame({"account_id": accounts["account_id"], "tag": tags})


CHANGES = [
    pytest.param(dt.date(2023, 1, 1), {}, id="measured"),
    pytest.param(dt.date(2024, 7, 1), {"until": dt.date(2024, 9, 1)}, id="cut-by-next-version"),
    pytest.param(dt.date(2025, 4, 1), {"min_accounts": 200}, id="too-few-accounts"),
    pytest.param(dt.date(2026, 7, 1), {}, id="too-early"),
    pytest.param(dt.date(2024, 1, 1), {"window_quarters": 1, "lag_quarters": 1}, id="one-quarter"),
]


@pytest.mark.parametrize(("effective", "options"), CHANGES)
def test_an_icp_change_measures_as_it_did(
    demo_frames: dict[str, Any], effective: dt.date, options: dict[str, Any]
) -> None:
    accounts = demo_frames["accounts"]
    tags = _tags(accounts)
    new = measure_change(accounts, tags, effective, AS_OF, **options)
    old = frozen.measure_change(accounts, tags, effective, AS_OF, **options)
    assert (new.before_window, new.after_window) == (old["before_window"], old["after_window"])
    assert _plain(new.summary) == _plain(old["summary"])
    assert new.caveats == old["caveats"]
    assert list(new.summary.columns) == list(old["summary"].columns)


EXPERIMENTS = [
    pytest.param(HOSPITALITY_2023, dt.date(2023, 1, 1),
                 {"end": dt.date(2023, 12, 31), "control": {"kind": "segment", "rules": OTHERS_2023}},
                 id="segment-control"),
    pytest.param(HOSPITALITY, dt.date(2024, 1, 1),
                 {"control": {"kind": "period", "start": "2022-01-01", "end": "2022-12-31"}},
                 id="period-control"),
    pytest.param(HOSPITALITY, dt.date(2024, 1, 1), {"end": dt.date(2024, 6, 30)},
                 id="previous-period"),
    pytest.param(HOSPITALITY_2023, dt.date(2024, 1, 1),
                 {"control": {"kind": "period", "start": "2022-01-01", "end": "2022-12-31"}},
                 id="empty-control"),
    pytest.param(HOSPITALITY, AS_OF - dt.timedelta(days=120), {}, id="lags-partly-passed"),
    pytest.param(HOSPITALITY, dt.date(2025, 1, 1), {"min_accounts": 500}, id="too-few"),
]  # fmt: skip


@pytest.mark.parametrize(("segment", "start", "options"), EXPERIMENTS)
def test_an_experiment_measures_as_it_did(
    demo_frames: dict[str, Any], segment: list[dict[str, Any]], start: dt.date,
    options: dict[str, Any],
) -> None:  # fmt: skip
    accounts, deals = demo_frames["accounts"], demo_frames["deals"]
    tags = _tags(accounts).set_index("account_id")["tag"]
    new = measure_experiment("pinned", segment, start, accounts, deals, tags, AS_OF, **options)
    old = frozen.measure_experiment(segment, start, accounts, deals, tags, AS_OF, **options)
    assert (new.experiment, new.control) == (old["experiment"], old["control"])
    assert new.control_kind == old["control_kind"]
    assert _plain(new.summary) == _plain(old["summary"])
    assert new.tag_mix == old["tag_mix"]
    assert new.caveats == old["caveats"]
    assert list(new.summary.columns) == list(old["summary"].columns)


def test_the_scenarios_reach_every_verdict(demo_frames: dict[str, Any]) -> None:
    """The pins above would be weak if every scenario said the same: they do not."""
    accounts, deals = demo_frames["accounts"], demo_frames["deals"]
    tags = _tags(accounts)
    verdicts = set()
    for param in CHANGES:
        effective, options = param.values
        verdicts |= set(measure_change(accounts, tags, effective, AS_OF, **options).summary.verdict)
    series = tags.set_index("account_id")["tag"]
    for param in EXPERIMENTS:
        segment, start, options = param.values
        result = measure_experiment("p", segment, start, accounts, deals, series, AS_OF, **options)
        verdicts |= set(result.summary.verdict)
    assert {"not yet measurable", "no clear change", "no clear difference"} <= verdicts
    assert verdicts & {"improved", "better"} and "worse" in verdicts
