"""The NRR forecast and the what-ifs for the web: what ``icploop forecast nrr`` and ``icploop
whatif bad-fit`` / ``whatif retention`` give, from the fit tags in force."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from ibis.backends import BaseBackend

from icploop.errors import IcploopError
from icploop.flags.tags_in_force import FitTagHistory, fit_tags_in_force
from icploop.formatting import json_value
from icploop.icp.in_force import published_periods
from icploop.metrics.calendar import index_of
from icploop.metrics.movements import paying_months
from icploop.metrics.tables import CanonicalTables
from icploop.scoring.economics import tag_mix_and_nrr
from icploop.scoring.features import customer_history
from icploop.scoring.forecast import backtest, forecast_nrr_at
from icploop.web.state import WebState


def tag_history(state: WebState, as_of: dt.date) -> FitTagHistory:
    """The fit tags in force on ``as_of`` (stored, else computed as a tagging run would)."""
    with state.store() as session:
        periods = published_periods(session)
        return state.analytics(lambda b: fit_tags_in_force(b, session, as_of, periods))


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
        bt = backtest(frame, tags)
        out: dict[str, Any] = {
            "tags_source": history.reason,
            "made_at": forecast.made_at,
            "target_month": forecast.target_month,
            "nrr": forecast.nrr,
            "low": forecast.low,
            "high": forecast.high,
            "level": forecast.level,
            "sentence": forecast.sentence,
            "groups": forecast.groups.to_dict("records"),
            "caveats": list(forecast.caveats),
            "backtest": bt.sentence,
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
