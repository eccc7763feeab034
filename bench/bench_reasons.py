"""Benchmark of the churn-reason and cost-to-serve analyses.

Classification throughput: notes per second of the full classifier (keyword rules plus example
similarity) on distinct synthetic notes, beside keyword rules alone in the same run (the baseline
ratio is the price of the similarity step). Then the Pareto table, the "support" hypothesis check
and the cost-to-serve run on a demo company, each as seconds and peak memory of its own process.

    python bench/bench_reasons.py            # 100k notes; demo company of 20,000 customers
    python bench/bench_reasons.py --quick    # 5k notes; demo company of 1,500 customers
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_main, measure, table

AS_OF = dt.date(2026, 10, 31)
FILLER = (
    "customer", "account", "team", "quarter", "renewal", "call", "review", "project", "users",
    "rollout", "contract", "meeting", "follow", "update", "plan", "weekly", "report", "data",
)  # fmt: skip


def notes(n: int, seed: int = 3) -> list[str]:
    """Distinct notes: a demo churn or CSM sentence with random filler words around it."""
    from icploop.demo import vocab as V

    base = [t.replace("{crm}", "hubspot") for ts in V.CHURN_TEXT.values() for t in ts]
    base += list(V.CSM_TEXT_GOOD + V.CSM_TEXT_STALLED + V.SALES_TEXT)
    rng = np.random.default_rng(seed)
    words = np.asarray(FILLER)
    return [
        f"{' '.join(rng.choice(words, 3))} {base[i % len(base)]} {' '.join(rng.choice(words, 4))} #{i}"
        for i in range(n)
    ]


def classify_full(n: str) -> None:
    from icploop.reasons.classify import ReasonClassifier
    from icploop.reasons.taxonomy import load_taxonomy

    matches = ReasonClassifier(load_taxonomy()).fit().predict(notes(int(n)))
    assert len(matches) == int(n)


def classify_keywords(n: str) -> None:
    from icploop.reasons.taxonomy import load_taxonomy

    patterns = [r.patterns() for r in load_taxonomy().reasons]
    found = [max(sum(1 for p in ps if p.search(t)) for ps in patterns) for t in notes(int(n))]
    assert len(found) == int(n)


def prepare(folder: str, accounts: str) -> None:
    from icploop.demo.generator import generate_company
    from icploop.engine import connect
    from icploop.ingest.load import load_paths

    data = Path(folder) / "data"
    generate_company(data, accounts=int(accounts), seed=7, usage_format="parquet")
    load_paths(connect(f"duckdb://{Path(folder) / 'analytics.duckdb'}"), [data])


def _tables(folder: str):  # type: ignore[no-untyped-def]
    from icploop.engine import connect
    from icploop.reasons.evidence import ReasonTables

    backend = connect(f"duckdb://{Path(folder) / 'analytics.duckdb'}")
    return backend, ReasonTables.from_backend(backend)


def pareto(folder: str) -> None:
    from icploop.reasons.pareto import churn_reasons

    _, tables = _tables(folder)
    assert churn_reasons(tables, AS_OF).n_accounts > 0


def hypothesis(folder: str) -> None:
    from icploop.reasons.hypothesis import check_hypothesis

    _, tables = _tables(folder)
    assert check_hypothesis(tables, AS_OF, "support").verdict


def cost(folder: str) -> None:
    from icploop.cost.profitability import cost_to_serve

    backend, tables = _tables(folder)
    assert len(cost_to_serve(tables.canonical, backend.table("costs"), AS_OF).tiers) > 0


STEPS: dict[str, Callable[..., None]] = {
    "full": classify_full,
    "keywords": classify_keywords,
    "prepare": prepare,
    "pareto": pareto,
    "hypothesis": hypothesis,
    "cost": cost,
}


def main() -> None:
    quick = "--quick" in sys.argv
    n = 5_000 if quick else 100_000
    rows = []
    full_s, full_peak = measure(__file__, "full", [str(n)])
    kw_s, _kw_peak = measure(__file__, "keywords", [str(n)])
    rows.append(
        [
            f"classify {n:,} distinct notes",
            f"{full_s:.2f}",
            f"{full_peak:,.0f}",
            f"{n / full_s:,.0f} notes/s",
            f"keywords only {kw_s:.2f} s ({full_s / kw_s:.1f}x)",
        ]
    )
    accounts = 1_500 if quick else 20_000
    with tempfile.TemporaryDirectory() as tmp:
        measure(__file__, "prepare", [tmp, str(accounts)])
        for step, label in (
            ("pareto", "Pareto of churn reasons"),
            ("hypothesis", 'hypothesis check "support"'),
            ("cost", "cost to serve by tier and segment"),
        ):
            seconds, peak = measure(__file__, step, [tmp])
            rows.append(
                [f"{label}, {accounts:,} customers", f"{seconds:.2f}", f"{peak:,.0f}", "", ""]
            )
    print(table(["workload", "seconds", "peak MiB", "throughput", "baseline"], rows))


if __name__ == "__main__" and not child_main(STEPS):
    main()
