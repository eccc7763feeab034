"""Demo company generation: seconds and peak memory at 100k and 1M customers (10k with --quick).

Each size runs in a fresh subprocess so its peak resident memory is its own. Usage is written as
Parquet (the CSV usage table at 1M customers would be tens of GB); the other tables are CSV.

    python bench/bench_demo.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def one(accounts: int) -> dict[str, float]:
    """Generate once in this process and report time, peak RSS and rows."""
    from icploop.demo.generator import generate_company

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        truth = generate_company(Path(tmp), accounts=accounts, seed=7, usage_format="parquet")
        seconds = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return {
        "accounts": accounts,
        "seconds": seconds,
        "peak_gib": peak,
        "rows": sum(truth["files"].values()),
        "usage_rows": truth["files"]["usage.parquet"],
        "disk_gib": size / 2**30,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k customers only")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one)))
        return 0
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    print("| customers | seconds | peak memory (GiB) | rows written | usage rows | on disk (GiB) |")
    print("|---:|---:|---:|---:|---:|---:|")
    for n in sizes:
        done = subprocess.run(
            [sys.executable, __file__, "--one", str(n)], capture_output=True, text=True, check=True
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"| {n:,} | {r['seconds']:.1f} | {r['peak_gib']:.2f} | {int(r['rows']):,} "
            f"| {int(r['usage_rows']):,} | {r['disk_gib']:.2f} |",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
