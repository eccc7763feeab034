"""Time loading a company: accounts, monthly MRR and usage rows, against a hand-written
validated DuckDB load of the same files (the baseline; the ratio is printed every run), the same
hand-written load plus account_months by bench_metrics' hand-written window query (the same
work as icploop's load, which derives account_months; a second ratio) and a plain pandas parse.

Usage: ``python bench/bench_load.py [--quick] [--accounts N] [--usage-rows N]``. The default is
100,000 accounts with 4 years of monthly MRR (4.8M subscription rows) and 10M usage rows;
``--quick`` is 2,000 accounts and 200,000 usage rows. Input files are generated with numpy and
pyarrow into a temp folder. Each measurement runs in a child process (``harness.measure``): its
seconds exclude importing the libraries and its peak memory is the child's own.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_main, measure_cpu

MONTHS = 48
#: accounts generated (and their rows written) at a time
GENERATE_BLOCK = 100_000


def generate(out: Path, accounts: int, usage_rows: int, seed: int = 7) -> None:
    """accounts.csv, subscriptions.csv (one row per account and month) and usage.parquet."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    ids = np.char.add("a", np.arange(accounts).astype(str))
    pacsv.write_csv(
        pa.table(
            {
                "account_id": ids,
                "name": np.char.add("Company ", np.arange(accounts).astype(str)),
                "employees": rng.integers(5, 5000, accounts),
                "currency": np.full(accounts, "USD"),
            }
        ),
        out / "accounts.csv",
    )
    month0 = np.datetime64("2021-01", "M")
    months = month0 + np.arange(MONTHS)
    starts = months.astype("datetime64[D]")
    ends = (months + 1).astype("datetime64[D]") - 1
    base = rng.gamma(2.0, 300.0, accounts).round(2)
    # written a block of accounts at a time: at 1M accounts and 100M usage rows whole-file arrays
    # of text ids do not fit in memory; up to one block the files are what one pass would write
    blocks = [(lo, min(lo + GENERATE_BLOCK, accounts)) for lo in range(0, accounts, GENERATE_BLOCK)]
    subscriptions = None
    for lo, hi in blocks:
        chunk = pa.table(
            {
                "subscription_id": np.repeat(ids[lo:hi], MONTHS),
                "account_id": np.repeat(ids[lo:hi], MONTHS),
                "period_start": np.tile(starts, hi - lo),
                "period_end": np.tile(ends, hi - lo),
                "mrr": np.repeat(base[lo:hi], MONTHS),
            }
        )
        if subscriptions is None:
            subscriptions = pacsv.CSVWriter(out / "subscriptions.csv", chunk.schema)
        subscriptions.write_table(chunk)
    assert subscriptions is not None
    subscriptions.close()
    # distinct (account, date, feature) keys: walk a grid instead of sampling with repeats
    features = 10
    days = MONTHS * 30
    usage = None
    for lo, hi in blocks:
        rows = usage_rows * (hi - lo) // accounts
        grid = rng.choice((hi - lo) * days * features, size=rows, replace=False)
        acct, rest = np.divmod(grid, days * features)
        day, feat = np.divmod(rest, features)
        chunk = pa.table(
            {
                "account_id": ids[lo + acct],
                "date": np.datetime64("2021-01-01") + day.astype("timedelta64[D]"),
                "feature": np.char.add("feature_", feat.astype(str)),
                "active_users": rng.integers(1, 50, rows),
                "events": rng.integers(1, 500, rows),
            }
        )
        if usage is None:
            usage = pq.ParquetWriter(out / "usage.parquet", chunk.schema)
        usage.write_table(chunk)
    assert usage is not None
    usage.close()


def child_load(folder: str) -> None:
    from icploop.engine import connect
    from icploop.ingest.load import load_paths

    load_paths(connect(f"duckdb://{Path(folder) / 'bench.duckdb'}"), [Path(folder)])


# The baseline: what a careful engineer would write to load these three files into DuckDB with
# the checks that matter, under the same memory limit as icploop's load (its default, 2GB).
HAND_CHECKS = {
    "repeated account id": "SELECT count(*) FROM (SELECT account_id FROM accounts "
    "GROUP BY 1 HAVING count(*) > 1)",
    "repeated subscription period": "SELECT count(*) FROM (SELECT subscription_id, period_start "
    "FROM subscriptions GROUP BY 1, 2 HAVING count(*) > 1)",
    "repeated usage key": "SELECT count(*) FROM (SELECT account_id, date, feature FROM usage "
    "GROUP BY 1, 2, 3 HAVING count(*) > 1)",
    "missing key": "SELECT (SELECT count(*) FROM accounts WHERE account_id IS NULL) + "
    "(SELECT count(*) FROM subscriptions WHERE subscription_id IS NULL OR account_id IS NULL "
    "OR period_start IS NULL) + (SELECT count(*) FROM usage WHERE account_id IS NULL "
    "OR date IS NULL)",
    "unknown account in subscriptions": "SELECT count(*) FROM subscriptions "
    "ANTI JOIN accounts USING (account_id)",
    "unknown account in usage": "SELECT count(*) FROM usage ANTI JOIN accounts USING (account_id)",
    "period ends before it starts": "SELECT count(*) FROM subscriptions "
    "WHERE period_end < period_start",
    "negative or absurd MRR": "SELECT count(*) FROM subscriptions WHERE mrr < 0 OR mrr > 1e7",
    "negative usage": "SELECT count(*) FROM usage WHERE events < 0 OR active_users < 0",
    "overlapping periods of a subscription": "SELECT count(*) FROM (SELECT period_start, "
    "lag(period_end) OVER (PARTITION BY subscription_id ORDER BY period_start) AS before "
    "FROM subscriptions) WHERE period_start <= before",
}
HAND_MRR_MONTHLY = """
CREATE TABLE mrr_monthly AS
SELECT account_id, month, sum(mrr) AS mrr
FROM (
    SELECT account_id, mrr, period_start, period_end,
           CAST(unnest(generate_series(date_trunc('month', period_start),
                                       date_trunc('month', period_end), INTERVAL 1 MONTH))
                AS DATE) AS month
    FROM subscriptions
)
WHERE period_start <= last_day(month) AND period_end >= last_day(month)
GROUP BY 1, 2
"""


def hand_load(folder: Path, database: str) -> Any:
    """The hand-written load into ``folder / database``, up to its checkpoint: the connection."""
    import duckdb

    f = folder
    con = duckdb.connect(str(f / database))
    con.execute("SET memory_limit = '2GB'")
    con.execute(
        "CREATE TABLE accounts AS SELECT * FROM read_csv(?, header = true, columns = {"
        "'account_id': 'VARCHAR', 'name': 'VARCHAR', 'employees': 'BIGINT', "
        "'currency': 'VARCHAR'})",
        [str(f / "accounts.csv")],
    )
    con.execute(
        "CREATE TABLE subscriptions AS SELECT * FROM read_csv(?, header = true, columns = {"
        "'subscription_id': 'VARCHAR', 'account_id': 'VARCHAR', 'period_start': 'DATE', "
        "'period_end': 'DATE', 'mrr': 'DECIMAL(18, 2)'})",
        [str(f / "subscriptions.csv")],
    )
    con.execute(
        "CREATE TABLE usage AS SELECT CAST(account_id AS VARCHAR) AS account_id, "
        "CAST(date AS DATE) AS date, CAST(feature AS VARCHAR) AS feature, "
        "CAST(active_users AS BIGINT) AS active_users, CAST(events AS BIGINT) AS events "
        "FROM read_parquet(?)",
        [str(f / "usage.parquet")],
    )
    for problem, query in HAND_CHECKS.items():
        found = con.execute(query).fetchone()
        assert found is not None and found[0] == 0, f"{problem}: {found}"
    con.execute(HAND_MRR_MONTHLY)
    return con


def child_duckdb(folder: str) -> None:
    con = hand_load(Path(folder), "hand.duckdb")
    con.execute("CHECKPOINT")
    con.close()


# What bench_metrics' hand-written account_months query reads beside the MRR: the account's
# currency, its MRR in that currency (the generator's is the reporting one, at rate 1) and the
# limited discounts (none here), as the loader's mrr_monthly holds them.
HAND_MRR_INPUT = """
CREATE TEMP VIEW hand_mrr_input AS
SELECT m.account_id, m.month, CAST(m.mrr AS DOUBLE) AS mrr, CAST(m.mrr AS DOUBLE) AS mrr_local,
       CAST(0 AS DOUBLE) AS discount_limited, a.currency
FROM mrr_monthly m JOIN accounts a USING (account_id)
"""


def child_same_work(folder: str) -> None:
    """The hand-written load plus account_months by bench_metrics' hand-written window query:
    the derivation icploop's load also does, in the database its checkpoint writes."""
    from bench_metrics import HAND_ACCOUNT_MONTHS

    con = hand_load(Path(folder), "same.duckdb")
    con.execute(HAND_MRR_INPUT)
    con.execute(HAND_ACCOUNT_MONTHS.format(mrr_monthly="hand_mrr_input"))
    con.execute("CHECKPOINT")
    con.close()


def same_account_months(folder: Path) -> bool:
    """Whether the hand-written account_months has the loader's rows (not timed)."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"ATTACH '{folder / 'bench.duckdb'}' AS icp (READ_ONLY)")
    con.execute(f"ATTACH '{folder / 'same.duckdb'}' AS hand (READ_ONLY)")
    found = con.execute(
        "SELECT (SELECT count(*) FROM (SELECT * FROM hand.hand_account_months EXCEPT ALL "
        "SELECT * FROM icp.account_months)) + (SELECT count(*) FROM (SELECT * FROM "
        "icp.account_months EXCEPT ALL SELECT * FROM hand.hand_account_months))"
    ).fetchone()
    rows = con.execute("SELECT count(*) FROM icp.account_months").fetchone()
    con.close()
    return found is not None and found[0] == 0 and rows is not None and rows[0] > 0


def child_pandas(folder: str) -> None:
    import pandas as pd

    for name in ("accounts.csv", "subscriptions.csv"):
        pd.read_csv(Path(folder) / name, dtype=str, keep_default_na=False)
    pd.read_parquet(Path(folder) / "usage.parquet")


STEPS: dict[str, Callable[..., None]] = {
    "load": child_load,
    "duckdb": child_duckdb,
    "same-work": child_same_work,
    "pandas": child_pandas,
}
PRELOAD = (
    "ibis",
    "ibis.backends.duckdb",
    "pandas",
    "pyarrow.parquet",
    "icploop.ingest.load",
    "bench_metrics",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="2,000 accounts, 200k usage rows")
    parser.add_argument("--accounts", type=int, default=100_000)
    parser.add_argument("--usage-rows", type=int, default=10_000_000)
    args = parser.parse_args()
    accounts, usage = (2_000, 200_000) if args.quick else (args.accounts, args.usage_rows)
    with tempfile.TemporaryDirectory(prefix="icploop-bench-") as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        generate(folder, accounts, usage)
        print(f"generated inputs in {time.perf_counter() - t0:.1f} s")
        # the load between the two baselines, so that all three meet much the same machine
        hand = measure_cpu(__file__, "duckdb", [str(folder)])
        load = measure_cpu(__file__, "load", [str(folder)])
        same = measure_cpu(__file__, "same-work", [str(folder)])
        same_rows = same_account_months(folder)
        pandas = measure_cpu(__file__, "pandas", [str(folder)])
    size = f"{accounts:,} accounts, {accounts * MONTHS:,} MRR rows, {usage:,} usage rows"
    rows = [
        (f"icploop load (validate + store + mrr_monthly + account_months), {size}", load),
        (
            "baseline: hand-written DuckDB load (typed tables, key, reference, period, MRR and "
            "overlap checks, mrr_monthly, checkpoint)",
            hand,
        ),
        (
            "same work: the hand-written load plus account_months by bench_metrics' "
            "hand-written window query",
            same,
        ),
        ("for scale: pandas parse only (no validation, no store)", pandas),
    ]
    print("| workload | seconds | CPU seconds | peak MiB |\n|---|---|---|---|")
    for what, (s, cpu, mb) in rows:
        print(f"| {what} | {s:.1f} | {cpu:.1f} | {mb:.0f} |")
    print(
        f"ratio icploop load / hand-written DuckDB load: {load[0] / hand[0]:.2f}x time, "
        f"{load[1] / hand[1]:.2f}x CPU seconds (target <= 2x)"
    )
    print(
        f"ratio icploop load / same work (hand-written load + account_months): "
        f"{load[0] / same[0]:.2f}x time, {load[1] / same[1]:.2f}x CPU seconds (no target; "
        f"account_months {'has the same rows as' if same_rows else 'DIFFERS from'} the loader's)"
    )


if __name__ == "__main__" and not child_main(STEPS, PRELOAD):
    main()
