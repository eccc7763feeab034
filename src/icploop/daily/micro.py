"""The micro-review that acts: when cohort NRR fell more than 2 points in the latest quarter,
the daily run builds the reduced review pack and sends RevOps the notice, once per quarter.

The reduced pack is the quarterly pack's evidence for that quarter cut to what a micro-review
discusses (the headline and NRR trend, the churn cohort, the fit-tag mix, the synthesis and the
proposals), opening with the close cohorts whose NRR fell most: the affected cohorts. It is
written to ``reviews/micro-<quarter>/`` in the workspace, in HTML, Markdown and JSON.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from icploop import formatting as fmt
from icploop.fit.config import FitConfig
from icploop.flags.channels import Channel
from icploop.icp.micro_review import DEFAULT_THRESHOLD_POINTS, NrrDrops
from icploop.metrics.retention import retention
from icploop.metrics.tables import CanonicalTables
from icploop.review.pack import build_pack
from icploop.review.quarters import Quarter
from icploop.review.render import write_pack
from icploop.store.models import Person

MICRO_SECTIONS = ("headline", "churn_cohort", "fit_tags", "synthesis", "proposals")
COHORT = "close_cohort"
SHOWN = 5


@dataclass
class MicroReview:
    """What acting on a quarter's NRR drop produced."""

    quarter: str
    cohorts: list[dict[str, Any]] = field(default_factory=list)
    paths: list[Path] = field(default_factory=list)
    notified: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def affected_cohorts(
    tables: CanonicalTables, as_of: dt.date, quarter: str,
    threshold_points: float = DEFAULT_THRESHOLD_POINTS,
) -> list[dict[str, Any]]:  # fmt: skip
    """The close cohorts whose cohort NRR fell more than ``threshold_points`` from the quarter
    before ``quarter`` to it, largest fall first (groups too small to judge left out)."""
    frame = retention(tables, as_of, by=[COHORT], period="quarter").frame
    periods = sorted(frame["period"].unique())
    if quarter not in periods or periods.index(quarter) == 0:
        return []
    before = periods[periods.index(quarter) - 1]
    now = frame[(frame.period == quarter) & ~frame.small_group].set_index(COHORT)
    then = frame[frame.period == before].set_index(COHORT)
    out = []
    for cohort, row in now.iterrows():
        if cohort not in then.index or fmt.is_unknown(row.nrr):
            continue
        prior = then.loc[cohort, "nrr"]
        if fmt.is_unknown(prior):
            continue
        change = (float(row.nrr) - float(prior)) * 100
        if change < -threshold_points:
            out.append({"cohort": str(cohort), "nrr_before": float(prior),
                        "nrr": float(row.nrr), "change_points": change,
                        "accounts": int(row.n_accounts)})  # fmt: skip
    return sorted(out, key=lambda c: c["change_points"])


def reduced_pack(
    pack: dict[str, Any], drops: NrrDrops, cohorts: list[dict[str, Any]]
) -> dict[str, Any]:
    """The quarterly pack cut to a micro-review's sections, its headline opening with the
    quarter's fall and the affected cohorts."""
    fall = drops.series.iloc[-1]
    lines = [
        f"Micro-review: cohort NRR fell {fmt.points(fall.change_points)} points in "
        f"{fall.period}, to {fmt.pct(fall.nrr, 1)}"
    ]
    lines += [
        f"Affected close cohort {c['cohort']}: NRR {fmt.pct(c['nrr_before'], 1)} -> "
        f"{fmt.pct(c['nrr'], 1)} ({fmt.points(c['change_points'])} points, "
        f"{fmt.count(c['accounts'])} accounts)"
        for c in cohorts[:SHOWN]
    ]
    if not cohorts:
        lines.append("No close cohort large enough to judge fell on its own: the fall is spread")
    headline = {**pack["headline"], "caveats": [*lines, *pack["headline"].get("caveats", [])]}
    sections, start = [], 0
    for section in pack["sections"]:  # the kept sections' time boxes back to back
        if section["id"] in MICRO_SECTIONS:
            sections.append({**section, "start": start})
            start += section.get("minutes") or 0
    return {
        **pack,
        "quarter": f"{pack['quarter']}-micro",
        "title": f"Micro-review, {fmt.day(pack['as_of'])}",
        "sections": sections,
        "headline": headline,
        "micro_review": {"drops": list(drops.drops), "cohorts": cohorts},
    }


def act_on_drop(
    backend: Any, session: Session, tables: CanonicalTables, drops: NrrDrops,
    workspace: Path, sender: Channel | None, base_url: str | None,
    fit_config: FitConfig | None = None,
) -> MicroReview:  # fmt: skip
    """Build the reduced pack for the latest quarter's drop and notify RevOps (by email to each
    active RevOps person with an address, or once through the webhook)."""
    quarter = str(drops.last_period)
    result = MicroReview(quarter=quarter)
    result.cohorts = affected_cohorts(tables, drops.as_of, quarter, drops.threshold_points)
    pack = build_pack(backend, session, Quarter.parse(quarter), fit_config=fit_config)
    micro = reduced_pack(pack, drops, result.cohorts)
    result.paths = write_pack(
        micro, ["html", "md", "json"], workspace / "reviews" / f"micro-{quarter}"
    )
    if sender is None:
        result.warnings.append(f"micro-review for {quarter} built; no channel to tell RevOps")
        return result
    where = f"{base_url.rstrip('/')}/review" if base_url else str(result.paths[0])
    text = "\n".join([*micro["headline"]["caveats"][: SHOWN + 1], f"Pack: {where}"])
    payload: dict[str, Any] = {"subject": f"Micro-review due: cohort NRR fell in {quarter}", "text": text,
               "links": {"review": where}}  # fmt: skip
    if sender.name == "email":
        people = session.scalars(select(Person).where(
            Person.role == "revops", Person.active.is_(True), Person.email.is_not(None)))  # fmt: skip
        targets: list[tuple[str, dict[str, Any]]] = [
            (p.person_id, {**payload, "email": p.email}) for p in people
        ]
    else:
        targets = [("channel:#icp-signals", payload)]
    for who, body in targets:
        try:
            sender.send(who, body)
            result.notified.append(who)
        except Exception as exc:  # a channel's failure is reported, the pack stays built
            result.warnings.append(f"micro-review notice to {who} not sent: {exc}")
    if not targets:
        result.warnings.append("micro-review built; nobody active in RevOps has an email address")
    return result
