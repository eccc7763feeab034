"""Value-based versus lookalike ICP: what each way of choosing segments would have captured.

Four views rank the same candidate segments (single attribute values with a minimum support):

- ``value``: the shrunk mean outcome from ``search_segments`` (LTV by default; NRR or first-year
  retention on request), best first;
- ``win_rate``: the share of decided deals won (needs a deals frame);
- ``intent``: the mean lead intent score of the segment's accounts;
- ``lookalike``: similarity to recent wins - the segment's share of the accounts won in the
  last ``recent_quarters`` close quarters divided by its share of all accounts (lift).

Each view takes its top ``k`` segments; the accounts in any of them are that view's ICP. The
summary reports, per view, side by side, the accounts covered and their share of all accounts,
of MRR (at start), of MRR retained 12 months later, of churned MRR and of lifetime value: a
view that holds most of the MRR also holds much of the churned MRR, and only the shares side by
side say whether it keeps more than it loses. Candidates are properties of the customer only
(never the AE or CSM who owns it). See ``docs/statistics.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.formatting import pct
from icploop.ingest.attributes import frame_catalog, recorded_with_outcome

#: Attribute columns of the account outcomes contract searched by default (where present).
ValueOutcome = Literal["ltv", "nrr_12m", "first_year_churn"]
VIEWS = ("value", "win_rate", "intent", "lookalike")
VIEW_NAMES = {
    "value": "value-based ICP",
    "win_rate": "win-rate view",
    "intent": "intent view",
    "lookalike": "lookalike view",
}


def as_frame(data: pd.DataFrame | ir.Table, columns: Sequence[str] = ()) -> pd.DataFrame:
    """A pandas frame from a frame or an Ibis table (only ``columns`` if given and present)."""
    if isinstance(data, pd.DataFrame):
        return data
    if columns:
        keep = [c for c in columns if c in data.columns]
        data = data.select(*keep)
    return data.to_pandas()


def check_columns(frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise IcploopError(
            f"{what} lacks column(s): {', '.join(missing)}",
            "build it as the account outcomes contract describes (docs/statistics.md)",
        )


def won_dependent(deals: pd.DataFrame, attributes: Sequence[str]) -> dict[str, str]:
    """Attributes of decided ``deals`` recorded only for won ones, or only for lost ones
    (``icploop.ingest.attributes.recorded_with_outcome``): a win rate by them is circular."""
    outcome = deals["outcome"].astype("string").str.lower()
    decided = deals[outcome.isin(["won", "lost"]).fillna(False).to_numpy(bool)]
    won = (decided["outcome"].astype("string").str.lower() == "won").astype(int)
    present = [a for a in attributes if a in decided.columns]
    return recorded_with_outcome(decided[present].assign(_won=won), "_won", present)


def segment_label(attribute: str, value: Any) -> str:
    return f"{attribute} = {value}"


def single_value_segments(
    frame: pd.DataFrame, attributes: Sequence[str], min_support: int
) -> list[tuple[str, str, pd.Series]]:
    """(attribute, value as text, membership mask) for every value with >= ``min_support``
    accounts; missing values form no segment."""
    out = []
    for a in attributes:
        text = frame[a].astype("string")
        counts = text.value_counts(dropna=True)
        for value, n in counts.items():
            if n >= min_support:
                out.append((a, str(value), (text == value).fillna(False).astype(bool)))
    return out


@dataclass(frozen=True)
class IcpComparison:
    """Per view: the segments chosen and what the accounts in them hold.

    ``summary`` columns: view, segments (labels joined by "; "), accounts, account_share,
    mrr_share (of MRR at start), retained_mrr_share (of MRR 12 months after start, accounts
    with a full year; NaN without ``nrr_12m``), churned_mrr_share, ltv_share, first_year_churn
    (rate among the chosen accounts with a full year; shares of money follow account size, this
    rate does not). ``rankings`` holds every candidate segment's score per view.
    """

    k: int
    min_support: int
    value_outcome: str
    recent_quarters: tuple[str, ...]
    summary: pd.DataFrame
    rankings: pd.DataFrame
    sentence: str
    caveats: tuple[str, ...]


def compare_icp_views(
    accounts: pd.DataFrame | ir.Table,
    deals: pd.DataFrame | ir.Table | None = None,
    *,
    attributes: Sequence[str] | None = None,
    k: int = 3,
    min_support: int = 30,
    value_outcome: ValueOutcome = "ltv",
    recent_quarters: int = 4,
) -> IcpComparison:
    """Rank single-value segments four ways and report what each top ``k`` captures.

    ``attributes`` default to the dimensions of the attribute catalogue that describe the
    customer. ``accounts``: one row per account (the account outcomes contract: attributes,
    ``intent_score``, ``close_quarter``, ``ltv`` and ``churned_mrr`` in money, the value outcome).
    ``deals``: one row per deal with ``outcome`` (won/lost/open) and the attributes; without it
    the win-rate view is left out. A segment needs ``min_support`` accounts (and decided deals,
    for the win rate). Shares are of totals over all accounts; an account in two chosen segments
    counts once. Missing LTV or churned MRR count as 0. Raises ``IcploopError`` for missing
    columns or when no segment meets the minimum support.
    """
    attrs = list(attributes) if attributes is not None else None
    needed = ["close_quarter", "intent_score", "ltv", "churned_mrr", value_outcome]
    frame = as_frame(accounts)
    if attrs is None:
        attrs = frame_catalog(frame).customer_dimensions()
        if deals is not None:
            attrs = [a for a in attrs if a not in won_dependent(as_frame(deals), attrs)]
    check_columns(frame, [*attrs, *needed], "accounts")
    segs = single_value_segments(frame, attrs, min_support)
    if not segs:
        raise IcploopError(
            f"no attribute value has {min_support} accounts", "lower min_support or add accounts"
        )
    labels = [segment_label(a, v) for a, v, _ in segs]
    scores: dict[str, np.ndarray] = {
        "value": _value_scores(frame, attrs, labels, value_outcome, min_support)
    }
    caveats: list[str] = []
    if deals is not None:
        scores["win_rate"] = _win_rates(as_frame(deals), segs, min_support)
    else:
        caveats.append("no deals given: the win-rate view is left out")
    intent = pd.to_numeric(frame["intent_score"], errors="coerce")
    scores["intent"] = np.array([intent[m].mean() for _, _, m in segs])
    quarters = sorted(frame["close_quarter"].dropna().astype(str).unique())[-recent_quarters:]
    recent = frame["close_quarter"].astype("string").isin(quarters).fillna(False).to_numpy(bool)
    scores["lookalike"] = _lift(segs, recent)

    ltv = pd.to_numeric(frame["ltv"], errors="coerce").fillna(0).to_numpy(float)
    lost = pd.to_numeric(frame["churned_mrr"], errors="coerce").fillna(0).to_numpy(float)
    start, retained = _start_and_retained(frame)
    # shares of money follow account size; the churn rate of the chosen accounts does not
    first_year = (
        pd.to_numeric(frame["first_year_churn"], errors="coerce").to_numpy(float)
        if "first_year_churn" in frame.columns
        else np.full(len(frame), np.nan)
    )
    rows = []
    for view in VIEWS:
        if view not in scores:
            continue
        s = scores[view]
        order = [i for i in np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")]
        chosen = [i for i in order if np.isfinite(s[i])][:k]
        covered = np.zeros(len(frame), dtype=bool)
        for i in chosen:
            covered |= segs[i][2].to_numpy(bool)
        rows.append(
            {
                "view": view,
                "segments": "; ".join(labels[i] for i in chosen),
                "accounts": int(covered.sum()),
                "account_share": covered.mean() if len(frame) else np.nan,
                "mrr_share": _share(start, covered),
                "retained_mrr_share": _share(retained, covered),
                "churned_mrr_share": _share(lost, covered),
                "ltv_share": _share(ltv, covered),
                "first_year_churn": float(np.nanmean(first_year[covered]))
                if np.isfinite(first_year[covered]).any()
                else float("nan"),
            }
        )
    summary = pd.DataFrame(rows)
    rankings = pd.DataFrame({"segment": labels, **scores})
    return IcpComparison(
        k=k,
        min_support=min_support,
        value_outcome=value_outcome,
        recent_quarters=tuple(quarters),
        summary=summary,
        rankings=rankings,
        sentence=_sentence(summary),
        caveats=tuple(caveats),
    )


def _value_scores(
    frame: pd.DataFrame,
    attrs: list[str],
    labels: list[str],
    outcome: ValueOutcome,
    min_support: int,
) -> np.ndarray:
    """Shrunk mean outcome per segment label (higher = better; churn is turned into retention)."""
    from icploop.segments.search import search_segments

    data = frame[[*attrs, outcome]].copy()
    for a in attrs:
        data[a] = data[a].astype("string")
    data[outcome] = pd.to_numeric(data[outcome], errors="coerce").astype(float)
    binary = outcome == "first_year_churn"
    result = search_segments(
        ibis.memtable(data),
        outcome,
        attrs,
        depth=1,
        min_support=min_support,
        min_events=0,
        outcome_kind="binary" if binary else "continuous",
        max_share=1.0,
        higher_is="bad" if binary else "good",
        max_values=1000,
    )
    shrunk = dict(zip(result.segments["segment"], result.segments["shrunk_rate"], strict=True))
    values = np.array([shrunk.get(lab, np.nan) for lab in labels], dtype=float)
    return 1 - values if binary else values


def _win_rates(
    deals: pd.DataFrame, segs: list[tuple[str, str, pd.Series]], min_decided: int
) -> np.ndarray:
    check_columns(deals, ["outcome", *{a for a, _, _ in segs}], "deals")
    outcome = deals["outcome"].astype("string").str.lower()
    won = (outcome == "won").fillna(False).to_numpy(bool)
    decided = outcome.isin(["won", "lost"]).fillna(False).to_numpy(bool)
    out = np.full(len(segs), np.nan)
    for i, (a, v, _) in enumerate(segs):
        m = (deals[a].astype("string") == v).fillna(False).to_numpy(bool) & decided
        if m.sum() >= min_decided:
            out[i] = won[m].mean()
    return out


def _lift(segs: list[tuple[str, str, pd.Series]], recent: np.ndarray) -> np.ndarray:
    """Share among recent wins / share among all accounts (nan with no recent wins)."""
    if not recent.any():
        return np.full(len(segs), np.nan)
    out = np.empty(len(segs))
    for i, (_, _, m) in enumerate(segs):
        mask = m.to_numpy(bool)
        out[i] = mask[recent].mean() / mask.mean()
    return out


def _start_and_retained(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per account: MRR at start (0 when unknown) and MRR 12 months later (NaN under a year of
    history, and everywhere without ``start_mrr`` and ``nrr_12m``)."""
    nan = np.full(len(frame), np.nan)
    if "start_mrr" not in frame.columns:
        return nan, nan
    start = pd.to_numeric(frame["start_mrr"], errors="coerce").to_numpy(float)
    if "nrr_12m" not in frame.columns:
        return np.nan_to_num(start), nan
    nrr = pd.to_numeric(frame["nrr_12m"], errors="coerce").to_numpy(float)
    return np.nan_to_num(start), start * nrr


def _share(values: np.ndarray, mask: np.ndarray) -> float:
    """Share of the total held by ``mask`` over the known values (NaN when none is known)."""
    known = np.isfinite(values)
    total = values[known].sum()
    return float(values[mask & known].sum() / total) if total else float("nan")


def _sentence(summary: pd.DataFrame) -> str:
    """The comparison as one plain statement, the value view first."""
    if summary.empty:
        return ""
    rows = summary.set_index("view")
    parts = []
    for view in rows.index:
        r = rows.loc[view]
        retained = (
            f", {pct(r['retained_mrr_share'])} of the MRR retained after 12 months"
            if np.isfinite(r["retained_mrr_share"])
            else ""
        )
        parts.append(
            f"the {VIEW_NAMES[view]} covers {pct(r['account_share'])} of accounts: "
            f"{pct(r['mrr_share'])} of MRR at start{retained}, "
            f"{pct(r['churned_mrr_share'])} of churned MRR and {pct(r['ltv_share'])} of "
            "lifetime value"
            + (
                f", churning {pct(r['first_year_churn'])} in year one"
                if np.isfinite(r.get("first_year_churn", np.nan))
                else ""
            )
        )
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."
