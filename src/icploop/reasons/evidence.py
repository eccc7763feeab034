"""Who churned or contracted in a window, who stayed, and the evidence written around each.

Loss events come from the MRR movements (``icploop.metrics.movements``): an account that churned
in the window is a churn (its latest churn month, the MRR it lost then); one that only shrank is a
contraction (the summed contraction, dated at its largest step). Retained accounts paid in the
window's first month and still pay in the as-of month. Evidence is every note and ticket of an
account in the ``lookback`` months before its reference date (the loss month, or the as-of month
for retained accounts), plus churn-reason notes up to two months after it (they are written when
service ends).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import ibis
import ibis.expr.types as ir
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.calendar import date_of
from icploop.metrics.movements import movements
from icploop.metrics.tables import CanonicalTables

EVIDENCE_COLUMNS = (
    "account_id",
    "source",
    "date",
    "text",
    "tag",
    "author",
    "category",
    "priority",
    "resolution_days",
)
NOTE_GRACE_DAYS = 62


@dataclass(frozen=True)
class ReasonTables:
    """The canonical tables the reason analyses read; notes and tickets are optional."""

    canonical: CanonicalTables
    notes: ir.Table | None = None
    tickets: ir.Table | None = None

    @classmethod
    def from_backend(cls, backend: Any) -> ReasonTables:
        def opt(name: str) -> ir.Table | None:
            try:
                return backend.table(name)
            except Exception:  # the backend's "no such table" error varies by engine
                return None

        return cls(CanonicalTables.from_backend(backend), opt("notes"), opt("tickets"))


def loss_events(
    tables: ReasonTables,
    as_of: dt.date,
    window_months: int = 12,
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Accounts that churned or contracted in the ``window_months`` up to ``as_of``.

    Columns: ``account_id``, ``event`` (churn or contraction), ``month`` (first day of the loss
    month), ``lost_mrr`` (monthly, reporting currency).
    """
    if window_months < 1:
        raise IcploopError("the window must be at least one month", "use --window 12")
    start = date_of(index_of(as_of) - window_months + 1)
    mv = movements(tables.canonical.mrr_monthly, as_of, settings, from_month=start)
    mv = mv.filter((mv.churn > 0) | (mv.contraction > 0))
    rows = mv.select("account_id", "m", "churn", "contraction").to_pandas()
    if rows.empty:
        return pd.DataFrame(columns=["account_id", "event", "month", "lost_mrr"])
    churn = rows[rows["churn"] > 0].sort_values("m").groupby("account_id").tail(1)
    churn = churn.assign(event="churn", lost=churn["churn"])
    shrink = rows[(rows["contraction"] > 0) & ~rows["account_id"].isin(churn["account_id"])]
    biggest = shrink.sort_values(["contraction", "m"]).groupby("account_id").tail(1)
    total = shrink.groupby("account_id")["contraction"].sum()
    biggest = biggest.assign(event="contraction", lost=biggest["account_id"].map(total))
    out = pd.concat([churn, biggest], ignore_index=True)
    return (
        pd.DataFrame(
            {
                "account_id": out["account_id"],
                "event": out["event"],
                "month": [date_of(int(m)) for m in out["m"]],
                "lost_mrr": out["lost"].astype(float) / 100,
            }
        )
        .sort_values("account_id")
        .reset_index(drop=True)
    )


def retained_accounts(
    tables: ReasonTables,
    as_of: dt.date,
    window_months: int = 12,
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Accounts paying in the window's first month and in the as-of month, with no loss event in
    between: ``account_id``, ``month`` (the as-of month, their reference date), ``mrr``."""
    end_m = index_of(as_of)
    start_m = end_m - window_months + 1
    pos = paying_months(tables.canonical.mrr_monthly, as_of, settings)
    both = pos.filter(pos.m.isin([start_m, end_m]))
    per = both.group_by("account_id").agg(
        k=both.m.nunique(), cents=both.cents.max(where=both.m == end_m)
    )
    frame = per.filter(per.k == 2).select("account_id", "cents").to_pandas()
    lost = set(loss_events(tables, as_of, window_months, settings)["account_id"])
    frame = frame[~frame["account_id"].isin(lost)]
    return pd.DataFrame(
        {
            "account_id": frame["account_id"].to_numpy(),
            "month": date_of(end_m),
            "mrr": frame["cents"].astype(float).to_numpy() / 100,
        }
    ).reset_index(drop=True)


def gather_evidence(
    tables: ReasonTables, refs: pd.DataFrame, lookback_months: int = 6
) -> pd.DataFrame:
    """Notes and tickets around each account's reference month (``refs``: account_id, month).

    One row per piece of evidence with :data:`EVIDENCE_COLUMNS`; ``source`` is the note kind
    (``churn_reason``, ``csm_note``, ``sales_note``, ``lost_reason``) or ``ticket``. Sales notes
    are kept whatever their date (they are written at close, long before any churn).
    """
    if refs.empty:
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
    ref = pd.DataFrame(
        {"account_id": refs["account_id"].astype(str), "ref": pd.to_datetime(refs["month"])}
    )
    ref["lo"] = ref["ref"] - pd.DateOffset(months=lookback_months)
    ref["hi"] = ref["ref"] + pd.Timedelta(days=NOTE_GRACE_DAYS)
    win = ibis.memtable(
        pd.DataFrame(
            {
                "account_id": ref["account_id"],
                "ref": ref["ref"].dt.date,
                "lo": ref["lo"].dt.date,
                "hi": ref["hi"].dt.date,
            }
        )
    )
    parts: list[pd.DataFrame] = []
    if tables.notes is not None:
        n = tables.notes
        j = n.join(win, "account_id")
        keep = (j.kind == "sales_note") | (
            (j.date >= j.lo) & ((j.date < j.ref) | ((j.kind == "churn_reason") & (j.date <= j.hi)))
        )
        notes = (
            j.filter(keep)
            .select(
                "account_id",
                source=j.kind.cast("string"),
                date=j.date,
                text=j.text.cast("string"),
                tag=j.reason_code.cast("string"),
                author=j.author.cast("string"),
            )
            .to_pandas()
        )
        parts.append(notes)
    if tables.tickets is not None:
        t = tables.tickets
        j = t.join(win, "account_id")
        j = j.filter((j.created_date >= j.lo) & (j.created_date < j.ref))
        tickets = j.select(
            "account_id",
            source=ibis.literal("ticket"),
            date=j.created_date,
            text=j.text.cast("string"),
            category=j.category.cast("string"),
            priority=j.priority.cast("string"),
            resolution_days=j.resolved_date.delta(j.created_date, unit="day").cast("float64"),
        ).to_pandas()
        parts.append(tickets)
    if not parts:
        return pd.DataFrame(columns=list(EVIDENCE_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    for col in EVIDENCE_COLUMNS:
        if col not in out.columns:
            out[col] = None
    out["date"] = pd.to_datetime(out["date"]).dt.date
    return out[list(EVIDENCE_COLUMNS)].sort_values(["account_id", "date"]).reset_index(drop=True)
