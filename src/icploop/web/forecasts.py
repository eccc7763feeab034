"""The NRR forecast and the what-ifs for the page and the API: what ``icploop forecast nrr`` and
``icploop whatif bad-fit`` / ``whatif retention`` give, from the fit tags in force."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from icploop.errors import IcploopError
from icploop.flags.tags_in_force import FitTagHistory, fit_tags_in_force
from icploop.formatting import json_value
from icploop.icp.in_force import published_periods
from icploop.ingest.paying import index_of, paying_months
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.economics import (
    BadFitWhatIf,
    RetentionValue,
    bad_fit_whatif,
    retention_value,
    tag_mix_and_nrr,
)
from icploop.scoring.features import customer_history
from icploop.scoring.forecast import backtest, forecast_answer, forecast_nrr_at
from icploop.web.state import WebState


def tag_history(state: WebState, as_of: dt.date) -> FitTagHistory:
    """The fit tags in force on ``as_of`` (stored, else computed as a tagging run would)."""
    with state.store() as session:
        periods = published_periods(session)
        config = state.fit_config()
        return state.analytics(lambda b: fit_tags_in_force(b, session, as_of, periods, config))


def forecast_of(state: WebState, as_of: dt.date) -> dict[str, Any]:
    """The NRR forecast 12 months ahead with its interval, groups and backtest, and the inputs
    of the what-ifs: each tag's 12-month NRR and share of new MRR, ARR and trailing NRR."""
    history = tag_history(state, as_of)
    fingerprint = int(pd.util.hash_pandas_object(history.tags, index=False).sum())

    def work(backend: BaseBackend) -> dict[str, Any]:
        tables = CanonicalTables.from_backend(backend)
        paying = paying_months(tables.mrr_monthly, as_of).select("account_id", "m", "cents")
        frame = paying.to_pandas()
        tags = history.known_months()
        forecast = forecast_nrr_at(frame, tags, as_of)
        out: dict[str, Any] = {
            "tags_source": history.reason,
            **forecast_answer(forecast, backtest(frame, tags)),
        }
        try:
            mix, nrr = tag_mix_and_nrr(history.on(as_of), customer_history(tables, as_of), as_of)
            out.update(mix=mix, tag_nrr=nrr, whatif_unavailable=None)
        except IcploopError as exc:
            out.update(mix={}, tag_nrr={}, whatif_unavailable=exc.message)
        t = index_of(as_of)
        now = frame[frame.m == t].groupby("account_id")["cents"].sum()
        then = frame[frame.m == t - 12].groupby("account_id")["cents"].sum()
        out["arr"] = float(now.sum()) / 100 * 12
        out["trailing_nrr"] = (
            float(now.reindex(then.index).fillna(0).sum() / then.sum()) if then.sum() else None
        )
        return {k: json_value(v) if not isinstance(v, dict | list) else v for k, v in out.items()}

    return state.cached(("forecast", as_of, history.source, fingerprint), work)


@dataclass(frozen=True)
class ForecastView:
    """The forecast (:func:`forecast_of`) and its two what-ifs; a what-if is None when the data
    cannot give it (no account tagged bad fit; no trailing 12-month NRR)."""

    forecast: dict[str, Any]
    bad_fit: BadFitWhatIf | None
    retention: RetentionValue | None

    def to_dict(self) -> dict[str, Any]:
        """The forecast's fields, ``bad_fit`` and ``retention`` with their sentence."""
        bad, value = self.bad_fit, self.retention
        return {
            **self.forecast,
            "bad_fit": None
            if bad is None
            else {
                "current_share": bad.current_share,
                "share": bad.new_share,
                "current_nrr": bad.current_nrr,
                "nrr": bad.new_nrr,
                "sentence": bad.sentence,
            },
            "retention": None
            if value is None
            else {
                "retention": value.retention,
                "improved": value.improved,
                "years": value.years,
                "revenue": value.revenue,
                "revenue_improved": value.revenue_improved,
                "margin_gain": value.margin_gain,
                "sentence": value.sentence,
            },
        }


def forecast_view(
    state: WebState,
    as_of: dt.date,
    bad_share: float = 0.06,
    points: float = 5.0,
    years: int = 3,
    margin: float = 0.8,
) -> ForecastView:
    """The forecast on ``as_of`` with what a bad-fit share of new MRR of ``bad_share`` would do
    to cohort NRR and what ``points`` more annual retention is worth over ``years`` at gross
    ``margin`` (the defaults of ``icploop whatif``)."""
    forecast = forecast_of(state, as_of)
    mix, base = forecast["mix"], forecast["trailing_nrr"]
    bad = bad_fit_whatif(mix, forecast["tag_nrr"], bad_share) if "bad_fit" in mix else None
    value = retention_value(forecast["arr"], base, points, years, margin) if base else None
    return ForecastView(forecast, bad, value)
