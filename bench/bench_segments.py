"""Segment search speed and memory: 12 attributes (9 categorical, 3 numeric), depth 3, full
statistics (intervals, tests, q-values, shrinkage, folding), on seeded synthetic accounts.

    python bench/bench_segments.py            # 100k and 1M accounts
    python bench/bench_segments.py --quick    # 10k accounts

Each size runs in its own process so peak memory (max RSS) is that size's alone; "data" is the
RSS after the accounts table is in DuckDB, before the search.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np
import pandas as pd

CATEGORICAL = {f"cat{i}": 4 + i % 5 for i in range(9)}  # 4-8 values each
NUMERIC = ["seats", "employees", "discount"]


def accounts(n: int, seed: int = 0) -> pd.DataFrame:
    """Synthetic accounts with two planted effects, so the ranking has something to find."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {c: rng.integers(0, k, n).astype(str) for c, k in CATEGORICAL.items()}
    ).apply(lambda s: s.radd("v"))
    frame["seats"] = np.round(rng.lognormal(4.2, 0.8, n))
    frame["employees"] = np.round(rng.lognormal(5.0, 1.2, n))
    frame["discount"] = np.round(rng.beta(2, 8, n), 2)
    p = np.where(frame["cat0"] == "v1", 0.25, 0.10)
    p = np.where(frame["seats"] < 50, p * 2, p)
    frame["churned"] = (rng.random(n) < p).astype(np.int64)
    return frame


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(n: int) -> dict[str, float]:
    import ibis

    from icploop.segments.search import search_segments

    con = ibis.duckdb.connect()
    frame = accounts(n)
    con.con.register("frame_view", frame)
    con.con.execute("CREATE TABLE accounts AS SELECT * FROM frame_view").fetchall()
    con.con.unregister("frame_view")
    del frame
    table = con.table("accounts")
    data_mib = rss_mib()
    t0 = time.perf_counter()
    result = search_segments(table, "churned", list(CATEGORICAL), NUMERIC, depth=3)
    seconds = time.perf_counter() - t0
    return {
        "n": n,
        "seconds": seconds,
        "data_mib": data_mib,
        "peak_mib": rss_mib(),
        "evaluated": result.n_evaluated,
        "shown": len(result.segments),
        "findings": len(result.findings()),
        "top": result.segments["segment"].iloc[0] if len(result.segments) else "",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k accounts only")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(min(args.one, 10_000))  # warm-up: imports and first-query costs
        print(json.dumps(run_one(args.one)))
        return 0
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    print(
        "| accounts | attributes | depth | segments evaluated | shown | q < 0.05 | seconds | peak MiB (data MiB) | top segment |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {r['n']:,} | {len(CATEGORICAL) + len(NUMERIC)} | 3 | {r['evaluated']:,} | "
            f"{r['shown']:,} | {r['findings']:,} | {r['seconds']:.2f} | "
            f"{r['peak_mib']:.0f} ({r['data_mib']:.0f}) | {r['top']} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
