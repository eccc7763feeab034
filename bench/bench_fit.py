"""Benchmark of the fit signals: usage features over Parquet events, and a whole tagging run.

Usage features are all that tagging reads from usage, in days 0-90 after close: events in each
30-day third, active weeks in the recent window (all use and the core use case) and which of the
committed use cases were used. Seconds exclude importing the libraries (Ibis and its DuckDB
backend, pandas, pyarrow, icploop), for every engine alike.
Targets (2-core machine): usage features over 100M events read from Parquet in at most 5 s and
2 GiB peak (CPU seconds, all threads, are printed beside: on a quiet 2-core machine the wall time
is about half of them); tagging 100k accounts end to end reported as seconds and peak memory. The baseline is
the same usage features in pandas over the same Parquet file, in the same run. Usage features
are the median of three runs.

    python bench/bench_fit.py            # 10M and 100M events; tagging 100k accounts
    python bench/bench_fit.py --quick    # 1M events; tagging 5k accounts
"""

from __future__ import annotations

import datetime as dt
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_main, measure, measure_median, measure_median_cpu, table

USE_CASES = ["reporting", "forecasting", "billing", "integration", "health"]
START = np.datetime64("2022-01-01")


def write_usage(path: Path, events: int, accounts: int, seed: int = 7) -> None:
    """Weekly-ish usage rows in chunks of 5M, and a closes file (one close date per account).
    Both carry the integer ``account_key`` beside the text ``account_id``, as the load stores
    usage and ``account_keys``."""
    rng = np.random.default_rng(seed)
    ids = np.array([f"A{i:07d}" for i in range(accounts)], dtype=object)
    close_days = rng.integers(0, 1200, accounts)
    closes = pa.table(
        {
            "account_id": ids,
            "account_key": np.arange(1, accounts + 1, dtype=np.int64),
            "close_date": (START + close_days.astype("timedelta64[D]")).astype("datetime64[D]"),
        }
    )
    pq.write_table(closes, path.parent / "closes.parquet")
    schema = pa.schema(
        [
            ("account_id", pa.string()),
            ("account_key", pa.int64()),
            ("date", pa.date32()),
            ("feature", pa.string()),
            ("use_case", pa.string()),
            ("events", pa.int64()),
        ]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for done in range(0, events, 5_000_000):
            n = min(5_000_000, events - done)
            acc = rng.integers(0, accounts, n)
            day = close_days[acc] + rng.integers(-7, 200, n)
            uc = rng.integers(0, len(USE_CASES), n)
            writer.write_table(
                pa.table(
                    {
                        "account_id": ids[acc],
                        "account_key": acc + 1,
                        "date": (START + day.astype("timedelta64[D]")).astype("datetime64[D]"),
                        "feature": np.array(
                            [
                                f"{u}-{k}"
                                for u, k in zip(
                                    np.array(USE_CASES)[uc], rng.integers(0, 2, n), strict=True
                                )
                            ],
                            dtype=object,
                        ),
                        "use_case": np.array(USE_CASES, dtype=object)[uc],
                        "events": rng.integers(1, 50, n),
                    },
                    schema=schema,
                )
            )


def usage_features_icploop(folder: str) -> None:
    import ibis

    from icploop.engine import connect
    from icploop.fit.config import FitConfig
    from icploop.fit.signals import FitInputs, usage_features

    con = connect("duckdb://")
    usage = con.read_parquet(str(Path(folder) / "usage.parquet"))
    closes = con.read_parquet(str(Path(folder) / "closes.parquet"))
    due = closes.select("account_id", "close_date")
    due = due.mutate(tag_day=due.close_date + ibis.interval(days=90))
    accounts = closes.select("account_id", use_case=ibis.literal("reporting"))
    empty = closes.limit(0)
    inputs = FitInputs(
        accounts=accounts,
        deals=empty,
        deal_use_cases=empty,
        usage=usage,
        contacts=empty,
        mrr_monthly=empty,
        account_keys=closes.select("account_id", "account_key"),
    )
    assert inputs.keyed
    frame = usage_features(inputs, due, FitConfig(), USE_CASES)
    assert len(frame) > 0


def usage_features_pandas(folder: str) -> None:
    """The same features the straightforward pandas way (core use case: reporting), merging
    on the integer account key as icploop joins."""
    import pandas as pd

    usage = pd.read_parquet(
        Path(folder) / "usage.parquet", columns=["account_key", "date", "use_case", "events"]
    )
    closes = pd.read_parquet(Path(folder) / "closes.parquet")
    rows = usage.merge(closes, on="account_key")
    rows["day"] = (pd.to_datetime(rows["date"]) - pd.to_datetime(rows["close_date"])).dt.days
    rows = rows[(rows["day"] >= 0) & (rows["day"] < 90)]
    rows["third"] = rows["day"] // 30
    rows["week"] = rows["day"] // 7
    events = rows.pivot_table(index="account_key", columns="third", values="events", aggfunc="sum")
    recent = rows[rows["day"] >= 60]
    weeks = recent.groupby("account_key")["week"].nunique().rename("weeks")
    core = recent[recent["use_case"] == "reporting"]
    core_weeks = core.groupby("account_key")["week"].nunique().rename("core_weeks")
    used = rows.groupby("account_key")["use_case"].unique().rename("use_cases_used")
    assert len(events.join(weeks).join(core_weeks).join(used)) > 0


def tag_demo(folder: str) -> None:
    from icploop.engine import connect
    from icploop.fit.config import FitConfig
    from icploop.fit.signals import FitInputs
    from icploop.fit.tagging import compute_fit

    backend = connect(f"duckdb://{Path(folder) / 'analytics.duckdb'}")
    inputs = FitInputs(
        **{
            t: backend.table(t)
            for t in ("accounts", "deals", "deal_use_cases", "usage", "contacts", "mrr_monthly")
        }
    )
    fit = compute_fit(inputs, dt.date(2026, 10, 31), FitConfig())
    assert len(fit) > 0


def prepare_demo(folder: str, accounts: str) -> None:
    from icploop.demo.generator import generate_company
    from icploop.engine import connect
    from icploop.ingest.load import load_paths

    data = Path(folder) / "data"
    generate_company(data, accounts=int(accounts), seed=7, usage_format="parquet")
    load_paths(connect(f"duckdb://{Path(folder) / 'analytics.duckdb'}"), [data])


STEPS: dict[str, Callable[..., None]] = {
    "icploop": usage_features_icploop,
    "pandas": usage_features_pandas,
    "tag": tag_demo,
    "prepare": prepare_demo,
}


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = [1_000_000] if quick else [10_000_000, 100_000_000]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for events in sizes:
            folder = Path(tmp) / f"usage-{events}"
            folder.mkdir()
            write_usage(folder / "usage.parquet", events, accounts=max(events // 1000, 1000))
            seconds, cpu, peak = measure_median_cpu(__file__, "icploop", [str(folder)])
            base_s, base_peak = (
                measure_median(__file__, "pandas", [str(folder)])
                if events <= 10_000_000
                else (float("nan"), float("nan"))
            )
            ratio = (
                f"{base_s / seconds:.1f}x" if base_s == base_s else "(pandas not run: > 10M rows)"
            )
            rows.append(
                [
                    f"usage features, {events:,} events",
                    f"{seconds:.2f}",
                    f"{cpu:.2f}",
                    f"{peak:,.0f}",
                    f"{base_s:.2f}",
                    f"{base_peak:,.0f}",
                    ratio,
                ]
            )
        accounts = 5_000 if quick else 100_000
        demo = Path(tmp) / "demo"
        demo.mkdir()
        measure(__file__, "prepare", [str(demo), str(accounts)])
        seconds, peak = measure(__file__, "tag", [str(demo)])
        rows.append(
            [
                f"tagging {accounts:,} accounts end to end",
                f"{seconds:.2f}",
                "",
                f"{peak:,.0f}",
                "",
                "",
                "",
            ]
        )
    print(
        table(
            [
                "workload",
                "icploop s",
                "icploop CPU s",
                "icploop peak MiB",
                "pandas s",
                "pandas peak MiB",
                "icploop vs pandas",
            ],
            rows,
        )
    )


# libraries the steps import, loaded before each step's clock starts
PRELOAD = (
    "ibis",
    "ibis.backends.duckdb",
    "pandas",
    "pyarrow.parquet",
    "icploop.fit.signals",
    "icploop.fit.tagging",
)

if __name__ == "__main__" and not child_main(STEPS, PRELOAD):
    main()
