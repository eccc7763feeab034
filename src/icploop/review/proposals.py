"""Drafted decisions: ICP criteria, lead scoring, qualification and the do-not-close list.

Each proposal carries its numbers (n, rate, 95% interval, ratio, q or permutation p) and a
sentence a person can read aloud in the review. Which findings qualify is decided by
``icploop.review.policy`` alone; this module only turns qualifying findings into proposals.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import ibis
import pandas as pd

from icploop.formatting import finite, pct
from icploop.ingest.attributes import AttributeCatalog, frame_catalog
from icploop.review.policy import (
    CRITERION_THRESHOLDS,
    RULE_ATTRIBUTES,
    SEARCH_CATEGORICAL,
    SEARCH_NUMERIC,
    TIME_ATTRIBUTES,
    ProposalPolicy,
)
from icploop.review.proposals_base import (
    Drafted,
    conditions,
    rule_value,
    said,
    segment_numbers,
    subset_numbers,
)
from icploop.review.qualification import discount_ceiling, use_case_live
from icploop.rules import Rule
from icploop.segments.catalog import outcome_spec, scan_thresholds
from icploop.segments.result import SegmentSearchResult
from icploop.segments.search import search_segments
from icploop.segments.thresholds import ThresholdResult

KINDS = ("criterion", "lead_scoring", "qualification", "do_not_close")


def search(frame: pd.DataFrame, policy: ProposalPolicy) -> SegmentSearchResult:
    """First-year churn by every segment of up to ``policy.search_depth`` conditions."""
    categorical = [c for c in SEARCH_CATEGORICAL if c in frame.columns and frame[c].notna().any()]
    numeric = [c for c in SEARCH_NUMERIC if c in frame.columns and frame[c].notna().any()]
    data = frame[["first_year_churn", *categorical, *numeric]].copy()
    for c in categorical:
        data[c] = data[c].astype("string")
    return search_segments(
        ibis.memtable(data), "first_year_churn", categorical, numeric,
        depth=policy.search_depth, min_support=policy.min_support, min_events=policy.min_events,
    )  # fmt: skip


def threshold_proposals(
    frame: pd.DataFrame, policy: ProposalPolicy, catalog: AttributeCatalog | None = None
) -> tuple[list[Drafted], ThresholdResult | None]:
    """Seat and employee floors (criteria), and the discount threshold for qualification, from
    the one first-year-churn threshold scan (:func:`icploop.segments.catalog.scan_thresholds`,
    what ``icploop segments`` shows) of ``frame`` with the roles of ``catalog`` (default: the
    roles inferred from ``frame``)."""
    cat = catalog or frame_catalog(frame, labels=("first_year_churn",))
    out, discount = [], None
    for found in scan_thresholds(frame, outcome_spec("churn"), cat):
        attribute = found.attribute
        if attribute not in (*CRITERION_THRESHOLDS, "discount") or found.recommended is None:
            continue
        if found.n_below + found.n_above < 2 * policy.min_support:
            continue
        if attribute == "discount":
            discount = found if found.worse_side == "above" else None
            continue
        if found.worse_side != "below":
            continue
        evidence = {
            "source": "threshold", "attribute": attribute, "cut": found.cut,
            "n_below": found.n_below, "rate_below": found.rate_below,
            "rate_below_lo": found.rate_below_lo, "rate_below_hi": found.rate_below_hi,
            "n_above": found.n_above, "rate_above": found.rate_above, "ratio": found.ratio,
            "ratio_lo": found.ratio_lo, "ratio_hi": found.ratio_hi,
            "permutation_p": found.permutation_p, "adjusted_p": found.adjusted_p,
            "recommended": found.recommended,
        }  # fmt: skip
        floor = rule_value(found.recommended)
        rule = Rule(attribute=attribute, op=">=", value=floor,
                    rationale=found.recommendation, evidence="review threshold scan")  # fmt: skip
        out.append(
            Drafted(
                "criterion",
                f"ICP floor: {attribute} >= {floor}",
                found.recommendation,
                {"rule": rule.model_dump(mode="json")},
                evidence,
            )
        )
    return out, discount


def _findings(result: SegmentSearchResult, policy: ProposalPolicy) -> list[dict[str, Any]]:
    found = result.findings(policy.max_q)
    found = found[(found["n"] >= policy.min_support) & (found["events"] >= policy.min_events)]
    return list(found.to_dict("records"))


def segment_proposals(
    frame: pd.DataFrame, result: SegmentSearchResult, policy: ProposalPolicy
) -> list[Drafted]:
    """Retaining criteria, do-not-close rules, lead-scoring points and the bad-fit AE pattern."""
    out: list[Drafted] = []
    seen: set[tuple[str, str, str]] = set()
    for row in _findings(result, policy):
        conds = conditions(row["segment"])
        ev = {"source": "segment search", **segment_numbers(row)}
        ratio, q = ev["ratio"] or 1.0, ev["q_value"] or 1.0
        attrs = {a: v for a, _, v in conds}
        plain = [(a, v) for a, op, v in conds if op == "=" and a not in TIME_ATTRIBUTES]
        timed = [(a, v) for a, op, v in conds if op == "=" and a in TIME_ATTRIBUTES]
        if set(attrs) == {"closing_ae", "quarter_end_deal"} and attrs["quarter_end_deal"] == "yes":
            if ratio >= policy.ae_pattern_ratio and ("ae", attrs["closing_ae"], "") not in seen:
                seen.add(("ae", attrs["closing_ae"], ""))
                out.append(_ae_pattern(frame, attrs["closing_ae"], ev))
            continue
        if len(conds) != len(plain) + len(timed) or len(plain) != 1:
            continue
        attribute, value = plain[0]
        if attribute not in RULE_ATTRIBUTES:
            continue
        if ratio >= 1 and ("dnc", attribute, value) not in seen:
            drafted = _do_not_close(frame, attribute, value, ev, timed, policy, ratio, q)
            if drafted is not None:
                seen.add(("dnc", attribute, value))
                out.append(drafted)
        if timed:
            continue
        if attribute == "lead_source" and ratio >= policy.lead_source_ratio:
            out.append(_lead_penalty(frame, value, ev, policy))
        if attribute in ("use_case", "industry") and ratio <= policy.retain_ratio:
            rule = Rule(attribute=attribute, op="in", value=[value], rationale=said(ev))
            out.append(
                Drafted(
                    "criterion",
                    f"ICP priority: {attribute} = {value}",
                    f"{attribute} = {value} retains: {said(ev)}; make it part of the ICP.",
                    {"rule": rule.model_dump(mode="json")},
                    ev,
                )
            )
            if attribute == "use_case":
                score = Rule(attribute=attribute, op="==", value=value)
                out.append(
                    Drafted(
                        "lead_scoring",
                        f"Lead scoring: +{policy.bonus_points} for {attribute} = {value}",
                        f"Leads stating use case {value} retain: {said(ev)}.",
                        {"rule": score.model_dump(mode="json"), "points": policy.bonus_points},
                        ev,
                    )
                )
    return out


def _do_not_close(
    frame: pd.DataFrame, attribute: str, value: str, ev: dict[str, Any],
    timed: list[tuple[str, str]], policy: ProposalPolicy, ratio: float, q: float,
) -> Drafted | None:  # fmt: skip
    if ratio < policy.do_not_close_ratio or q >= policy.do_not_close_q:
        return None
    evidence = dict(ev)
    sentence = f"{attribute} = {value}: {said(ev)}."
    if timed:
        # a push in one year is evidence about the attribute only if it holds over all years
        whole = subset_numbers(
            frame, frame[attribute].astype(str) == value, f"{attribute} = {value}"
        )
        if (whole["ratio"] or 0) < policy.targeted_ratio or (
            whole["p_value"] or 1
        ) >= policy.do_not_close_q:
            return None
        evidence = {**ev, "targeted_cohort": ev["segment"], "all_years": whole}
        sentence = (
            f"{ev['segment']} (a targeted push): {said(ev)}; over all years {attribute} = {value} "
            f"churns {pct(whole['rate'])} (n={int(whole['n'])}), {whole['ratio']:.1f}x the rest."
        )
    rule = Rule(attribute=attribute, op="==", value=value, rationale=sentence)
    return Drafted("do_not_close", f"Do not close: {attribute} = {value}", sentence,
                   {"rule": rule.model_dump(mode="json")}, evidence)  # fmt: skip


def _lead_penalty(
    frame: pd.DataFrame, source: str, ev: dict[str, Any], policy: ProposalPolicy
) -> Drafted:
    inside = frame["lead_source"].astype(str) == source
    intent_in = (
        finite(frame.loc[inside, "intent_score"].mean()) if "intent_score" in frame else None
    )
    intent_rest = (
        finite(frame.loc[~inside, "intent_score"].mean()) if "intent_score" in frame else None
    )
    trap = intent_in is not None and intent_rest is not None and intent_in >= intent_rest + 10
    evidence = {
        **ev,
        "intent_mean": intent_in,
        "intent_mean_rest": intent_rest,
        "intent_trap": trap,
    }
    why = (f" although its leads score high on intent ({intent_in:.0f} against {intent_rest:.0f})"
           if trap and intent_in is not None and intent_rest is not None else "")  # fmt: skip
    rule = Rule(attribute="lead_source", op="==", value=source)
    return Drafted(
        "lead_scoring", f"Lead scoring: {policy.penalty_points} for lead_source = {source}",
        f"Leads from {source} retain poorly{why}: {said(ev)}.",
        {"rule": rule.model_dump(mode="json"), "points": policy.penalty_points}, evidence,
    )  # fmt: skip


def _ae_pattern(frame: pd.DataFrame, ae: str, ev: dict[str, Any]) -> Drafted:
    mask = (frame["closing_ae"] == ae) & (frame["quarter_end_deal"] == "yes")
    disc_in = finite(frame.loc[mask, "discount"].mean())
    disc_rest = finite(frame.loc[~mask, "discount"].mean())
    text = (f"Deals closed by {ae} in the last 14 days of a quarter need a RevOps fit review "
            "before signature")  # fmt: skip
    sentence = (f"{text}: they show {said(ev)}, at a mean discount of {pct(disc_in)} "
                f"against {pct(disc_rest)}.")  # fmt: skip
    rules = [Rule(attribute="closing_ae", op="==", value=ae),
             Rule(attribute="quarter_end_deal", op="==", value="yes")]  # fmt: skip
    return Drafted(
        "qualification", f"Bad-fit pattern: quarter-end deals of {ae}", sentence,
        {"text": text, "rules": [r.model_dump(mode="json") for r in rules]},
        {**ev, "pattern": "bad_fit_ae", "mean_discount": disc_in, "mean_discount_rest": disc_rest},
    )  # fmt: skip


def draft_proposals(
    frame: pd.DataFrame,
    policy: ProposalPolicy | None = None,
    catalog: AttributeCatalog | None = None,
) -> tuple[list[Drafted], dict[str, Any]]:
    """Every proposal the evidence supports, in the order criterion, lead_scoring,
    qualification, do_not_close, and a summary of the search behind them (accounts, base
    first-year churn, segments tested, findings at q < policy.max_q, caveats).

    ``frame`` is the account frame (``icploop.segments.frames.account_frame``) as of the quarter's
    end; accounts without a first-year outcome (under 12 months) are left out by the search.
    """
    policy = policy or ProposalPolicy()
    known = frame[frame["first_year_churn"].notna()]
    summary: dict[str, Any] = {"accounts": len(known), "policy": asdict(policy)}
    if len(known) < 2 * policy.min_support or known["first_year_churn"].sum() < policy.min_events:
        summary["caveats"] = ["too few accounts with a first-year outcome to propose anything"]
        return [], summary
    result = search(known, policy)
    floors, discount = threshold_proposals(known, policy, catalog)
    segments = segment_proposals(known, result, policy)
    summary.update(
        base_rate=result.base_rate,
        segments_tested=result.n_evaluated,
        findings=len(result.findings(policy.max_q)),
        caveats=list(result.caveats),
    )
    by_kind = {kind: [d for d in segments if d.kind == kind] for kind in KINDS}
    criteria = (floors + by_kind["criterion"])[: policy.max_criteria]
    extra = [d for d in (discount_ceiling(discount), use_case_live(known, policy)) if d]
    # the AE patterns are the most specific evidence, so they come first when the cap bites
    qualification = (by_kind["qualification"] + extra)[: policy.max_qualification]
    do_not_close = [d for d in by_kind["do_not_close"] if not _explained(known, d, floors, policy)]
    return [*criteria, *by_kind["lead_scoring"], *qualification, *do_not_close], summary


def _explained(
    frame: pd.DataFrame, drafted: Drafted, floors: list[Drafted], policy: ProposalPolicy
) -> bool:
    """True when a do-not-close segment churns no more than the rest among accounts that meet
    the proposed floors (SMB is mostly "under 50 seats": the floor already says it)."""
    if not floors:
        return False
    meets = pd.Series(True, index=frame.index)
    for floor in floors:
        rule = floor.payload["rule"]
        meets &= frame[rule["attribute"]] >= rule["value"]
    rule = drafted.payload["rule"]
    inside = frame[meets]
    ev = subset_numbers(inside, inside[rule["attribute"]].astype(str) == str(rule["value"]), "")
    return (ev["ratio"] or 0) < policy.targeted_ratio or (
        ev["p_value"] or 1
    ) >= policy.do_not_close_q
