"""The five rubric signals at day 90, computed from usage, contacts, deals and the ICP criteria.

Counting runs in the engine (one pass over usage); the rubric's comparisons run on the per-account
aggregates. Each signal's value is ``strong``, ``near``, ``bad`` or missing (unknown: no data to
judge it), and the numbers behind it are kept in ``<signal>__*`` evidence columns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from icploop.fit.config import FitConfig
from icploop.ingest.keys import KEY
from icploop.metrics.calendar import days_between
from icploop.rules import Rule


@dataclass(frozen=True)
class FitInputs:
    """The canonical tables the signals read (Ibis tables of any backend)."""

    accounts: ir.Table
    deals: ir.Table
    deal_use_cases: ir.Table
    usage: ir.Table
    contacts: ir.Table
    mrr_monthly: ir.Table
    account_keys: ir.Table | None = None
    """The integer account keys (``account_id``, ``account_key``), when the warehouse has them
    (see :mod:`icploop.ingest.keys`): with them and a keyed ``usage``, usage is joined to the
    due accounts by the integer key instead of the text id (same results, less work)."""

    @property
    def keyed(self) -> bool:
        """Whether usage can be joined by the integer account key."""
        return self.account_keys is not None and KEY in self.usage.columns


def first_close_dates(deals: ir.Table) -> ir.Table:
    """Per account, the close date of its first won deal (the start of its cohort)."""
    won = deals.filter(deals.outcome == "won")
    return won.group_by("account_id").agg(close_date=won.close_date.min())


def due_accounts(inputs: FitInputs, as_of: dt.date, config: FitConfig) -> ir.Table:
    """Accounts whose day ``tag_after_days`` after close has passed by ``as_of``."""
    closes = first_close_dates(inputs.deals)
    days = config.thresholds.tag_after_days
    closes = closes.mutate(tag_day=closes.close_date + ibis.interval(days=days))
    return closes.filter(closes.tag_day <= ibis.literal(as_of))


# days or use cases per integer of bits; the 64th bit is the sign and one more keeps clear of it
_BITS_PER_WORD = 62


def _words(count: int) -> list[range]:
    """Item positions ``0 .. count-1`` in groups of :data:`_BITS_PER_WORD`, one per integer."""
    return [range(i, min(i + _BITS_PER_WORD, count)) for i in range(0, count, _BITS_PER_WORD)]


def _bit_columns(features: pd.DataFrame, prefix: str, count: int) -> np.ndarray:
    """The ``{prefix}{n}`` integer columns of bits, popped, as one boolean matrix (row, item)."""
    matrix = np.zeros((len(features), count), dtype=bool)
    for n, word in enumerate(_words(count)):
        mask = features.pop(f"{prefix}{n}").fillna(0).astype("int64").to_numpy()
        for position in word:
            matrix[:, position] = (mask >> (position - word.start)) & 1
    return matrix


def usage_features(
    inputs: FitInputs, due: ir.Table, config: FitConfig, use_cases: Sequence[str] = ()
) -> pd.DataFrame:
    """Per due account: usage in days 0-90 after close, in 30-day thirds and for the core use case.

    Columns: ``events_0_30``, ``events_30_60``, ``events_60_90`` (events in each third),
    ``active_weeks_recent`` (distinct weeks since close, counted in 7-day steps, with any use in
    the recent window before the tag day), ``core_active_weeks_recent`` (the same for the
    account's stated use case), ``use_cases_used`` (which of ``use_cases`` saw any use in days
    0-90, in the order given; an empty list without use). Accounts without usage get zeros; a
    usage row without a use case never counts for a use case.

    One pass over usage and one aggregation per account: the active days of the recent window and
    the use cases are collected as bits of integers (``BIT_OR``) and counted here, instead of
    grouping by account and week (or use case) first, which costs a second hash table many times
    larger and a second scan. Rows are grouped by a dense integer numbering of the due accounts
    rather than by the text id, which DuckDB aggregates into an array (see ``engine.connect``).
    With integer account keys (``inputs.keyed``) usage is joined to the due accounts by the key,
    not by the text id: the join hashes an integer per usage row instead of a string.
    """
    t = config.thresholds
    base = due.join(inputs.accounts.select("account_id", "use_case"), "account_id", how="left")
    keyed = {}
    if inputs.keyed and inputs.account_keys is not None:
        base = base.join(inputs.account_keys.select("account_id", KEY), "account_id", how="left")
        keyed = {KEY: base[KEY]}
    base = base.select(
        "account_id",
        "close_date",
        core_use_case="use_case",
        _account=ibis.row_number().over().cast("int32"),
        **keyed,
    )
    recent_days = range(max(t.tag_after_days - t.recent_window_days, 0), t.tag_after_days)
    with base.cache() as numbered:
        on = numbered.drop("account_id") if keyed else numbered
        features = _usage_bits(inputs.usage, on, t.tag_after_days, recent_days, use_cases)
        ids = numbered.select("_account", "account_id").to_pandas()
    active_days = _bit_columns(features, "_recent_days_", len(recent_days))
    core_days = _bit_columns(features, "_core_days_", len(recent_days))
    week_of_day = np.array(recent_days) // 7
    for days, count in (
        (active_days, "active_weeks_recent"),
        (core_days, "core_active_weeks_recent"),
    ):
        weeks = [days[:, week_of_day == week].any(axis=1) for week in np.unique(week_of_day)]
        features[count] = np.sum(weeks, axis=0, dtype=float) if weeks else 0.0
    used = _bit_columns(features, "_uses_", len(use_cases))
    # a few distinct combinations among many accounts: name each combination once
    combinations, which = np.unique(used, axis=0, return_inverse=True)
    named = [[use_cases[int(i)] for i in np.flatnonzero(row)] for row in combinations]
    features["use_cases_used"] = [list(named[i]) for i in which.ravel()]
    frame = ids.merge(features, on="_account", how="left").drop(columns="_account")
    counts = [c for c in frame.columns if c not in ("account_id", "use_cases_used")]
    frame[counts] = frame[counts].astype(float).fillna(0)
    frame["use_cases_used"] = [u if isinstance(u, list) else [] for u in frame.use_cases_used]
    return frame


def _usage_bits(
    usage: ir.Table,
    numbered: ir.Table,
    tag_after_days: int,
    recent_days: range,
    use_cases: Sequence[str],
) -> pd.DataFrame:
    """The engine's part of :func:`usage_features`: one aggregation per numbered account,
    joined by ``account_key`` when ``numbered`` has it, else by ``account_id``."""
    joined = usage.join(numbered, KEY if KEY in numbered.columns else "account_id")
    rows = joined.select(
        "events",
        "use_case",
        "core_use_case",
        "_account",
        day=days_between(joined.date, joined.close_date),
    )
    rows = rows.filter((rows.day >= 0) & (rows.day < tag_after_days))
    core = (rows.use_case == rows.core_use_case).fill_null(False)
    aggregates: dict[str, ir.Value] = {
        "events_0_30": rows.events.sum(where=rows.day < 30),
        "events_30_60": rows.events.sum(where=(rows.day >= 30) & (rows.day < 60)),
        "events_60_90": rows.events.sum(where=rows.day >= 60),
    }
    for n, word in enumerate(_words(len(recent_days))):
        first, last = recent_days[word.start], recent_days[word.stop - 1]
        in_word = (rows.day >= first) & (rows.day <= last)
        # a BIGINT 1 shifted by an INTEGER: a 32-bit 1 overflows from bit 31 on, and PostgreSQL
        # has no BIGINT << BIGINT. The engine may evaluate the shift on rows the aggregate's
        # filter then drops, so it must stay within 0..63 there.
        shift = ibis.least(ibis.greatest(rows.day - first, 0), _BITS_PER_WORD).cast("int32")
        day_bit = ibis.literal(1).cast("int64") << shift
        aggregates[f"_recent_days_{n}"] = day_bit.bit_or(where=in_word)
        aggregates[f"_core_days_{n}"] = day_bit.bit_or(where=in_word & core)
    for n, word in enumerate(_words(len(use_cases))):
        aggregates[f"_uses_{n}"] = ibis.cases(
            *[
                (rows.use_case == use_cases[p], ibis.literal(1 << (p - word.start)).cast("int64"))
                for p in word
            ],
            else_=ibis.literal(0).cast("int64"),
        ).bit_or()
    return rows.group_by("_account").agg(**aggregates).to_pandas()


def committed_pairs(inputs: FitInputs, due: ir.Table) -> pd.DataFrame:
    """Per due account, the use cases committed on its won deals up to the first close
    (``account_id``, ``use_case``; one row per pair)."""
    deals = inputs.deals
    won = deals.filter(deals.outcome == "won").select("deal_id", "account_id", "close_date")
    won = won.join(due.select("account_id", first_close="close_date"), "account_id")
    won = won.filter(won.close_date <= won.first_close)
    committed = inputs.deal_use_cases.join(won.select("deal_id"), "deal_id")
    return committed.select("account_id", "use_case").distinct().to_pandas()


def committed_use_cases(pairs: pd.DataFrame, features: pd.DataFrame) -> pd.DataFrame:
    """Per account with committed use cases: ``committed`` (how many), ``committed_active`` (how
    many saw use in days 0-90, from ``use_cases_used`` of :func:`usage_features`) and
    ``committed_inactive`` (the others, sorted; missing when all are in use)."""
    columns = ["account_id", "committed", "committed_active", "committed_inactive"]
    if pairs.empty:
        dtypes = {"committed": "int64", "committed_active": "int64"}
        return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, object)) for c in columns})
    used = dict(zip(features.account_id, features.use_cases_used, strict=True))
    pairs = pairs.assign(
        active=[
            uc in used.get(a, ()) for a, uc in zip(pairs.account_id, pairs.use_case, strict=True)
        ]
    )
    out = pairs.groupby("account_id").agg(
        committed=("use_case", "nunique"), committed_active=("active", "sum")
    )
    inactive = pairs[~pairs.active].groupby("account_id")["use_case"].agg(sorted)
    out["committed_inactive"] = inactive.reindex(out.index)
    out["committed_active"] = out.committed_active.astype(int)
    return out.reset_index()[columns]


#: days after close at which the champions at close are checked again (the seeds' 30/90/180)
CHAMPION_CHECK_DAYS: tuple[int, ...] = (30, 90, 180)


def champion_status(inputs: FitInputs, due: ir.Table, as_of: dt.date | None = None) -> pd.DataFrame:
    """Per due account with a champion at close: whether a champion of the close date is, on the
    tag day, still there in the same role (``stayed_same_role``), still there in another role or
    no longer champion (``stayed_other_role``), or gone (``departed``); and, for each of
    :data:`CHAMPION_CHECK_DAYS`, how many of them are champions in the same role that many days
    after close (``champion_in_place_30d`` ...), missing where that day is after ``as_of``."""
    c = inputs.contacts
    at_close = c.join(due, "account_id").filter(
        lambda r: (
            (r.is_champion == True)  # noqa: E712 - an Ibis expression, not a Python bool
            & (r.valid_from <= r.close_date)
            & (r.valid_to.isnull() | (r.valid_to >= r.close_date))
        )
    )
    champions = at_close.select(
        "account_id", "contact_id", "tag_day", "close_date", close_title="title"
    )
    later = c.select("account_id", "contact_id", "title", "is_champion", "valid_from", "valid_to")
    every = champions.join(later, ["account_id", "contact_id"])
    on_tag_day = every.filter(
        lambda r: (r.valid_from <= r.tag_day) & (r.valid_to.isnull() | (r.valid_to >= r.tag_day))
    )
    same_role = (on_tag_day.title == on_tag_day.close_title) & (on_tag_day.is_champion == True)  # noqa: E712
    per_contact = on_tag_day.group_by(["account_id", "contact_id"]).agg(
        same=same_role.fill_null(False).any(), present=on_tag_day.contact_id.notnull().any()
    )
    summary = per_contact.group_by("account_id").agg(
        champions_at_close=per_contact.contact_id.nunique(),
        stayed_same_role=per_contact.same.sum(),
        stayed=per_contact.present.sum(),
    )
    # each check day: a row of the contact covering the day, champion, in the title at close
    checks = {}
    for days in CHAMPION_CHECK_DAYS:
        day = every.close_date + ibis.interval(days=days)
        covers = (every.valid_from <= day) & (every.valid_to.isnull() | (every.valid_to >= day))
        keeps = (every.title == every.close_title) & (every.is_champion == True)  # noqa: E712
        checks[f"_in_{days}"] = (covers & keeps).fill_null(False).any()
    in_place = every.group_by(["account_id", "contact_id"]).agg(**checks)
    in_place = in_place.group_by("account_id").agg(
        **{f"champion_in_place_{d}d": in_place[f"_in_{d}"].sum() for d in CHAMPION_CHECK_DAYS}
    )
    # champions with no row on the tag day drop out of the filtered join: count them from the start
    counted = champions.group_by("account_id").agg(
        champions=champions.contact_id.nunique(), close_date=champions.close_date.min()
    )
    frame = counted.to_pandas().merge(summary.to_pandas(), on="account_id", how="left")
    frame = frame.merge(in_place.to_pandas(), on="account_id", how="left")
    counts = [c for c in frame.columns if c not in ("account_id", "close_date")]
    frame[counts] = frame[counts].astype(float).fillna(0)
    frame["stayed_other_role"] = frame["stayed"] - frame["stayed_same_role"]
    frame["departed"] = frame["champions"] - frame["stayed"]
    closes = pd.to_datetime(frame["close_date"])
    for days in CHAMPION_CHECK_DAYS:
        unseen = closes + pd.Timedelta(days=days) > pd.Timestamp(as_of or dt.date.max)
        frame.loc[unseen.to_numpy(), f"champion_in_place_{days}d"] = np.nan
    checked = [f"champion_in_place_{d}d" for d in CHAMPION_CHECK_DAYS]
    keep = ["account_id", "champions", "stayed_same_role", "stayed_other_role", "departed"]
    return frame[[*keep, *checked]]


@dataclass(frozen=True)
class CriteriaPeriod:
    """ICP criteria (and do-not-close rules) in force from ``start`` (None: before any version)."""

    start: dt.date | None
    rules: tuple[Rule, ...]
    label: str = ""
    do_not_close: tuple[Rule, ...] = ()


def criteria_timeline(
    fallback: Sequence[Rule], published: Sequence[CriteriaPeriod]
) -> list[CriteriaPeriod]:
    """The documented fallback criteria (in force before any version) followed by the published
    periods in order of start: the one shape every "rules in force" question is asked of."""
    return [CriteriaPeriod(None, tuple(fallback)), *sorted(published, key=_start_key)]


def _start_key(period: CriteriaPeriod) -> dt.date:
    return period.start or dt.date.min


def periods_in_force(periods: Sequence[CriteriaPeriod], days: pd.Series) -> pd.Series:
    """Per day, the position in ``periods`` (in order of start) of the period in force: the last
    one started on or before the day; -1 where none is (or the day is unknown)."""
    when = pd.to_datetime(days)
    chosen = pd.Series(-1, index=days.index)
    for i, period in enumerate(periods):
        in_force = when >= pd.Timestamp(period.start) if period.start else when.notna()
        chosen[in_force.to_numpy()] = i
    return chosen


def period_on(periods: Sequence[CriteriaPeriod], day: dt.date) -> CriteriaPeriod | None:
    """The period of ``periods`` (in order of start) in force on ``day`` (None: none)."""
    at = int(periods_in_force(periods, pd.Series([pd.Timestamp(day)])).iloc[0])
    return periods[at] if at >= 0 else None


def icp_match(inputs: FitInputs, due: ir.Table, periods: Sequence[CriteriaPeriod]) -> pd.DataFrame:
    """Per due account: how many criteria of the ICP in force at its close it meets, which it
    misses, and which version judged it (``icp_version``). No criteria in force: unknown.
    ``periods``: :func:`criteria_timeline`."""
    accounts = inputs.accounts.join(due.select("account_id", "close_date"), "account_id")
    ids = accounts.select("account_id", "close_date").to_pandas()
    result = pd.DataFrame({"account_id": ids["account_id"]})
    if not any(p.rules for p in periods):
        return result
    chosen = periods_in_force(periods, ids["close_date"])
    result["criteria"], result["criteria_met"] = 0, 0
    result["criteria_missed"], result["icp_version"] = "", None
    for i, period in enumerate(periods):
        rows = (chosen == i).to_numpy()
        if not rows.any() or not period.rules:
            continue
        checks = {f"c{j}": rule.to_expr(accounts) for j, rule in enumerate(period.rules)}
        frame = accounts.select("account_id", **checks).to_pandas().set_index("account_id")
        met = frame.loc[ids.loc[rows, "account_id"], list(checks)].to_numpy(dtype=bool)
        names = np.array([r.name or r.describe() for r in period.rules], dtype=object)
        result.loc[rows, "criteria"] = len(period.rules)
        result.loc[rows, "criteria_met"] = met.sum(axis=1)
        result.loc[rows, "criteria_missed"] = ["; ".join(names[~row]) for row in met]
        result.loc[rows, "icp_version"] = period.label or None
    return result


def retained_peers(inputs: FitInputs, due: ir.Table, as_of: dt.date, months: int) -> pd.Series:
    """Ids of due accounts that were still paying ``months`` after their close (and old enough)."""
    closes = due.mutate(
        check_month=(due.close_date + ibis.interval(months=months)).truncate("M")
    ).filter(lambda r: r.check_month <= ibis.literal(as_of))
    mrr = inputs.mrr_monthly
    kept = closes.join(mrr, [closes.account_id == mrr.account_id, closes.check_month == mrr.month])
    kept = kept.filter(kept.mrr > 0)
    return kept.select(account_id=closes.account_id).distinct().to_pandas()["account_id"]


def champion_departures(inputs: FitInputs, as_of: dt.date) -> pd.DataFrame:
    """Champions who left their account by ``as_of``: ``account_id``, ``contact_id``,
    ``departed_on`` (their last valid day). A champion row ending with no later row for the same
    person at the account is a departure; a row followed by another (a new title) is a role
    change, not a departure. Accounts with a champion in place on ``as_of`` are left out."""
    c = inputs.contacts
    champions = c.filter((c.is_champion == True) & c.valid_to.notnull())  # noqa: E712
    champions = champions.filter(champions.valid_to < ibis.literal(as_of))
    later = c.select("account_id", "contact_id", later_from="valid_from")
    joined = champions.join(later, ["account_id", "contact_id"], how="left")
    followed = joined.filter(joined.later_from > joined.valid_to)
    gone = champions.select("account_id", "contact_id", departed_on="valid_to").anti_join(
        followed.select("account_id", "contact_id"), ["account_id", "contact_id"]
    )
    # an account that has found a new champion by as_of is no longer exposed
    day = ibis.literal(as_of)
    current = c.filter(
        (c.is_champion == True)  # noqa: E712
        & (c.valid_from <= day)
        & (c.valid_to.isnull() | (c.valid_to >= day))
    ).select("account_id")
    gone = gone.anti_join(current, "account_id")
    frame = gone.group_by(["account_id", "contact_id"]).agg(departed_on=gone.departed_on.max())
    return frame.to_pandas().sort_values(["account_id", "departed_on"]).reset_index(drop=True)
