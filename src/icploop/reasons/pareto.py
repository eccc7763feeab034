"""Churn reasons from evidence: one reason per lost account, ranked into a Pareto table.

Each account that churned or contracted gets the first reason found in this order (``source``):

1. ``tag``: a churn-reason note with a tagged ``reason_code``;
2. ``churn note``: the classifier's reason for the churn-reason note's text;
3. ``csm note``: the reason most CSM notes in the lookback match (ties: the latest);
4. ``tickets``: the reason of at least two tickets that are at least half the account's tickets in
   the lookback (by the taxonomy's ticket categories, else by ticket text);

otherwise it is unexplained, and the note texts that matched nothing are clustered so new
reasons can be named. Shares are of all lost accounts (unexplained included).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings
from icploop.reasons.classify import ReasonClassifier
from icploop.reasons.evidence import ReasonTables, gather_evidence, loss_events
from icploop.reasons.taxonomy import Taxonomy, load_taxonomy
from icploop.reasons.vectors import cluster_texts, top_terms

UNEXPLAINED = "unexplained"
SOURCES = ("tag", "churn note", "csm note", "tickets")
MIN_EVENTS = 30
SAMPLES = 2


def classify_evidence(evidence: pd.DataFrame, classifier: ReasonClassifier) -> pd.DataFrame:
    """The evidence with ``match`` (reason or None) and ``method`` of each row's text; tickets
    take the reason their category maps to in the taxonomy before their text's."""
    out = evidence.copy()
    matches = classifier.predict(out["text"].fillna("").astype(str).tolist())
    out["match"] = [m.reason for m in matches]
    out["method"] = [m.method for m in matches]
    is_ticket = out["source"] == "ticket"
    if is_ticket.any():
        by_cat = out.loc[is_ticket, "category"].map(
            lambda c: classifier.taxonomy.reason_of_category(str(c)) if pd.notna(c) else None
        )
        has = by_cat.notna()
        out.loc[by_cat[has].index, "match"] = by_cat[has]
        out.loc[by_cat[has].index, "method"] = "category"
    return out


def _latest(frame: pd.DataFrame, value: str) -> pd.DataFrame:
    return (
        frame.sort_values("date")
        .groupby("account_id")
        .tail(1)
        .set_index("account_id")[[value, "text"]]
    )


def _most_common(frame: pd.DataFrame) -> pd.DataFrame:
    counts = frame.groupby(["account_id", "match"]).agg(k=("date", "size"), last=("date", "max"))
    counts = counts.reset_index().sort_values(["account_id", "k", "last"])
    best = counts.groupby("account_id").tail(1).set_index("account_id")
    text = frame.sort_values("date").groupby(["account_id", "match"])["text"].last()
    best["text"] = [text[(a, r)] for a, r in zip(best.index, best["match"], strict=True)]
    best["total"] = frame.groupby("account_id").size()
    return best


def assign_reasons(events: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """One reason per lost account: events plus ``reason``, ``source`` and ``evidence`` (text).

    ``evidence`` must be classified (:func:`classify_evidence`).
    """
    out = events.set_index("account_id").copy()
    out["reason"] = None
    out["source"] = None
    out["evidence"] = None
    ev = evidence[evidence["account_id"].isin(out.index)]
    churn_notes = ev[ev["source"] == "churn_reason"]
    tickets = ev[(ev["source"] == "ticket") & ev["match"].notna()]
    ticket_totals = ev[ev["source"] == "ticket"].groupby("account_id").size()
    candidates: list[tuple[str, pd.DataFrame]] = [
        (
            "tag",
            _latest(churn_notes[churn_notes["tag"].notna()], "tag").rename(
                columns={"tag": "match"}
            ),
        ),
        ("churn note", _latest(churn_notes[churn_notes["match"].notna()], "match")),
    ]
    csm = ev[(ev["source"] == "csm_note") & ev["match"].notna()]
    candidates.append(("csm note", _most_common(csm) if not csm.empty else csm))
    if not tickets.empty:
        t = _most_common(tickets)
        t["total"] = ticket_totals.reindex(t.index)
        t = t[(t["k"] >= 2) & (t["k"] >= 0.5 * t["total"])]
        candidates.append(("tickets", t))
    for source, found in candidates:
        if found.empty:
            continue
        todo = out["reason"].isna() & out.index.isin(found.index)
        idx = out.index[todo]
        out.loc[idx, "reason"] = found.loc[idx, "match"].astype(str).to_numpy()
        out.loc[idx, "source"] = source
        out.loc[idx, "evidence"] = found.loc[idx, "text"].to_numpy()
    missing = out["reason"].isna()
    out.loc[missing, "reason"] = UNEXPLAINED
    return out.reset_index()


@dataclass(frozen=True)
class ReasonPareto:
    """The Pareto table of churn reasons and how it was made."""

    table: pd.DataFrame
    assignments: pd.DataFrame
    clusters: list[dict[str, Any]]
    as_of: dt.date
    window_months: int
    lookback_months: int
    taxonomy: str
    caveats: tuple[str, ...] = field(default=())

    @property
    def n_accounts(self) -> int:
        return len(self.assignments)

    def top(self, k: int = 3) -> list[str]:
        """The ``k`` most frequent explained reasons."""
        return [r for r in self.table["reason"] if r != UNEXPLAINED][:k]

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "window_months": self.window_months,
            "lookback_months": self.lookback_months,
            "taxonomy": self.taxonomy,
            "accounts": self.n_accounts,
            "lost_mrr": round(float(self.assignments["lost_mrr"].sum()), 2)
            if self.n_accounts
            else 0.0,
            "reasons": self.table.to_dict("records"),
            "unmatched_clusters": self.clusters,
            "caveats": list(self.caveats),
        }


def pareto_table(assigned: pd.DataFrame, taxonomy: Taxonomy) -> pd.DataFrame:
    """Reasons ranked by accounts (then lost MRR), unexplained last, with shares and samples."""
    cols = [
        *("reason", "label", "owner", "accounts", "churned", "contracted", "lost_mrr"),
        *("share", "mrr_share", "cumulative_share", "samples"),
    ]
    if assigned.empty:
        return pd.DataFrame(columns=cols)
    g = assigned.groupby("reason")
    table = pd.DataFrame(
        {
            "accounts": g.size(),
            "churned": g["event"].apply(lambda s: int((s == "churn").sum())),
            "contracted": g["event"].apply(lambda s: int((s == "contraction").sum())),
            "lost_mrr": g["lost_mrr"].sum().round(2),
        }
    ).reset_index()
    table["last"] = table["reason"] == UNEXPLAINED
    table = table.sort_values(["last", "accounts", "lost_mrr"], ascending=[True, False, False])
    n, mrr = len(assigned), float(assigned["lost_mrr"].sum())
    table["share"] = (table["accounts"] / n).round(4)
    table["mrr_share"] = (table["lost_mrr"] / mrr).round(4) if mrr else 0.0
    table["cumulative_share"] = (table["accounts"].cumsum() / n).round(4)
    table["label"] = [
        "No reason found" if r == UNEXPLAINED else taxonomy.label(r) for r in table["reason"]
    ]
    owners = {r.code: r.owner for r in taxonomy.reasons}
    table["owner"] = [owners.get(r, "") for r in table["reason"]]
    samples = []
    for reason in table["reason"]:
        rows = assigned[(assigned["reason"] == reason) & assigned["evidence"].notna()]
        rows = rows.sort_values("lost_mrr", ascending=False).head(SAMPLES)
        samples.append(
            [
                {
                    "account_id": a,
                    "link": f"/accounts/{a}",
                    "source": s,
                    "text": str(t),
                }
                for a, s, t in zip(
                    rows["account_id"], rows["source"], rows["evidence"], strict=True
                )
            ]
        )
    table["samples"] = samples
    return table[cols].reset_index(drop=True)


def unmatched_clusters(
    assigned: pd.DataFrame, evidence: pd.DataFrame, min_accounts: int = 2
) -> list[dict[str, Any]]:
    """Groups of note texts that matched no reason (churn notes of every lost account, CSM notes
    of unexplained ones), with the accounts behind each: candidates for new reasons."""
    unexplained = set(assigned.loc[assigned["reason"] == UNEXPLAINED, "account_id"])
    ev = evidence[evidence["account_id"].isin(set(assigned["account_id"]))]
    pool = ev[
        ev["match"].isna()
        & ev["text"].notna()
        & (
            ((ev["source"] == "churn_reason") & ev["tag"].isna())
            | ((ev["source"] == "csm_note") & ev["account_id"].isin(unexplained))
        )
    ]
    if pool.empty:
        return []
    texts = list(dict.fromkeys(pool["text"].astype(str)))
    groups = cluster_texts(texts, min_size=1)
    out = []
    for g in groups:
        members = [texts[i] for i in g]
        accounts = sorted(set(pool.loc[pool["text"].isin(members), "account_id"]))
        if len(accounts) < min_accounts:
            continue
        out.append(
            {
                "terms": top_terms(members),
                "accounts": len(accounts),
                "texts": members[:3],
                "account_ids": accounts[:5],
            }
        )
    return sorted(out, key=lambda c: -int(c["accounts"]))


def churn_reasons(
    tables: ReasonTables,
    as_of: dt.date,
    window_months: int = 12,
    lookback_months: int = 6,
    taxonomy: Taxonomy | None = None,
    settings: MovementSettings = DEFAULT_SETTINGS,
) -> ReasonPareto:
    """The Pareto table of reasons for accounts that churned or contracted in the window."""
    tax = taxonomy or load_taxonomy()
    events = loss_events(tables, as_of, window_months, settings)
    evidence = gather_evidence(tables, events, lookback_months)
    evidence = classify_evidence(evidence, ReasonClassifier(tax).fit())
    assigned = assign_reasons(events, evidence)
    table = pareto_table(assigned, tax)
    caveats = []
    if len(assigned) < MIN_EVENTS:
        caveats.append(f"only {len(assigned)} lost accounts in the window: shares are rough")
    unexplained = float((assigned["reason"] == UNEXPLAINED).mean()) if len(assigned) else 0.0
    if unexplained > 0.3:
        caveats.append(
            f"{unexplained:.0%} of lost accounts have no reason in their notes or tickets: "
            "tag churn reasons, or extend the taxonomy from the unmatched clusters"
        )
    if tables.notes is None:
        caveats.append("no notes table: reasons come from tickets only")
    return ReasonPareto(
        table=table,
        assignments=assigned,
        clusters=unmatched_clusters(assigned, evidence),
        as_of=as_of,
        window_months=window_months,
        lookback_months=lookback_months,
        taxonomy=tax.source,
        caveats=tuple(caveats),
    )
