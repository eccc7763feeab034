"""Testing a stated churn hypothesis ("support causes churn") against the evidence.

Accounts that churned in the window are compared with accounts retained through it, within
strata of the same segment and tenure band (months paid before the reference month: under 12,
12-23, 24 and more), on what each account experienced in the ``lookback`` months before its
reference month (the churn month; the as-of month for retained accounts):

- the reason's share among churned accounts (from the reason assignment) and its rank;
- the reason in the evidence written before the loss (CSM notes and tickets, never the churn
  note itself): Mantel-Haenszel odds ratio of churn for accounts whose evidence shows it;
- tickets per paid month, the share of high or urgent tickets, and mean days to resolution of
  the hypothesis's tickets (its ticket categories, or all tickets when it names none):
  stratified differences churned minus retained;
- a slow ticket (resolution, or still open, beyond the 90th percentile of its priority):
  Mantel-Haenszel odds ratio of churn.

The verdict is "supported" when the reason is material (at least ``min_share`` of churn or among
the top three reasons; a bare ticket category has no share and counts as material when a measure
is) and at least one measure is worse for churned accounts with its interval clear of no-effect
and p below 0.05 divided by the number of measures (Bonferroni); "not supported" when neither
holds; "mixed" otherwise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.formatting import unknown
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.reasons.classify import ReasonClassifier
from icploop.reasons.evidence import ReasonTables, gather_evidence, loss_events, retained_accounts
from icploop.reasons.pareto import assign_reasons, classify_evidence
from icploop.reasons.stats import (
    Effect,
    benjamini_hochberg,
    mantel_haenszel,
    stratified_difference,
    wilson,
)
from icploop.reasons.taxonomy import Taxonomy, load_taxonomy

TENURE_BANDS = ((0, 12, "<12m"), (12, 24, "12-23m"), (24, 10_000, "24m+"))
SEVERE = ("high", "urgent")
PRE_SOURCES = ("csm_note", "ticket")


@dataclass(frozen=True)
class Comparison:
    """Churned and retained accounts side by side, one row each, with their evidence."""

    accounts: pd.DataFrame
    evidence: pd.DataFrame
    assigned: pd.DataFrame

    def missing_side(self) -> str:
        """``churned`` or ``retained`` when no account is on that side (nothing to compare),
        else an empty string."""
        churned = int(self.accounts["churned"].sum())
        if churned == 0:
            return "churned"
        return "retained" if churned == len(self.accounts) else ""


def _tenure_band(months: pd.Series) -> pd.Series:
    out = pd.Series("24m+", index=months.index)
    for lo, hi, label in TENURE_BANDS:
        out[(months >= lo) & (months < hi)] = label
    return out


def compare_accounts(
    tables: ReasonTables,
    as_of: dt.date,
    window_months: int = 12,
    lookback_months: int = 6,
    taxonomy: Taxonomy | None = None,
    strata: tuple[str, ...] = ("segment",),
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> Comparison:
    """Churned (in the window) and retained accounts with stratum, tenure and classified
    evidence; contraction-only accounts are left out."""
    tax = taxonomy or load_taxonomy()
    events = loss_events(tables, as_of, window_months, settings)
    churned = events[events["event"] == "churn"][["account_id", "month"]].assign(churned=1)
    kept = retained_accounts(tables, as_of, window_months, settings)[["account_id", "month"]]
    acc = pd.concat([churned, kept.assign(churned=0)], ignore_index=True)
    pos = paying_months(tables.canonical.mrr_monthly, as_of, settings)
    first = pos.group_by("account_id").agg(first_m=pos.m.min()).to_pandas()
    acc = acc.merge(first, on="account_id", how="left")
    ref_m = pd.Series([index_of(m) for m in acc["month"]], index=acc.index)
    acc["tenure_months"] = (ref_m - acc["first_m"]).clip(lower=0)
    acc["paid_lookback"] = acc["tenure_months"].clip(lower=1, upper=lookback_months)
    dims = pd.DataFrame({"account_id": acc["account_id"]})
    accounts = tables.canonical.accounts
    for s in strata:
        if accounts is None or s not in accounts.columns:
            raise IcploopError(f"unknown stratum {s!r}", "use a column of the accounts table")
        col = accounts.select("account_id", accounts[s].cast("string").name(s)).to_pandas()
        dims = dims.merge(col, on="account_id", how="left")
    parts = [dims[s].fillna("(none)").astype(str) for s in strata]
    parts.append(_tenure_band(acc["tenure_months"]))
    # joined column by column: a row-wise join of no rows would give a frame, not a column
    acc["stratum"] = [
        " / ".join(values) for values in zip(*(p.to_numpy() for p in parts), strict=True)
    ]
    evidence = gather_evidence(tables, acc, lookback_months)
    evidence = classify_evidence(evidence, ReasonClassifier(tax).fit())
    assigned = assign_reasons(events[events["event"] == "churn"], evidence)
    return Comparison(acc.drop(columns=["first_m"]), evidence, assigned)


def _ticket_measures(comp: Comparison, categories: tuple[str, ...]) -> pd.DataFrame:
    acc = comp.accounts.set_index("account_id")
    t = comp.evidence[comp.evidence["source"] == "ticket"].copy()
    if categories:
        t = t[t["category"].fillna("").str.lower().isin(categories)]
    t = t[t["account_id"].isin(acc.index)]
    t["severe"] = t["priority"].fillna("").str.lower().isin(SEVERE).astype(float)
    limit = t.groupby(t["priority"].fillna(""))["resolution_days"].quantile(0.9)
    days = t["resolution_days"].fillna(np.inf)
    t["slow"] = days > t["priority"].fillna("").map(limit).fillna(np.inf)
    g = t.groupby("account_id")
    out = pd.DataFrame(index=acc.index)
    out["tickets"] = g.size().reindex(acc.index).fillna(0)
    out["tickets_per_month"] = out["tickets"] / acc["paid_lookback"]
    out["severe_share"] = g["severe"].mean().reindex(acc.index)
    out["resolution_days"] = g["resolution_days"].mean().reindex(acc.index)
    out["slow_ticket"] = g["slow"].any().reindex(acc.index, fill_value=False).astype(int)
    return out


def reason_flags(comp: Comparison, codes: tuple[str, ...]) -> pd.DataFrame:
    """Per account and reason: 1 when a CSM note or ticket before the loss shows the reason."""
    ev = comp.evidence[comp.evidence["source"].isin(PRE_SOURCES) & comp.evidence["match"].notna()]
    ids = comp.accounts["account_id"]
    out = pd.DataFrame(index=ids)
    for code in codes:
        hit = set(ev.loc[ev["match"] == code, "account_id"])
        out[code] = ids.isin(hit).astype(int).to_numpy()
    return out


def reason_separation(comp: Comparison, taxonomy: Taxonomy) -> pd.DataFrame:
    """For each reason, churned vs retained rates of the reason in pre-loss evidence with the
    Mantel-Haenszel odds ratio, its interval, p and BH q over all reasons; ``separates`` when
    q < 0.05 and the interval excludes 1."""
    flags = reason_flags(comp, taxonomy.codes)
    base = comp.accounts.set_index("account_id")[["churned", "stratum"]]
    rows = []
    for code in taxonomy.codes:
        f = base.assign(x=flags[code].to_numpy())
        eff = mantel_haenszel(f, "x")
        rows.append(
            {
                "reason": code,
                "rate_churned": float(f.loc[f["churned"] == 1, "x"].mean()),
                "rate_retained": float(f.loc[f["churned"] == 0, "x"].mean()),
                "odds_ratio": eff.estimate,
                "or_lo": eff.lo,
                "or_hi": eff.hi,
                "p_value": eff.p_value,
            }
        )
    out = pd.DataFrame(rows)
    out["q_value"] = benjamini_hochberg(out["p_value"].to_numpy())
    out["separates"] = (out["q_value"] < 0.05) & ((out["or_lo"] > 1) | (out["or_hi"] < 1))
    return out


@dataclass(frozen=True)
class HypothesisResult:
    """The evidence for or against one stated hypothesis, and the verdict in one sentence."""

    hypothesis: str
    reason: str | None
    categories: tuple[str, ...]
    churned: int
    retained: int
    reason_share: float
    reason_share_ci: tuple[float, float]
    reason_rank: int | None
    reasons_ranked: int
    measures: dict[str, Effect]
    means: dict[str, tuple[float, float]]
    verdict: str
    sentence: str
    caveats: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {
            "hypothesis": self.hypothesis,
            "reason": self.reason,
            "ticket_categories": list(self.categories),
            "churned_accounts": self.churned,
            "retained_accounts": self.retained,
            "reason_share": round(self.reason_share, 4),
            "reason_share_ci": [round(x, 4) for x in self.reason_share_ci],
            "reason_rank": self.reason_rank,
            "reasons_ranked": self.reasons_ranked,
            "measures": {
                k: {
                    **v.to_dict(),
                    "churned_mean": self.means.get(k, (None, None))[0],
                    "retained_mean": self.means.get(k, (None, None))[1],
                }
                for k, v in self.measures.items()
            },
            "verdict": self.verdict,
            "sentence": self.sentence,
            "caveats": list(self.caveats),
        }


MEASURE_LABELS = {
    "reason_in_evidence": "reason in notes or tickets before the loss (odds ratio)",
    "tickets_per_month": "tickets per paid month (difference)",
    "severe_share": "share of high or urgent tickets (difference)",
    "resolution_days": "mean days to resolution (difference)",
    "slow_ticket": "a slow ticket (odds ratio)",
}
_RATIOS = ("reason_in_evidence", "slow_ticket")


def check_hypothesis(
    tables: ReasonTables,
    as_of: dt.date,
    hypothesis: str,
    window_months: int = 12,
    lookback_months: int = 6,
    taxonomy: Taxonomy | None = None,
    min_share: float = 0.10,
    comparison: Comparison | None = None,
) -> HypothesisResult:
    """Whether the evidence supports "``hypothesis`` causes churn" (a reason or ticket category)."""
    tax = taxonomy or load_taxonomy()
    reason = tax.resolve(hypothesis)
    comp = comparison or compare_accounts(tables, as_of, window_months, lookback_months, tax)
    known_cats = set(comp.evidence["category"].dropna().str.lower())
    key = hypothesis.strip().lower()
    cats = tuple(sorted({key} & known_cats | set(reason.ticket_categories if reason else ())))
    if reason is None and not cats:
        raise IcploopError(
            f"{hypothesis!r} is neither a reason of the taxonomy nor a ticket category",
            "use a reason code or alias ("
            + ", ".join(tax.codes)
            + ") or a ticket category ("
            + ", ".join(sorted(known_cats))
            + ")",
        )
    acc = comp.accounts.set_index("account_id")
    side = comp.missing_side()
    if side:
        raise IcploopError(
            f"testing a churn hypothesis needs churned and retained accounts in the "
            f"{window_months} months to {as_of}; this workspace has no {side} account there",
            "load a longer revenue history, or give an --as-of date inside it",
        )
    frame = acc[["churned", "stratum"]].join(_ticket_measures(comp, cats))
    measures: dict[str, Effect] = {}
    means: dict[str, tuple[float, float]] = {}
    if reason is not None:
        frame["reason_in_evidence"] = reason_flags(comp, (reason.code,))[reason.code].to_numpy()
    for name in MEASURE_LABELS:
        if name not in frame.columns:
            continue
        eff = (
            mantel_haenszel(frame, name) if name in _RATIOS else stratified_difference(frame, name)
        )
        measures[name] = eff
        col = frame[name]
        means[name] = (
            round(float(col[frame["churned"] == 1].mean()), 4),
            round(float(col[frame["churned"] == 0].mean()), 4),
        )
    ranked = comp.assigned["reason"].value_counts()
    ranked = ranked[ranked.index != "unexplained"]
    n_churned = int(acc["churned"].sum())
    k = int((comp.assigned["reason"] == reason.code).sum()) if reason else 0
    share = k / n_churned if n_churned else float("nan")
    rank = (
        int(list(ranked.index).index(reason.code)) + 1
        if reason and reason.code in ranked.index
        else None
    )
    # Bonferroni over the measures: one of five crossing 95% by chance is no evidence
    alpha = 0.05 / max(len(measures), 1)
    harmful = [
        n
        for n, e in measures.items()
        if (e.lo > 1 if n in _RATIOS else e.lo > 0) and e.p_value < alpha
    ]
    if reason is None:
        material = bool(harmful)
    else:
        material = share >= min_share or (rank is not None and rank <= 3)
    verdict = (
        "supported"
        if material and harmful
        else "not supported"
        if not (material or harmful)
        else "mixed"
    )
    caveats = []
    if n_churned < 30:
        caveats.append(f"only {n_churned} churned accounts in the window: intervals are wide")
    result_sentence = _sentence(
        hypothesis, verdict, reason, tax, share, rank, len(ranked), n_churned, measures, means
    )
    return HypothesisResult(
        hypothesis=hypothesis,
        reason=reason.code if reason else None,
        categories=cats,
        churned=n_churned,
        retained=int((acc["churned"] == 0).sum()),
        reason_share=share,
        reason_share_ci=wilson(k, n_churned),
        reason_rank=rank,
        reasons_ranked=len(ranked),
        measures=measures,
        means=means,
        verdict=verdict,
        sentence=result_sentence,
        caveats=tuple(caveats),
    )


def _fmt(e: Effect, ratio: bool, unit: str = "") -> str:
    if not np.isfinite(e.estimate):
        return unknown("too few accounts on one side to estimate")
    if not (np.isfinite(e.lo) and np.isfinite(e.hi)):
        # an estimate without an interval (no slow ticket on one side): the interval is unknown
        no_interval = "interval unknown: no slow ticket on one side"
        return f"{e.estimate:.2f} ({no_interval})" if ratio else f"{e.estimate:+.2f}{unit}"
    if ratio:
        return f"{e.estimate:.2f} ({e.lo:.2f}-{e.hi:.2f})"
    return f"{e.estimate:+.2f}{unit} ({e.lo:+.2f} to {e.hi:+.2f})"


def _sentence(
    hypothesis: str,
    verdict: str,
    reason: Any,
    tax: Taxonomy,
    share: float,
    rank: int | None,
    k: int,
    n: int,
    measures: dict[str, Effect],
    means: dict[str, tuple[float, float]],
) -> str:
    head = {
        "supported": f'The evidence supports "{hypothesis} causes churn"',
        "not supported": f'The evidence does not support "{hypothesis} causes churn"',
        "mixed": f'The evidence on "{hypothesis} causes churn" is mixed',
    }[verdict]
    parts = []
    if reason is not None:
        where = f"rank {rank} of {k}" if rank else "never the assigned reason"
        parts.append(
            f"{tax.label(reason.code)} is the reason for {share:.0%} of the {n} churned accounts ({where})"
        )
    if "tickets_per_month" in measures:
        c, r = means["tickets_per_month"]
        parts.append(
            f"churned accounts filed {c:.2f} tickets a month against {r:.2f} for retained accounts of "
            f"the same segment and tenure (difference {_fmt(measures['tickets_per_month'], False)})"
        )
    if "resolution_days" in measures:
        parts.append(f"days to resolution differ by {_fmt(measures['resolution_days'], False)}")
    if "slow_ticket" in measures:
        parts.append(
            f"odds ratio of churn after a slow ticket {_fmt(measures['slow_ticket'], True)}"
        )
    return head + ": " + "; ".join(parts) + "."
