"""The rules that turn findings into proposals, in one place (tune here, nowhere else).

A finding becomes a proposal only when it survives multiple testing and has support. The
defaults are tuned so that the demo company's planted effects (seat floor, the bad-fit AE's
quarter-end deals, the 2023 Hospitality push, the intent-vendor trap, the retaining use case)
are proposed at 5,000 customers, and a null company (no effects) gets (almost) nothing:

- segment findings need q < ``max_q`` (Benjamini-Hochberg over every segment the search
  tested) and at least ``min_support`` accounts with ``min_events`` churns;
- thresholds come from the one threshold scan (``icploop.segments.catalog.scan_thresholds``,
  what ``icploop segments`` shows): a limit is recommended when its permutation p-value of the
  maximum statistic, Holm-adjusted over every measure scanned, is at most
  ``icploop.segments.thresholds.THRESHOLD_ALPHA`` (0.05), and needs ``2 * min_support``
  accounts with the measure;
- a do-not-close segment churns at least ``do_not_close_ratio`` x the rest with
  q < ``do_not_close_q``; a segment found within one close year (a targeted push) is proposed
  for the attribute alone when that attribute over all years still churns at least
  ``targeted_ratio`` x the rest with p < ``do_not_close_q``;
- a retaining use case or industry churns at most ``retain_ratio`` x the rest;
- a lead source gets negative points when it churns at least ``lead_source_ratio`` x the rest;
- the bad-fit AE pattern (``closing_ae = X AND quarter_end_deal = yes``) churns at least
  ``ae_pattern_ratio`` x the rest;
- "use case live within 30 days" is proposed when stalled adoption at day 90 goes with at
  least ``stalled_ratio`` x the churn (p < ``stalled_p``) among accounts that paid > 3 months
  (earlier churners stop using the product, so they would make stalling look causal).

Caps: ``max_criteria`` ICP criterion changes, ``max_qualification`` qualification criteria.
"""

from __future__ import annotations

from dataclasses import dataclass

#: categorical attributes the proposal search looks at (owner_ae duplicates closing_ae)
SEARCH_CATEGORICAL = (
    "industry",
    "segment",
    "region",
    "lead_source",
    "use_case",
    "closing_ae",
    "quarter_end_deal",
    "close_year",
)
#: numeric attributes (deal_amount left out: it follows from seats and discount)
SEARCH_NUMERIC = ("seats_at_close", "employees", "intent_score", "discount")
#: attributes that describe when a deal closed, not who the customer is: never a rule of their own
TIME_ATTRIBUTES = ("close_year", "close_quarter")
#: attributes a do-not-close rule or an ICP criterion may name
RULE_ATTRIBUTES = ("industry", "segment", "region", "use_case", "lead_source")
#: numeric attributes whose best cut may become an ICP floor (known before the deal closes)
CRITERION_THRESHOLDS = {"seats_at_close": "seats", "employees": "employees"}


@dataclass(frozen=True)
class ProposalPolicy:
    """Thresholds of evidence a finding needs to become a proposal (see the module docstring)."""

    max_q: float = 0.05
    min_support: int = 30
    min_events: int = 5
    search_depth: int = 2
    do_not_close_ratio: float = 2.0
    do_not_close_q: float = 0.01
    targeted_ratio: float = 1.5
    retain_ratio: float = 0.75
    lead_source_ratio: float = 1.5
    ae_pattern_ratio: float = 1.5
    stalled_ratio: float = 1.5
    stalled_p: float = 0.01
    max_criteria: int = 5
    max_qualification: int = 2
    #: points for lead scoring: a lead source that churns hard, a use case that retains
    penalty_points: int = -10
    bonus_points: int = 10
