"""Benchmark of the fit model: training (model and points table) and scoring with reasons.

Synthetic accounts with the demo's kind of planted churn (small seats, one lead source, one AE's
quarter-end deals), written to Parquet once per size. Each step runs in its own process (seconds
and that process's peak memory). The baseline, measured in the same run on the same rows, is a
plain logistic regression on one-hot attributes: training and scoring, no reasons.

    python bench/bench_scoring.py            # 100k and 1M accounts
    python bench/bench_scoring.py --quick    # 10k accounts
    python bench/bench_scoring.py --size 100000
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness import child_main, measure, table

INDUSTRIES = ["Software", "Retail", "Finance", "Health", "Manufacturing", "Media", "Logistics"]
SOURCES = ["inbound", "outbound", "partner", "events", "intent_vendor"]
USE_CASES = ["forecasting", "health", "billing", "reporting", "workflow", "integration"]
AES = [f"ae{i}" for i in range(12)]


def write_accounts(path: Path, n: int, seed: int = 7) -> None:
    """``n`` accounts with pre-close attributes and a first-year churn outcome."""
    rng = np.random.default_rng(seed)
    seats = np.maximum(1, np.round(rng.lognormal(4.3, 0.8, n)))
    source = rng.choice(SOURCES, n, p=[0.34, 0.24, 0.12, 0.11, 0.19])
    ae = rng.choice(AES, n)
    quarter_end = np.where(rng.random(n) < 0.2, "yes", "no")
    use_case = rng.choice(USE_CASES, n)
    p = np.full(n, 0.07)
    p *= np.where(seats < 50, 3.8, 1.0)
    p *= np.where(source == "intent_vendor", 2.2, 1.0)
    p *= np.where(use_case == "forecasting", 0.45, 1.0)
    p *= np.where((ae == "ae3") & (quarter_end == "yes"), 5.5, 1.0)
    frame = pd.DataFrame(
        {
            "industry": rng.choice(INDUSTRIES, n),
            "segment": rng.choice(["SMB", "Mid-Market", "Enterprise"], n),
            "region": rng.choice(["North America", "EMEA", "APAC", "LATAM"], n),
            "lead_source": source,
            "use_case": use_case,
            "ae": ae,
            "quarter_end_deal": quarter_end,
            "seats": seats,
            "employees": np.round(seats * rng.lognormal(1.5, 0.5, n)),
            "intent_score": np.clip(rng.normal(55, 15, n), 0, 100).round(1),
            "discount": np.where(rng.random(n) < 0.4, 0.0, rng.uniform(0.05, 0.3, n)).round(3),
            "deal_amount": (seats * 480 * rng.uniform(0.8, 1.2, n)).round(2),
            "committed_use_cases": rng.integers(1, 5, n).astype(float),
            "first_year_churn": (rng.random(n) < np.minimum(p, 0.9)).astype(float),
        }
    )
    frame.to_parquet(path)


def _frame(folder: str) -> pd.DataFrame:
    return pd.read_parquet(Path(folder) / "accounts.parquet")


CATEGORICAL = ("industry", "segment", "region", "lead_source", "use_case", "quarter_end_deal")
NUMERIC = ("seats", "employees", "intent_score", "discount", "deal_amount", "committed_use_cases")


def _features():  # type: ignore[no-untyped-def]
    """The benchmark frame's features as the product would choose them (never the AE)."""
    from icploop.scoring.features import FeatureSet

    return FeatureSet(CATEGORICAL, NUMERIC)


def train_icploop(folder: str) -> None:
    import joblib

    from icploop.scoring.model import FitModel
    from icploop.scoring.points import PointsFitter

    frame = _frame(folder)
    x, y = frame[[*CATEGORICAL, *NUMERIC]], frame["first_year_churn"]
    model = FitModel().fit(x, y, _features())
    points = PointsFitter().fit(x, y, _features())
    joblib.dump((model, points), Path(folder) / "fitted.joblib")


def score_icploop(folder: str) -> None:
    import joblib

    model, points = joblib.load(Path(folder) / "fitted.joblib")
    frame = _frame(folder)[[*CATEGORICAL, *NUMERIC]]
    scored = model.score(frame, reasons=3)
    totals = points.points(frame)["points"]
    assert len(scored) == len(totals) == len(frame)


def _one_hot(frame: pd.DataFrame) -> pd.DataFrame:
    numeric = frame[list(NUMERIC)].fillna(0)
    return pd.concat([numeric, pd.get_dummies(frame[list(CATEGORICAL)], dtype=float)], axis=1)


def train_logit(folder: str) -> None:
    import joblib
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = _frame(folder)
    x = _one_hot(frame)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(x, frame["first_year_churn"])
    joblib.dump((model, list(x.columns)), Path(folder) / "logit.joblib")


def score_logit(folder: str) -> None:
    import joblib

    model, columns = joblib.load(Path(folder) / "logit.joblib")
    x = _one_hot(_frame(folder)).reindex(columns=columns, fill_value=0.0)
    assert len(model.predict_proba(x)) == len(x)


STEPS = {
    "train": train_icploop,
    "score": score_icploop,
    "train_logit": train_logit,
    "score_logit": score_logit,
}


def main() -> None:
    quick = "--quick" in sys.argv
    sizes = [10_000] if quick else [100_000, 1_000_000]
    if "--size" in sys.argv:
        sizes = [int(sys.argv[sys.argv.index("--size") + 1])]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            folder = Path(tmp) / f"accounts-{n}"
            folder.mkdir()
            write_accounts(folder / "accounts.parquet", n)
            for step, base in (("train", "train_logit"), ("score", "score_logit")):
                seconds, peak = measure(__file__, step, [str(folder)])
                base_s, base_peak = measure(__file__, base, [str(folder)])
                what = (
                    "train model + points table"
                    if step == "train"
                    else "score with 3 reasons + points"
                )
                rows.append(
                    [
                        f"{what}, {n:,} accounts",
                        f"{seconds:.2f}",
                        f"{peak:,.0f}",
                        f"{base_s:.2f}",
                        f"{base_peak:,.0f}",
                        f"{seconds / base_s:.1f}x",
                    ]
                )
    print(
        table(
            [
                "workload",
                "icploop s",
                "icploop peak MiB",
                "logistic regression s",
                "baseline peak MiB",
                "icploop / baseline",
            ],
            rows,
        )
    )
    print(
        "\nicploop: gradient boosting with Platt calibration on 3-fold out-of-fold predictions "
        "(one thread) and the points table; scoring adds per-feature reasons (one extra prediction per feature). Baseline: "
        "a logistic regression on one-hot attributes, no calibration and no reasons."
    )


if __name__ == "__main__":
    if not child_main(STEPS):
        main()
