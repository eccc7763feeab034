"""Benchmark: the retention metric suite on DuckDB (through icploop.metrics) next to pandas.

Generates mrr_monthly and accounts (N accounts x 48 months, seeded numpy) into a DuckDB file and a
Parquet copy, derives account_months as every load does (timed on its own row), then runs each
workload in a fresh process (so peak memory is its own):
  core   MRR movements per month + NRR/GRR per month, and NRR/GRR by close cohort x segment
  suite  core + quarterly retention + cohort triangles + KM by segment + sBG LTV per segment
         + expansion by segment + headline
  pandas the core in straightforward pandas (same numbers, checked)
Prints a Markdown table: size, engine, seconds, peak memory, ratio to pandas.

    python bench/bench_metrics.py            # 100k and 1M accounts
    python bench/bench_metrics.py --quick    # 10k accounts
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from harness import own_peak_kib

BASE_M = 2021 * 12  # month index of January 2021; 48 months to December 2024
MONTHS = 48


def generate(n: int, folder: Path, seed: int = 42) -> None:
    """mrr_monthly and accounts for n accounts, written to analytics.duckdb and Parquet."""
    import duckdb

    rng = np.random.default_rng(seed)
    start = rng.integers(0, MONTHS, n)
    life = rng.geometric(0.03, n)
    lens = np.minimum(start + life, MONTHS) - start
    acc = np.repeat(np.arange(n), lens)
    offs = np.arange(lens.sum()) - np.repeat(np.cumsum(lens) - lens, lens)
    m = np.repeat(start, lens) + offs
    base = np.repeat(rng.choice([50.0, 100.0, 250.0, 500.0, 1000.0], n), lens)
    growth = np.repeat(rng.choice([0.9, 1.0, 1.0, 1.1, 1.2], n), lens)
    mrr = np.round(base * growth ** (offs // 12), 2)
    keep = (rng.random(m.size) > 0.01) | (offs == 0)  # 1% zero months: churn and return
    acc, m, mrr = acc[keep], m[keep] + BASE_M, mrr[keep]
    ids = pa.compute.cast(pa.array(acc), pa.string())
    months = pa.array(
        (pd.to_datetime({"year": m // 12, "month": m % 12 + 1, "day": 1})).dt.date, pa.date32()
    )
    mrr_t = pa.table(
        {
            "account_id": ids,
            "month": months,
            "mrr_local": pa.array(mrr),
            "currency": pa.array(np.full(m.size, "USD")),
            "mrr": pa.array(mrr),
            "discount_forever": pa.array(np.zeros(m.size)),
            "discount_limited": pa.array(np.zeros(m.size)),
            "seats": pa.array(np.full(m.size, 10)),
        }
    )
    seg = np.array(["SMB", "Mid-Market", "Enterprise", "Startup", "Public"])[rng.integers(0, 5, n)]
    acc_t = pa.table(
        {"account_id": pa.compute.cast(pa.array(np.arange(n)), pa.string()), "segment": seg}
    )
    pq.write_table(mrr_t, folder / "mrr_monthly.parquet")
    pq.write_table(acc_t, folder / "accounts.parquet")
    con = duckdb.connect(str(folder / "analytics.duckdb"))
    con.register("mrr_src", mrr_t)
    con.register("acc_src", acc_t)
    con.execute("CREATE TABLE mrr_monthly AS SELECT * FROM mrr_src")
    con.execute("CREATE TABLE accounts AS SELECT * FROM acc_src")
    con.close()


AS_OF = dt.date(2024, 12, 1)


def run_icploop(folder: Path, suite: bool) -> dict[str, Any]:
    import ibis

    from icploop.metrics.cohorts import cohort_triangles
    from icploop.metrics.expansion import expansion_by_profile
    from icploop.metrics.headline import headline
    from icploop.metrics.ltv import segment_ltv
    from icploop.metrics.retention import retention
    from icploop.metrics.survival import kaplan_meier
    from icploop.metrics.tables import CanonicalTables

    con = ibis.duckdb.connect(str(folder / "analytics.duckdb"), read_only=True)
    tables = CanonicalTables.from_backend(con)
    t0 = time.perf_counter()
    monthly = retention(tables, AS_OF)
    by = retention(tables, AS_OF, by=["close_cohort", "segment"], start=AS_OF)
    if suite:
        retention(tables, AS_OF, period="quarter")
        cohort_triangles(tables, AS_OF)
        kaplan_meier(tables, AS_OF, "segment")
        segment_ltv(tables, AS_OF, "segment")
        expansion_by_profile(tables, AS_OF, ["segment"])
        headline(tables, AS_OF)
    seconds = time.perf_counter() - t0
    f = monthly.frame
    cols = ["new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "nrr", "grr"]
    g = by.frame
    return {
        "seconds": seconds,
        "monthly": f[["period", *cols]].to_dict(orient="list"),
        "by": g[["close_cohort", "segment", "n_accounts", "nrr", "grr"]].to_dict(orient="list"),
    }


def run_pandas(folder: Path) -> dict[str, Any]:
    """Movements and NRR/GRR written the straightforward pandas way."""
    df = pd.read_parquet(folder / "mrr_monthly.parquet", columns=["account_id", "month", "mrr"])
    acc = pd.read_parquet(folder / "accounts.parquet")
    as_of_m = AS_OF.year * 12 + AS_OF.month - 1
    t0 = time.perf_counter()
    month = pd.to_datetime(df["month"])
    df["m"] = month.dt.year * 12 + month.dt.month - 1
    df["c"] = (df["mrr"] * 100).round().astype("int64")
    df = df[(df.c > 0) & (df.m <= as_of_m)].sort_values(["account_id", "m"])
    grp = df.groupby("account_id", sort=False)
    df["first_m"] = grp["m"].transform("min")
    prev_m, prev_c = grp["m"].shift(1), grp["c"].shift(1)
    cont = prev_m == df.m - 1
    prev = np.where(cont, prev_c, 0).astype("int64")
    delta = df.c - prev
    mv = pd.DataFrame({"m": df.m})
    mv["new"] = np.where((prev == 0) & (df.m == df.first_m), df.c, 0)
    mv["reactivation"] = np.where((prev == 0) & (df.m > df.first_m), df.c, 0)
    mv["expansion"] = np.where((prev > 0) & (delta > 0), delta, 0)
    mv["contraction"] = np.where((prev > 0) & (delta < 0), -delta, 0)
    mv["churn"] = 0
    mv["mrr_end"] = df.c
    next_m = grp["m"].shift(-1)
    ends = (next_m != df.m + 1) & (df.m + 1 <= as_of_m)
    churn = pd.DataFrame({"m": df.m[ends] + 1, "churn": df.c[ends]})
    monthly = pd.concat([mv, churn]).fillna(0).groupby("m").sum()
    later = df[["account_id", "m", "c"]].rename(columns={"c": "c12"})
    later["m"] = later["m"] - 12
    j = df[["account_id", "m", "c"]].merge(later, on=["account_id", "m"], how="left")
    j["c12"] = j["c12"].fillna(0)
    j["cap"] = np.minimum(j.c12, j.c)
    j["M"] = j.m + 12
    j = j[as_of_m >= j.M]
    nrr = j.groupby("M")[["c", "c12", "cap"]].sum()
    monthly["nrr"] = nrr.c12 / nrr.c
    monthly["grr"] = nrr.cap / nrr.c
    base = j[as_of_m == j.M].merge(acc, on="account_id")
    q = base.groupby("account_id")["m"].transform("min")  # unused; cohort from first month below
    del q
    first = df.groupby("account_id")["m"].min()
    base["close_cohort"] = base.account_id.map(first).map(lambda x: f"{x // 12}Q{x % 12 // 3 + 1}")
    by = base.groupby(["close_cohort", "segment"]).agg(
        n_accounts=("c", "size"), c=("c", "sum"), c12=("c12", "sum"), cap=("cap", "sum")
    )
    by["nrr"], by["grr"] = by.c12 / by.c, by.cap / by.c
    seconds = time.perf_counter() - t0
    money = ["new", "expansion", "contraction", "churn", "reactivation", "mrr_end"]
    monthly[money] = monthly[money] / 100
    return {
        "seconds": seconds,
        "monthly": monthly.reset_index()[["m", *money, "nrr", "grr"]].to_dict(orient="list"),
        "by": by.reset_index()[["close_cohort", "segment", "n_accounts", "nrr", "grr"]].to_dict(
            orient="list"
        ),
    }


def run_derive(folder: Path) -> dict[str, Any]:
    """What every load does after mrr_monthly: derive the account months the metrics read."""
    import duckdb

    from icploop.ingest.derive import account_months_sql

    con = duckdb.connect(str(folder / "analytics.duckdb"))
    t0 = time.perf_counter()
    con.execute(f"CREATE OR REPLACE TABLE account_months AS {account_months_sql()}")
    seconds = time.perf_counter() - t0
    con.close()
    return {"seconds": seconds}


def worker(engine: str, folder: Path) -> None:
    """Run one workload in this (fresh) process; print its seconds and whole-process peak."""
    if engine == "pandas":
        out = run_pandas(folder)
    elif engine == "derive":
        out = run_derive(folder)
    else:
        out = run_icploop(folder, engine == "suite")
    # the whole process (interpreter, libraries, engine buffers), as the 1.5 GiB target means
    out["peak_mib"] = own_peak_kib() / 1024
    sys.stdout.write(json.dumps(out, default=str))


def check(icp: dict[str, Any], pds: dict[str, Any]) -> None:
    a, b = pd.DataFrame(icp["monthly"]), pd.DataFrame(pds["monthly"])
    cols = ["new", "expansion", "contraction", "churn", "reactivation", "mrr_end", "nrr", "grr"]
    a = a.iloc[-len(b) :].reset_index(drop=True) if len(a) >= len(b) else a
    np.testing.assert_allclose(a[cols].to_numpy(float), b[cols].to_numpy(float), rtol=1e-9)
    x = pd.DataFrame(icp["by"]).sort_values(["close_cohort", "segment"]).reset_index(drop=True)
    y = pd.DataFrame(pds["by"]).sort_values(["close_cohort", "segment"]).reset_index(drop=True)
    x = x[x.n_accounts > 0].reset_index(drop=True)
    assert (x.n_accounts.to_numpy() == y.n_accounts.to_numpy()).all()
    np.testing.assert_allclose(x[["nrr", "grr"]].to_numpy(float), y[["nrr", "grr"]].to_numpy(float))


def measure(engine: str, folder: Path) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", engine, str(folder)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k accounts only")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return 0
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    print("| accounts | MRR rows | workload | engine | seconds | peak MiB | x faster than pandas |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            generate(n, folder)
            rows = pq.ParquetFile(folder / "mrr_monthly.parquet").metadata.num_rows
            pds = measure("pandas", folder)
            derive = measure("derive", folder)
            core = measure("core", folder)
            suite = measure("suite", folder)
            check(core, pds)
            print(
                f"| {n:,} | {rows:,} | derive account_months (once per load, not in the metrics) "
                f"| icploop on DuckDB | {derive['seconds']:.2f} | {derive['peak_mib']:,.0f} | |",
                flush=True,
            )
            for name, engine, r in (
                ("movements + NRR/GRR by cohort x segment", "pandas", pds),
                ("movements + NRR/GRR by cohort x segment", "icploop on DuckDB", core),
                ("whole suite", "icploop on DuckDB", suite),
            ):
                ratio = pds["seconds"] / r["seconds"] if engine != "pandas" else 1.0
                print(
                    f"| {n:,} | {rows:,} | {name} | {engine} | {r['seconds']:.2f} | "
                    f"{r['peak_mib']:,.0f} | {ratio:.1f} |",
                    flush=True,
                )
    print("\nSame numbers checked: monthly movements, NRR/GRR per month and by cohort x segment.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
