"""The whole computation behind a tagging run: due accounts, their signals, tag and type.

Pure: reads Ibis tables, returns a frame. Storing the tags (with history, idempotently) and
raising flags are the workflow's job, outside the analytics.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from icploop.fit.config import FitConfig
from icploop.fit.rubric import account_type, combine, draft_evidence, fit_issue, grade_signals
from icploop.fit.signals import (
    CriteriaPeriod,
    FitInputs,
    champion_status,
    committed_pairs,
    committed_use_cases,
    criteria_timeline,
    due_accounts,
    icp_match,
    retained_peers,
    usage_features,
)


def compute_fit(
    inputs: FitInputs,
    as_of: dt.date,
    config: FitConfig,
    icp_periods: Sequence[CriteriaPeriod] = (),
) -> pd.DataFrame:
    """One row per account that reached day 90 by ``as_of``: features, signals, tag, type.

    The ICP match uses ``icp_periods`` (the published ICP versions, in order of start) where
    given, and the configuration's ``icp_criteria`` for accounts closed before the first of them.
    Adoption is judged against retained peers of the same ``segment`` (accounts still paying
    ``retained_peer_months`` after close): their median events in days 60-90; where a segment has
    fewer than 10 retained peers, all retained peers are the reference; with none, unknown.
    """
    due = due_accounts(inputs, as_of, config)
    frame = due.select("account_id", "close_date", "tag_day").to_pandas()
    if frame.empty:
        return frame
    accounts = inputs.accounts.select("account_id", "segment", "use_case").to_pandas()
    frame = frame.merge(accounts, on="account_id", how="left")
    pairs = committed_pairs(inputs, due)
    usage = usage_features(inputs, due, config, sorted(pairs.use_case.unique()))
    for part in (
        usage.drop(columns="use_cases_used"),
        champion_status(inputs, due, as_of),
        committed_use_cases(pairs, usage),
        icp_match(inputs, due, criteria_timeline(config.icp_criteria, icp_periods)),
    ):
        frame = frame.merge(part, on="account_id", how="left")
    frame["adoption_ratio"] = _adoption_ratio(
        frame, retained_peers(inputs, due, as_of, config.thresholds.retained_peer_months)
    )
    if int(inputs.usage.count().execute()) == 0:
        # no usage loaded: use is unknown, never none (the signals it decides stay unknown)
        frame[[*USAGE_COUNTS, "committed_active", "adoption_ratio"]] = np.nan
    frame["recent_window_days"] = config.thresholds.recent_window_days
    graded = grade_signals(frame, config.thresholds)
    graded["tag"] = combine(graded, config.combination)
    graded["account_type"] = account_type(graded)
    bad = graded["tag"] == "bad_fit"
    graded["fit_issue"] = None
    graded["evidence"] = None
    if bad.any():
        graded.loc[bad, "fit_issue"] = graded[bad].apply(fit_issue, axis=1)
        graded.loc[bad, "evidence"] = graded[bad].apply(draft_evidence, axis=1)
    return graded.sort_values("account_id").reset_index(drop=True)


#: the per-account counts of :func:`usage_features` (unknown when no usage is loaded)
USAGE_COUNTS = (
    "events_0_30",
    "events_30_60",
    "events_60_90",
    "active_weeks_recent",
    "core_active_weeks_recent",
)


def _adoption_ratio(frame: pd.DataFrame, peers: pd.Series, min_peers: int = 10) -> pd.Series:
    usage = frame["events_60_90"].fillna(0)
    peer_rows = frame[frame["account_id"].isin(set(peers))]
    if peer_rows.empty:
        return pd.Series(float("nan"), index=frame.index)
    overall = peer_rows["events_60_90"].fillna(0).median()
    by_segment = peer_rows.groupby("segment")["events_60_90"].agg(["median", "size"])
    reference = (
        frame["segment"]
        .map(by_segment["median"].where(by_segment["size"] >= min_peers))
        .fillna(overall)
    )
    return (usage / reference.where(reference > 0)).astype(float)
