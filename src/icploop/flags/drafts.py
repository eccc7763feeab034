"""Drafting a flag from a stored bad-fit tag: the fit issue and evidence come from its signals.

The wording is the fit rubric's (``icploop.fit.rubric``), applied to the values and numbers the
tag's signals keep, so a flag drafted later reads like one drafted at tagging time. The CSM edits
the draft before sending it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.fit.rubric import draft_evidence, fit_issue
from icploop.flags.records import MAX_EVIDENCE_CHARS, create_flag
from icploop.store.models import FitTag, Flag


def signal_row(tag: FitTag) -> pd.Series:
    """One account's row as the rubric reads it: each signal's value (the override when there
    is one) beside the numbers behind it."""
    row: dict[str, Any] = {}
    for signal in tag.signals:
        row.update(signal.evidence or {})
    for signal in tag.signals:
        row[signal.name] = signal.value
    return pd.Series(row, dtype=object)


def draft_flag(
    session: Session,
    fit_tag_id: int,
    *,
    ae: str | None,
    csm: str | None,
    links: Mapping[str, str] | None,
    actor: str,
    now: dt.datetime | None = None,
) -> Flag:
    """A draft flag from a tag, with the fit issue and evidence drafted from its signals."""
    tag = session.get(FitTag, fit_tag_id)
    if tag is None:
        raise IcploopError(f"no fit tag with id {fit_tag_id}", "list the tags to find the id")
    row = signal_row(tag)
    return create_flag(
        session,
        account_id=tag.account_id,
        fit_issue=fit_issue(row),
        evidence=draft_evidence(row)[:MAX_EVIDENCE_CHARS],
        fit_tag_id=tag.id,
        ae=ae,
        csm=csm,
        links=links,
        actor=actor,
        now=now,
    )
