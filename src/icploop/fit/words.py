"""The numbers behind each fit signal, said in words for the people who read them.

A signal's evidence is a small mapping of counts (see ``EVIDENCE_COLUMNS`` of the store);
:func:`signal_sentence` turns it into one sentence such as "No active use of the core use case
(customer_health) in the 6 weeks before day 90." and says what is unknown, never a raw
``adoption_ratio=0.0``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from icploop.fit.signals import CHAMPION_CHECK_DAYS

SIGNAL_LABELS: dict[str, str] = {
    "core_use_case_active": "Core use case in use",
    "champion_stability": "Champion in place",
    "icp_segment_match": "Matches the ICP",
    "adoption_trajectory": "Adoption against retained peers",
    "ae_committed_use_cases_active": "Use cases committed at close in use",
}


def _n(evidence: Mapping[str, Any], key: str) -> float | None:
    value = evidence.get(key)
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) else number


def _count(value: float, one: str, many: str | None = None) -> str:
    n = int(value)
    return f"{n} {one if n == 1 else (many or one + 's')}"


def signal_label(name: str) -> str:
    """The signal's name for people ("Champion in place")."""
    return SIGNAL_LABELS.get(name, name.replace("_", " ").capitalize())


def signal_sentence(name: str, evidence: Mapping[str, Any] | None, tag_day: int = 90) -> str:
    """One sentence from the numbers behind signal ``name`` (unknowns said as such)."""
    e = evidence or {}
    say = _SENTENCES.get(name)
    if say is None:
        shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in e.items() if v is not None)
        return shown or "No evidence recorded."
    return say(e, tag_day)


def _core(e: Mapping[str, Any], tag_day: int) -> str:
    weeks, window = _n(e, "core_active_weeks_recent"), _n(e, "recent_window_days")
    case = f" ({e['use_case']})" if e.get("use_case") else ""
    span = f"the {math.ceil(window / 7)} weeks" if window else "the weeks"
    if weeks is None:
        return f"Use of the core use case{case} is unknown (no usage recorded)."
    if weeks == 0:
        return f"No active use of the core use case{case} in {span} before day {tag_day}."
    return f"The core use case{case} was active in {_count(weeks, 'week')} of {span} before day {tag_day}."


def _champion(e: Mapping[str, Any], tag_day: int) -> str:
    champions = _n(e, "champions")
    if not champions:
        return "No champion was recorded at close."
    checks = []
    for days in CHAMPION_CHECK_DAYS:
        n = _n(e, f"champion_in_place_{days}d")
        checks.append(f"day {days}: not reached yet" if n is None else f"day {days}: {int(n)}")
    head = f"{_count(champions, 'champion')} at close; still champion in the same role at "
    text = head + ", ".join(checks) + "."
    moved, gone = _n(e, "stayed_other_role") or 0, _n(e, "departed") or 0
    if moved or gone:
        text += f" By day {tag_day}: {int(moved)} moved to another role, {int(gone)} left."
    return text


def _icp(e: Mapping[str, Any], tag_day: int) -> str:
    criteria, met = _n(e, "criteria"), _n(e, "criteria_met")
    if not criteria:
        return "No ICP criteria were in force at close, so the match is unknown."
    text = f"Meets {int(met or 0)} of {_count(criteria, 'ICP criterion', 'ICP criteria')}"
    missed = e.get("criteria_missed")
    return text + (f"; misses {missed}." if missed else ".")


def _adoption(e: Mapping[str, Any], tag_day: int) -> str:
    ratio = _n(e, "adoption_ratio")
    found = [_n(e, k) for k in ("events_0_30", "events_30_60", "events_60_90")]
    counts = [int(c) for c in found if c is not None]
    usage = (
        "events in days 0-30, 30-60 and 60-90: " + " / ".join(f"{c:,}" for c in counts)
        if len(counts) == 3
        else "usage unknown"
    )
    if ratio is None:
        return f"No retained peers to compare with ({usage})."
    if ratio == 0:
        return f"No use in days 60-90, where retained peers of the segment are active ({usage})."
    return f"Use in days 60-90 at {ratio:.0%} of retained peers of the segment ({usage})."


def _committed(e: Mapping[str, Any], tag_day: int) -> str:
    committed, active = _n(e, "committed"), _n(e, "committed_active")
    if not committed:
        return "No use case was committed on the deal, so this is unknown."
    text = f"{int(active or 0)} of {_count(committed, 'use case')} committed at close in use by day {tag_day}"
    idle = e.get("committed_inactive")
    if isinstance(idle, list | tuple):
        idle = ", ".join(str(i) for i in idle)
    return text + (f"; not in use: {idle}." if idle else ".")


_SENTENCES = {
    "core_use_case_active": _core,
    "champion_stability": _champion,
    "icp_segment_match": _icp,
    "adoption_trajectory": _adoption,
    "ae_committed_use_cases_active": _committed,
}
