"""The demo company as its exports looked at an earlier date, to move its data on by a month.

``cut_company(folder, out, day)`` writes the canonical CSV files of a generated demo company as
they would have been exported on ``day``: rows that begin after it are left out, and what ends
after it (a subscription period, a contact's role, a ticket's resolution) is still open.
Loading the cut files and then the full ones moves a workspace's data on as a later export does.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pandas as pd

# table -> (the date a row begins on, the dates that are blank while still to come)
DATES: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "accounts": ("created_date", ()),
    "deals": ("close_date", ()),
    "subscriptions": ("period_start", ("period_end", "cancel_requested_date")),
    "usage": ("date", ()),
    "contacts": ("valid_from", ("valid_to",)),
    "tickets": ("created_date", ("resolved_date",)),
    "notes": ("date", ()),
    "costs": ("month", ()),
    "fx_rates": ("valid_from", ()),
    "org": (None, ()),
}


def cut_company(folder: Path, out: Path, day: dt.date) -> Path:
    """The files of the company in ``folder`` as exported on ``day``, written to ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    when = pd.Timestamp(day)
    kept_deals: pd.Series | None = None
    for name, (begins, pending) in DATES.items():
        source = folder / f"{name}.csv"
        if not source.exists():
            continue
        if begins is None and not pending:  # nothing dated: the file as it is
            shutil.copy(source, out / source.name)
            continue
        frame = pd.read_csv(source, dtype=str, keep_default_na=False)
        if begins is not None:
            start = pd.to_datetime(frame[begins].replace("", None))
            frame = frame[start.isna() | (start <= when)].copy()
        for column in pending:
            end = pd.to_datetime(frame[column].replace("", None))
            frame.loc[end > when, column] = ""
        if name == "deals":
            kept_deals = frame["deal_id"]
        frame.to_csv(out / source.name, index=False)
    use_cases = folder / "deal_use_cases.csv"
    if use_cases.exists() and kept_deals is not None:
        frame = pd.read_csv(use_cases, dtype=str, keep_default_na=False)
        frame[frame["deal_id"].isin(kept_deals)].to_csv(out / use_cases.name, index=False)
    for extra in folder.glob("*.json"):
        shutil.copy(extra, out / extra.name)
    return out
