"""The derived tables, rebuilt from the stored tables inside the load's transaction.

``mrr_monthly``: a subscription period counts in month M when it is active on M's last day
(``period_start <= last_day(M)`` and ``period_end`` blank or ``>= last_day(M)``); only recurring
charges (blank ``charge_type`` = recurring). An open-ended period followed by a later period of
the same subscription ends the day before that one; otherwise it runs to the latest month any
subscription row mentions. Amounts convert to the reporting currency at the ``fx_rates`` rate
valid on the period's start (1 for the reporting currency itself).

``account_months``: each account's paying months with the previous and next paying month and
the MRR twelve months on (see :mod:`icploop.ingest.paying`), so that metrics need no window.

``deal_use_cases``: one row per deal and committed use case (``;``-separated in deals).
"""

# SQL here is assembled from schema names, generated temp-table names and ident()-quoted
# column names; every user value is a bound parameter (see icploop.ingest.sql).
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import ibis

from icploop.errors import Problem
from icploop.ingest.paying import ACCOUNT_MONTHS, account_months
from icploop.ingest.schema import MRR_MONTHLY
from icploop.ingest.sql import table_exists
from icploop.ingest.validate import Problems

# The subscription periods with their currency, implicit end and the rate at their start. An
# open-ended period ends the day before the next period of its subscription ({end}); the ASOF join
# to fx_rates is made for the periods in another currency than the reporting one only (most
# loads have none, and the join sorts every row it is given).
_RATED = """
WITH subs AS (
    SELECT s.subscription_id, s.account_id, s.period_start, s.mrr, s.discount_mrr,
           s.discount_kind, s.seats, {end} AS period_end,
           COALESCE(s.currency, a.currency, $1) AS cur
    FROM main.subscriptions s LEFT JOIN main.accounts a USING (account_id)
    WHERE COALESCE(s.charge_type, 'recurring') = 'recurring'
),
rated AS (
    SELECT subs.*, CAST(1.0 AS DOUBLE) AS rate FROM subs WHERE subs.cur = $1
    UNION ALL
    SELECT subs.*, f.rate
    FROM subs ASOF LEFT JOIN main.fx_rates f
      ON f.currency = subs.cur AND subs.period_start >= f.valid_from
    WHERE subs.cur <> $1
)
"""
_NEXT_START = (
    "COALESCE(s.period_end, CAST(lead(s.period_start) OVER ("
    "PARTITION BY s.subscription_id ORDER BY s.period_start) - 1 AS DATE))"
)

RATED = "_rated"
"""The temp table of rated subscription periods, made once per load by :func:`check_and_rebuild`."""

# The month rule, written once for both ways of making mrr_monthly: each period's months up to
# its end (an open-ended one to the latest month any row mentions), kept where the period is
# active on the month's last day. {periods} names the periods (with their own columns).
_MONTHS = """
horizon AS (
    SELECT max(greatest(period_start, COALESCE(period_end, period_start))) AS d
    FROM main.subscriptions
),
months AS (
    SELECT periods.*, CAST(unnest(generate_series(
        date_trunc('month', period_start),
        date_trunc('month', COALESCE(period_end, horizon.d)),
        INTERVAL 1 MONTH)) AS DATE) AS month
    FROM {periods} AS periods, horizon
),
active AS (
    SELECT * FROM months
    WHERE period_start <= last_day(month)
      AND (period_end IS NULL OR period_end >= last_day(month))
)
"""

_MRR_MONTHLY = (
    "WITH "
    + _MONTHS.format(periods=RATED)
    + """
INSERT INTO main.mrr_monthly
SELECT account_id, month,
       CAST(sum(mrr) AS DOUBLE) AS mrr_local,
       any_value(cur) AS currency,
       ROUND(sum(CAST(mrr AS DOUBLE) * rate), 6) AS mrr,
       {discounts},
       sum(seats) AS seats
FROM active
GROUP BY account_id, month
"""
)


# The same months when every period is in the reporting currency (see _one_currency): the
# amounts are summed exactly and converted once per account-month, with no join to the
# accounts for their currency and fewer aggregate states, which keeps the aggregation inside
# the load's memory limit where the rated one spills (bench_load). ROUND(CAST(sum AS DOUBLE), 6)
# equals the rated query's ROUND(sum(CAST(mrr AS DOUBLE) * 1.0), 6): the amounts have cents.
_MRR_MONTHLY_ONE_CURRENCY = (
    """
WITH subs AS (
    SELECT s.account_id, s.period_start, {end} AS period_end, s.mrr, s.discount_mrr,
           s.discount_kind, s.seats
    FROM main.subscriptions s
    WHERE COALESCE(s.charge_type, 'recurring') = 'recurring'
),"""
    + _MONTHS.format(periods="subs").replace("{", "{{").replace("}", "}}")
    + """,
summed AS (
    SELECT account_id, month, {sums}
    FROM active
    GROUP BY account_id, month
)
INSERT INTO main.mrr_monthly
SELECT account_id, month, CAST(local AS DOUBLE), $1, ROUND(CAST(local AS DOUBLE), 6),
       {discounts}, {seats}
FROM summed
"""
)
_ONE_CURRENCY_DISCOUNT_SUMS = """sum(CASE WHEN COALESCE(discount_kind, 'forever') = 'forever'
                THEN discount_mrr END) AS forever,
           sum(CASE WHEN discount_kind = 'limited' THEN discount_mrr END) AS limited"""
_ONE_CURRENCY_DISCOUNTS = (
    "ROUND(CAST(COALESCE(forever, 0) AS DOUBLE), 6), ROUND(CAST(COALESCE(limited, 0) AS DOUBLE), 6)"
)

_DISCOUNTS = """ROUND(COALESCE(sum(CASE WHEN COALESCE(discount_kind, 'forever') = 'forever'
                    THEN CAST(discount_mrr AS DOUBLE) * rate END), 0), 6) AS discount_forever,
       ROUND(COALESCE(sum(CASE WHEN discount_kind = 'limited'
                    THEN CAST(discount_mrr AS DOUBLE) * rate END), 0), 6) AS discount_limited"""
# what _DISCOUNTS gives when no period has a discount, without two sums per account-month
_NO_DISCOUNTS = "CAST(0 AS DOUBLE) AS discount_forever, CAST(0 AS DOUBLE) AS discount_limited"


def check_and_rebuild(
    con: Any, reporting: str, staged: str | None, files: Callable[[int], str] = str
) -> None:
    """Inside the load's transaction: refuse the load (``ValidationError``) when a subscription
    period has no FX rate or an account has MRR in several currencies, else rebuild the derived
    tables. The rated subscription periods both steps read are computed once, into a temp table.
    ``staged`` is this load's staged subscriptions, if any (to locate problems by file and row:
    ``_src``, named by ``files``, and ``_row``)."""
    if _one_currency(con, reporting):
        _rebuild(con, reporting)
        return
    _rate_subscriptions(con, reporting)
    _mrr_problems(con, reporting, staged, files).raise_if_any()
    _rebuild(con, reporting, rated=True)


def _one_currency(con: Any, reporting: str) -> bool:
    """Whether no stored account or subscription names a currency other than ``reporting``:
    every period is then in the reporting currency at rate 1, no rate can be missing and no
    account can mix currencies (most companies bill in one currency)."""
    found = con.execute(
        "SELECT EXISTS (SELECT 1 FROM main.accounts WHERE currency <> $1) "
        "OR EXISTS (SELECT 1 FROM main.subscriptions WHERE currency <> $1)",
        [reporting],
    ).fetchall()[0][0]
    return not found


def _rate_subscriptions(con: Any, reporting: str) -> None:
    """Temp table ``_rated``: each recurring subscription period with its currency (its own,
    else the account's, else ``reporting``), its implicit end and the FX rate valid at its start
    (NULL when ``fx_rates`` has none)."""
    rated = _RATED.format(end=_NEXT_START if _open_ended(con) else "s.period_end")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {RATED} AS {rated} SELECT * FROM rated", [reporting])


def _open_ended(con: Any) -> int:
    """How many stored recurring subscription periods have no end date."""
    return int(
        con.execute(
            "SELECT count(*) FROM main.subscriptions WHERE period_end IS NULL "
            "AND COALESCE(charge_type, 'recurring') = 'recurring'"
        ).fetchall()[0][0]
    )


def _mrr_problems(
    con: Any, reporting: str, stage: str | None, files: Callable[[int], str]
) -> Problems:
    """Missing FX rates and accounts with MRR in several currencies, located in this load
    (read from the ``_rated`` table).

    Rows that came from this load are located by file and row through the typed stage; rows
    already stored are reported as ``subscriptions (stored)`` without a row.
    """
    found = Problems()
    locate = (
        f"LEFT JOIN {stage} st ON st.subscription_id = r.subscription_id "
        "AND st.period_start = r.period_start"
        if stage
        else ""
    )
    src_col, row_col = ("st._src", "st._row") if stage else ("NULL", "NULL")
    where_file = f"{src_col}, {row_col}"
    missing = con.execute(
        f"SELECT {where_file}, r.cur, r.period_start FROM {RATED} r {locate} "
        "WHERE r.rate IS NULL ORDER BY 1, 2 LIMIT 50"
    ).fetchall()

    def no_rate(cur: str) -> str:
        return (
            f"an fx_rates row for {cur} (rates into {reporting}) valid on or before the "
            "period's start"
        )

    for src, row, cur, _ in missing:
        label = "subscriptions (stored)" if src is None else files(src)
        found.add(Problem(label, row, "currency", cur, no_rate(cur)))
    # every period without a rate, counted per file and currency (one cause each)
    for src, cur, n, first, last in con.execute(
        f"SELECT {src_col}, r.cur, count(*), min({row_col}), max({row_col}) "
        f"FROM {RATED} r {locate} WHERE r.rate IS NULL GROUP BY ALL"
    ).fetchall():
        label = "subscriptions (stored)" if src is None else files(src)
        found.extents[(label, "currency", no_rate(cur))] = (int(n), first, last)
        found.hidden += max(0, int(n) - sum(1 for m in missing if m[0] == src and m[2] == cur))
    mixed = con.execute(
        f"WITH several AS (SELECT account_id FROM {RATED} GROUP BY account_id "
        "HAVING min(cur) <> max(cur)), "
        "multi AS (SELECT account_id, string_agg(DISTINCT cur, ', ' ORDER BY cur) AS curs "
        f"FROM {RATED} SEMI JOIN several USING (account_id) GROUP BY account_id) "
        f"SELECT {where_file}, r.cur, r.account_id, m.curs "
        f"FROM {RATED} r JOIN multi m USING (account_id) {locate} ORDER BY 1, 2 LIMIT 50"
    ).fetchall()
    for src, row, cur, account, curs in mixed:
        found.add(
            Problem(
                "subscriptions (stored)" if src is None else files(src),
                row,
                "currency",
                cur,
                f"one currency for all MRR of account {account} (it has {curs})",
            )
        )
    return found


def account_months_sql() -> str:
    """``account_months`` as the metrics define it, compiled from their own Ibis expression."""
    ibis_types = {"string": "string", "int": "int64", "float": "float64", "date": "date"}
    columns = {c.name: ibis_types[c.type] for c in MRR_MONTHLY.columns}
    mrr = ibis.table(columns, name="mrr_monthly")
    return str(ibis.to_sql(account_months(mrr), dialect="duckdb"))


@contextmanager
def _without_fsst(con: Any) -> Iterator[None]:
    """DuckDB's FSST string compression left out of the tables written in the block, then the
    setting as it was. The derived tables' text (account ids repeated month after month, a
    currency code) compresses as small by dictionary: FSST's analysis cost about 5% of the
    derivation and saved no block (measured at 100k accounts)."""
    before = str(
        con.execute("SELECT current_setting('disabled_compression_methods')").fetchall()[0][0]
    )
    methods = ",".join(m for m in (before, "fsst") if m)
    con.execute("SET disabled_compression_methods = $1", [methods])
    try:
        yield
    finally:
        con.execute("SET disabled_compression_methods = $1", [before])


def _rebuild(con: Any, reporting: str, rated: bool = False) -> None:
    """Rebuild ``mrr_monthly``, ``account_months`` and ``deal_use_cases`` from the stored tables.
    With ``rated``, ``mrr_monthly`` is made from the ``_rated`` table (then dropped); without,
    every period is in the ``reporting`` currency (see :func:`_one_currency`)."""
    with _without_fsst(con):
        _rebuild_months(con, reporting, rated)
    con.execute("DELETE FROM main.deal_use_cases")
    if table_exists(con, "deals"):
        con.execute(
            "INSERT INTO main.deal_use_cases SELECT DISTINCT deal_id, account_id, u FROM ("
            "SELECT deal_id, account_id, TRIM(unnest(string_split(committed_use_cases, ';'))) AS u "
            "FROM main.deals WHERE committed_use_cases IS NOT NULL) WHERE u <> ''"
        )


def _rebuild_months(con: Any, reporting: str, rated: bool) -> None:
    """``mrr_monthly`` and ``account_months`` (see :func:`_rebuild`)."""
    con.execute("DELETE FROM main.mrr_monthly")
    if rated:
        discounted = con.execute(f"SELECT count(discount_mrr) FROM {RATED}").fetchall()[0][0]
        con.execute(_MRR_MONTHLY.format(discounts=_DISCOUNTS if discounted else _NO_DISCOUNTS))
        con.execute(f"DROP TABLE {RATED}")
    else:
        # only the sums some period has a value for: each is a state per account-month, and
        # the aggregation spills under the load's memory limit at a million accounts
        discounted, seated = con.execute(
            "SELECT count(discount_mrr), count(seats) FROM main.subscriptions "
            "WHERE COALESCE(charge_type, 'recurring') = 'recurring'"
        ).fetchall()[0]
        sums = ["sum(mrr) AS local"]
        sums += [_ONE_CURRENCY_DISCOUNT_SUMS] if discounted else []
        sums += ["sum(seats) AS seats"] if seated else []
        end = _NEXT_START if _open_ended(con) else "s.period_end"
        con.execute(
            _MRR_MONTHLY_ONE_CURRENCY.format(
                end=end,
                sums=", ".join(sums),
                discounts=_ONE_CURRENCY_DISCOUNTS if discounted else _NO_DISCOUNTS,
                seats="seats" if seated else "NULL",
            ),
            [reporting],
        )
    # the metrics' per-account window, done once here instead of in every metric
    con.execute(f"CREATE OR REPLACE TABLE main.{ACCOUNT_MONTHS} AS {account_months_sql()}")


@dataclass(frozen=True)
class CarriedForward:
    """Open-ended recurring periods carried past their own month (see :func:`carried_forward`)."""

    periods: int
    accounts: int
    months: int
    """account-months added after each period's first month"""
    until: dt.date
    """the latest month of the data"""
    bridging: int
    """periods carried to the next period of their subscription (across months without a row)"""
    repeated: bool
    """some subscription has more than one period: the rows may be one month each"""

    def note(self) -> str:
        """The load's one-line note, with its counts."""
        to = "to their next period or " if self.bridging else ""
        said = (
            f"{self.periods:,} subscription period(s) of {self.accounts:,} account(s) have no end "
            f"date: counted as ongoing {to}through {self.until:%B %Y} ({self.months:,} "
            "account-month(s) without a row of their own)"
        )
        if self.repeated:
            said += "; if each row is one month, set 'grain: month' in the mapping"
        return said


def carried_forward(con: Any) -> CarriedForward | None:
    """Open-ended recurring periods that the month rule carries past their own month: to the
    day before the subscription's next period (bridging a gap of months without a row) or, for
    the last, to the latest month of the data; None when no period is carried. A monthly export
    without end dates shows up here (its subscriptions have many periods); a snapshot of one
    period per subscription (the Telco export) carries its ongoing customers as it should."""
    if not _open_ended(con):
        return None  # nothing to carry: skip the window over every subscription period
    row = con.execute(
        "WITH h AS (SELECT date_trunc('month', max(greatest(period_start, "
        "COALESCE(period_end, period_start)))) AS d FROM main.subscriptions), "
        "s AS (SELECT account_id, period_start, period_end, lead(period_start) OVER ("
        "PARTITION BY subscription_id ORDER BY period_start) AS nxt, count(*) OVER ("
        "PARTITION BY subscription_id) AS n FROM main.subscriptions "
        "WHERE COALESCE(charge_type, 'recurring') = 'recurring'), "
        "c AS (SELECT account_id, nxt, datediff('month', date_trunc('month', period_start), "
        "date_trunc('month', COALESCE(CAST(nxt - 1 AS DATE), h.d))) AS added, h.d AS d "
        "FROM s, h WHERE period_end IS NULL) "
        "SELECT count(*), count(DISTINCT account_id), sum(added), any_value(d), count(nxt), "
        "(SELECT count(*) FROM s WHERE n > 1) "
        "FROM c WHERE added > 0"
    ).fetchall()[0]
    if not row[0]:
        return None
    return CarriedForward(int(row[0]), int(row[1]), int(row[2]), row[3], int(row[4]), bool(row[5]))
