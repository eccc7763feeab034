"""Measuring a go-to-market experiment on a segment: its cohorts against a control.

An experiment names a segment (rules that must all hold), a change (a campaign, messaging, a
qualification rule) and the day it started. Its cohorts are the deals and new customers of the
segment closed from ``start`` to ``end`` (or ``as_of`` while it runs); the control is

- ``{"kind": "segment", "rules": [...]}``: another segment over the same dates;
- ``{"kind": "period", "start": ..., "end": ...}``: the same segment over other dates;
- none: the same segment in the period of the same length just before ``start``.

Five outcomes are compared by the measurement engine (:mod:`icploop.alignment.measurement`),
each with a 95% interval for both sides and for the difference (experiment - control;
Newcombe's hybrid score interval for rates, Welch's for means):

- ``win_rate``: won / decided deals (open deals left out);
- ``avg_discount``: mean discount off list of the won deals;
- ``bad_fit_rate``: share of tagged new customers whose 90-day fit tag is ``bad_fit`` (the whole
  mix is reported too; untagged accounts are not judged yet);
- ``first_year_churn``: share of new customers with a full year observed whose MRR reached 0
  within 12 months;
- ``nrr_12m``: mean of the new customers' own 12-month NRR (0 after churn).

Outcomes lag the change: a deal closed in the first weeks was mostly worked before it, a tag comes
90 days after close, churn and NRR need a full year. A metric reads "not yet measurable" until its
lag has passed since ``start`` (90 days for deals and tags, 12 months for churn and NRR) and while
the experiment side holds fewer than ``min_accounts`` deals or accounts with the outcome observed.
Rules name columns of the frames (``industry``, ``segment``, ``lead_source``, ``close_year``...);
values are compared as data, never turned into SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from icploop.alignment.measurement import LEVEL, MIN_ACCOUNTS, NOT_YET, Metric, measure
from icploop.alignment.scorecard import records
from icploop.errors import IcploopError
from icploop.rules import Kind, Rule, as_text, frame_kinds

FIT_TAGS = ("strong_fit", "near_fit", "bad_fit")

#: the outcomes compared, each with its lag in days after the start
METRICS: tuple[tuple[Metric, int], ...] = (
    (Metric("win_rate", "win rate (decided deals)", "rate", "higher"), 90),
    (Metric("avg_discount", "average discount (won deals)", "mean", "lower"), 90),
    (Metric("bad_fit_rate", "bad-fit tag rate (90-day tags)", "rate", "lower"), 90),
    (Metric("first_year_churn", "first-year churn", "rate", "lower"), 365),
    (Metric("nrr_12m", "12-month NRR (mean of accounts)", "mean", "higher"), 365),
)
SUMMARY_COLUMNS = (
    "metric", "label", "better", "experiment", "experiment_low", "experiment_high", "control",
    "control_low", "control_high", "difference", "ci_low", "ci_high", "n_experiment",
    "n_control", "verdict",
)  # fmt: skip
#: the engine's words for the sides, as an experiment's summary names them
EXPERIMENT_NAMES = {
    "changed": "experiment", "changed_low": "experiment_low", "changed_high": "experiment_high",
    "n_changed": "n_experiment",
}  # fmt: skip
LAG_CAVEAT = (
    "outcomes lag the change: deals closed in its first weeks were mostly worked before it, fit "
    "tags come 90 days after close, and first-year churn and 12-month NRR need a full year"
)


def _coerce(value: Any, column: pd.Series) -> Any:
    """A rule value in the column's terms: numbers for numeric columns, text for text ones
    (the rule was checked against the column's kind first, see :func:`segment_mask`)."""
    if isinstance(value, list | tuple):
        return [_coerce(v, column) for v in value]
    if pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype):
        return float(value) if isinstance(value, str) else value
    return value if isinstance(value, str) else as_text(value)


def _dated(column: pd.Series) -> pd.Series:
    """Date-like object columns as ISO text, so that ``close_date >= 2024-01-01`` compares."""
    if pd.api.types.is_datetime64_any_dtype(column.dtype):
        return column.dt.strftime("%Y-%m-%d")
    sample = column.dropna()
    if not sample.empty and isinstance(sample.iloc[0], dt.date):
        return column.map(lambda v: v.isoformat() if isinstance(v, dt.date) else v)
    return column


def segment_mask(frame: pd.DataFrame, rules: Sequence[Rule]) -> pd.Series:
    """True for rows where every rule holds (a missing value never holds, as in
    :meth:`icploop.rules.Rule.to_expr`). An IcploopError names a rule the frame cannot judge:
    an attribute it does not have, or a value that does not compare with the column
    (:meth:`icploop.rules.Rule.problem`)."""
    named = [r.attribute for r in rules if r.attribute in frame.columns]
    kinds = frame_kinds(frame[list(dict.fromkeys(named))])
    mask = pd.Series(True, index=frame.index)
    for rule in rules:
        problem = rule.problem(kinds)
        if problem is not None:
            raise IcploopError(
                f"segment rule {problem}",
                f"use one of: {', '.join(sorted(map(str, frame.columns)))}",
            )
        column = _dated(frame[rule.attribute])
        value = _coerce(rule.value, column)
        present = column.notna()
        if rule.op == "in":
            hit = column.isin(value)
        elif rule.op == "not_in":
            hit = ~column.isin(value)
        else:
            holds = Rule(attribute=rule.attribute, op=rule.op, value=value).holds
            hit = column.map(lambda v, h=holds: v is not None and not pd.isna(v) and h(v))
        mask &= (hit.astype(bool) & present).to_numpy()
    return mask


def experiment_kinds(outcomes: pd.DataFrame, deals: pd.DataFrame) -> dict[str, Kind]:
    """The attributes an experiment's rules may name, with their kinds: the columns both the
    new customers (``outcomes``) and the deals carry, as :func:`measure_experiment` reads them.
    Where the two frames disagree, the stricter kind (number, date, yes/no over text) is kept,
    so a rule accepted here judges both; two different strict kinds leave the column out."""
    left = frame_kinds(_with_close_parts(outcomes))
    right = frame_kinds(_with_close_parts(deals))
    out: dict[str, Kind] = {}
    for name in left.keys() & right.keys():
        kinds = {left[name], right[name]} - {"text"}
        if len(kinds) <= 1:
            out[name] = kinds.pop() if kinds else "text"
    return out


@dataclass(frozen=True)
class Cohort:
    """Who one side of an experiment is: rules that must hold and a closed date range."""

    rules: tuple[Rule, ...]
    start: dt.date
    end: dt.date

    def describe(self) -> str:
        text = " AND ".join(r.describe() for r in self.rules) or "every account"
        return f"{text}, closed {self.start} to {self.end}"


@dataclass(frozen=True)
class ExperimentResult:
    """The measurement of one experiment as of ``as_of``.

    ``summary``: one row per metric (``SUMMARY_COLUMNS``): both sides with their intervals, the
    difference experiment - control with its interval, the counts behind each side and a
    ``verdict`` (better, worse, no clear difference, not yet measurable). ``tag_mix``: the 90-day
    tag shares of both sides.
    """

    name: str
    as_of: dt.date
    experiment: Cohort
    control: Cohort
    control_kind: str
    summary: pd.DataFrame
    tag_mix: dict[str, dict[str, Any]]
    caveats: tuple[str, ...] = field(default=())

    @property
    def measurable(self) -> bool:
        """True when at least one metric has a verdict other than "not yet measurable"."""
        return bool((self.summary["verdict"] != NOT_YET).any())

    @property
    def status(self) -> str:
        return "measured" if self.measurable else NOT_YET

    def verdict(self, metric: str) -> str:
        rows = self.summary[self.summary["metric"] == metric]
        if rows.empty:
            raise KeyError(metric)
        return str(rows.iloc[0]["verdict"])

    def metric(self, name: str) -> dict[str, Any]:
        """One summary row as a dict."""
        rows = self.summary[self.summary["metric"] == name]
        if rows.empty:
            raise KeyError(name)
        return records(rows)[0]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "as_of": self.as_of.isoformat(),
            "status": self.status,
            "experiment": self.experiment.describe(),
            "control": self.control.describe(),
            "control_kind": self.control_kind,
            "metrics": records(self.summary),
            "tag_mix": self.tag_mix,
            "caveats": list(self.caveats),
        }


def _in_range(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.Series:
    closes = pd.to_datetime(frame["close_date"]).dt.date
    return (closes >= start) & (closes <= end)


def _control_cohort(
    rules: tuple[Rule, ...], start: dt.date, end: dt.date, control: dict[str, Any] | None
) -> tuple[Cohort, str]:
    if control is None:
        days = (end - start).days + 1
        before_end = start - dt.timedelta(days=1)
        return Cohort(
            rules, before_end - dt.timedelta(days=days - 1), before_end
        ), "previous period"
    kind = control.get("kind")
    if kind == "segment":
        control_rules = tuple(Rule.model_validate(r) for r in control.get("rules", []))
        return Cohort(control_rules, start, end), "segment"
    if kind == "period":
        c_start = dt.date.fromisoformat(str(control["start"]))
        c_end = dt.date.fromisoformat(str(control["end"]))
        if c_end < c_start:
            raise IcploopError("the control period ends before it starts")
        return Cohort(rules, c_start, c_end), "period"
    raise IcploopError(
        f"unknown control kind {kind!r}", "use {'kind': 'segment'} or {'kind': 'period'}"
    )


def measure_experiment(
    name: str,
    segment: Sequence[Rule | dict[str, Any]],
    start: dt.date,
    outcomes: pd.DataFrame,
    deals: pd.DataFrame,
    tags: pd.Series,
    as_of: dt.date,
    *,
    end: dt.date | None = None,
    control: dict[str, Any] | None = None,
    min_accounts: int = MIN_ACCOUNTS,
    level: float = LEVEL,
) -> ExperimentResult:
    """Measure an experiment on ``segment`` from ``start`` (to ``end``, else to ``as_of``).

    ``outcomes``: :func:`icploop.segments.outcomes.account_outcomes` (new customers: close date,
    attributes, ``first_year_churn``, ``nrr_12m``). ``deals``: decided deals with the account's
    attributes, ``won`` and ``discount`` (:func:`icploop.segments.frames.deal_frame` has them;
    ``close_year`` and ``close_quarter`` are derived here when missing). ``tags``: account_id ->
    90-day fit tag (:func:`icploop.alignment.scorecard.tags_in_force`). ``control``: see the
    module; the experiment's own ``end`` never runs past ``as_of``.
    """
    rules = tuple(r if isinstance(r, Rule) else Rule.model_validate(r) for r in segment)
    if not rules:
        raise IcploopError("an experiment needs at least one segment rule")
    if start > as_of:
        raise IcploopError(f"experiment {name!r} starts after {as_of}", "measure it later")
    stop = min(end or as_of, as_of)
    experiment = Cohort(rules, start, stop)
    control_cohort, control_kind = _control_cohort(rules, start, stop, control)
    if control_cohort.end > as_of:
        control_cohort = Cohort(control_cohort.rules, control_cohort.start, as_of)
    deals = _with_close_parts(deals)
    outcomes = _with_close_parts(outcomes)

    sides: dict[str, dict[str, pd.Series]] = {}
    tag_mix: dict[str, dict[str, Any]] = {}
    for side, cohort in (("experiment", experiment), ("control", control_cohort)):
        in_deals = deals[
            segment_mask(deals, cohort.rules) & _in_range(deals, cohort.start, cohort.end)
        ]
        accounts = outcomes[
            segment_mask(outcomes, cohort.rules) & _in_range(outcomes, cohort.start, cohort.end)
        ]
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
            **{t: (float((tagged == t).mean()) if tagged.size else None) for t in FIT_TAGS},
        }

    lags = {m.name: lag for m, lag in METRICS}
    ready = {metric: start + dt.timedelta(days=lag) for metric, lag in lags.items()}
    rows = measure(
        [m for m, _ in METRICS],
        {metric: (sides["experiment"][metric], sides["control"][metric]) for metric in lags},
        {metric: as_of < day for metric, day in ready.items()},
        min_accounts,
        level,
    )
    caveats = [LAG_CAVEAT]
    for row in rows:
        label, short, metric = row["label"], row["shortfall"], row["metric"]
        if short == "too early":
            caveats.append(
                f"{label}: needs {lags[metric]} days after the start ({ready[metric]}); "
                "not yet measurable"
            )
        elif short == "few changed":
            caveats.append(
                f"{label}: {row['n_changed']} observed on the experiment side "
                f"(< {min_accounts}); not yet measurable"
            )
        elif short == "few control":
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
    return ExperimentResult(
        name=name,
        as_of=as_of,
        experiment=experiment,
        control=control_cohort,
        control_kind=control_kind,
        summary=pd.DataFrame(
            [{EXPERIMENT_NAMES.get(k, k): v for k, v in row.items()} for row in rows],
            columns=list(SUMMARY_COLUMNS),
        ),
        tag_mix=tag_mix,
        caveats=tuple(caveats),
    )


def _with_close_parts(frame: pd.DataFrame) -> pd.DataFrame:
    """``close_year`` and ``close_quarter`` (as text, e.g. ``2023`` and ``2023Q1``) when missing."""
    if {"close_year", "close_quarter"} <= set(frame.columns) or "close_date" not in frame.columns:
        return frame
    closes = pd.to_datetime(frame["close_date"])
    out = frame.copy()
    if "close_year" not in out.columns:
        out["close_year"] = closes.dt.year.astype("Int64").astype(str)
    if "close_quarter" not in out.columns:
        out["close_quarter"] = (
            closes.dt.year.astype("Int64").astype(str) + "Q" + closes.dt.quarter.astype(str)
        )
    return out
