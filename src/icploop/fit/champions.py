"""Does churn follow a champion's departure? Departed accounts against comparable accounts.

A **departure** is a champion who leaves the account: a contact whose champion row ends
(``valid_to``) with no later row for that contact. An account's first departure by the as-of date
is its landmark, at its tenure t (months since its first paid month); only accounts still paying
then count. **Comparable accounts** are those of the same close cohort (the quarter of their first
paid month) still paying at the same tenure t with no departure by then; each departed account's
comparators together weigh as much as it does, so both groups have the same mix of cohorts and
tenures. From the landmark on, both groups are followed with Kaplan-Meier (lifelines, weighted):
churn within ``horizon`` months with a Greenwood interval, the difference with its interval, and
a log-rank test. Caveat: a comparison, not an experiment: a champion may leave because the
account is already failing.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import ibis.expr.types as ir
import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test

from icploop.errors import IcploopError
from icploop.ingest.paying import index_of
from icploop.metrics.survival import durations
from icploop.metrics.tables import CanonicalTables

MIN_DEPARTED = 10


@dataclass(frozen=True)
class ChampionDepartures:
    """The comparison: ``summary`` (one row per group, ``departed`` and ``comparable``:
    distinct accounts, their weight (the comparators weigh as many as the departed), churn
    within the horizon and its interval), ``curves`` (the
    Kaplan-Meier curve of each group, months since the departure), the difference in churn
    within the horizon (departed less comparable) with its interval, the log-rank p-value and a
    sentence."""

    horizon: int
    summary: pd.DataFrame
    curves: pd.DataFrame
    difference: float
    difference_lo: float
    difference_hi: float
    logrank_p: float
    sentence: str
    caveats: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        """The comparison as plain data (what ``--json`` gives)."""
        return {
            "horizon_months": self.horizon,
            "groups": self.summary.to_dict("records"),
            "difference": self.difference,
            "difference_lo": self.difference_lo,
            "difference_hi": self.difference_hi,
            "logrank_p": self.logrank_p,
            "sentence": self.sentence,
            "curves": self.curves.to_dict("records"),
            "caveats": list(self.caveats),
        }


def departures(contacts: ir.Table, as_of: dt.date) -> pd.DataFrame:
    """Per account, its first champion departure by ``as_of``: ``account_id``, ``departed``
    (the date the champion's last row ends)."""
    c = contacts
    champion_ids = c.filter(c.is_champion == True).select("account_id", "contact_id").distinct()  # noqa: E712 - an Ibis expression
    rows = c.join(champion_ids, ["account_id", "contact_id"])
    per = rows.group_by(["account_id", "contact_id"]).agg(
        ends=rows.valid_to.max(), open_rows=rows.valid_to.isnull().sum()
    )
    gone = per.filter((per.open_rows == 0) & (per.ends <= as_of))
    first = gone.group_by("account_id").agg(departed=gone.ends.min())
    return first.to_pandas()


def champion_departures(
    tables: CanonicalTables, contacts: ir.Table | None, as_of: dt.date, horizon: int = 12
) -> ChampionDepartures:
    """Churn within ``horizon`` months of a champion's departure against comparable accounts
    (same close cohort, same tenure, no departure yet). Raises ``IcploopError`` without a
    contacts table or with fewer than 10 departures to compare."""
    if contacts is None:
        raise IcploopError(
            "champion departures need the contacts table (champions and when their rows end)",
            "load contacts with is_champion, valid_from and valid_to",
        )
    gone = departures(contacts, as_of)
    d = durations(tables, as_of).select("account_id", "first_m", "duration", "event").to_pandas()
    as_of_m = index_of(as_of)
    d["cohort"] = d["first_m"] // 3
    d["age"] = as_of_m - d["first_m"]
    left = d.merge(gone, on="account_id", how="inner")
    dates = pd.to_datetime(left["departed"])
    left["landmark"] = dates.dt.year * 12 + dates.dt.month - 1 - left["first_m"]
    # paying at the departure: it came after the first paid month and before any churn
    left = left[(left["landmark"] >= 0) & (left["landmark"] < left["duration"])]
    if len(left) < MIN_DEPARTED:
        raise IcploopError(
            f"{len(left)} paying accounts saw a champion leave by {as_of}; the comparison needs "
            f"at least {MIN_DEPARTED}",
            "load contacts with end dates (valid_to) for the champions who left",
        )
    departed_at = dict(zip(gone["account_id"], pd.to_datetime(gone["departed"]), strict=True))
    first_departure = d["account_id"].map(departed_at)
    departure_tenure = (
        first_departure.dt.year * 12 + first_departure.dt.month - 1 - d["first_m"]
    ).fillna(np.inf)
    rows = []
    for (cohort, t), group in left.groupby(["cohort", "landmark"]):
        peers = d[
            (d["cohort"] == cohort) & (d["duration"] > t) & (departure_tenure > t) & (d["age"] >= t)
        ]
        if peers.empty:
            continue
        weight = len(group) / len(peers)
        rows.append(
            pd.DataFrame(
                {
                    "group": "comparable",
                    "account_id": peers["account_id"],
                    "time": peers["duration"] - t,
                    "event": peers["event"].astype(bool),
                    "weight": weight,
                }
            )
        )
    departed = pd.DataFrame(
        {
            "group": "departed",
            "account_id": left["account_id"],
            "time": left["duration"] - left["landmark"],
            "event": left["event"].astype(bool),
            "weight": 1.0,
        }
    )
    if not rows:
        raise IcploopError(
            "no comparable account (same close cohort, still paying at the same tenure)",
            "load more accounts",
        )
    data = pd.concat([departed, *rows], ignore_index=True)
    return _compare(data, horizon, len(left))


def _compare(data: pd.DataFrame, horizon: int, n_departed: int) -> ChampionDepartures:
    summary, curves, variances = [], [], {}
    for group in ("departed", "comparable"):
        part = data[data["group"] == group]
        kmf = KaplanMeierFitter(alpha=0.05)
        with warnings.catch_warnings():
            # the comparators' weights are fractions by design (each departed account's peers
            # weigh one account together); the Greenwood band then counts that weight, not rows
            warnings.simplefilter("ignore")
            kmf.fit(part["time"], part["event"], weights=part["weight"], label=group)
        s = float(kmf.predict(horizon))
        ci = kmf.confidence_interval_
        band = ci[ci.index <= horizon].iloc[-1]
        lo, hi = 1 - float(band.iloc[1]), 1 - float(band.iloc[0])
        variances[group] = ((hi - lo) / (2 * 1.96)) ** 2
        summary.append(
            {
                "group": group,
                "accounts": int(part["account_id"].nunique()),
                "weight": float(part["weight"].sum()),
                "churn": 1 - s,
                "churn_lo": lo,
                "churn_hi": hi,
            }
        )
        sf = kmf.survival_function_.iloc[:, 0]
        curves.append(
            pd.DataFrame({"group": group, "months": sf.index.astype(float), "survival": sf.values})
        )
    frame = pd.DataFrame(summary)
    a, b = frame.iloc[0], frame.iloc[1]
    diff = float(a["churn"] - b["churn"])
    half = 1.96 * math.sqrt(variances["departed"] + variances["comparable"])
    dep, comp = data[data["group"] == "departed"], data[data["group"] == "comparable"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fractional weights, as above
        test = logrank_test(
            dep["time"],
            comp["time"],
            dep["event"],
            comp["event"],
            weights_A=dep["weight"],
            weights_B=comp["weight"],
        )
    p = float(test.p_value)
    sentence = (
        f"Accounts whose champion left churned {a['churn']:.0%} within {horizon} months "
        f"(95% CI {a['churn_lo']:.0%}-{a['churn_hi']:.0%}, {n_departed} accounts) against "
        f"{b['churn']:.0%} for comparable accounts of the same close cohort and tenure "
        f"({b['churn_lo']:.0%}-{b['churn_hi']:.0%}): {100 * diff:+.0f} points "
        f"({100 * (diff - half):+.0f} to {100 * (diff + half):+.0f}), log-rank p = {p:.2g}."
    )
    caveats = ["a comparison, not an experiment: a champion may leave a failing account"]
    if n_departed < 30:
        caveats.append(f"only {n_departed} departures: the interval is wide")
    return ChampionDepartures(
        horizon=horizon,
        summary=frame,
        curves=pd.concat(curves, ignore_index=True),
        difference=diff,
        difference_lo=diff - half,
        difference_hi=diff + half,
        logrank_p=p,
        sentence=sentence,
        caveats=tuple(caveats),
    )
