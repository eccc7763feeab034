"""Qualification criteria for Sales that come from evidence other than segments: a discount
ceiling (from the discount threshold scan) and "primary use case live within 30 days" (from
stalled adoption at day 90)."""

from __future__ import annotations

import pandas as pd

from icploop.formatting import pct
from icploop.review.policy import ProposalPolicy
from icploop.review.proposals_base import Drafted, subset_numbers
from icploop.segments.thresholds import ThresholdResult

USE_CASE_LIVE = "Confirm the customer's primary use case goes live within 30 days of close"


def discount_ceiling(found: ThresholdResult | None) -> Drafted | None:
    """ "Discounts above X need RevOps approval", when deep discounts churn more (the threshold
    scan passed the policy; ``found`` is None otherwise)."""
    if found is None or found.recommended is None:
        return None
    ceiling = found.recommended
    text = f"Discounts above {100 * ceiling:.0f}% of list price need RevOps approval"
    evidence = {
        "source": "threshold", "attribute": "discount", "cut": found.cut,
        "n_above": found.n_above, "rate_above": found.rate_above,
        "rate_above_lo": found.rate_above_lo, "rate_above_hi": found.rate_above_hi,
        "n_below": found.n_below, "rate_below": found.rate_below, "ratio": found.ratio,
        "ratio_lo": found.ratio_lo, "ratio_hi": found.ratio_hi,
        "permutation_p": found.permutation_p, "recommended": ceiling,
    }  # fmt: skip
    return Drafted(
        "qualification", f"Discount ceiling: {100 * ceiling:.0f}%",
        f"{text}: {found.recommendation}.",
        {"text": text, "rules": [{"attribute": "discount", "op": "<=", "value": ceiling}]},
        evidence,
    )  # fmt: skip


def use_case_live(frame: pd.DataFrame, policy: ProposalPolicy) -> Drafted | None:
    """Proposed when accounts whose adoption stalled by day 90 churn ``policy.stalled_ratio`` x
    more (p < ``policy.stalled_p``), among accounts that paid more than 3 months (earlier
    churners stop using the product, which would make stalling look like a cause)."""
    if "stalled" not in frame.columns or frame["stalled"].notna().sum() == 0:
        return None
    alive = frame[(frame["paid_months"] > 3) & frame["stalled"].notna()]
    stalled = alive["stalled"].astype(bool)
    ev = subset_numbers(alive, stalled, "stalled adoption at day 90")
    if ev["n"] < policy.min_support or ev["events"] < policy.min_events:
        return None
    if (ev["ratio"] or 0) < policy.stalled_ratio or (ev["p_value"] or 1) >= policy.stalled_p:
        return None
    sentence = (
        f"{USE_CASE_LIVE}: accounts whose adoption stalled by day 90 churn "
        f"{pct(ev['rate'])} in year one (95% CI {pct(ev['rate_lo'])}-{pct(ev['rate_hi'])}, "
        f"n={int(ev['n'])}) against {pct(ev['rest_rate'])}, {ev['ratio']:.1f}x "
        f"(p={ev['p_value']:.1g})."
    )
    return Drafted(
        "qualification", "Primary use case live within 30 days", sentence,
        {"text": USE_CASE_LIVE, "rules": []}, {"source": "adoption", **ev},
    )  # fmt: skip
