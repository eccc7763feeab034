"""The rubric's thresholds and combination rule: configuration with documented defaults.

Defaults (see ``docs/fit.md``): each signal is ``strong``, ``near`` or ``bad`` (or unknown when
the data to judge it is missing); an account is ``bad_fit`` when at least two signals are bad or
when both the ICP match and the core use case are bad; ``strong_fit`` when no signal is bad and
at least three are strong; ``near_fit`` otherwise. Unknown signals count for neither.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from icploop.rules import Rule
from icploop.safe_yaml import read_yaml, validate

SIGNALS = (
    "core_use_case_active",
    "champion_stability",
    "icp_segment_match",
    "adoption_trajectory",
    "ae_committed_use_cases_active",
)

#: what decides each signal: when it is unknown, this is the data that is missing
SIGNAL_SOURCES = {
    "core_use_case_active": "the usage table (use of the account's stated use case)",
    "champion_stability": "the contacts table (a champion at close)",
    "icp_segment_match": "an ICP in force (icploop icp publish) or icp_criteria in the fit configuration",
    "adoption_trajectory": "the usage table (events in days 60-90) and retained peers",
    "ae_committed_use_cases_active": "the deals' committed use cases and the usage table",
}


#: the default day after close when an account is tagged (its 90-day fit tag)
TAG_AFTER_DAYS = 90


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tag_after_days: int = Field(
        TAG_AFTER_DAYS, description="days after close when an account is tagged"
    )
    watch_days: int = Field(180, description="days after close when a near-fit account is reviewed")
    recent_window_days: int = Field(
        30, description="the last days before day 90 that show current use"
    )
    core_strong_active_weeks: int = Field(
        3, description="active weeks of the core use case for strong"
    )
    core_near_active_weeks: int = Field(1, description="active weeks of the core use case for near")
    adoption_strong_ratio: float = Field(0.75, description="usage vs retained peers for strong")
    adoption_near_ratio: float = Field(0.4, description="usage vs retained peers for near")
    committed_strong: int = Field(2, description="active committed use cases for strong")
    retained_peer_months: int = Field(
        12, description="a peer counts as retained after this many months"
    )


class Combination(BaseModel):
    model_config = ConfigDict(extra="forbid")

    bad_if_bad_signals_at_least: int = 2
    bad_if_all_bad: list[list[str]] = Field(
        default_factory=lambda: [["icp_segment_match", "core_use_case_active"]]
    )
    strong_if_strong_signals_at_least: int = 3
    strong_requires_no_bad: bool = True


class FitConfig(BaseModel):
    """Everything a user may change about tagging, as one YAML document."""

    model_config = ConfigDict(extra="forbid")

    thresholds: Thresholds = Field(default_factory=Thresholds)
    combination: Combination = Field(default_factory=Combination)
    icp_criteria: list[Rule] = Field(
        default_factory=list,
        description="ICP criteria used for the segment match until an ICP document is published",
    )


#: the workspace's own fit configuration: ``<workspace>/fit.yaml``, when there is one
FIT_CONFIG_FILE = "fit.yaml"


def workspace_fit_config(workspace: Path, path: Path | None = None) -> FitConfig:
    """The fit configuration a workspace is tagged with: ``path`` when one is given (a run's
    ``--config``), else the workspace's ``fit.yaml``, else the defaults.

    Every surface asks here (the tagging run, the fit tags in force, a signal's override, the
    ICP criteria in force before any version is published, flag credibility), so that a
    workspace's own thresholds and rule hold on each of them."""
    if path is not None:
        return load_fit_config(path)
    own = workspace / FIT_CONFIG_FILE
    return load_fit_config(own) if own.is_file() else FitConfig()


def load_fit_config(path: Path | None) -> FitConfig:
    """The configuration in ``path`` (YAML), or the defaults when ``path`` is None."""
    if path is None:
        return FitConfig()
    return validate(
        read_yaml(path, "fit configuration"),
        FitConfig,
        "fit configuration",
        "compare it with the example in docs/fit.md",
    )
