"""Synthesis: the groups where churn evidence and close-rate evidence point the same way.

Churn evidence here is wider than the churn cohort, for power: accounts whose first deal closed
in the two years ending 12 months before the quarter's end (every one with a full first year).
Close-rate evidence is the deals of the last 4 quarters. A group (attribute = value) enters the
synthesis only when its churn differs from the rest at q < ``MAX_Q`` (BH over all groups) and at
least one close-side signal does too: its win rate (q < ``MAX_Q``) or the mean discount of its
won deals (Welch test, q < ``MAX_Q``, at least ``DEEP_DISCOUNT_GAP`` above the rest). The pattern
names say which way both point, e.g. "closes well, churns hard".
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from scipy import stats as sps

from icploop.formatting import finite, points
from icploop.review.quarters import Quarter
from icploop.review.tables import add_q, rates_by

DIMENSIONS = ("segment", "industry", "use_case", "lead_source", "closing_ae")
MAX_Q = 0.05
DEEP_DISCOUNT_GAP = 0.03  # 3 points of list price


def churn_window(quarter: Quarter) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Closes from 36 to 12 months before the quarter's end (for 2026Q3: 2023Q4 to 2025Q3)."""
    return pd.Timestamp(quarter.shift(-11).start), pd.Timestamp(quarter.shift(-4).end)


def _discount_tests(deals: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    won = deals[(deals["won"] == 1) & deals["discount"].notna()]
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for dim in DIMENSIONS:
        if dim not in won.columns:
            continue
        for value, part in won.groupby(dim):
            rest = won.loc[won[dim] != value, "discount"]
            p = None
            if len(part) >= 5 and len(rest) >= 5:
                p = finite(sps.ttest_ind(part["discount"], rest, equal_var=False).pvalue)
            gap = finite(part["discount"].mean() - rest.mean()) if len(rest) else None
            out[(dim, str(value))] = {"discount_gap": gap, "discount_p": p}
    add_q(out.values(), "discount_p", "discount_q")
    return out


def _pattern(churn: dict[str, Any], win: dict[str, Any], disc: dict[str, Any]) -> str | None:
    def sig(row: dict[str, Any], key: str = "q") -> bool:
        return row.get(key) is not None and row[key] < MAX_Q

    if not sig(churn):
        return None
    churn_high = (churn["ratio"] or 1) > 1
    win_high = sig(win) and (win["ratio"] or 1) > 1
    win_low = sig(win) and (win["ratio"] or 1) < 1
    deep = sig(disc, "discount_q") and (disc.get("discount_gap") or 0) >= DEEP_DISCOUNT_GAP
    if churn_high and win_high:
        return "closes well on deep discounts, churns hard" if deep else "closes well, churns hard"
    if churn_high and deep:
        return "needs deep discounts, churns hard"
    if churn_high and win_low:
        return "hard to win and churns"
    if not churn_high and win_high:
        return "closes well and retains"
    if not churn_high and win_low:
        return "hard to win but retains"
    return None


def synthesis(accounts: pd.DataFrame, deals: pd.DataFrame, quarter: Quarter) -> dict[str, Any]:
    """Groups whose churn and close-rate evidence agree, strongest churn difference first.

    Each row: ``attribute``, ``value``, ``pattern``, the churn numbers (``churn_n``,
    ``churn_rate`` with ``churn_lo``/``churn_hi``, ``churn_ratio``, ``churn_q``), the close
    numbers (``deals``, ``win_rate`` with interval, ``win_ratio``, ``win_q``), the discount
    (``mean_discount``, ``discount_gap`` in fractions of list price, ``discount_q``) and a
    ``sentence``. Empty when nothing agrees (the usual answer on data without effects).
    """
    start, end = churn_window(quarter)
    closes = pd.to_datetime(accounts["close_date"])
    window = accounts[(closes >= start) & (closes <= end) & accounts["first_year_churn"].notna()]
    churn = rates_by(window, "first_year_churn", DIMENSIONS)
    won_discount = deals["discount"].where(deals["won"] == 1)
    close = rates_by(deals.assign(wd=won_discount), "won", DIMENSIONS, {"mean_discount": "wd"})
    discounts = _discount_tests(deals)
    rows = []
    for dim in DIMENSIONS:
        wins = {r["value"]: r for r in close.get(dim, [])}
        for c in churn.get(dim, []):
            w = wins.get(c["value"])
            if w is None:
                continue
            d = discounts.get((dim, c["value"]), {})
            pattern = _pattern(c, w, d)
            if pattern is None:
                continue
            rows.append(
                {
                    "attribute": dim, "value": c["value"], "pattern": pattern,
                    "churn_n": c["n"], "churn_rate": c["rate"], "churn_lo": c["lo"],
                    "churn_hi": c["hi"], "churn_ratio": c["ratio"], "churn_q": c["q"],
                    "deals": w["n"], "win_rate": w["rate"], "win_lo": w["lo"], "win_hi": w["hi"],
                    "win_ratio": w["ratio"], "win_q": w["q"], "mean_discount": w["mean_discount"],
                    "discount_gap": d.get("discount_gap"), "discount_q": d.get("discount_q"),
                    "sentence": _sentence(dim, c, w, d, pattern),
                }
            )  # fmt: skip
    rows.sort(key=lambda r: -abs((r["churn_ratio"] or 1) - 1))
    return {
        "churn_window": {"start": start.date().isoformat(), "end": end.date().isoformat()},
        "rows": rows,
        "points": _points(churn, close),
    }


def _points(churn: dict[str, Any], close: dict[str, Any]) -> list[dict[str, Any]]:
    """Win rate against first-year churn per segment and industry (the scatter chart)."""
    out = []
    for dim in ("segment", "industry"):
        wins = {r["value"]: r for r in close.get(dim, [])}
        for c in churn.get(dim, []):
            w = wins.get(c["value"])
            if w is not None and not c["small"] and not w["small"]:
                out.append(
                    {"attribute": dim, "value": c["value"], "churn_rate": c["rate"],
                     "win_rate": w["rate"], "accounts": c["n"], "deals": w["n"]}
                )  # fmt: skip
    return out


def _sentence(
    dim: str, churn: dict[str, Any], win: dict[str, Any], disc: dict[str, Any], pattern: str
) -> str:
    gap = disc.get("discount_gap")
    discount = f", discount {100 * win['mean_discount']:.0f}%" if win["mean_discount"] else ""
    gap_text = f" ({points(100 * gap, 0)} points vs the rest)" if gap is not None else ""
    return (
        f"{dim} = {churn['value']} {pattern}: first-year churn {100 * churn['rate']:.0f}% "
        f"(95% CI {100 * churn['lo']:.0f}-{100 * churn['hi']:.0f}%, n={churn['n']}, "
        f"{churn['ratio']:.1f}x the rest); win rate {100 * win['rate']:.0f}% "
        f"(95% CI {100 * win['lo']:.0f}-{100 * win['hi']:.0f}%, {win['n']} deals){discount}{gap_text}"
    )
