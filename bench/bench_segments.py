"""Segment search speed and memory: 12 attributes (9 categorical, 3 numeric), depth 3, full
statistics (intervals, tests, q-values, shrinkage, folding), on seeded synthetic accounts, next
to pysubgroup on the same data, selectors and quality function.

    python bench/bench_segments.py              # 100k and 1M accounts
    python bench/bench_segments.py --quick      # 10k accounts
    python bench/bench_segments.py --no-peer    # icploop only

Each size runs in its own process so peak memory (max RSS) is that size's alone; "data" is the
RSS after the accounts table is in DuckDB, before the search.

The peer: pysubgroup needs numpy < 2, so it runs in its own environment, created on demand
under ``bench/.peer-venv/`` (``pysubgroup_peer.py`` is its script). It gets the accounts as CSV
and icploop's numeric cuts, and searches with StandardQF(a) at depth 3, top 20. For the
agreement check icploop ranks by the same raw quality ``(n/N)^a (p - p0)`` without folding or
shrinkage (``top_by_raw_quality``, timed as "raw"); "full" is the complete search with every
statistic. Agreement = segments in both top-20 lists (as sets of conditions).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
PEER_VENV = HERE / ".peer-venv"
PEER_PACKAGES = ["pysubgroup==0.9.0", "numpy<2", "pandas<2.3"]
QUALITY_A = 0.5
TOP_K = 20
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


def run_one(n: int, csv: str | None = None) -> dict[str, object]:
    import ibis

    from icploop.segments.search import search_segments, top_by_raw_quality

    con = ibis.duckdb.connect()
    frame = accounts(n)
    if csv:
        frame.to_csv(csv, index=False)
    con.con.register("frame_view", frame)
    con.con.execute("CREATE TABLE accounts AS SELECT * FROM frame_view").fetchall()
    con.con.unregister("frame_view")
    del frame
    table = con.table("accounts")
    data_mib = rss_mib()
    t0 = time.perf_counter()
    result = search_segments(
        table, "churned", list(CATEGORICAL), NUMERIC, depth=3, quality_a=QUALITY_A
    )
    seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    raw, cuts = top_by_raw_quality(
        table, "churned", list(CATEGORICAL), NUMERIC, depth=3, k=TOP_K, quality_a=QUALITY_A
    )
    raw_seconds = time.perf_counter() - t0
    return {
        "n": n,
        "seconds": seconds,
        "raw_seconds": raw_seconds,
        "data_mib": data_mib,
        "peak_mib": rss_mib(),
        "evaluated": result.n_evaluated,
        "shown": len(result.segments),
        "findings": len(result.findings()),
        "top": result.segments["segment"].iloc[0] if len(result.segments) else "",
        "raw_top": [sorted(c) for c in raw["conditions"]],
        "cuts": {k: list(v) for k, v in cuts.items()},
        "min_support": result.min_support,
    }


def peer_python() -> tuple[str | None, str]:
    """The peer environment's interpreter, creating it on first use; (None, why) if it fails."""
    python = PEER_VENV / "bin" / "python"
    check = [str(python), "-c", "import pysubgroup, numpy, pandas"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return str(python), ""
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        pip = [str(python), "-m", "pip", "install", "-q", *PEER_PACKAGES]
        subprocess.run(pip, check=True, capture_output=True, text=True, timeout=900)
        subprocess.run(check, check=True, capture_output=True)
    except (subprocess.SubprocessError, OSError) as exc:
        return None, f"pysubgroup could not be installed here ({type(exc).__name__})"
    return str(python), ""


def run_peer(python: str, csv: str, r: dict[str, object]) -> dict[str, object]:
    spec = {
        "csv": csv,
        "outcome": "churned",
        "categorical": list(CATEGORICAL),
        "cuts": r["cuts"],
        "a": QUALITY_A,
        "depth": 3,
        "k": TOP_K,
        "min_support": r["min_support"],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        done = subprocess.run(
            [python, str(HERE / "pysubgroup_peer.py"), f.name],
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        os.unlink(f.name)
    out: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10k accounts only")
    parser.add_argument("--no-peer", action="store_true", help="skip pysubgroup")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        run_one(min(args.one, 10_000))  # warm-up: imports and first-query costs
        print(json.dumps(run_one(args.one, args.csv)))
        return 0
    sizes = [10_000] if args.quick else [100_000, 1_000_000]
    python, why = (None, "skipped (--no-peer)") if args.no_peer else peer_python()
    print(
        "| accounts | attributes | depth | segments evaluated | shown | q < 0.05 "
        "| icploop full s | icploop raw s | peak MiB (data MiB) | pysubgroup s "
        "| pysubgroup peak MiB (data MiB) | speed-up (full) | top-20 identical | top segment |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    notes = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            csv = str(Path(tmp) / f"accounts_{n}.csv") if python else None
            cmd = [sys.executable, __file__, "--one", str(n), *(["--csv", csv] if csv else [])]
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(done.stdout.strip().splitlines()[-1])
            peer_cells = [why or "n/a", "n/a", "n/a", "n/a"]
            if python and csv:
                p: dict[str, object] | None = None
                try:
                    p = run_peer(python, csv, r)
                except subprocess.CalledProcessError as exc:
                    peer_cells = ["failed", "n/a", "n/a", "n/a"]
                    notes.append(f"pysubgroup failed at {n:,}: {exc.stderr.strip()[-300:]}")
                if p is not None and "error" in p:
                    peer_cells = [str(p["error"]), "n/a", "n/a", "n/a"]
                    notes.append(f"pysubgroup at {n:,}: {p['error']}")
                elif p is not None:
                    ours = {tuple(c) for c in r["raw_top"]}
                    theirs = {tuple(t["conditions"]) for t in p["top"]}  # type: ignore[attr-defined]
                    seconds = float(p["seconds"])  # type: ignore[arg-type]
                    peer_cells = [
                        f"{seconds:.2f}",
                        f"{p['peak_mib']:.0f} ({p['data_mib']:.0f})",
                        f"{seconds / r['seconds']:.1f}x",
                        f"{len(ours & theirs)} of {TOP_K}",
                    ]
                Path(csv).unlink(missing_ok=True)
            print(
                f"| {r['n']:,} | {len(CATEGORICAL) + len(NUMERIC)} | 3 | {r['evaluated']:,} | "
                f"{r['shown']:,} | {r['findings']:,} | {r['seconds']:.2f} | "
                f"{r['raw_seconds']:.2f} | {r['peak_mib']:.0f} ({r['data_mib']:.0f}) | "
                + " | ".join(peer_cells)
                + f" | {r['top']} |",
                flush=True,
            )
    print(
        f"\nQuality for the agreement check: (n/N)^{QUALITY_A} (p - p0), raw rates, no folding; "
        "pysubgroup: StandardQF with the same a on the same selectors (Apriori, exhaustive). "
        "Speed-up compares pysubgroup's search with icploop's full statistics."
    )
    for note in notes:
        print(f"\n{note}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
