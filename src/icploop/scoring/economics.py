"""The economics of fit: what a change in the fit mix, or in retention, is worth.

Plain arithmetic on stated inputs, each function documenting its formula so a finance reader can
redo it: the bad-fit what-if (NRR of a cohort as the MRR-weighted mix of each fit tag's NRR), the
value of a retention improvement over three years, LTV:CAC by segment or lead source where the
acquisition cost is given, and acquisition against retention spend.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.formatting import finite, unknown
from icploop.metrics.calendar import add_months
from icploop.metrics.lifetime import cac_payback, simple_ltv

#: the group of accounts without a value of the attribute a table is broken down by
NO_VALUE = "(none)"
#: why a fit tag's 12-month NRR is unknown when it has accounts with a full first year
NO_STARTING_MRR = "its accounts with a full first year started at 0 MRR"


@dataclass(frozen=True)
class BadFitWhatIf:
    """NRR of the current mix against the mix with a different bad-fit share. When the mix has
    no starting MRR the shares and NRRs are unknown (None) and ``unknown_reason`` says why."""

    current_share: float | None
    new_share: float
    current_nrr: float | None
    new_nrr: float | None
    table: pd.DataFrame
    unknown_reason: str | None = None

    @property
    def change_points(self) -> float | None:
        if self.new_nrr is None or self.current_nrr is None:
            return None
        return 100 * (self.new_nrr - self.current_nrr)

    @property
    def sentence(self) -> str:
        if self.unknown_reason is not None:
            return (
                f"Cohort NRR with {self.new_share:.0%} bad-fit deals: "
                f"{unknown(self.unknown_reason)}."
            )
        return (
            f"Closing {self.new_share:.0%} bad-fit deals instead of {self.current_share:.0%} moves "
            f"cohort NRR from {self.current_nrr:.1%} to {self.new_nrr:.1%} "
            f"({self.change_points:+.1f} points)."
        )


def _unknown_whatif(bad_share: float, reason: str) -> BadFitWhatIf:
    """The what-if whose answer is unknown (no share or NRR can be weighed), with its reason."""
    return BadFitWhatIf(
        current_share=None,
        new_share=bad_share,
        current_nrr=None,
        new_nrr=None,
        table=pd.DataFrame({"bad_fit_share": [], "nrr": []}),
        unknown_reason=reason,
    )


def mix_nrr(mix: Mapping[str, float], nrr: Mapping[str, float | None]) -> float:
    """NRR of a cohort = sum over tags of (share of starting MRR x the tag's NRR). A tag with
    weight and no known NRR (absent, None or NaN) is a user error naming it."""
    total = sum(mix.values())
    if total <= 0:
        raise IcploopError("the fit mix has no weight", "give each tag's share of starting MRR")
    known = {tag: v for tag in mix if (v := finite(nrr.get(tag))) is not None}
    unknown = sorted(tag for tag, share in mix.items() if share > 0 and tag not in known)
    if unknown:
        raise IcploopError(
            f"no NRR is known for {', '.join(unknown)}: the workspace has no such accounts "
            "with 12 months of history and a starting MRR",
            "tag accounts with icploop fit run (a what-if needs every tag's NRR)",
        )
    return sum(share * known[tag] for tag, share in mix.items() if share > 0) / total


def tag_mix_and_nrr(
    tags: pd.Series, history: pd.DataFrame, day: dt.date
) -> tuple[dict[str, float], dict[str, float | None]]:
    """Starting-MRR share of each tag among accounts closed in the 12 months to ``day``, and each
    tag's 12-month NRR among accounts with a full first year: None (unknown, see
    :data:`NO_STARTING_MRR`) for a tag whose accounts all started at 0 MRR, never NaN.
    ``tags``: account_id -> fit tag; ``history``:
    :func:`icploop.scoring.features.customer_history`."""
    frame = history.set_index("account_id")
    frame["tag"] = tags.reindex(frame.index)
    tagged = frame[frame["tag"].notna()]
    known = tagged[tagged["nrr_12m"].notna()]
    if known.empty:
        raise IcploopError("no tagged account has a full first year yet", "load more history")
    start = known.groupby("tag")["start_mrr"].sum()
    nrr = {tag: finite(v) for tag, v in (known.groupby("tag")["mrr_12m"].sum() / start).items()}
    recent = tagged[pd.to_datetime(tagged["close_date"]) >= pd.Timestamp(add_months(day, -12))]
    base = recent if not recent.empty else tagged
    mix = base.groupby("tag")["start_mrr"].sum().to_dict()
    return {k: float(v) for k, v in mix.items() if k in nrr}, {str(k): v for k, v in nrr.items()}


def bad_fit_whatif(
    mix: Mapping[str, float],
    nrr: Mapping[str, float | None],
    bad_share: float,
    bad: str = "bad_fit",
) -> BadFitWhatIf:
    """Set the bad-fit share of starting MRR to ``bad_share``, scaling the other tags in
    proportion, and recompute the mix NRR. ``table`` has NRR for bad-fit shares 0%-30%. When
    every tag's starting MRR is 0 there is no mix, and when bad fits or a tag with a share of
    the mix have an NRR of None (accounts, but none with a starting MRR) there is no rate to
    weigh: the answer is unknown, with that reason. A tag with such an NRR and no share of the
    mix is left out of it.

    Example: mix 12% bad (NRR 70%), 88% the rest (NRR 108%): 0.12 x 70 + 0.88 x 108 = 103.44%;
    at 6% bad: 0.06 x 70 + 0.94 x 108 = 105.72%.
    """
    if not 0 <= bad_share <= 1:
        raise IcploopError("the bad-fit share must be between 0 and 1", "e.g. --share 0.06")
    total = sum(mix.values())
    if total <= 0:
        return _unknown_whatif(
            bad_share, "no starting MRR: the recent accounts of every fit tag start at 0"
        )
    # tags with accounts but no rate (a tag with no accounts at all is mix_nrr's refusal)
    no_rate = sorted(k for k in {*mix, bad} if k in nrr and finite(nrr[k]) is None)
    if weighed := [k for k in no_rate if k == bad or mix.get(k, 0) > 0]:
        return _unknown_whatif(
            bad_share, f"no 12-month NRR for {', '.join(weighed)} ({NO_STARTING_MRR})"
        )
    shares = {k: v / total for k, v in mix.items() if k not in no_rate}
    current = shares.get(bad, 0.0)

    def with_share(s: float) -> dict[str, float]:
        rest = 1 - current
        out = {
            k: (v / rest * (1 - s) if rest > 0 else (1 - s) / (len(shares) - 1))
            for k, v in shares.items()
            if k != bad
        }
        out[bad] = s
        return out

    grid = sorted({round(x, 2) for x in np.arange(0, 0.31, 0.02)} | {round(current, 4), bad_share})
    table = pd.DataFrame(
        {"bad_fit_share": grid, "nrr": [mix_nrr(with_share(s), nrr) for s in grid]}
    )
    return BadFitWhatIf(
        current_share=current,
        new_share=bad_share,
        current_nrr=mix_nrr(shares, nrr),
        new_nrr=mix_nrr(with_share(bad_share), nrr),
        table=table,
    )


@dataclass(frozen=True)
class RetentionValue:
    """Revenue and gross margin over ``years`` at the current and the improved retention."""

    years: int
    retention: float
    improved: float
    revenue: float
    revenue_improved: float
    margin_gain: float
    ending_arr: float
    ending_arr_improved: float
    table: pd.DataFrame

    @property
    def revenue_gain(self) -> float:
        return self.revenue_improved - self.revenue

    @property
    def sentence(self) -> str:
        return (
            f"Lifting annual net retention from {self.retention:.0%} to {self.improved:.0%} adds "
            f"{self.revenue_gain:,.0f} of revenue and {self.margin_gain:,.0f} of gross margin over "
            f"{self.years} years, and leaves ARR {self.ending_arr_improved - self.ending_arr:,.0f} "
            f"higher at the end."
        )


def retention_value(
    arr: float,
    retention: float,
    points: float = 5.0,
    years: int = 3,
    gross_margin: float = 0.8,
    new_arr_per_year: float = 0.0,
) -> RetentionValue:
    """The value of ``points`` more annual retention on a book of ``arr``.

    ARR at the start of year 1 is ``arr``; each later year starts at the previous year's ARR x
    retention + ``new_arr_per_year``; revenue is the sum of the yearly ARR (annual contracts).
    Example: 1,000,000 at 90%: 1,000,000 + 900,000 + 810,000 = 2,710,000; at 95%:
    1,000,000 + 950,000 + 902,500 = 2,852,500; 142,500 more revenue, 114,000 more margin at 80%.
    """
    if arr < 0 or retention < 0 or not 0 <= gross_margin <= 1 or years < 1:
        raise IcploopError("ARR and retention must be >= 0, margin within 0..1, years >= 1")
    improved = retention + points / 100

    def path(r: float) -> list[float]:
        values = [arr]
        for _ in range(years):
            values.append(values[-1] * r + new_arr_per_year)
        return values

    base, better = path(retention), path(improved)
    table = pd.DataFrame(
        {"year": range(1, years + 1), "arr": base[:years], "arr_improved": better[:years]}
    )
    revenue, revenue_improved = sum(base[:years]), sum(better[:years])
    return RetentionValue(
        years=years,
        retention=retention,
        improved=improved,
        revenue=revenue,
        revenue_improved=revenue_improved,
        margin_gain=(revenue_improved - revenue) * gross_margin,
        ending_arr=base[years],
        ending_arr_improved=better[years],
        table=table,
    )


def ltv_cac(
    history: pd.DataFrame,
    by: str,
    cac: Mapping[str, float],
    gross_margin: float = 0.8,
) -> pd.DataFrame:
    """LTV:CAC per value of ``by`` (e.g. ``segment``, ``lead_source``) where a CAC is given.

    From accounts with a known first year (``customer_history``): ARPA = mean starting MRR x 12,
    annual churn = the first-year churn rate, LTV = ARPA x gross margin / annual churn (undefined
    at zero churn), payback in months = CAC / (monthly ARPA x gross margin). Accounts without a
    value of ``by`` (missing or blank) form the group ``(none)``.
    """
    known = history[history["first_year_churn"].notna()]
    labels = known[by].astype(object).where(known[by].notna(), NO_VALUE)
    labels = labels.astype(str).str.strip().replace("", NO_VALUE)
    rows = []
    for value, group in known.groupby(labels):
        arpa_month = float(group["start_mrr"].mean())
        churn = float(group["first_year_churn"].mean())
        ltv = simple_ltv(arpa_month * 12, gross_margin, churn)
        cost = cac.get(str(value))
        payback = cac_payback(cost, arpa_month, gross_margin) if cost is not None else None
        rows.append(
            {
                by: value,
                "accounts": len(group),
                "arpa_annual": arpa_month * 12,
                "first_year_churn": churn,
                "ltv": ltv,
                "cac": cost,
                "ltv_to_cac": ltv / cost if ltv is not None and cost else None,
                "payback_months": payback,
            }
        )
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class SpendComparison:
    """ARR bought by acquisition spend against ARR kept by retention spend, per unit spent."""

    acquired_arr: float
    kept_arr: float
    acquired_per_unit: float
    kept_per_unit: float

    @property
    def sentence(self) -> str:
        better = "retention" if self.kept_per_unit > self.acquired_per_unit else "acquisition"
        return (
            f"Acquisition buys {self.acquired_per_unit:.2f} of ARR per unit spent, retention keeps "
            f"{self.kept_per_unit:.2f}: {better} returns more per unit at these inputs."
        )


def acquisition_vs_retention(
    acquisition_spend: float,
    cac: float,
    new_arpa_annual: float,
    retention_spend: float,
    book_arr: float,
    retention_points: float,
) -> SpendComparison:
    """New ARR = acquisition spend / CAC x annual ARPA; kept ARR = book ARR x retention points /
    100. Example: 500,000 / 25,000 x 20,000 = 400,000 acquired (0.80 per unit); 200,000 spent to
    keep 5 points of a 10,000,000 book = 500,000 kept (2.50 per unit)."""
    if cac <= 0 or acquisition_spend <= 0 or retention_spend <= 0:
        raise IcploopError("spends and CAC must be above 0")
    acquired = acquisition_spend / cac * new_arpa_annual
    kept = book_arr * retention_points / 100
    return SpendComparison(acquired, kept, acquired / acquisition_spend, kept / retention_spend)
