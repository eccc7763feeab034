"""The deal-time fit check: which traits put an open opportunity at risk, before it closes.

Three kinds of risk, each stated with its evidence: an ICP criterion the deal misses (below the
seat floor, an industry outside the ICP), a match with the do-not-close list, and an AE pattern
(an AE whose deals, or whose deals closed in the last two weeks of a quarter, churned in year one
far more than everyone else's, judged by Fisher's exact test with Benjamini-Hochberg correction
over every AE pattern tested). The criteria come in as data (rules), so the same ICP used at the
quarterly review is used through the whole sales cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import false_discovery_control, fisher_exact

from icploop.formatting import q
from icploop.metrics.tables import CanonicalTables
from icploop.rules import Rule
from icploop.scoring.features import customer_history, deal_history

#: Names a rule may use for a feature of the deal frame (rules speak the accounts layout).
RULE_ALIASES = {"seats_at_close": "seats", "owner_ae": "ae", "amount": "deal_amount"}


@dataclass(frozen=True)
class AePattern:
    """An AE whose closed deals (all, or quarter-end only) churned far more in year one."""

    ae: str
    quarter_end_only: bool
    accounts: int
    churn_rate: float
    rest_rate: float
    q_value: float

    @property
    def ratio(self) -> float:
        return self.churn_rate / self.rest_rate if self.rest_rate > 0 else float("inf")

    def describe(self) -> str:
        which = "quarter-end deals" if self.quarter_end_only else "deals"
        return (
            f"AE pattern: {self.ae}'s {which} churned {self.churn_rate:.0%} in year one against "
            f"{self.rest_rate:.0%} for the rest ({self.accounts} accounts, q {q(self.q_value)})"
        )


def ae_patterns(
    history: pd.DataFrame,
    min_accounts: int = 15,
    min_ratio: float = 2.0,
    max_q: float = 0.05,
) -> list[AePattern]:
    """AE patterns in closed accounts with a known first-year outcome (``customer_history``)."""
    known = history[history["first_year_churn"].notna() & history["ae"].notna()]
    y = known["first_year_churn"].to_numpy(dtype="float64")
    tests: list[tuple[str, bool, np.ndarray]] = []
    for ae in sorted(known["ae"].astype(str).unique()):
        mine = (known["ae"].astype(str) == ae).to_numpy()
        tests.append((ae, False, mine))
        tests.append((ae, True, mine & (known["quarter_end_deal"] == "yes").to_numpy()))
    candidates = []
    for ae, qe, mask in tests:
        n = int(mask.sum())
        if n < min_accounts or n == len(y):
            continue
        a, b = int(y[mask].sum()), int(y[~mask].sum())
        _, p = fisher_exact([[a, n - a], [b, len(y) - n - b]], alternative="greater")
        candidates.append((ae, qe, n, a / n, b / (len(y) - n), p))
    if not candidates:
        return []
    qs = false_discovery_control([c[5] for c in candidates])
    found = [
        AePattern(ae, qe, n, rate, rest, float(q))
        for (ae, qe, n, rate, rest, _p), q in zip(candidates, qs, strict=True)
        if q < max_q and rest > 0 and rate / rest >= min_ratio
    ]
    # an AE flagged overall and at quarter-end keeps the stronger (quarter-end) statement only
    return sorted(found, key=lambda p: (p.ae, not p.quarter_end_only))


def _value(record: Mapping[str, Any], attribute: str) -> Any:
    for name in (attribute, RULE_ALIASES.get(attribute, attribute)):
        value = record.get(name)
        if value is not None and not (isinstance(value, float) and np.isnan(value)):
            return value
    return None


def check_deals(
    deals: pd.DataFrame,
    criteria: Sequence[Rule] = (),
    do_not_close: Sequence[Rule] = (),
    patterns: Sequence[AePattern] = (),
) -> pd.DataFrame:
    """Per deal: ``at_risk`` and ``risks`` (every reason, ``; ``-separated), ``risk_count``.

    ``deals`` holds the deal's features (``seats``, ``ae``, ``quarter_end_deal``, ...) and any
    account columns the rules name. A criterion whose attribute is blank for the deal is reported
    as unknown, not as a miss.
    """
    by_ae: dict[str, list[AePattern]] = {}
    for p in patterns:
        by_ae.setdefault(p.ae, []).append(p)
    risks: list[str] = []
    counts: list[int] = []
    for record in deals.to_dict("records"):
        found = []
        for rule in criteria:
            value = _value(record, rule.attribute)
            if value is None:
                found.append(f"unknown for the ICP: {rule.attribute} is blank")
            elif not rule.holds(_typed(value, rule.value)):
                found.append(
                    f"misses the ICP criterion {rule.describe()} ({rule.attribute} {_fmt(value)})"
                )
        for rule in do_not_close:
            value = _value(record, rule.attribute)
            if value is not None and rule.holds(_typed(value, rule.value)):
                found.append(f"on the do-not-close list: {rule.describe()}")
        for p in by_ae.get(str(record.get("ae")), []):
            if not p.quarter_end_only or record.get("quarter_end_deal") == "yes":
                found.append(p.describe())
                break
        risks.append("; ".join(found))
        counts.append(sum(not f.startswith("unknown") for f in found))
    out = pd.DataFrame(index=deals.index)
    out["risk_count"] = counts
    out["at_risk"] = out["risk_count"] > 0
    out["risks"] = risks
    return out


def _typed(value: Any, like: Any) -> Any:
    """A CSV value as the rule's type (``"42"`` against ``50`` compares as a number)."""
    probe = like[0] if isinstance(like, tuple | list) and like else like
    if isinstance(probe, int | float) and not isinstance(probe, bool):
        try:
            return float(value)
        except (TypeError, ValueError):
            return value
    return (
        value if isinstance(value, str) else str(value) if not isinstance(value, float) else value
    )


def _fmt(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def open_deal_checks(
    tables: CanonicalTables,
    as_of: dt.date,
    criteria: Sequence[Rule],
    do_not_close: Sequence[Rule],
) -> tuple[list[AePattern], pd.DataFrame]:
    """The warehouse's open deals checked on ``as_of``, as ``icploop deals check``, the deals
    page and ``GET /api/v1/deals`` show them: the AE patterns that churned (from the customers'
    history up to ``as_of``) and one row per open deal with ``deal_id``, ``account_id``,
    ``close_date``, ``ae`` (when deals name one) and the columns of :func:`check_deals`."""
    open_deals = deal_history(tables, outcomes=("open",))
    patterns = ae_patterns(customer_history(tables, as_of))
    check = check_deals(open_deals, list(criteria), list(do_not_close), patterns)
    keep = [c for c in ("deal_id", "account_id", "close_date", "ae") if c in open_deals]
    return patterns, pd.concat([open_deals[keep], check], axis=1)
