"""Fit evidence in words: every signal's numbers said as a sentence, unknowns said as unknown."""

from __future__ import annotations

import pytest

from icploop.fit.config import SIGNALS
from icploop.fit.words import signal_label, signal_sentence


def test_each_signal_reads_as_a_sentence_with_its_numbers() -> None:
    core = {"use_case": "customer_health", "core_active_weeks_recent": 0, "recent_window_days": 42}
    assert signal_sentence("core_use_case_active", core) == (
        "No active use of the core use case (customer_health) in the 6 weeks before day 90."
    )
    core["core_active_weeks_recent"] = 4
    assert "active in 4 weeks of the 6 weeks" in signal_sentence("core_use_case_active", core)
    champion = {"champions": 2, "stayed_same_role": 1, "stayed_other_role": 0, "departed": 1,
                "champion_in_place_30d": 2, "champion_in_place_90d": 1,
                "champion_in_place_180d": None}  # fmt: skip
    assert signal_sentence("champion_stability", champion) == (
        "2 champions at close; still champion in the same role at day 30: 2, day 90: 1, "
        "day 180: not reached yet. By day 90: 0 moved to another role, 1 left."
    )
    icp = {"criteria": 3, "criteria_met": 2, "criteria_missed": "employees >= 250"}
    assert signal_sentence("icp_segment_match", icp) == (
        "Meets 2 of 3 ICP criteria; misses employees >= 250."
    )
    adoption = {"events_0_30": 1200, "events_30_60": 300, "events_60_90": 0, "adoption_ratio": 0.0}
    assert signal_sentence("adoption_trajectory", adoption).startswith(
        "No use in days 60-90, where retained peers of the segment are active (events in days "
        "0-30, 30-60 and 60-90: 1,200 / 300 / 0)"
    )
    adoption.update(events_60_90=50, adoption_ratio=0.25)
    assert "at 25% of retained peers" in signal_sentence("adoption_trajectory", adoption)
    committed = {"committed": 2, "committed_active": 1, "committed_inactive": ["billing"]}
    assert signal_sentence("ae_committed_use_cases_active", committed) == (
        "1 of 2 use cases committed at close in use by day 90; not in use: billing."
    )


@pytest.mark.parametrize("name", SIGNALS)
def test_missing_evidence_is_said_as_unknown_never_as_a_raw_value(name: str) -> None:
    text = signal_sentence(name, {})
    assert text and "nan" not in text.lower() and "=" not in text and "None" not in text
    assert signal_label(name)[0].isupper() and "_" not in signal_label(name)
    nan = signal_sentence(
        name, dict.fromkeys(["adoption_ratio", "champions", "criteria"], float("nan"))
    )
    assert "nan" not in nan.lower()
