"""Did a published ICP change work? Cohorts closed after it against cohorts closed before it.

For a change in force from ``effective``, the accounts whose first won deal closed in the
``window_quarters`` quarters (3-month spans counted from ``effective``) after it are compared with
those closed in the same number of quarters before it, on three outcomes:

- ``bad_fit_rate``: share of tagged accounts whose current fit tag is ``bad_fit`` (lower is better).
  Only accounts that have a tag count: a tag is given 90 days after close, so younger accounts are
  not "not bad fit", they are not judged yet.
- ``first_year_churn``: share of accounts with a full year of exposure (non-null
  ``first_year_churn``) whose MRR reached 0 within 12 months (lower is better).
- ``nrr_12m``: the mean of the accounts' own 12-month NRR (MRR 12 months after the first paid month
  over the first month's MRR; 0 after churn). Each account weighs the same, so this is not the
  MRR-weighted cohort NRR of the retention report: a change aimed at which accounts are closed is
  about accounts, and the per-account mean has a Welch interval (higher is better).

A version is measured as an experiment on every account whose control is the earlier period:
the comparison and its verdict are the measurement engine's
(:mod:`icploop.alignment.measurement`), worded here as before/after. Rates get Newcombe's hybrid
score interval for the difference, the NRR mean Welch's; all are 95% intervals of
``after - before``. Outcomes lag a change: cohorts must close, be tagged at day 90 and,
for churn and NRR, live a year. Until enough time has passed, or while the after cohorts hold fewer
than ``min_accounts`` accounts with the outcome observed, a metric reads "not yet measurable".
Definitions are written out in ``docs/icp.md``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd
from sqlalchemy.orm import Session

from icploop.alignment.measurement import BETTER, UNCLEAR, Metric, measure
from icploop.errors import IcploopError
from icploop.icp.versions import timeline
from icploop.metrics.calendar import add_months
from icploop.store.fit_tags import current_tags_frame

Verdict = Literal["improved", "worse", "no clear change", "not yet measurable"]
VERDICTS: tuple[str, ...] = ("improved", "worse", "no clear change", "not yet measurable")

BAD_FIT = "bad_fit"

METRICS: tuple[Metric, ...] = (
    Metric("bad_fit_rate", "bad-fit tag rate", "rate", "lower"),
    Metric("first_year_churn", "first-year churn", "rate", "lower"),
    Metric("nrr_12m", "12-month NRR (mean of accounts)", "mean", "higher"),
)
#: the engine's words as a before/after comparison says them (the changed side is "after")
CHANGE_WORDS = {
    "changed": "after", "control": "before", "n_changed": "n_after", "n_control": "n_before",
    "events_changed": "events_after", "events_control": "events_before",
}  # fmt: skip
VERDICT_WORDS = {BETTER: "improved", UNCLEAR: "no clear change"}

SUMMARY_COLUMNS = (
    "metric", "label", "better", "before", "after", "difference", "ci_low", "ci_high",
    "n_before", "n_after", "events_before", "events_after", "verdict",
)  # fmt: skip

LAG_CAVEAT = (
    "outcomes lag an ICP change by 2-3 quarters: the after cohorts must first close, then be "
    "tagged 90 days after close; first-year churn and 12-month NRR need a further full year of "
    "exposure, so they become measurable last"
)


def add_quarters(day: dt.date, quarters: int) -> dt.date:
    """``day`` moved by whole quarters (3 months each, negative goes back); a day the target month
    lacks becomes its last day (31 May + 1 quarter = 31 August, 30 November + 1 = 28 February)."""
    return add_months(day, 3 * quarters)


@dataclass(frozen=True)
class ChangeOutcome:
    """The outcome measurement of one ICP change.

    ``summary`` has one row per metric (see ``SUMMARY_COLUMNS``): ``before`` and ``after``
    (fractions for rates, NRR as a ratio: 1.05 is 105%), ``difference`` = after - before with its
    95% interval ``ci_low``..``ci_high`` (NaN when a side has too few accounts), ``n_before`` /
    ``n_after`` (accounts with the outcome observed), ``events_before`` / ``events_after`` (bad-fit
    tags or churned accounts; NaN for NRR) and ``verdict``. Windows are half-open date ranges
    ``[start, end)`` of close dates.
    """

    effective: dt.date
    as_of: dt.date
    before_window: tuple[dt.date, dt.date]
    after_window: tuple[dt.date, dt.date]
    summary: pd.DataFrame
    caveats: tuple[str, ...] = field(default=())
    version: int | None = None

    def verdict(self, metric: str) -> str:
        """The verdict of one metric (``bad_fit_rate``, ``first_year_churn`` or ``nrr_12m``)."""
        rows = self.summary[self.summary.metric == metric]
        if rows.empty:
            raise KeyError(metric)
        return str(rows.iloc[0].verdict)

    @property
    def measurable(self) -> bool:
        """True when at least one metric has a verdict other than "not yet measurable"."""
        return bool((self.summary.verdict != "not yet measurable").any())


def _close_dates(frame: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(frame["close_date"]).dt.date


def _in_window(frame: pd.DataFrame, window: tuple[dt.date, dt.date]) -> pd.DataFrame:
    if frame.empty:
        return frame
    closes = _close_dates(frame)
    return frame[(closes >= window[0]) & (closes < window[1])]


def current_tags(tags: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """One row per tagged account: ``account_id``, ``tag`` and ``close_date``.

    Only tags in force count (``current`` when the column is there; otherwise the last row of an
    account). The close date is the outcomes frame's (the first won deal) when it knows the
    account, else the tag's own ``close_date``; accounts without either are dropped.
    """
    if tags.empty:
        return pd.DataFrame(columns=["account_id", "tag", "close_date"])
    frame = tags
    if "current" in frame.columns:
        frame = frame[frame["current"].astype(bool)]
    frame = frame.drop_duplicates("account_id", keep="last")
    own = frame["close_date"] if "close_date" in frame.columns else None
    frame = frame[["account_id", "tag"]].copy()
    closes = outcomes.set_index("account_id")["close_date"] if not outcomes.empty else None
    merged = frame["account_id"].map(closes) if closes is not None else pd.Series(None, frame.index)
    if own is not None:
        merged = merged.where(merged.notna(), own)
    frame["close_date"] = merged
    return frame[frame["close_date"].notna()].reset_index(drop=True)


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
    version: int | None = None,
) -> ChangeOutcome:
    """Compare the cohorts closed after an ICP change in force from ``effective`` with those
    closed before it, as of ``as_of``.

    ``outcomes`` is :func:`icploop.segments.outcomes.account_outcomes` (``account_id``,
    ``close_date``, ``first_year_churn``, ``nrr_12m``); ``tags`` has ``account_id`` and ``tag``
    (optionally ``close_date`` and ``current``: see :func:`current_tags`). The before window is
    ``[effective - window_quarters quarters, effective)``, the after window
    ``[effective, effective + window_quarters quarters)``, cut at ``as_of`` (later closes do not
    exist yet) and at ``until`` (the next version's effective date, so its cohorts are not
    credited to this change).

    Every metric reads "not yet measurable" while fewer than ``lag_quarters`` quarters have passed
    since ``effective``, and a metric does while its after side has fewer than ``min_accounts``
    accounts with the outcome observed. A before side under ``min_accounts`` gives "no clear
    change" with a caveat: it will not grow with time.
    """
    if window_quarters < 1:
        raise IcploopError("window_quarters must be at least 1")
    missing = {"account_id", "close_date", "first_year_churn", "nrr_12m"} - set(outcomes.columns)
    if missing:
        raise IcploopError(
            f"the outcomes frame lacks {', '.join(sorted(missing))}",
            "build it with icploop.segments.outcomes.account_outcomes",
        )
    if not {"account_id", "tag"} <= set(tags.columns):
        raise IcploopError("the tags frame needs account_id and tag columns")
    before_w = (add_quarters(effective, -window_quarters), effective)
    end = min(add_quarters(effective, window_quarters), as_of + dt.timedelta(days=1))
    if until is not None:
        end = min(end, until)
    after_w = (effective, max(end, effective))
    too_early = as_of < add_quarters(effective, lag_quarters)

    before, after = _in_window(outcomes, before_w), _in_window(outcomes, after_w)
    tagged = current_tags(tags, outcomes)
    tb, ta = _in_window(tagged, before_w), _in_window(tagged, after_w)

    bad_before, bad_after = (tb["tag"] == BAD_FIT), (ta["tag"] == BAD_FIT)
    sides = {
        m.name: (bad_after, bad_before)
        if m.name == "bad_fit_rate"
        else (after[m.name].dropna(), before[m.name].dropna())
        for m in METRICS
    }
    measured = measure(METRICS, sides, dict.fromkeys(sides, too_early), min_accounts)
    rows = [
        {**{CHANGE_WORDS.get(k, k): v for k, v in row.items()},
         "verdict": VERDICT_WORDS.get(row["verdict"], row["verdict"])}
        for row in measured
    ]  # fmt: skip
    summary = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))

    caveats = [LAG_CAVEAT]
    if too_early:
        caveats.append(
            f"only {_quarters_between(effective, as_of)} of the {lag_quarters} quarters needed "
            f"have passed since the change took effect on {effective}: nothing is measurable yet"
        )
    for row in rows:
        if row["shortfall"] == "few changed":
            caveats.append(
                f"{row['label']}: {row['n_after']} after-change accounts with the outcome "
                f"observed (< {min_accounts}); not yet measurable"
            )
        elif int(row["n_before"]) < min_accounts:
            caveats.append(
                f"{row['label']}: only {row['n_before']} accounts before the change "
                f"(< {min_accounts}); the comparison stays uncertain"
            )
    if until is not None and until < add_quarters(effective, window_quarters):
        caveats.append(f"the next version took effect on {until}: the after cohorts stop there")
    caveats.append(
        "before/after compares cohorts, not a randomised trial: a shift in market, pricing or "
        "team at the same time moves these numbers too"
    )
    return ChangeOutcome(
        effective=effective,
        as_of=as_of,
        before_window=before_w,
        after_window=after_w,
        summary=summary,
        caveats=tuple(caveats),
        version=version,
    )


def _quarters_between(start: dt.date, end: dt.date) -> int:
    """Whole quarters from ``start`` to ``end`` (0 when ``end`` is earlier)."""
    n = 0
    while add_quarters(start, n + 1) <= end:
        n += 1
    return n


def measure_versions(
    session: Session,
    outcomes: pd.DataFrame,
    as_of: dt.date,
    *,
    tags: pd.DataFrame | None = None,
    window_quarters: int = 2,
    min_accounts: int = 30,
    lag_quarters: int = 2,
) -> list[ChangeOutcome]:
    """The outcome measurement of every published (or superseded) ICP version, oldest first.

    Each version is measured from its effective date; its after window stops at the next
    version's effective date. ``tags`` defaults to the current fit tags in the app store.
    Versions that take effect after ``as_of`` are left out.
    """
    tag_frame = current_tags_frame(session) if tags is None else tags
    published = sorted(
        (v for v in timeline(session) if v.published_at is not None and v.published_at <= as_of),
        key=lambda v: (v.published_at, v.number),
    )
    results = []
    for i, version in enumerate(published):
        assert version.published_at is not None  # filtered above; narrows the type
        following = published[i + 1].published_at if i + 1 < len(published) else None
        results.append(
            measure_change(
                outcomes,
                tag_frame,
                version.published_at,
                as_of,
                window_quarters=window_quarters,
                min_accounts=min_accounts,
                lag_quarters=lag_quarters,
                until=following,
                version=version.number,
            )
        )
    return results


def versions_frame(results: list[ChangeOutcome]) -> pd.DataFrame:
    """All measurements in one frame: the summary rows with ``version`` and ``effective``."""
    parts = [
        r.summary.assign(version=r.version, effective=r.effective)[
            ["version", "effective", *SUMMARY_COLUMNS]
        ]
        for r in results
    ]
    if not parts:
        return pd.DataFrame(columns=["version", "effective", *SUMMARY_COLUMNS])
    return pd.concat(parts, ignore_index=True)
