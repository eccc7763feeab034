"""The two measurements of "did this change work" as they stood before they shared one engine,
frozen as the oracle of ``test_measurement_pins``: the ICP before/after comparison of
``icp/outcomes.measure_change`` and the experiment comparison of
``alignment/experiments.measure_experiment`` (the cohort selection they keep is imported).
Not product code: do not extend it."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import numpy as np
import pandas as pd

from icploop.alignment import experiments as exp
from icploop.icp import outcomes as out
from icploop.rules import Rule
from icploop.segments import stats


def _add_quarters(day: dt.date, quarters: int) -> dt.date:
    months = day.year * 12 + day.month - 1 + 3 * quarters
    year, month = divmod(months, 12)
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month + 1, d)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def _in_window(frame: pd.DataFrame, window: tuple[dt.date, dt.date]) -> pd.DataFrame:
    if frame.empty:
        return frame
    closes = pd.to_datetime(frame["close_date"]).dt.date
    return frame[(closes >= window[0]) & (closes < window[1])]


def _change_row(before: pd.Series, after: pd.Series, kind: str) -> dict[str, Any]:
    if kind == "rate":
        k1, n1 = float(after.sum()), float(after.size)
        k0, n0 = float(before.sum()), float(before.size)
        d, lo, hi = stats.rate_difference(k1, n1, k0, n0, 0.95)
        return {
            "before": k0 / n0 if n0 else np.nan, "after": k1 / n1 if n1 else np.nan,
            "difference": float(d), "ci_low": float(lo), "ci_high": float(hi),
            "n_before": int(n0), "n_after": int(n1), "events_before": k0, "events_after": k1,
        }  # fmt: skip
    d, lo, hi, _ = stats.welch_test(
        after.mean() if after.size else np.nan,
        after.var(ddof=1) if after.size > 1 else np.nan,
        after.size,
        before.mean() if before.size else np.nan,
        before.var(ddof=1) if before.size > 1 else np.nan,
        before.size,
        0.95,
    )
    return {
        "before": float(before.mean()) if before.size else np.nan,
        "after": float(after.mean()) if after.size else np.nan,
        "difference": float(d), "ci_low": float(lo), "ci_high": float(hi),
        "n_before": int(before.size), "n_after": int(after.size),
        "events_before": np.nan, "events_after": np.nan,
    }  # fmt: skip


def _change_verdict(row: dict[str, Any], too_early: bool, min_accounts: int) -> str:
    if too_early or int(row["n_after"]) < min_accounts:
        return "not yet measurable"
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    if np.isnan(lo) or np.isnan(hi) or int(row["n_before"]) < min_accounts:
        return "no clear change"
    lower_is_better = row["better"] == "lower"
    if hi < 0:
        return "improved" if lower_is_better else "worse"
    if lo > 0:
        return "worse" if lower_is_better else "improved"
    return "no clear change"


def measure_change(
    outcomes: pd.DataFrame,
    tags: pd.DataFrame,
    effective: dt.date,
    as_of: dt.date,
    *,
    window_quarters: int = 2,
    min_accounts: int = 30,
    lag_quarters: int = 2,
    until: dt.date | None = None,
) -> dict[str, Any]:
    """The ICP change measurement as a plain structure (windows, summary records, caveats)."""
    before_w = (_add_quarters(effective, -window_quarters), effective)
    end = min(_add_quarters(effective, window_quarters), as_of + dt.timedelta(days=1))
    if until is not None:
        end = min(end, until)
    after_w = (effective, max(end, effective))
    too_early = as_of < _add_quarters(effective, lag_quarters)
    before, after = _in_window(outcomes, before_w), _in_window(outcomes, after_w)
    tagged = out.current_tags(tags, outcomes)
    tb, ta = _in_window(tagged, before_w), _in_window(tagged, after_w)
    rows = []
    metrics = (
        ("bad_fit_rate", "bad-fit tag rate", "rate", "lower"),
        ("first_year_churn", "first-year churn", "rate", "lower"),
        ("nrr_12m", "12-month NRR (mean of accounts)", "mean", "higher"),
    )
    for name, label, kind, better in metrics:
        if name == "bad_fit_rate":
            b, a = (tb["tag"] == "bad_fit").astype(float), (ta["tag"] == "bad_fit").astype(float)
        else:
            b, a = before[name].dropna().astype(float), after[name].dropna().astype(float)
        row = {"metric": name, "label": label, "better": better, **_change_row(b, a, kind)}
        row["verdict"] = _change_verdict(row, too_early, min_accounts)
        rows.append(row)
    caveats = [out.LAG_CAVEAT]
    if too_early:
        n = 0
        while _add_quarters(effective, n + 1) <= as_of:
            n += 1
        caveats.append(
            f"only {n} of the {lag_quarters} quarters needed "
            f"have passed since the change took effect on {effective}: nothing is measurable yet"
        )
    for row in rows:
        if row["verdict"] == "not yet measurable" and not too_early:
            caveats.append(
                f"{row['label']}: {row['n_after']} after-change accounts with the outcome "
                f"observed (< {min_accounts}); not yet measurable"
            )
        elif int(row["n_before"]) < min_accounts:
            caveats.append(
                f"{row['label']}: only {row['n_before']} accounts before the change "
                f"(< {min_accounts}); the comparison stays uncertain"
            )
    if until is not None and until < _add_quarters(effective, window_quarters):
        caveats.append(f"the next version took effect on {until}: the after cohorts stop there")
    caveats.append(
        "before/after compares cohorts, not a randomised trial: a shift in market, pricing or "
        "team at the same time moves these numbers too"
    )
    return {
        "before_window": before_w,
        "after_window": after_w,
        "summary": pd.DataFrame(rows, columns=list(out.SUMMARY_COLUMNS)),
        "caveats": tuple(caveats),
    }


def _rate_side(values: pd.Series) -> tuple[float, float, float, float, float]:
    k, n = float(values.sum()), float(values.size)
    lo, hi = stats.wilson_interval(k, n, 0.95)
    return (k / n if n else math.nan), float(lo), float(hi), k, n


def _mean_side(values: pd.Series) -> tuple[float, float, float]:
    from scipy import stats as sps

    n = values.size
    if n == 0:
        return math.nan, math.nan, math.nan
    mean = float(values.mean())
    if n < 2:
        return mean, math.nan, math.nan
    half = float(sps.t.ppf(0.975, n - 1) * values.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def _experiment_row(kind: str, e_values: pd.Series, c_values: pd.Series) -> dict[str, Any]:
    if kind == "rate":
        e, elo, ehi, k1, n1 = _rate_side(e_values)
        c, clo, chi, k0, n0 = _rate_side(c_values)
        d, lo, hi = (float(x) for x in stats.rate_difference(k1, n1, k0, n0, 0.95))
    else:
        e, elo, ehi = _mean_side(e_values)
        c, clo, chi = _mean_side(c_values)
        welch = stats.welch_test(
            e, e_values.var(ddof=1) if e_values.size > 1 else math.nan, e_values.size,
            c, c_values.var(ddof=1) if c_values.size > 1 else math.nan, c_values.size, 0.95,
        )  # fmt: skip
        d, lo, hi = (float(x) for x in welch[:3])
    return {
        "experiment": e, "experiment_low": elo, "experiment_high": ehi, "control": c,
        "control_low": clo, "control_high": chi, "difference": float(d), "ci_low": float(lo),
        "ci_high": float(hi), "n_experiment": int(e_values.size), "n_control": int(c_values.size),
    }  # fmt: skip


def _experiment_verdict(row: dict[str, Any], too_early: bool, min_accounts: int) -> str:
    if too_early or row["n_experiment"] < min_accounts:
        return "not yet measurable"
    lo, hi = row["ci_low"], row["ci_high"]
    if row["n_control"] < min_accounts or np.isnan(lo) or np.isnan(hi):
        return "no clear difference"
    lower_is_better = row["better"] == "lower"
    if hi < 0:
        return "better" if lower_is_better else "worse"
    if lo > 0:
        return "worse" if lower_is_better else "better"
    return "no clear difference"


EXPERIMENT_METRICS = (
    ("win_rate", "win rate (decided deals)", "rate", "higher", 90),
    ("avg_discount", "average discount (won deals)", "mean", "lower", 90),
    ("bad_fit_rate", "bad-fit tag rate (90-day tags)", "rate", "lower", 90),
    ("first_year_churn", "first-year churn", "rate", "lower", 365),
    ("nrr_12m", "12-month NRR (mean of accounts)", "mean", "higher", 365),
)


def measure_experiment(
    segment: list[dict[str, Any]],
    start: dt.date,
    outcomes: pd.DataFrame,
    deals: pd.DataFrame,
    tags: pd.Series,
    as_of: dt.date,
    *,
    end: dt.date | None = None,
    control: dict[str, Any] | None = None,
    min_accounts: int = 30,
) -> dict[str, Any]:
    """The experiment measurement as a plain structure (cohorts, summary, tag mix, caveats)."""
    rules = tuple(Rule.model_validate(r) for r in segment)
    stop = min(end or as_of, as_of)
    experiment = exp.Cohort(rules, start, stop)
    control_cohort, control_kind = exp._control_cohort(rules, start, stop, control)
    if control_cohort.end > as_of:
        control_cohort = exp.Cohort(control_cohort.rules, control_cohort.start, as_of)
    deals = exp._with_close_parts(deals)
    outcomes = exp._with_close_parts(outcomes)

    def in_range(frame: pd.DataFrame, cohort: exp.Cohort) -> pd.Series:
        closes = pd.to_datetime(frame["close_date"]).dt.date
        return (closes >= cohort.start) & (closes <= cohort.end)

    sides: dict[str, dict[str, pd.Series]] = {}
    tag_mix: dict[str, dict[str, Any]] = {}
    for side, cohort in (("experiment", experiment), ("control", control_cohort)):
        in_deals = deals[exp.segment_mask(deals, cohort.rules) & in_range(deals, cohort)]
        accounts = outcomes[exp.segment_mask(outcomes, cohort.rules) & in_range(outcomes, cohort)]
        tagged = accounts["account_id"].map(tags).dropna()
        won = in_deals[in_deals["won"] == 1]
        sides[side] = {
            "win_rate": in_deals["won"].astype(float),
            "avg_discount": won["discount"].dropna().astype(float),
            "bad_fit_rate": (tagged == "bad_fit").astype(float),
            "first_year_churn": accounts["first_year_churn"].dropna().astype(float),
            "nrr_12m": accounts["nrr_12m"].dropna().astype(float),
        }
        tag_mix[side] = {
            "accounts": len(accounts),
            "tagged": int(tagged.size),
            **{
                t: (float((tagged == t).mean()) if tagged.size else None)
                for t in ("strong_fit", "near_fit", "bad_fit")
            },
        }
    rows = []
    caveats = [exp.LAG_CAVEAT]
    for metric, label, kind, better, lag in EXPERIMENT_METRICS:
        row = {"metric": metric, "label": label, "better": better,
               **_experiment_row(kind, sides["experiment"][metric], sides["control"][metric])}  # fmt: skip
        too_early = as_of < start + dt.timedelta(days=lag)
        row["verdict"] = _experiment_verdict(row, too_early, min_accounts)
        rows.append(row)
        if too_early:
            caveats.append(
                f"{label}: needs {lag} days after the start ({start + dt.timedelta(days=lag)}); "
                "not yet measurable"
            )
        elif row["n_experiment"] < min_accounts:
            caveats.append(
                f"{label}: {row['n_experiment']} observed on the experiment side "
                f"(< {min_accounts}); not yet measurable"
            )
        elif row["n_control"] < min_accounts:
            caveats.append(
                f"{label}: only {row['n_control']} observed in the control (< {min_accounts}); "
                "the comparison stays uncertain"
            )
    if tag_mix["control"]["accounts"] == 0:
        caveats.append(
            "the control cohort is empty: if the segment's rules pin the close dates (e.g. "
            "close_year), a period control cannot match them; use a control segment"
        )
    caveats.append(
        "an experiment against a control is not a randomised trial: what else changed over the "
        "same dates or between the segments moves these numbers too"
    )
    return {
        "experiment": experiment,
        "control": control_cohort,
        "control_kind": control_kind,
        "summary": pd.DataFrame(rows, columns=list(exp.SUMMARY_COLUMNS)),
        "tag_mix": tag_mix,
        "caveats": tuple(caveats),
    }
