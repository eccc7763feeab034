"""A CSM's override of one fit signal: the fit rubric gives the new tag, the store records it."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from icploop.errors import IcploopError
from icploop.fit.config import SIGNALS, Combination
from icploop.fit.rubric import combine
from icploop.store import fit_tags
from icploop.store.models import FitTag


def override_signal(
    session: Session,
    account_id: str,
    signal: str,
    value: str,
    reason: str,
    actor: str,
    combination: Combination | None = None,
) -> FitTag:
    """A CSM confirms or overrides one signal: a new tag with the signal's new value and the tag
    the rule (``combination``, default the fit configuration's) gives for the five values; the
    computed value and the previous tag are kept."""
    if signal not in SIGNALS:
        raise IcploopError(f"unknown signal {signal!r}", f"use one of {', '.join(SIGNALS)}")
    rule = combination or Combination()

    def retag(values: dict[str, str | None]) -> str:
        return str(combine(pd.DataFrame([values]), rule).iloc[0])

    return fit_tags.record_override(session, account_id, signal, value, reason, actor, retag)
