"""Retention metrics: MRR movements, NRR/GRR, logo churn, cohorts, survival and lifetime value.

Every function takes :class:`CanonicalTables` (Ibis tables) and an explicit ``as_of`` date, pushes
the aggregation to the engine, and returns a frozen result or a lazy Ibis table.
"""

from icploop.metrics.cohorts import CohortTriangles, cohort_triangles
from icploop.metrics.cox import CoxModel
from icploop.metrics.expansion import ExpansionResult, expansion_by_profile
from icploop.metrics.headline import Headline, headline
from icploop.metrics.lifetime import ShiftedBetaGeometric, cac_payback, simple_ltv
from icploop.metrics.ltv import LtvResult, segment_ltv
from icploop.metrics.movements import MovementSettings, movements, paying_months
from icploop.metrics.retention import RetentionResult, retention
from icploop.metrics.survival import (
    SurvivalCurves,
    duration_counts,
    durations,
    first_year_churn,
    kaplan_meier,
)
from icploop.metrics.tables import CanonicalTables, account_dimensions, close_cohort

__all__ = [
    "CanonicalTables",
    "CohortTriangles",
    "CoxModel",
    "ExpansionResult",
    "Headline",
    "LtvResult",
    "MovementSettings",
    "RetentionResult",
    "ShiftedBetaGeometric",
    "SurvivalCurves",
    "account_dimensions",
    "cac_payback",
    "close_cohort",
    "cohort_triangles",
    "duration_counts",
    "durations",
    "expansion_by_profile",
    "first_year_churn",
    "headline",
    "kaplan_meier",
    "movements",
    "paying_months",
    "retention",
    "segment_ltv",
    "simple_ltv",
]
