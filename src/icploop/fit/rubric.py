"""From per-account numbers to signal values, the fit tag, the account type and the fit issue.

Pure functions over pandas frames of per-account aggregates (one row per account), so the rule
can be tested with hand-made accounts and changed by configuration alone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from icploop.fit.config import SIGNALS, Combination, Thresholds

STRONG, NEAR, BAD = "strong", "near", "bad"


def _grade(strong: pd.Series, near: pd.Series, known: pd.Series | None = None) -> pd.Series:
    values = np.where(strong, STRONG, np.where(near, NEAR, BAD)).astype(object)
    if known is not None:
        values[~known.to_numpy(dtype=bool)] = None
    return pd.Series(values, index=strong.index, dtype=object)


def grade_signals(features: pd.DataFrame, t: Thresholds) -> pd.DataFrame:
    """Add one column per signal (strong / near / bad / None) to the per-account features.

    Expected columns: ``core_active_weeks_recent``, ``champions``, ``stayed_same_role``,
    ``stayed_other_role``, ``criteria``, ``criteria_met``, ``adoption_ratio``, ``committed``,
    ``committed_active``. Missing inputs make the signal unknown (None), never bad.
    """
    f = features
    out = f.copy()
    out["core_use_case_active"] = _grade(
        f["core_active_weeks_recent"] >= t.core_strong_active_weeks,
        f["core_active_weeks_recent"] >= t.core_near_active_weeks,
        known=f["core_active_weeks_recent"].notna(),
    )
    out["champion_stability"] = _grade(
        f["stayed_same_role"].fillna(0) > 0,
        f["stayed_other_role"].fillna(0) > 0,
        known=f["champions"].fillna(0) > 0,
    )
    criteria = f["criteria"].fillna(0) if "criteria" in f else pd.Series(0, index=f.index)
    missed = criteria - (f["criteria_met"].fillna(0) if "criteria_met" in f else 0)
    # "approximate" is missing exactly one criterion of several
    out["icp_segment_match"] = _grade(
        missed == 0, (missed == 1) & (criteria > 1), known=criteria > 0
    )
    ratio = f["adoption_ratio"]
    out["adoption_trajectory"] = _grade(
        ratio >= t.adoption_strong_ratio, ratio >= t.adoption_near_ratio, known=ratio.notna()
    )
    committed = f["committed"].fillna(0)
    active = f["committed_active"].fillna(0)  # unknown without usage: see ``known`` below
    # one committed use case, in use, is all an AE could have delivered
    out["ae_committed_use_cases_active"] = _grade(
        active >= np.minimum(t.committed_strong, committed.clip(lower=1)),
        active >= 1,
        known=(committed > 0) & f["committed_active"].notna(),
    )
    return out


def combine(signals: pd.DataFrame, rule: Combination) -> pd.Series:
    """The fit tag of each row from its five signal columns (unknown signals count for neither)."""
    values = signals[list(SIGNALS)]
    bad = (values == BAD).sum(axis=1)
    strong = (values == STRONG).sum(axis=1)
    is_bad = bad >= rule.bad_if_bad_signals_at_least
    for group in rule.bad_if_all_bad:
        is_bad |= (values[group] == BAD).all(axis=1)
    is_strong = strong >= rule.strong_if_strong_signals_at_least
    if rule.strong_requires_no_bad:
        is_strong &= bad == 0
    tags = np.where(is_bad, "bad_fit", np.where(is_strong, "strong_fit", "near_fit"))
    return pd.Series(tags, index=signals.index, dtype=object)


def account_type(signals: pd.DataFrame) -> pd.Series:
    """Why an under-performing account under-performs, so only design misfits become ICP evidence.

    ``bad_fit_by_design`` (ICP mismatch or the wrong use case committed: an ICP flag to Sales and
    Marketing), ``good_fit_external_disruption`` (fits, but the champion left: AE re-engagement),
    ``good_fit_poor_adoption`` (fits, adoption lags: CS coaching). None for accounts doing well.
    """
    design = (signals["icp_segment_match"] == BAD) | (
        signals["ae_committed_use_cases_active"] == BAD
    )
    disrupted = signals["champion_stability"] == BAD
    adoption = (
        signals[["core_use_case_active", "adoption_trajectory"]].isin([BAD, NEAR]).any(axis=1)
    )
    underperforming = signals["tag"] != "strong_fit"
    kinds = np.select(
        [underperforming & design, underperforming & disrupted, underperforming & adoption],
        ["bad_fit_by_design", "good_fit_external_disruption", "good_fit_poor_adoption"],
        default="",
    ).astype(object)
    kinds[kinds == ""] = None
    return pd.Series(kinds, index=signals.index, dtype=object)


RESPONSES = {
    "bad_fit_by_design": "ICP flag to Sales and Marketing",
    "good_fit_poor_adoption": "CS coaching and a playbook update",
    "good_fit_external_disruption": "AE re-engagement and an executive relationship",
}


def fit_issue(row: pd.Series) -> str:
    """The flag's fit issue: the clearest misfit among the signals of one account."""
    if row.get("icp_segment_match") == BAD:
        return "icp_mismatch"
    if BAD in (row.get("core_use_case_active"), row.get("ae_committed_use_cases_active")):
        return "use_case_mismatch"
    if row.get("champion_stability") == BAD:
        return "champion_vulnerability"
    return "use_case_mismatch"


def draft_evidence(row: pd.Series) -> str:
    """One or two sentences from the numbers behind the bad signals (a CSM may edit them)."""
    parts: list[str] = []
    if row.get("icp_segment_match") == BAD:
        parts.append(f"Misses ICP criteria: {row.get('criteria_missed') or 'see the criteria'}.")
    if row.get("core_use_case_active") == BAD:
        parts.append(
            f"Core use case '{row.get('use_case')}' unused in the last "
            f"{int(row.get('recent_window_days', 30))} days before day 90."
        )
    if row.get("ae_committed_use_cases_active") == BAD:
        parts.append(
            f"None of the {int(row.get('committed', 0))} use cases committed at close is in use."
        )
    if row.get("champion_stability") == BAD:
        parts.append("The champion at close has left.")
    if row.get("adoption_trajectory") == BAD and len(parts) < 2:
        ratio = row.get("adoption_ratio")
        parts.append(f"Usage at {ratio:.0%} of retained peers at day 90." if ratio == ratio else "")
    return " ".join(p for p in parts[:2] if p) or "Fit signals below the rubric's bar."
