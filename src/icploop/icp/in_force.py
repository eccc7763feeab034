"""The ICP rules in force on a date: the one answer the deal check, the tagging run, the CLI, the
API and the pack ask for.

The rules in force on a day are those of the latest version published on or before it (ties: the
higher number). Before any version is published, the documented fallback is in force: the fit
configuration's ``icp_criteria`` (none by default), with no do-not-close rules. The day-90 ICP
match of a tagging run judges each account by the same timeline, on its close date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from icploop.fit.config import FitConfig
from icploop.fit.signals import CriteriaPeriod, criteria_timeline, period_on
from icploop.icp.document import from_yaml
from icploop.icp.versions import get_version, list_versions, timeline
from icploop.rules import Rule
from icploop.safe_yaml import read_bounded
from icploop.store.models import IcpVersionRecord

#: where the rules came from when no version is in force
FALLBACK_SOURCE = "the fit configuration's default criteria (no ICP version published yet)"


@dataclass(frozen=True)
class RulesInForce:
    """The criteria and do-not-close rules in force on ``day``, and where they come from."""

    day: dt.date
    criteria: tuple[Rule, ...]
    do_not_close: tuple[Rule, ...]
    version: int | None
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.day.isoformat(),
            "version": self.version,
            "source": self.source,
            "criteria": [r.describe() for r in self.criteria],
            "do_not_close": [r.describe() for r in self.do_not_close],
        }


def published_periods(session: Session) -> list[CriteriaPeriod]:
    """The published (or superseded) versions as periods, in order of the date they came into
    force (ties: by number)."""
    published = sorted(timeline(session), key=lambda v: (v.published_at, v.number))
    return [
        CriteriaPeriod(
            v.published_at,
            tuple(v.content.criteria),
            f"v{v.number}",
            tuple(v.content.do_not_close),
        )
        for v in published
    ]


def icp_timeline(session: Session, fallback: Sequence[Rule] | None = None) -> list[CriteriaPeriod]:
    """The fallback (``fallback``, default the fit configuration's ``icp_criteria``) followed by
    every published version, in order of start."""
    rules = FitConfig().icp_criteria if fallback is None else fallback
    return criteria_timeline(rules, published_periods(session))


def rules_in_force(
    session: Session, day: dt.date, fallback: Sequence[Rule] | None = None
) -> RulesInForce:
    """The ICP rules in force on ``day`` (see the module's docstring)."""
    period = period_on(icp_timeline(session, fallback), day)
    assert period is not None  # the fallback is in force from the beginning
    if period.start is None:
        return RulesInForce(day, period.rules, (), None, FALLBACK_SOURCE)
    number = int(period.label.removeprefix("v"))
    return RulesInForce(
        day,
        period.rules,
        period.do_not_close,
        number,
        f"ICP version {number} (since {period.start})",
    )


def stored_in_force(
    session: Session, day: dt.date, fallback: Sequence[Rule] | None = None
) -> tuple[IcpVersionRecord | None, IcpVersionRecord | None]:
    """The stored version whose rules are in force on ``day`` (None while the fallback is) and
    the latest published one, whose implementation is tracked: the same record, unless the latest
    comes into force after ``day`` (published with a later effective date, or after the data's
    last day when ``day`` is the data's default as-of)."""
    number = rules_in_force(session, day, fallback).version
    in_force = get_version(session, number) if number is not None else None
    latest = next((v for v in list_versions(session) if v.status == "published"), None)
    return in_force, latest  # one session: the same object when they are the same version


def rules_from_file(path: Path, day: dt.date) -> RulesInForce:
    """The rules of an ICP YAML file, put in force on ``day`` by the caller (``--icp FILE``)."""
    content = from_yaml(read_bounded(path, "ICP document"), str(path))
    return RulesInForce(
        day, tuple(content.criteria), tuple(content.do_not_close), None, f"the file {path.name}"
    )
