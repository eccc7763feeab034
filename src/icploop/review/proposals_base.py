"""A drafted proposal and the helpers that phrase its evidence (shared by the drafters)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from icploop.formatting import finite, pct
from icploop.formatting import q as fmt_q
from icploop.review.tables import rate
from icploop.segments import stats

_CONDITION = re.compile(r"^(\S+) (=|<|>=) (.+)$")


@dataclass(frozen=True)
class Drafted:
    """One proposed decision. ``payload`` is what accepting it puts into the ICP version:
    ``{"rule": Rule}`` (criterion, do_not_close), ``{"rule", "points"}`` (lead_scoring) or
    ``{"text", "rules"}`` (qualification); ``evidence`` holds the numbers behind it."""

    kind: str
    title: str
    sentence: str
    payload: dict[str, Any]
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def conditions(segment: str) -> list[tuple[str, str, str]]:
    """``"industry = Hospitality AND close_year = 2023"`` as (attribute, op, value) triples."""
    out = []
    for part in segment.split(" AND "):
        match = _CONDITION.match(part.strip())
        if match:
            out.append((match.group(1), match.group(2), match.group(3)))
    return out


def segment_numbers(row: dict[str, Any]) -> dict[str, Any]:
    keys = ("n", "events", "rate", "rate_lo", "rate_hi", "rest_rate", "ratio", "ratio_lo",
            "ratio_hi", "q_value", "base_rate")  # fmt: skip
    return {"segment": row["segment"], **{k: finite(row[k]) for k in keys}}


def said(ev: dict[str, Any]) -> str:
    """The evidence of a segment as a reader writes it."""
    return (
        f"first-year churn {pct(ev['rate'])} (95% CI {pct(ev['rate_lo'])}-{pct(ev['rate_hi'])}, "
        f"n={int(ev['n'])}) against {pct(ev['rest_rate'])} for the rest, "
        f"{ev['ratio']:.1f}x (q={fmt_q(ev['q_value'])})"
    )


def subset_numbers(frame: pd.DataFrame, mask: pd.Series, label: str) -> dict[str, Any]:
    """Churn in ``mask`` against the rest, computed directly (for reduced segments)."""
    known = frame["first_year_churn"].notna()
    inside, rest = (
        frame.loc[mask & known, "first_year_churn"],
        frame.loc[~mask & known, "first_year_churn"],
    )
    k, n, k2, n2 = float(inside.sum()), float(len(inside)), float(rest.sum()), float(len(rest))
    r = rate(k, n)
    rest_rate = k2 / n2 if n2 else None
    return {
        "segment": label, "n": n, "events": k, "rate": r["rate"], "rate_lo": r["lo"],
        "rate_hi": r["hi"], "rest_rate": rest_rate,
        "ratio": finite(r["rate"] / rest_rate) if rest_rate and r["rate"] is not None else None,
        "p_value": finite(stats.two_proportion_pvalue(k, n, k2, n2)) if n and n2 else None,
    }  # fmt: skip


def rule_value(v: float) -> float | int:
    return int(v) if float(v).is_integer() else v
