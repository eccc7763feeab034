"""The fit tags in force: one typed history that the scorecard, the experiments, the forecast and
the what-ifs of the CLI, the web app and the pack all read.

Where the app store holds tags, those are in force (a CSM's override included); every account
is tagged from its tag day (``tag_after_days`` after its first close). Where none is stored yet,
the tags a tagging run would record are computed from the warehouse (the same rubric, the same
ICP timeline). Where the tables they need are not loaded, every account is untagged and the
history says why.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pandas as pd
from ibis.backends import BaseBackend
from sqlalchemy.orm import Session

from icploop.alignment.scorecard import tags_in_force
from icploop.errors import IcploopError
from icploop.fit.config import FitConfig
from icploop.fit.signals import CriteriaPeriod
from icploop.fit.tagging import compute_fit
from icploop.flags.run import fit_inputs
from icploop.store.fit_tags import current_tags_frame

Source = Literal["stored", "computed", "none"]
COLUMNS = ["account_id", "tag", "tagged_on"]


@dataclass(frozen=True)
class FitTagHistory:
    """Fit tags with the day each is known from (``tagged_on``: the account's tag day)."""

    tags: pd.DataFrame
    source: Source
    reason: str

    def on(self, day: dt.date) -> pd.Series:
        """account_id -> the fit tag known on ``day``."""
        return tags_in_force(self.tags, day)

    def known_months(self) -> pd.DataFrame:
        """``account_id``, ``tag`` and ``known_m`` (month index of the tag day), as the
        forecast reads them."""
        known = pd.to_datetime(self.tags["tagged_on"])
        return pd.DataFrame(
            {
                "account_id": self.tags["account_id"],
                "tag": self.tags["tag"],
                "known_m": (known.dt.year * 12 + known.dt.month - 1).astype(int),
            }
        )

    def to_dict(self, day: dt.date) -> dict[str, Any]:
        """The source, why, and the count of each tag known on ``day``."""
        counts = self.on(day).value_counts()
        return {
            "as_of": day.isoformat(),
            "source": self.source,
            "reason": self.reason,
            "accounts": int(counts.sum()),
            "tags": {str(k): int(v) for k, v in sorted(counts.items())},
        }


def fit_tags_in_force(
    backend: BaseBackend,
    session: Session,
    day: dt.date,
    icp_periods: Sequence[CriteriaPeriod],
    config: FitConfig | None = None,
) -> FitTagHistory:
    """The fit tags in force on ``day`` (see the module's docstring). ``icp_periods``: the
    published ICP versions (:func:`icploop.icp.in_force.published_periods`)."""
    fit_config = config or FitConfig()
    stored = current_tags_frame(session)
    if not stored.empty:
        closes = pd.to_datetime(stored["close_date"])
        days = pd.Timedelta(days=fit_config.thresholds.tag_after_days)
        frame = stored.assign(tagged_on=(closes + days).dt.date)[COLUMNS]
        return FitTagHistory(frame, "stored", "the tags recorded in the app store")
    return computed_tags(backend, day, icp_periods, fit_config)


def computed_tags(
    backend: BaseBackend,
    day: dt.date,
    icp_periods: Sequence[CriteriaPeriod] = (),
    config: FitConfig | None = None,
) -> FitTagHistory:
    """The tags a tagging run on ``day`` would record, computed from the warehouse (none, with
    the reason, when a table they need is not loaded)."""
    try:
        inputs = fit_inputs(backend)
    except IcploopError as exc:
        return FitTagHistory(
            pd.DataFrame(columns=COLUMNS), "none", f"every account is untagged: {exc.message}"
        )
    fit = compute_fit(inputs, day, config or FitConfig(), icp_periods)
    frame = (
        pd.DataFrame(columns=COLUMNS)
        if fit.empty
        else pd.DataFrame(
            {
                "account_id": fit["account_id"],
                "tag": fit["tag"],
                "tagged_on": pd.to_datetime(fit["tag_day"]).dt.date,
            }
        )
    )
    return FitTagHistory(
        frame, "computed", "no tag is recorded yet: computed as a tagging run would record them"
    )
