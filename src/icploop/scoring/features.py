"""What the fit model learns from and what it predicts, read from the workspace's own columns.

Features come from the attribute roles catalogue (``icploop.ingest.attributes``): the dimensions and
measures of the account frame that describe the customer or the deal that won it, never a label
(an outcome, a churn flag, tenure), an identifier, a date or the person who owns the account,
and never an attribute recorded only for won deals (a plan tier kept for customers: known only
after the sale). Targets (``TARGETS``):

- ``churn_12m``: first-year logo churn, over accounts with 12 months of history (time split);
- ``churn_any``: churned by the as-of date, with the months observed as exposure (a snapshot with
  tenure and a churned flag); a lead is scored as if observed for 12 months;
- ``activation``: never activated (no revenue or use within 60 days of the close), over accounts
  observed for those 60 days;
- ``column:NAME``: a 0/1 account attribute (then a label, never a feature).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.errors import IcploopError
from icploop.ingest.attributes import (
    QUARTER_END_DAYS,
    frame_catalog,
    recorded_with_outcome,
    role_overrides,
    with_account_attributes,
    with_extra_attributes,
)
from icploop.ingest.paying import DEFAULT_SETTINGS, MovementSettings, index_of, paying_months
from icploop.metrics.activation import first_value, never_activated
from icploop.metrics.calendar import month_start
from icploop.metrics.survival import durations
from icploop.metrics.tables import CanonicalTables

MIN_TRAINING = 100
MIN_EVENTS = 10


def check_trainable(accounts: int, events: int, target: str) -> None:
    """An ``IcploopError`` saying exactly why when ``accounts`` labelled rows with ``events``
    events are too few (or all events) to train on."""
    if accounts >= MIN_TRAINING and MIN_EVENTS <= events < accounts:
        return
    if accounts < MIN_TRAINING:
        need = f"{accounts:,} accounts have a known outcome; it needs at least {MIN_TRAINING}"
    elif events < MIN_EVENTS:
        need = f"{events} of {accounts:,} accounts had the event; it needs at least {MIN_EVENTS}"
    else:
        need = f"all {accounts:,} accounts had the event; it needs some without"
    raise IcploopError(
        f"cannot train on {target}: {need}",
        "load more history, or choose another --target (churn_12m, churn_any, activation, "
        "column:NAME)",
    )


#: the exposure feature of ``churn_any`` and the months a lead is scored as observed for
EXPOSURE = "months_observed"
EXPOSURE_AT = 12.0
ACTIVATION_DAYS = 60

#: Columns of a lead or deal file that stand for a feature of the account frame (the deals
#: layout names seats and amount as a deal does).
ALIASES: dict[str, tuple[str, ...]] = {
    "seats_at_close": ("seats_at_close", "seats"),
    "deal_amount": ("deal_amount", "amount"),
    "ae": ("ae", "closing_ae", "owner_ae"),
}


@dataclass(frozen=True)
class FeatureSet:
    """The model's inputs: ``categorical`` and ``numeric`` attribute names, and the numeric
    ``exposure`` feature (months observed) when the target has one."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...]
    exposure: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (*self.categorical, *self.numeric)

    @property
    def attributes(self) -> tuple[str, ...]:
        """The features that are attributes of the account (the exposure is not)."""
        return tuple(n for n in self.names if n != self.exposure)


@dataclass(frozen=True)
class Target:
    """What the model predicts: ``label`` (a 0/1 column of the training frame, 1 = the bad
    event), in words, and how the held-out accounts are chosen: ``time`` (the newest closes, for
    cohorts that age) or ``random`` (a snapshot has no later cohort)."""

    name: str
    label: str
    description: str
    split: str = "time"
    exposure: str | None = None
    short: str = ""

    @property
    def event(self) -> str:
        """The event in a few words ("first-year churn")."""
        return self.short or self.description


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("churn_12m", "first_year_churn", "first-year churn"),
        Target(
            "churn_any",
            "churned",
            "churn by the as-of date, with the months observed as exposure",
            split="random",
            exposure=EXPOSURE,
            short="churn",
        ),
        Target(
            "activation",
            "never_activated",
            f"never activating (no revenue or use within {ACTIVATION_DAYS} days of the close)",
            short="never activating",
        ),
    )
}
COLUMN_PREFIX = "column:"


def target_spec(name: str) -> Target:
    """The target named ``name`` (a key of ``TARGETS`` or ``column:NAME``); an ``IcploopError``
    for an unknown one."""
    if name.startswith(COLUMN_PREFIX) and name.removeprefix(COLUMN_PREFIX).strip():
        column = name.removeprefix(COLUMN_PREFIX).strip()
        return Target(name, column, f"{column} = 1", split="random")
    if name not in TARGETS:
        raise IcploopError(
            f"unknown target {name!r}",
            f"use one of {', '.join(TARGETS)}, or column:NAME for a 0/1 account attribute",
        )
    return TARGETS[name]


def quarter_end_flag(dates: pd.Series) -> pd.Series:
    """``yes`` when a date falls in the last two weeks of its quarter, ``no`` if not, else missing."""
    days = pd.to_datetime(dates, errors="coerce")
    to_end = (days + pd.offsets.QuarterEnd(0) - days).dt.days
    flag = pd.Series(np.where(to_end < QUARTER_END_DAYS, "yes", "no"), index=dates.index)
    return flag.where(days.notna())


def committed_count(values: pd.Series) -> pd.Series:
    """How many use cases a ``;``-separated committed list names (blank or missing: missing)."""
    text = values.astype("string")
    count = text.str.split(";").map(
        lambda items: float(sum(1 for i in items if i.strip())) if isinstance(items, list) else None
    )
    return count.astype("float64").where(lambda c: c > 0)


def _snake(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", name.strip().lower()).strip("_")


def feature_frame(records: pd.DataFrame, features: FeatureSet) -> pd.DataFrame:
    """The columns of ``features`` from rows of a lead or deal file (or a training frame).

    Each feature is taken from its own column, else an alias (``seats`` for ``seats_at_close``,
    ``amount`` for ``deal_amount``), else a column whose snake_case name matches (``Contract``
    for ``contract``); ``quarter_end_deal`` from ``close_date`` and ``committed_use_cases`` from
    a ``;``-separated list when only those are given. Blank text is missing. A feature with no
    source is missing (``missing_features`` names them); the exposure, when absent, is
    ``EXPOSURE_AT`` months.
    """
    by_snake = {_snake(c): c for c in records.columns}
    out = pd.DataFrame(index=records.index)
    for name in features.names:
        value = pd.Series(np.nan, index=records.index, dtype="object")
        for source in (*ALIASES.get(name, (name,)), by_snake.get(name, name)):
            if source in records.columns:
                col = records[source]
                col = col.mask(col.astype(str).str.strip() == "")
                value = value.where(value.notna(), col)
        if name == "quarter_end_deal" and value.isna().all() and "close_date" in records:
            value = quarter_end_flag(records["close_date"])
        if name == "committed_use_cases" and name in records.columns:
            col = records[name]
            if not pd.api.types.is_numeric_dtype(col):
                value = committed_count(col)
        if name == features.exposure and value.isna().all():
            value = pd.Series(EXPOSURE_AT, index=records.index)
        out[name] = value
    for name in features.numeric:
        out[name] = pd.to_numeric(out[name], errors="coerce").astype("float64")
    for name in features.categorical:
        col = out[name]
        out[name] = col.where(col.isna(), col.astype(str)).astype("object")
    return out[list(features.names)]


def missing_features(records: pd.DataFrame, features: FeatureSet) -> list[str]:
    """Features of the model that no column of ``records`` provides (scored as missing)."""
    frame = feature_frame(records, features)
    return [n for n in features.attributes if frame[n].isna().all()]


def customer_history(
    tables: CanonicalTables, as_of: dt.date, settings: MovementSettings = DEFAULT_SETTINGS
) -> pd.DataFrame:
    """One row per account that ever paid: its attributes (``with_account_attributes``: the
    account columns, the first won deal's, the extra attributes) and its outcomes as of
    ``as_of``.

    Outcomes: ``start_mrr`` (first paid month), ``mrr_12m`` (12 months later, 0 after churn),
    ``first_year_churn`` (1/0; missing under 12 months of history), ``nrr_12m``, ``churned``
    (1/0 by ``as_of``) and ``months_observed`` (months from the first paid month to the month of
    churn, or to the as-of month, both counted). Also ``close_date`` (first won deal, else first paid month),
    ``first_month``, ``ae`` (the closing AE, else the owner) and ``committed_use_cases`` (how
    many use cases the first won deal committed).
    """
    as_of_m = index_of(as_of)
    pos = paying_months(tables.mrr_monthly, as_of, settings)
    d = durations(tables, as_of, settings)
    j = pos.join(d.select("account_id", "first_m"), "account_id")
    money = j.group_by("account_id").agg(
        start=j.cents.sum(where=j.m == j.first_m), at12=j.cents.sum(where=j.m == j.first_m + 12)
    )
    out = d.join(money, "account_id")
    age = as_of_m - out.first_m
    labelled = age >= 12
    outcomes = out.select(
        "account_id",
        first_month=month_start(out.first_m),
        start_mrr=out.start.cast("float64") / 100,
        mrr_12m=ibis.ifelse(labelled, out.at12.fill_null(0).cast("float64") / 100, None),
        first_year_churn=ibis.ifelse(
            labelled, (out.event & (out.duration <= 12)).cast("float64"), None
        ),
        churned=out.event.cast("float64"),
        # months from the first paid month to the month its status was last seen (the month it
        # churned, or the as-of month), both counted: the same clock for churned and current
        # accounts, so the exposure says nothing of the outcome by itself
        months_observed=ibis.ifelse(out.event, out.duration + 1, age + 1).cast("float64"),
    ).to_pandas()
    outcomes["nrr_12m"] = outcomes["mrr_12m"] / outcomes["start_mrr"]
    frame = with_account_attributes(outcomes, tables)
    if "close_date" not in frame.columns:
        frame["close_date"] = frame["first_month"]
    frame["close_date"] = pd.to_datetime(frame["close_date"]).dt.date
    frame["first_month"] = pd.to_datetime(frame["first_month"]).dt.date
    frame["ae"] = frame.get("closing_ae", np.nan)
    if "owner_ae" in frame.columns:
        frame["ae"] = frame["ae"].fillna(frame["owner_ae"])
    frame["committed_use_cases"] = _first_committed(tables, frame["account_id"])
    return frame.sort_values("account_id").reset_index(drop=True)


def _first_committed(tables: CanonicalTables, accounts: pd.Series) -> pd.Series:
    """Use cases committed on each account's first won deal (missing without the column)."""
    if tables.deals is None or "committed_use_cases" not in tables.deals.columns:
        return pd.Series(np.nan, index=accounts.index)
    deals = tables.deals
    won = deals.filter((deals.outcome == "won") & deals.close_date.notnull())
    rows = won.select("account_id", "close_date", "deal_id", "committed_use_cases").to_pandas()
    rows = rows.sort_values(["account_id", "close_date", "deal_id"]).drop_duplicates("account_id")
    counts = dict(
        zip(rows["account_id"], committed_count(rows["committed_use_cases"]), strict=True)
    )
    return accounts.map(counts).astype("float64")


def deal_history(
    tables: CanonicalTables, outcomes: tuple[str, ...] = ("won", "lost")
) -> pd.DataFrame:
    """New-business deals with the given outcomes and their account's attributes.

    Columns: the deal's ``deal_id``, ``account_id``, ``close_date``, ``outcome``, ``won`` (1/0),
    ``seats``, ``amount``, ``discount``, ``ae``, ``lead_source``, ``committed_use_cases`` (those
    present; the committed use cases counted), the account's columns (``industry``, ...) and
    extra attributes, and ``seats_at_close`` (the deal's seats), ``deal_amount`` and
    ``quarter_end_deal`` as the account frame names them. Expansion and
    renewal deals are left out.
    """
    if tables.deals is None:
        return pd.DataFrame(columns=["deal_id", "account_id", "close_date", "outcome", "won"])
    deals = tables.deals
    chosen = deals.filter(deals.outcome.isin(list(outcomes)))
    if "deal_type" in deals.columns:
        chosen = chosen.filter(chosen.deal_type.isnull() | (chosen.deal_type == "new"))
    wanted = ("deal_id", "account_id", "close_date", "outcome", "amount", "discount", "ae")
    cols = [c for c in (*wanted, "lead_source", "seats", "committed_use_cases") if c in deals]
    frame = chosen.select(*cols).to_pandas()
    if tables.accounts is not None:
        acc = tables.accounts
        acc_cols = [c for c in acc.columns if c not in frame.columns or c == "account_id"]
        accounts = acc.select(*acc_cols).to_pandas()
        frame = frame.merge(accounts, on="account_id", how="left")
        if "lead_source" in acc.columns and "lead_source" in frame.columns:
            known = acc.select("account_id", account_lead=acc.lead_source).to_pandas()
            frame = frame.merge(known, on="account_id", how="left")
            frame["lead_source"] = frame["lead_source"].fillna(frame.pop("account_lead"))
    frame = with_extra_attributes(frame, tables)
    frame["close_date"] = pd.to_datetime(frame["close_date"]).dt.date
    frame["won"] = (frame["outcome"] == "won").astype(int)
    if "amount" in frame.columns:
        frame["deal_amount"] = pd.to_numeric(frame["amount"], errors="coerce").astype("float64")
    frame["quarter_end_deal"] = quarter_end_flag(frame["close_date"])
    if "committed_use_cases" in frame.columns:
        frame["committed_use_cases"] = committed_count(frame["committed_use_cases"])
    if "seats" in frame.columns:
        # the deal's own seats, as the account frame names the seats of the first won deal
        account_seats = frame.get("seats_at_close", pd.Series(np.nan, index=frame.index))
        frame["seats_at_close"] = frame["seats"].fillna(account_seats)
    return frame.reset_index(drop=True)


def training_frame(
    tables: CanonicalTables,
    as_of: dt.date,
    target: Target,
    usage: ir.Table | None = None,
) -> pd.DataFrame:
    """The rows the model trains on for ``target``, with the 0/1 label in ``target.label``:
    paying accounts (``customer_history``) for churn and column targets, every started account
    observed for 60 days for ``activation``. Rows without a known label are kept (missing)."""
    if target.name == "activation":
        starts = first_value(tables, as_of, usage)
        start = pd.to_datetime(starts["start_date"])
        frame = starts.assign(
            first_month=start,
            never_activated=never_activated(starts["days_to_value"], ACTIVATION_DAYS).astype(
                "float64"
            ),
        )
        observed = (pd.Timestamp(as_of) - start).dt.days >= ACTIVATION_DAYS
        frame.loc[~observed.to_numpy(), "never_activated"] = np.nan
        frame = with_account_attributes(frame, tables)
        if "close_date" not in frame.columns:
            frame["close_date"] = frame["start_date"]
        frame["close_date"] = pd.to_datetime(frame["close_date"]).dt.date
        frame["committed_use_cases"] = _first_committed(tables, frame["account_id"])
        return frame.drop(columns=["first_month"]).reset_index(drop=True)
    frame = customer_history(tables, as_of)
    if target.name.startswith(COLUMN_PREFIX):
        frame[target.label] = zero_one(frame, target.label)
    return frame


_TRUE = {"1", "1.0", "yes", "y", "true", "t"}
_FALSE = {"0", "0.0", "no", "n", "false", "f"}


def zero_one(frame: pd.DataFrame, column: str) -> pd.Series:
    """``column`` as 1/0 (from 1/0, yes/no, true/false); an ``IcploopError`` naming the column
    when it is absent or holds any other value."""
    if column not in frame.columns:
        raise IcploopError(
            f"cannot train on column:{column}: no account attribute {column!r}",
            "icploop status lists the attributes of the loaded accounts",
        )
    text = frame[column].astype("string").str.strip().str.lower()
    other = text.dropna()[~text.dropna().isin(_TRUE | _FALSE)]
    if not other.empty:
        raise IcploopError(
            f"cannot train on column:{column}: it is not 0/1 (e.g. {other.iloc[0]!r})",
            "train on a 0/1, yes/no or true/false column",
        )
    return text.map(lambda v: 1.0 if v in _TRUE else 0.0 if v in _FALSE else np.nan).astype(
        "float64"
    )


def model_features(
    frame: pd.DataFrame,
    target: Target,
    deals: pd.DataFrame | None = None,
    overrides: Mapping[str, str] | None = None,
) -> FeatureSet:
    """The features of ``frame`` for ``target`` from the attribute catalogue: its dimensions
    and measures that describe the customer or the deal (``AttributeCatalog.features``), less
    the target's own column, attributes with no variation among the labelled rows, and those
    recorded only for won deals in ``deals`` (known only after the sale). ``churn_any`` adds
    the months observed as the exposure. Raises ``IcploopError`` when nothing is left."""
    labelled = frame[frame[target.label].notna()]
    check_trainable(len(labelled), int(labelled[target.label].sum()), target.description)
    catalog = frame_catalog(frame, overrides or {}, labels=(target.label,))  # type: ignore[arg-type]
    chosen = [a for a in catalog.features() if a.name in labelled.columns]
    chosen = [a for a in chosen if labelled[a.name].nunique(dropna=False) > 1]
    if deals is not None and not deals.empty:
        after = won_only(deals, [a.name for a in chosen])
        chosen = [a for a in chosen if a.name not in after]
    categorical = tuple(a.name for a in chosen if a.role == "dimension")
    numeric = tuple(a.name for a in chosen if a.role == "measure")
    if not categorical and not numeric:
        raise IcploopError(
            f"cannot train on {target.description}: no attribute to learn from (no dimension or "
            "measure of the accounts varies)",
            "load account attributes (industry, size, plan...); icploop status lists them",
        )
    if target.exposure:
        numeric = (*numeric, target.exposure)
    return FeatureSet(categorical, numeric, target.exposure)


def won_only(deals: pd.DataFrame, names: Sequence[str]) -> dict[str, str]:
    """Attributes of decided ``deals`` recorded only for won (or only for lost) ones."""
    decided = deals[deals["outcome"].isin(["won", "lost"])]
    present = [n for n in names if n in decided.columns]
    return recorded_with_outcome(decided[[*present, "won"]], "won", present)


def workspace_overrides(tables: CanonicalTables) -> dict[str, str]:
    """The mapping's ``role:`` entries stored with the tables."""
    return dict(role_overrides(tables.attribute_roles))
